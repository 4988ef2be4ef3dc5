"""Armed faults on every endpoint (REST, OAuth, SOAP login(), Metadata API), and the lost
response: the write commits, the client sees a failure. Through the real clients."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import zeep.exceptions
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceGeneralError

from emulators.salesforce.client import connect
from emulators.salesforce.faults import FaultRule
from emulators.salesforce.loader import WorkloadCredentials
from emulators.salesforce.org import Org
from emulators.salesforce.server import RunningEmulator
from tests.emulators.test_oauth import JANE, USER_QUERY
from tests.emulators.test_soap import REPLACEMENT, read_app


def arm(emulator: RunningEmulator, **rule: Any) -> None:
    emulator.emulator.faults.add(FaultRule.model_validate(rule))


def accounts_named(info: dict[str, Any], name: str) -> int:
    return int(
        connect(info).query(f"SELECT COUNT() FROM Account WHERE Name = '{name}'")["totalSize"]
    )


@pytest.mark.parametrize(
    ("lost_as", "raised"),
    [("503", SalesforceGeneralError), ("disconnect", requests.RequestException)],
)
def test_a_create_under_a_lost_response_persists(
    emulator: RunningEmulator, info: dict[str, Any], lost_as: str, raised: type[Exception]
) -> None:
    arm(
        emulator,
        kind="lost_response",
        lost_as=lost_as,
        path="/sobjects/Account/?$",
        method="POST",
        nth=[1],
    )
    sf = connect(info)
    with pytest.raises(raised) as e:
        sf.Account.create({"Name": f"Lost {lost_as}"})
    if lost_as == "503":
        assert getattr(e.value, "status", None) == 503
    # The client saw a failure, the org kept the record: a retry must look before it writes.
    assert accounts_named(info, f"Lost {lost_as}") == 1
    assert emulator.emulator.faults.rules()[0]["fired"] == 1
    sf.Account.create({"Name": f"Lost {lost_as}"})  # the next call is answered normally
    assert accounts_named(info, f"Lost {lost_as}") == 2


def test_oauth_token_endpoint_faults(
    emulator: RunningEmulator, info: dict[str, Any], creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["ERP Nightly Sync"]

    def jwt_login() -> Any:
        return connect(
            info, username=JANE, consumer_key=c.consumer_key, privatekey=c.private_key_pem
        )

    arm(emulator, kind="503", path="^/services/oauth2/token$", nth=[1])
    # Rules count the requests they are asked about: the second rule first sees the second.
    arm(emulator, kind="REQUEST_LIMIT_EXCEEDED", path="^/services/oauth2/token$", nth=[1])
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        jwt_login()
    assert e.value.code == 503 and "Service Unavailable" in e.value.auth_message
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        jwt_login()
    assert e.value.code == "rate_limit_exceeded"
    assert jwt_login().query(USER_QUERY)["totalSize"] == 1


def test_soap_login_faults(
    emulator: RunningEmulator, info: dict[str, Any], creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Legacy SOAP Loader"]
    arm(emulator, kind="REQUEST_LIMIT_EXCEEDED", path="^/services/Soap/u/", nth=[1])
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(info, username=JANE, password=c.password, security_token=c.security_token)
    assert (e.value.code, e.value.auth_message) == (
        "REQUEST_LIMIT_EXCEEDED",
        "TotalRequests Limit exceeded.",
    )
    sf = connect(info, username=JANE, password=c.password, security_token=c.security_token)
    assert sf.query(USER_QUERY)["totalSize"] == 1


def test_metadata_update_under_a_lost_response_still_repoints_the_app(
    emulator: RunningEmulator,
    info: dict[str, Any],
    org: Org,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(info["ca_bundle"]))  # zeep's own session
    sf = connect(info)
    arm(emulator, kind="UNABLE_TO_LOCK_ROW", path="^/services/Soap/m/", nth=[1])
    with pytest.raises(zeep.exceptions.Fault) as e:
        read_app(sf, "Warehouse_Connector")
    assert e.value.code == "sf:UNABLE_TO_LOCK_ROW"
    app = read_app(sf, "Warehouse_Connector")
    app.oauthConfig.oauthClientCredentialUser = REPLACEMENT
    arm(emulator, kind="lost_response", path="^/services/Soap/m/", nth=[1])
    # zeep reads the 503 maintenance page as a fault it cannot name.
    with pytest.raises(zeep.exceptions.Error):
        sf.mdapi.ConnectedApp.update([app])
    assert org.app_by_name("Warehouse Connector").client_credentials_user == REPLACEMENT  # type: ignore[union-attr]
    assert read_app(sf, "Warehouse_Connector").oauthConfig.oauthClientCredentialUser == REPLACEMENT
