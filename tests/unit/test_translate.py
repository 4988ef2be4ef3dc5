"""Every simple-salesforce exception maps to a handover error, transient ones are told apart."""

import inspect

import pytest
import requests
from simple_salesforce import exceptions as sfx

from handover.errors import (
    AuthenticationError,
    PermissionDenied,
    SalesforceGatewayError,
    TransientSalesforceError,
)
from handover.salesforce.translate import EXCEPTION_MAP, translate, translated


def test_every_simple_salesforce_exception_is_mapped():
    classes = {
        c
        for _, c in inspect.getmembers(sfx, inspect.isclass)
        if issubclass(c, Exception) and c.__module__ == sfx.__name__
    }
    mapped = {c for c, _ in EXCEPTION_MAP}
    assert classes - mapped == set(), "map these in handover/salesforce/translate.py"


def _err(cls, status, code, message="m"):
    return cls(
        "https://x/services/data/v59.0/query",
        status,
        "query",
        [{"errorCode": code, "message": message}],
    )


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_err(sfx.SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW"), TransientSalesforceError),
        (
            _err(sfx.SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"),
            TransientSalesforceError,
        ),
        (_err(sfx.SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"), TransientSalesforceError),
        (_err(sfx.SalesforceExpiredSession, 401, "INVALID_SESSION_ID"), AuthenticationError),
        (
            sfx.SalesforceAuthenticationFailed(
                "invalid_grant", "user hasn't approved this consumer"
            ),
            AuthenticationError,
        ),
        (
            _err(
                sfx.SalesforceMalformedRequest,
                400,
                "INVALID_TYPE",
                "sObject type 'EventLogFile' is not supported.",
            ),
            PermissionDenied,
        ),
        (_err(sfx.SalesforceMalformedRequest, 400, "MALFORMED_QUERY"), SalesforceGatewayError),
        (requests.exceptions.ConnectionError("refused"), TransientSalesforceError),
    ],
)
def test_translation(exc, expected):
    out = translate(exc, what="reading things")
    assert type(out) is expected
    assert str(out).startswith("reading things")


def test_permission_message_names_what_to_grant():
    out = translate(
        _err(
            sfx.SalesforceMalformedRequest,
            400,
            "INVALID_TYPE",
            "\nSELECT Id FROM EventLogFile\n ^\nsObject type 'EventLogFile' is not supported.",
        ),
        what="listing event log files",
    )
    assert "View Event Log Files" in str(out)


def test_context_manager_chains_the_original():
    with pytest.raises(TransientSalesforceError) as e, translated("x"):
        raise _err(sfx.SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW")
    assert isinstance(e.value.__cause__, sfx.SalesforceMalformedRequest)
