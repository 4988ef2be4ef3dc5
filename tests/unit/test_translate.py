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


# ---------------------------------------------------------------------- the migration's writes

# Codes the emulator raises that a write never meets, each with the path that handles it.
NOT_WRITE_ERRORS = {
    "MALFORMED_QUERY": "reads",
    "INVALID_QUERY_LOCATOR": "reads",
    "INVALID_SESSION_ID": "AuthenticationError",
    "API_DISABLED_FOR_ORG": "PermissionDenied",
}


def test_every_write_error_the_emulator_raises_has_advice():
    """The emulator's rules carry the real codes: each one a write can meet says what to do."""
    import re
    from pathlib import Path

    from handover.salesforce.translate import TRANSIENT_CODES, WRITE_ADVICE

    root = Path(__file__).resolve().parents[2] / "emulators" / "salesforce"
    raised = re.compile(r'(?:SalesforceError|SaveError|_Invalid)\(\s*(?:\d+,\s*)?"([A-Z][A-Z_]+)"')
    codes = set()
    for name in ("rules.py", "org.py", "metadata.py", "exceptions.py", "http/rest.py"):
        codes |= set(raised.findall((root / name).read_text()))
    assert len(codes) > 20, "the pattern no longer finds the emulator's error codes"
    unmapped = codes - set(WRITE_ADVICE) - TRANSIENT_CODES - set(NOT_WRITE_ERRORS)
    assert unmapped == set(), "add advice for these to WRITE_ADVICE in translate.py"


def test_rest_write_errors_carry_their_advice():
    out = translate(
        _err(sfx.SalesforceMalformedRequest, 400, "DUPLICATE_USERNAME", "Duplicate Username."),
        what="provision:user (create User svc@x.com)",
    )
    assert type(out) is SalesforceGatewayError and out.error_code == "DUPLICATE_USERNAME"
    assert "What to do: usernames are unique across every Salesforce org" in str(out)


def test_collection_errors_name_the_cause_not_the_rollback():
    from handover.salesforce.translate import write_error

    rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back"}
    cause = {
        "statusCode": "FIELD_INTEGRITY_EXCEPTION",
        "message": "Permission Read Order Products depends on permission(s): Read Orders",
    }
    out = write_error("provision:object-permissions", [rolled, cause, rolled])
    assert out.error_code == "FIELD_INTEGRITY_EXCEPTION"
    assert "depends on permission(s): Read Orders" in str(out) and "What to do" in str(out)
    assert (
        type(write_error("x", [{"statusCode": "UNABLE_TO_LOCK_ROW"}])) is TransientSalesforceError
    )
    assert type(write_error("x", [{"statusCode": "INSUFFICIENT_ACCESS_OR_READONLY"}])) is (
        PermissionDenied
    )
    two = write_error("x", [cause, cause])
    assert "(2 records refused)" in str(two)


def test_metadata_faults_and_oauth_errors():
    from handover.salesforce.translate import oauth_error, soap_fault

    denied = soap_fault("changing the Run-As user", "sf:INSUFFICIENT_ACCESS", "no")
    assert type(denied) is PermissionDenied and "Customize Application" in str(denied)
    assert type(soap_fault("x", "sf:INVALID_SESSION_ID", "bad")) is AuthenticationError
    assert type(soap_fault("x", "REQUEST_LIMIT_EXCEEDED", "")) is TransientSalesforceError
    revoke = oauth_error(
        "revoking", 400, {"error": "invalid_token", "error_description": "Token was invalid"}
    )
    assert (
        revoke.error_code == "invalid_token"
        and str(revoke) == "revoking: invalid_token: Token was invalid"
    )
    assert type(oauth_error("revoking", 503, "down")) is TransientSalesforceError


# ---------------------------------------------------------------------- an org nobody answers for


def test_a_closed_port_is_unreachable_not_transient():
    """A stopped emulator or a wrong My Domain: the connection itself is refused."""
    import socket

    from handover.errors import OrgUnreachable

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.get(f"https://127.0.0.1:{port}/services/oauth2/token", timeout=5)
    out = translate(caught.value, what="logging in")
    assert type(out) is OrgUnreachable
    assert f"unreachable at https://127.0.0.1:{port}" in str(out)
    assert "transient" not in str(out) and "retrying" not in str(out)


def test_a_dropped_answer_stays_transient():
    """The org took the request and the answer was lost: worth a retry."""
    from http.client import RemoteDisconnected

    import urllib3

    lost = requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", RemoteDisconnected("closed"))
    )
    assert type(translate(lost, what="writing")) is TransientSalesforceError
