"""simple-salesforce and requests exceptions -> handover errors, in one place, from one table.

Transient errors (worth a retry with back-off) are told apart from the ones a person must
fix, and every message says what to do next."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from simple_salesforce import exceptions as sfx

from ..errors import (
    AuthenticationError,
    PermissionDenied,
    SalesforceGatewayError,
    TransientSalesforceError,
)

# Error codes Salesforce documents as "try again later".
TRANSIENT_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "QUERY_TIMEOUT"}
)

# What handover's own user needs to read each object it queries (README: "Permissions").
REQUIRED_PERMISSION = {
    "EventLogFile": "View Event Log Files (and API Enabled)",
    "LoginHistory": "Manage Users (or Monitor Login History)",
    "OauthToken": "Customize Application",
    "SetupEntityAccess": "View Setup and Configuration",
    "PermissionSetAssignment": "View Setup and Configuration",
    "ObjectPermissions": "View Setup and Configuration",
    "FieldPermissions": "View Setup and Configuration",
    "PermissionSet": "View Setup and Configuration",
    "ConnectedApplication": "View Setup and Configuration",
    "User": "View Setup and Configuration",
}

# simple-salesforce exception class -> handover class (ordered: most specific first).
# tests/unit/test_translate.py fails if simple-salesforce gains a class missing here.
EXCEPTION_MAP: list[tuple[type[Exception], type[SalesforceGatewayError]]] = [
    (sfx.SalesforceAuthenticationFailed, AuthenticationError),
    (sfx.SalesforceExpiredSession, AuthenticationError),
    (sfx.SalesforceRefusedRequest, PermissionDenied),
    (sfx.SalesforceMalformedRequest, SalesforceGatewayError),
    (sfx.SalesforceResourceNotFound, SalesforceGatewayError),
    (sfx.SalesforceMoreThanOneRecord, SalesforceGatewayError),
    (sfx.SalesforceGeneralError, SalesforceGatewayError),
    (sfx.SalesforceOperationError, SalesforceGatewayError),
    (sfx.SalesforceBulkV2LoadError, SalesforceGatewayError),
    (sfx.SalesforceBulkV2ExtractError, SalesforceGatewayError),
    (sfx.SalesforceError, SalesforceGatewayError),
]


def _first_error(content: Any) -> tuple[str | None, str]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode"), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return content.get("errorCode") or content.get("error"), str(
            content.get("message") or content.get("error_description") or ""
        )
    return None, str(content)[:300]


def translate(exc: Exception, *, what: str) -> SalesforceGatewayError:
    """The handover error for a failed call; ``what`` names the call for the message."""
    if isinstance(exc, requests.exceptions.SSLError):
        return SalesforceGatewayError(
            f"{what}: TLS verification failed ({exc.__class__.__name__}). Check the CA bundle / the org's URL."
        )
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return TransientSalesforceError(
            f"{what}: the org did not answer ({exc.__class__.__name__}); retrying may help. If it persists, check the org URL and the network."
        )
    if isinstance(exc, sfx.SalesforceAuthenticationFailed):
        return AuthenticationError(
            f"{what}: Salesforce rejected the login ({exc.code}: {exc.message}). Check the consumer key, the username, the key or secret, and that the user is pre-authorized for the connected app.",
            error_code=str(exc.code),
        )
    status = getattr(exc, "status", None)
    code, message = _first_error(getattr(exc, "content", None))
    if code in TRANSIENT_CODES or status in (502, 503, 504):
        return TransientSalesforceError(
            f"{what}: {code or status} {message}".strip() + " (transient; retried with back-off)",
            status=status,
            error_code=code,
        )
    if isinstance(exc, sfx.SalesforceExpiredSession):
        return AuthenticationError(
            f"{what}: the session expired or is invalid ({message}). Log in again or refresh the credentials.",
            status=status,
            error_code=code,
        )
    if code == "INVALID_TYPE" or (
        status == 403
        and code
        in ("INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "API_DISABLED_FOR_ORG")
    ):
        obj = next((o for o in REQUIRED_PERMISSION if o in message), None)
        need = (
            f" handover's user needs: {REQUIRED_PERMISSION[obj]}."
            if obj
            else " Check handover's user permissions (README: Permissions)."
        )
        return PermissionDenied(
            f"{what}: {code}: {message.strip().splitlines()[-1] if message.strip() else ''}.{need}",
            status=status,
            error_code=code,
        )
    for sf_cls, ours in EXCEPTION_MAP:
        if isinstance(exc, sf_cls):
            return ours(f"{what}: {code or status}: {message}", status=status, error_code=code)
    return SalesforceGatewayError(f"{what}: {exc.__class__.__name__}: {exc}")


@contextmanager
def translated(what: str) -> Iterator[None]:
    try:
        yield
    except SalesforceGatewayError:
        raise
    except (sfx.SalesforceError, requests.exceptions.RequestException) as exc:
        raise translate(exc, what=what) from exc
