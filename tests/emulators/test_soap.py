"""SOAP: the partner login() simple-salesforce uses for username+password+security_token,
and the Metadata API as ``sf.mdapi`` (zeep) speaks it for ConnectedApp, over real HTTPS."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import zeep.exceptions
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from emulators.salesforce.client import connect, session_for
from emulators.salesforce.loader import WorkloadCredentials
from emulators.salesforce.org import AppConfig, Org

JANE = "jane.doe@tiny.example.com"
SVC = "svc-integration@tiny.example.com"
REPLACEMENT = "svc-replacement@tiny.example.com"
MY_DOMAIN = "tiny.my.salesforce.com"
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
GROUPAROO = Path(
    "/work/shared/fixtures/recorded/grouparoo-salesforce-nock/export-contacts/destination-options.js.json"
)
ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"
PARTNER = "{urn:partner.soap.sforce.com}"


def soap_creds(creds: dict[str, WorkloadCredentials]) -> WorkloadCredentials:
    return creds["Legacy SOAP Loader"]


def uid(org: Org, username: str) -> str:
    user = org.user_by_username(username)
    assert user is not None
    return str(user["Id"])


def app_of(org: Org, name: str) -> AppConfig:
    app = org.app_by_name(name)
    assert app is not None
    return app


def login_rows(info: dict[str, Any], org: Org, username: str) -> list[dict[str, Any]]:
    user = org.user_by_username(username)
    assert user is not None
    soql = f"SELECT LoginType, LoginSubType, Status, Application, ApiType, ApiVersion FROM LoginHistory WHERE UserId = '{user['Id']}'"
    return [
        {k: v for k, v in r.items() if k != "attributes"}
        for r in connect(info).query_all(soql)["records"]
    ]


def login_envelope(username: str, password: str) -> str:
    # The recorded request of the grouparoo fixture: other prefixes, no CallOptions.
    return (
        '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/><se:Body>'
        f'<login xmlns="urn:partner.soap.sforce.com"><username>{username}</username><password>{password}</password></login>'
        "</se:Body></se:Envelope>"
    )


def read_app(sf: Salesforce, full_name: str) -> Any:
    """One ConnectedApp component through sf.mdapi (zeep); a single name gives one record."""
    return sf.mdapi.ConnectedApp.read([full_name])


def tags(el: ET.Element | None) -> list[str]:
    assert el is not None
    return [c.tag.rsplit("}", 1)[-1] for c in el]


# ---------------------------------------------------------------------- login()


def test_soap_login_through_simple_salesforce(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = soap_creds(creds)
    sf = connect(info, username=c.username, password=c.password, security_token=c.security_token)
    assert sf.sf_instance == MY_DOMAIN
    assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1
    session = org.sessions[sf.session_id]
    assert (session.login_type, session.client_name, session.app_id) == (
        "Other Apex API",
        "simple-salesforce",
        None,
    )
    assert login_rows(info, org, JANE) == [
        {
            "LoginType": "Other Apex API",
            "LoginSubType": None,
            "Status": "Success",
            "Application": "simple-salesforce",
            "ApiType": "SOAP Partner",
            "ApiVersion": "59.0",
        }
    ]


def test_login_response_has_the_recorded_shape(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = soap_creds(creds)
    resp = session_for(info).post(
        "https://login.salesforce.com/services/Soap/u/42.0",
        data=login_envelope(c.username, f"{c.password}{c.security_token}"),
        headers={"Content-Type": "text/xml", "SOAPAction": "login"},
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/xml")
    ours = ET.fromstring(resp.content).find(f"{ENV}Body/{PARTNER}loginResponse/{PARTNER}result")
    assert ours is not None
    oid15 = org.org_id[:15]
    assert (
        ours.findtext(f"{PARTNER}serverUrl") == f"https://{MY_DOMAIN}/services/Soap/u/42.0/{oid15}"
    )
    assert (
        ours.findtext(f"{PARTNER}metadataServerUrl")
        == f"https://{MY_DOMAIN}/services/Soap/m/42.0/{oid15}"
    )
    assert ours.findtext(f"{PARTNER}userId") == uid(org, JANE)
    assert ours.findtext(f"{PARTNER}userInfo/{PARTNER}sessionSecondsValid") == "7200"
    assert ours.findtext(f"{PARTNER}userInfo/{PARTNER}userName") == JANE
    if GROUPAROO.exists():
        recorded = json.loads(GROUPAROO.read_text())[0]
        assert recorded["path"] == "/services/Soap/u/42.0"
        theirs = ET.fromstring(recorded["responseBody"]).find(
            f"{ENV}Body/{PARTNER}loginResponse/{PARTNER}result"
        )
        assert tags(ours) == tags(theirs)
        assert theirs is not None
        assert tags(ours.find(f"{PARTNER}userInfo")) == tags(theirs.find(f"{PARTNER}userInfo"))


def test_soap_login_failures(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = soap_creds(creds)
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(info, username=c.username, password="wrong", security_token=c.security_token)
    assert (e.value.code, e.value.auth_message) == ("INVALID_LOGIN", INVALID_LOGIN)
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(info, username=c.username, password=c.password, security_token="")
    assert e.value.code == "LOGIN_MUST_USE_SECURITY_TOKEN"
    leaver = "former.employee@tiny.example.com"
    leaver_row = org.user_by_username(leaver)
    assert leaver_row is not None
    token = org.security_tokens[leaver_row["Id"]]
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(info, username=leaver, password="Former-Pass-123", security_token=token)
    assert e.value.code == "INVALID_LOGIN"
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(info, username="nobody@tiny.example.com", password="x", security_token="y")
    assert e.value.code == "INVALID_LOGIN"
    no_api = "no.api@tiny.example.com"
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(
            info,
            username=no_api,
            password="NoApi-Pass-123",
            security_token=org.security_tokens[uid(org, no_api)],
        )
    assert (e.value.code, e.value.auth_message) == (
        "API_CURRENTLY_DISABLED",
        "API is disabled for this User",
    )
    assert sorted(r["Status"] for r in login_rows(info, org, JANE)) == [
        "Failed: API security token required",
        "Invalid Password",
    ]
    assert [r["Status"] for r in login_rows(info, org, leaver)] == ["User is inactive"]
    # The raw fault: HTTP 500 with the partner fault envelope.
    raw = session_for(info).post(
        "https://login.salesforce.com/services/Soap/u/59.0",
        data=login_envelope(JANE, "wrong"),
        headers={"Content-Type": "text/xml", "SOAPAction": "login"},
    )
    assert raw.status_code == 500
    fault = ET.fromstring(raw.content).find(f"{ENV}Body/{ENV}Fault")
    assert fault is not None
    assert fault.findtext("faultcode") == "sf:INVALID_LOGIN"
    assert fault.findtext("faultstring") == f"INVALID_LOGIN: {INVALID_LOGIN}"
    assert (
        b'xmlns:sf="urn:fault.partner.soap.sforce.com"' in raw.content
        and b"<sf:LoginFault" in raw.content
    )


def test_soap_login_directly_and_version_limits(
    info: dict[str, Any], creds: dict[str, WorkloadCredentials]
) -> None:
    c = soap_creds(creds)
    resp = requests.post(
        f"{info['instance_url']}/services/Soap/u/59.0",
        data=login_envelope(c.username, f"{c.password}{c.security_token}"),
        headers={"Content-Type": "text/xml"},
        verify=info["ca_bundle"],
    )
    result = ET.fromstring(resp.content).find(f"{ENV}Body/{PARTNER}loginResponse/{PARTNER}result")
    assert result is not None
    server_url = result.findtext(f"{PARTNER}serverUrl") or ""
    host = info["instance_url"].removeprefix("https://")
    assert server_url.startswith(f"https://{host}/services/Soap/u/59.0/")
    sf = Salesforce(
        instance=host, session_id=result.findtext(f"{PARTNER}sessionId"), session=session_for(info)
    )
    assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1
    # login() is gone from API 65.0 on (reference fact 8).
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(
            info,
            username=c.username,
            password=c.password,
            security_token=c.security_token,
            version="65.0",
        )
    assert e.value.code == "UNSUPPORTED_API_VERSION"


# ---------------------------------------------------------------------- Metadata API


@pytest.fixture
def mdapi_trust(monkeypatch: pytest.MonkeyPatch, info: dict[str, Any]) -> None:
    """zeep uses its own requests session: it trusts the emulator CA through the environment."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(info["ca_bundle"]))


def direct_session_of(
    info: dict[str, Any], creds: dict[str, WorkloadCredentials], username: str
) -> Salesforce:
    """A JWT login sent straight to the emulator's URL, so its instance (and the mdapi URL)
    needs no adapter."""
    c = creds["ERP Nightly Sync"]
    exp = str(int((datetime.now(UTC) + timedelta(minutes=3)).timestamp()))
    assertion = jwt.encode(
        {"iss": c.consumer_key, "sub": username, "aud": "https://login.salesforce.com", "exp": exp},
        c.private_key_pem or "",
        algorithm="RS256",
    )
    body = requests.post(
        f"{info['instance_url']}/services/oauth2/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        verify=info["ca_bundle"],
    ).json()
    return Salesforce(
        instance_url=body["instance_url"],
        session_id=body["access_token"],
        session=session_for(info),
    )


@pytest.mark.usefixtures("mdapi_trust")
def test_read_connected_app(info: dict[str, Any], org: Org) -> None:
    sf = connect(info)
    app = read_app(sf, "Warehouse_Connector")
    assert (app.fullName, app.label) == ("Warehouse_Connector", "Warehouse Connector")
    oauth = app.oauthConfig
    assert (oauth.consumerKey, oauth.isAdminApproved, oauth.isClientCredentialEnabled) == (
        "TINY_CC_CONSUMER_KEY",
        True,
        True,
    )
    assert oauth.oauthClientCredentialUser == SVC
    assert oauth.consumerSecret is None and list(oauth.scopes) == ["Api"]
    assert list(app.profileName) == ["Minimum Access - API Only Integrations"]
    erp = read_app(sf, "ERP_Sync")
    assert erp.oauthConfig.certificate == app_of(org, "ERP Sync").certificate_pem
    assert sorted(erp.profileName) == ["Minimum Access - API Only Integrations", "Standard User"]
    assert read_app(sf, "No_Such_App").fullName is None


def test_read_never_returns_the_consumer_secret(info: dict[str, Any]) -> None:
    envelope = (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://soap.sforce.com/2006/04/metadata">'
        f"<soapenv:Header><m:SessionHeader><m:sessionId>{info['access_token']}</m:sessionId></m:SessionHeader></soapenv:Header>"
        "<soapenv:Body><m:readMetadata><m:type>ConnectedApp</m:type><m:fullNames>Warehouse_Connector</m:fullNames><m:fullNames>ERP_Sync</m:fullNames></m:readMetadata></soapenv:Body></soapenv:Envelope>"
    )
    resp = requests.post(
        f"{info['instance_url']}/services/Soap/m/59.0/",
        data=envelope,
        headers={"Content-Type": "text/xml", "SOAPAction": '""'},
        verify=info["ca_bundle"],
    )
    assert resp.status_code == 200
    assert resp.content.count(b'<records xsi:type="ConnectedApp">') == 2
    assert b"consumerSecret" not in resp.content and b"CONSUMER_SECRET" not in resp.content


@pytest.mark.usefixtures("mdapi_trust")
def test_update_run_as_user_repoints_client_credentials(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    sf = connect(info)
    app = read_app(sf, "Warehouse_Connector")
    app.oauthConfig.oauthClientCredentialUser = REPLACEMENT
    sf.mdapi.ConnectedApp.update([app])
    assert read_app(sf, "Warehouse_Connector").oauthConfig.oauthClientCredentialUser == REPLACEMENT
    c = creds["Warehouse Stock Feed"]  # the external system keeps its key and secret
    cc = connect(
        info, consumer_key=c.consumer_key, consumer_secret=c.consumer_secret, domain="tiny.my"
    )
    assert org.sessions[cc.session_id].user_id == uid(org, REPLACEMENT)
    assert [r["LoginSubType"] for r in login_rows(info, org, REPLACEMENT)] == [
        "OAuth Client Credentials"
    ]
    assert login_rows(info, org, SVC) == []
    # The pre-authorized profiles came back unchanged from the round trip.
    assert list(read_app(sf, "Warehouse_Connector").profileName) == [
        "Minimum Access - API Only Integrations"
    ]


@pytest.mark.usefixtures("mdapi_trust")
@pytest.mark.parametrize(
    ("username", "expected"),
    [
        (
            JANE,
            "(FIELD_INTEGRITY_EXCEPTION, The client credentials Run As user must have the API Only permission)",
        ),
        (
            "former.employee@tiny.example.com",
            "(FIELD_INTEGRITY_EXCEPTION, The client credentials Run As user must be an active user)",
        ),
        (
            "nobody@tiny.example.com",
            "(INVALID_CROSS_REFERENCE_KEY, In field: oauthClientCredentialUser - no User named nobody@tiny.example.com found)",
        ),
    ],
)
def test_update_rejects_unfit_run_as_users(
    info: dict[str, Any], org: Org, username: str, expected: str
) -> None:
    sf = connect(info)
    app = read_app(sf, "Warehouse_Connector")
    app.oauthConfig.oauthClientCredentialUser = username
    with pytest.raises(Exception, match="Warehouse_Connector") as e:
        sf.mdapi.ConnectedApp.update([app])
    assert expected in str(e.value)
    assert app_of(org, "Warehouse Connector").client_credentials_user == SVC


@pytest.mark.usefixtures("mdapi_trust")
def test_update_preauthorization_and_admin_approval(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    sf = connect(info)
    app = read_app(sf, "ERP_Sync")
    app.profileName = ["Minimum Access - API Only Integrations"]  # Standard User loses access
    sf.mdapi.ConnectedApp.upsert([app])
    c = creds["ERP Nightly Sync"]
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(info, username=JANE, consumer_key=c.consumer_key, privatekey=c.private_key_pem)
    assert e.value.code == "invalid_app_access"
    app_id = app_of(org, "ERP Sync").app_id
    assert (
        sf.query(f"SELECT Id FROM SetupEntityAccess WHERE SetupEntityId = '{app_id}'")["totalSize"]
        == 1
    )
    web = read_app(sf, "Marketing_Cloud_Connect")
    web.oauthConfig.isAdminApproved = True
    sf.mdapi.ConnectedApp.update([web])
    # Jane approved it herself once; now that only pre-authorized users may use it, her
    # refresh token stops working too.
    mc = creds["Marketing Sync"]
    refresh = {
        "grant_type": "refresh_token",
        "client_id": mc.consumer_key or "",
        "refresh_token": mc.refresh_token or "",
    }
    resp = session_for(info).post(f"https://{MY_DOMAIN}/services/oauth2/token", data=refresh)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_app_access"
    row = sf.query(
        "SELECT OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication WHERE Name = 'Marketing Cloud Connect'"
    )["records"][0]
    assert row["OptionsAllowAdminApprovedUsersOnly"] is True
    new = read_app(sf, "ERP_Sync")
    new.fullName = "Brand_New_App"
    with pytest.raises(Exception, match="Brand_New_App"):
        sf.mdapi.ConnectedApp.upsert([new])  # connected apps can't be created any more


@pytest.mark.usefixtures("mdapi_trust")
def test_metadata_api_access_and_session_faults(
    info: dict[str, Any], creds: dict[str, WorkloadCredentials]
) -> None:
    jane = direct_session_of(info, creds, JANE)  # Standard User: no Customize Application
    with pytest.raises(zeep.exceptions.Fault) as e:
        read_app(jane, "Warehouse_Connector")
    assert e.value.code == "sf:INSUFFICIENT_ACCESS"
    stale = Salesforce(
        instance_url=info["instance_url"], session_id="00Dbogus!AQ", session=session_for(info)
    )
    with pytest.raises(zeep.exceptions.Fault) as e:
        read_app(stale, "Warehouse_Connector")
    assert e.value.code == "sf:INVALID_SESSION_ID"
    assert (
        e.value.message
        == "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session"
    )
