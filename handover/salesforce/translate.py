"""simple-salesforce and requests exceptions -> handover errors, in one place, from one table.

Transient errors (worth a retry with back-off) are told apart from the ones a person must
fix, and every message says what to do next."""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import urllib3
from simple_salesforce import exceptions as sfx

from ..errors import (
    AuthenticationError,
    OrgUnreachable,
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
    # Before "User": the first name found in the message decides.
    "UserLogin": "Manage Users",
    "AuthSession": "Manage Users",
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

# Error codes the migration's writes meet -> what to do (REST errorCode, sObject Collections
# statusCode, Metadata API SaveResult statusCode and faults). Earlier writes of a step stay
# done and a re-run continues after them, so "re-run" is always safe advice.
# tests/unit/test_translate.py fails if a code the emulator's write rules raise is missing.
WRITE_ADVICE = {
    "DUPLICATE_USERNAME": "usernames are unique across every Salesforce org and this one is "
    "taken: set HANDOVER_PLAN__USERNAME_TEMPLATE to another pattern and plan again",
    "LICENSE_LIMIT_EXCEEDED": "no free seat of that licence (Salesforce Integration user "
    "licence or its permission set licence): deactivate an unused integration user or buy "
    "seats (Setup > Company Information), then re-run",
    "FIELD_INTEGRITY_EXCEPTION": "the org's permission rules refused it (a licence that can't "
    "carry the permission, or a dependency missing): check the plan against the message, "
    "plan again, then re-run",
    "MIXED_DML_OPERATION": "setup and non-setup records were sent in one call: a handover "
    "bug, please report it with the run's log",
    "DUPLICATE_VALUE": "the record already exists: re-run (the migration finds and reuses it)",
    "DUPLICATE_DEVELOPER_NAME": "a permission set with this API name exists: re-run (the "
    "migration brings handover's own set up to the plan), or rename the other one",
    "INVALID_CROSS_REFERENCE_KEY": "a record it refers to (profile, licence, user, app) is not "
    "in the org: check that the org has the Salesforce Integration licence and the app, "
    "then plan again",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "the org has no such object or permissionable "
    "field (it may have been deleted since planning): plan again",
    "INVALID_FIELD": "the org has no such field (another API version or edition?): plan again",
    "INVALID_FIELD_FOR_INSERT_UPDATE": "handover's user can't write that field: check its "
    "permissions (README: Permissions)",
    "REQUIRED_FIELD_MISSING": "a required value is missing: plan again",
    "INVALID_NEW_PASSWORD": "the org's password policy refused the generated password: "
    "relax the policy for the integration profile or set the password by hand",
    "DELETE_FAILED": "the org refused the delete (still assigned, or a user): see the message",
    "ENTITY_IS_DELETED": "the record was deleted meanwhile: re-run",
    "NOT_FOUND": "the record is gone: re-run (the migration probes again)",
    "INSUFFICIENT_ACCESS": "handover's user needs Manage Users, Assign Permission Sets and "
    "Customize Application to migrate (README: Permissions)",
    "INSUFFICIENT_ACCESS_OR_READONLY": "handover's user needs Manage Users, Assign Permission "
    "Sets and Customize Application to migrate (README: Permissions)",
    "INVALID_TYPE": "handover's user can't create that kind of record: check its permissions "
    "(README: Permissions)",
    "MALFORMED_ID": "an id was malformed: a handover bug, please report it with the run's log",
    "EXCEEDED_ID_LIMIT": "more than 200 records in one call: a handover bug, please report it",
    "JSON_PARSER_ERROR": "the org could not read the request: a handover bug, please report it",
    "METHOD_NOT_ALLOWED": "a request used the wrong method: a handover bug, please report it",
    "MISSING_ARGUMENT": "a request lacked a value: a handover bug, please report it",
}
# Codes that only say another record of the same call failed (allOrNone): not the cause.
_KNOCK_ON = frozenset({"ALL_OR_NONE_OPERATION_ROLLED_BACK"})

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


def _never_connected(exc: Exception) -> bool:
    """The connection itself failed (refused, unknown host): not a reset or a lost
    answer mid-request, which are worth a retry."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (ConnectionRefusedError, socket.gaierror)):
            return True
        if isinstance(e, urllib3.exceptions.NewConnectionError):
            return True
        todo += [e.__cause__, e.__context__, *(a for a in e.args if isinstance(a, BaseException))]
        todo.append(getattr(e, "reason", None))
    return False


def _where(exc: Exception) -> str:
    request = getattr(exc, "request", None)
    url = str(getattr(request, "url", "") or "")
    if url:
        parts = urllib.parse.urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"
    return "its address"


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
    if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
        return OrgUnreachable(
            f"{what}: the org is unreachable at {_where(exc)} (nothing answered there). "
            "Check the org's URL (My Domain) and the network; an emulator must be running: "
            "`handover up --emulators` starts one, and its --info file names it."
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
    advice = f" What to do: {WRITE_ADVICE[code]}." if code in WRITE_ADVICE else ""
    for sf_cls, ours in EXCEPTION_MAP:
        if isinstance(exc, sf_cls):
            return ours(
                f"{what}: {code or status}: {message}{advice}", status=status, error_code=code
            )
    return SalesforceGatewayError(f"{what}: {exc.__class__.__name__}: {exc}")


def write_error(what: str, errors: list[dict[str, Any]]) -> SalesforceGatewayError:
    """The error of a write refused record by record (sObject Collections results, the
    Metadata API's SaveResult): the first cause, its advice, and how many records failed."""
    causes = [e for e in errors if (e.get("statusCode") or e.get("errorCode")) not in _KNOCK_ON]
    first = (causes or errors or [{}])[0]
    code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN")
    message = str(first.get("message") or "").strip()
    more = f" ({len(causes)} records refused)" if len(causes) > 1 else ""
    advice = f" What to do: {WRITE_ADVICE[code]}." if code in WRITE_ADVICE else ""
    cls = PermissionDenied if code.startswith("INSUFFICIENT_ACCESS") else SalesforceGatewayError
    if code in TRANSIENT_CODES:
        cls = TransientSalesforceError
    return cls(f"{what}: {code}: {message}{more}.{advice}", status=400, error_code=code)


def soap_fault(what: str, code: str, message: str) -> SalesforceGatewayError:
    """A SOAP fault (Metadata API) as a handover error; ``code`` without its prefix."""
    code = code.rsplit(":", 1)[-1]
    text = f"{what}: {code}: {message}"
    if code == "INVALID_SESSION_ID":
        return AuthenticationError(
            f"{text}. Log in again or refresh the credentials.", status=500, error_code=code
        )
    if code in TRANSIENT_CODES:
        return TransientSalesforceError(f"{text} (transient)", status=500, error_code=code)
    if code.startswith("INSUFFICIENT_ACCESS"):
        return PermissionDenied(
            f"{text}. handover's user needs Customize Application (or Modify Metadata) to "
            "change a connected app.",
            status=500,
            error_code=code,
        )
    advice = f" What to do: {WRITE_ADVICE[code]}." if code in WRITE_ADVICE else ""
    return SalesforceGatewayError(f"{text}.{advice}", status=500, error_code=code)


def oauth_error(what: str, status: int, body: Any) -> SalesforceGatewayError:
    """An OAuth endpoint's {"error", "error_description"} answer (revoke, token)."""
    error = str(body.get("error") if isinstance(body, dict) else "") or f"HTTP {status}"
    text = str(body.get("error_description") or "") if isinstance(body, dict) else ""
    if status >= 500:
        return TransientSalesforceError(f"{what}: {error} {text}".strip(), status=status)
    return SalesforceGatewayError(f"{what}: {error}: {text}", status=status, error_code=error)


@contextmanager
def translated(what: str) -> Iterator[None]:
    try:
        yield
    except SalesforceGatewayError:
        raise
    except (sfx.SalesforceError, requests.exceptions.RequestException) as exc:
        raise translate(exc, what=what) from exc
