"""The OAuth 2.0 side of the emulator, driven through unmodified simple-salesforce and
requests over real HTTPS (the emulator's CA is trusted; nothing is mocked)."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from simple_salesforce import Salesforce, SFType
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from emulators.salesforce.client import connect, session_for
from emulators.salesforce.loader import WorkloadCredentials
from emulators.salesforce.org import Org
from tests.recorded import RECORDED

JWT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN = "login.salesforce.com"
MY_DOMAIN = "tiny.my.salesforce.com"
JANE = "jane.doe@tiny.example.com"
ADMIN = "admin@tiny.example.com"
SVC = "svc-integration@tiny.example.com"
WEB_CALLBACK = "https://app.example.com/oauth/callback"
USER_QUERY = "SELECT Id FROM User LIMIT 1"
LOGIN_FIELDS = "LoginType, LoginSubType, Status, Application, ApiType, ApiVersion, LoginUrl"


def uid(org: Org, username: str) -> str:
    user = org.user_by_username(username)
    assert user is not None
    return str(user["Id"])


def sobject(sf: Salesforce, name: str) -> SFType:
    """``sf.<name>``, typed (simple-salesforce's __getattr__ also returns bulk handlers)."""
    return cast(SFType, getattr(sf, name))


def post_token(
    info: dict[str, Any], data: dict[str, str], host: str = LOGIN, **kw: Any
) -> requests.Response:
    return session_for(info).post(f"https://{host}/services/oauth2/token", data=data, **kw)


def login_history(info: dict[str, Any], org: Org, username: str) -> list[dict[str, Any]]:
    """The user's LoginHistory rows, read by the admin with SOQL through simple-salesforce."""
    user = org.user_by_username(username)
    assert user is not None
    soql = f"SELECT {LOGIN_FIELDS}, LoginTime FROM LoginHistory WHERE UserId = '{user['Id']}' ORDER BY LoginTime"
    return [dict(r) for r in connect(info).query_all(soql)["records"]]


def login_events(org: Org) -> list[dict[str, str]]:
    """The day's Login event log file, once published (the clock moves to the next day)."""
    org.clock.advance(timedelta(days=1, hours=5))
    files = [f for f in org.events.published_files(org.clock.now()) if f["EventType"] == "Login"]
    rows: list[dict[str, str]] = []
    for f in files:
        content = org.events.content(f["Id"])
        assert content is not None
        rows += list(csv.DictReader(io.StringIO(content.decode())))
    return rows


def jwt_for(
    creds: WorkloadCredentials,
    *,
    sub: str | None = None,
    aud: str = f"https://{LOGIN}",
    exp: object = None,
    key: str | None = None,
) -> str:
    claims: dict[str, object] = {
        "iss": creds.consumer_key,
        "sub": sub or creds.username,
        "aud": aud,
    }
    claims["exp"] = (
        exp if exp is not None else str(int((datetime.now(UTC) + timedelta(minutes=3)).timestamp()))
    )
    return jwt.encode(claims, key or creds.private_key_pem or "", algorithm="RS256")


def assert_error(resp: requests.Response, error: str, description: str) -> None:
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {"error": error, "error_description": description}


def other_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


# ---------------------------------------------------------------------- JWT bearer


def test_jwt_login_through_simple_salesforce(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["ERP Nightly Sync"]
    sf = connect(
        info, username=c.username, consumer_key=c.consumer_key, privatekey=c.private_key_pem
    )
    assert sf.sf_instance == MY_DOMAIN  # instance_url = the My Domain, reached via the adapter
    assert sf.query(USER_QUERY)["totalSize"] == 1
    session = org.sessions[sf.session_id]
    assert (session.user_id, session.app_name, session.login_type) == (
        uid(org, JANE),
        "ERP Sync",
        "Remote Access 2.0",
    )
    rows = login_history(info, org, JANE)
    assert [
        (
            r["LoginType"],
            r["LoginSubType"],
            r["Status"],
            r["Application"],
            r["ApiVersion"],
            r["LoginUrl"],
        )
        for r in rows
    ] == [("Remote Access 2.0", None, "Success", "ERP Sync", "9998.0", LOGIN)]


def test_jwt_token_response_shape(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["ERP Nightly Sync"]
    resp = post_token(info, {"grant_type": JWT, "assertion": jwt_for(c)})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    user_id = uid(org, JANE)
    assert body["id"] == f"https://login.salesforce.com/id/{org.org_id}/{user_id}"
    assert body["instance_url"] == f"https://{MY_DOMAIN}"
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "api"
    assert "refresh_token" not in body  # JWT bearer issues none (reference 4.1)
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    mac = hmac.new(
        b"TINY_JWT_CONSUMER_SECRET", (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    )
    assert body["signature"] == base64.b64encode(mac.digest()).decode()
    assert body["access_token"].startswith(org.org_id[:15] + "!")


def test_jwt_audiences_and_my_domain_host(
    info: dict[str, Any], creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["ERP Nightly Sync"]
    # simple-salesforce with the My Domain: token URL and aud both https://tiny.my.salesforce.com
    sf = connect(
        info,
        username=c.username,
        consumer_key=c.consumer_key,
        privatekey=c.private_key_pem,
        domain="tiny.my",
    )
    assert sf.query(USER_QUERY)["totalSize"] == 1
    for aud in ("https://test.salesforce.com", f"https://{MY_DOMAIN}"):
        assert (
            post_token(info, {"grant_type": JWT, "assertion": jwt_for(c, aud=aud)}).status_code
            == 200
        )
    bad = post_token(
        info, {"grant_type": JWT, "assertion": jwt_for(c, aud="https://evil.example.com")}
    )
    assert_error(bad, "invalid_grant", "audience is invalid")


def test_jwt_direct_host_gets_the_emulator_instance_url(
    info: dict[str, Any], creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["ERP Nightly Sync"]
    resp = requests.post(
        f"{info['instance_url']}/services/oauth2/token",
        data={"grant_type": JWT, "assertion": jwt_for(c)},
        verify=info["ca_bundle"],
    )
    assert resp.json()["instance_url"] == info["instance_url"]
    sf = Salesforce(
        instance_url=resp.json()["instance_url"],
        session_id=resp.json()["access_token"],
        session=session_for(info),
    )
    assert sf.query(USER_QUERY)["totalSize"] == 1


def test_jwt_exp_is_checked_on_the_signers_clock(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    """exp counts on the clock the signer used, the org's simulated one or the wall clock
    (simple-salesforce signs with the wall clock + 3 minutes, as a string)."""
    c = creds["ERP Nightly Sync"]
    sim_now, wall_now = int(org.clock.now().timestamp()), int(time.time())
    assert sim_now < wall_now - 3600, "the tiny org starts in the wall clock's past"
    for exp in (sim_now - 10, wall_now - 10, str(wall_now - 10)):
        expired = post_token(info, {"grant_type": JWT, "assertion": jwt_for(c, exp=exp)})
        assert_error(expired, "invalid_grant", "expired authorization code")
    # In the simulated future, though in the wall clock's past.
    assert (
        post_token(info, {"grant_type": JWT, "assertion": jwt_for(c, exp=sim_now + 60)}).status_code
        == 200
    )
    # The simulated clock runs a day ahead of the wall: simple-salesforce still logs in...
    org.clock.set(datetime.now(UTC) + timedelta(days=1))
    sf = connect(
        info, username=c.username, consumer_key=c.consumer_key, privatekey=c.private_key_pem
    )
    assert sf.query(USER_QUERY)["totalSize"] == 1
    # ...and an assertion that expired on the simulated clock is still refused.
    sim_now = int(org.clock.now().timestamp())
    expired = post_token(info, {"grant_type": JWT, "assertion": jwt_for(c, exp=sim_now - 10)})
    assert_error(expired, "invalid_grant", "expired authorization code")


def test_jwt_user_not_preauthorized(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["ERP Nightly Sync"]  # pre-authorized for Standard User, not System Administrator
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(info, username=ADMIN, consumer_key=c.consumer_key, privatekey=c.private_key_pem)
    assert (e.value.code, e.value.auth_message) == (
        "invalid_app_access",
        "user is not admin approved to access this app",
    )
    assert [r["Status"] for r in login_history(info, org, ADMIN)] == [
        "Failed: Not approved for access"
    ]


def test_jwt_preauthorization_through_a_permission_set(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["ERP Nightly Sync"]
    admin = connect(info)
    ps = sobject(admin, "PermissionSet").create(
        {"Name": "ERP_Sync_Access", "Label": "ERP Sync Access"}
    )
    app = org.app_by_name("ERP Sync")
    assert app is not None
    sobject(admin, "SetupEntityAccess").create({"ParentId": ps["id"], "SetupEntityId": app.app_id})
    sobject(admin, "PermissionSetAssignment").create(
        {"AssigneeId": uid(org, ADMIN), "PermissionSetId": ps["id"]}
    )
    sf = connect(info, username=ADMIN, consumer_key=c.consumer_key, privatekey=c.private_key_pem)
    assert sf.query(USER_QUERY)["totalSize"] == 1


def test_jwt_self_authorized_app_needs_a_prior_approval(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    web = creds["Marketing Sync"]  # "All users may self-authorize"; only Jane approved it
    with (
        pytest.raises(SalesforceAuthenticationFailed) as e,
        pytest.warns(UserWarning, match="self-authorize"),
    ):
        connect(info, username=ADMIN, consumer_key=web.consumer_key, privatekey=web.private_key_pem)
    assert (e.value.code, e.value.auth_message) == (
        "invalid_grant",
        "user hasn't approved this consumer",
    )
    approve(info, web, ADMIN)  # the web-server flow once: approval plus a refresh token
    sf = connect(
        info, username=ADMIN, consumer_key=web.consumer_key, privatekey=web.private_key_pem
    )
    assert sf.query(USER_QUERY)["totalSize"] == 1
    # Jane's approval came with the scenario's refresh token.
    assert connect(
        info, username=JANE, consumer_key=web.consumer_key, privatekey=web.private_key_pem
    ).query(USER_QUERY)


def test_jwt_bad_signature_unknown_issuer_inactive_user(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["ERP Nightly Sync"]
    forged = post_token(info, {"grant_type": JWT, "assertion": jwt_for(c, key=other_key())})
    assert_error(forged, "invalid_grant", "invalid assertion")
    assert [r["Status"] for r in login_history(info, org, JANE)] == ["Failed: Signature Invalid"]
    unknown = WorkloadCredentials(
        "x",
        "jwt_bearer",
        JANE,
        MY_DOMAIN,
        consumer_key="NO_SUCH_KEY",
        private_key_pem=c.private_key_pem,
    )
    assert_error(
        post_token(info, {"grant_type": JWT, "assertion": jwt_for(unknown)}),
        "invalid_client_id",
        "client identifier invalid",
    )
    leaver = "former.employee@tiny.example.com"
    assert_error(
        post_token(info, {"grant_type": JWT, "assertion": jwt_for(c, sub=leaver)}),
        "invalid_grant",
        "inactive user",
    )
    assert [r["Status"] for r in login_history(info, org, leaver)] == ["User is inactive"]
    assert_error(
        post_token(info, {"grant_type": JWT, "assertion": "not-a-jwt"}),
        "invalid_grant",
        "invalid assertion",
    )


# ---------------------------------------------------------------------- client credentials


def test_client_credentials_through_simple_salesforce(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Warehouse Stock Feed"]
    sf = connect(
        info, consumer_key=c.consumer_key, consumer_secret=c.consumer_secret, domain="tiny.my"
    )
    assert sf.query(USER_QUERY)["totalSize"] == 1
    assert org.sessions[sf.session_id].user_id == uid(org, SVC)
    rows = login_history(info, org, SVC)
    assert [(r["LoginType"], r["LoginSubType"], r["Application"], r["LoginUrl"]) for r in rows] == [
        ("Remote Access 2.0", "OAuth Client Credentials", "Warehouse Connector", MY_DOMAIN)
    ]


def test_client_credentials_only_on_my_domain(
    info: dict[str, Any], creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Warehouse Stock Feed"]
    auth = (c.consumer_key or "", c.consumer_secret or "")
    for host in (LOGIN, "test.salesforce.com"):
        assert_error(
            post_token(info, {"grant_type": "client_credentials"}, host=host, auth=auth),
            "invalid_grant",
            "request not supported on this domain",
        )
    # Body credentials work as well as the Basic header; so does the emulator's own host.
    body = {"grant_type": "client_credentials", "client_id": auth[0], "client_secret": auth[1]}
    assert post_token(info, body, host=MY_DOMAIN).status_code == 200
    direct = requests.post(
        f"{info['instance_url']}/services/oauth2/token", data=body, verify=info["ca_bundle"]
    )
    assert direct.json()["instance_url"] == info["instance_url"]


def test_client_credentials_errors(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Warehouse Stock Feed"]
    key, secret = c.consumer_key or "", c.consumer_secret or ""
    cc = {"grant_type": "client_credentials"}
    assert_error(
        post_token(info, {**cc, "scope": "api"}, host=MY_DOMAIN, auth=(key, secret)),
        "invalid_request",
        "scope parameter not supported",
    )
    assert_error(
        post_token(info, cc, host=MY_DOMAIN, auth=(key, "wrong")),
        "invalid_client",
        "invalid client credentials",
    )
    assert_error(
        post_token(info, cc, host=MY_DOMAIN, auth=("nope", secret)),
        "invalid_client_id",
        "client identifier invalid",
    )
    erp = creds["ERP Nightly Sync"]  # has a secret but no Run-As user
    assert_error(
        post_token(
            info, cc, host=MY_DOMAIN, auth=(erp.consumer_key or "", erp.consumer_secret or "")
        ),
        "invalid_grant",
        "no client credentials user enabled",
    )
    app = org.app_by_name("Warehouse Connector")
    assert app is not None
    app.client_credentials_user = JANE  # a human: no API Only permission
    resp = post_token(info, cc, host=MY_DOMAIN, auth=(key, secret))
    assert (
        resp.json()["error"] == "invalid_grant" and "API Only" in resp.json()["error_description"]
    )
    # simple-salesforce surfaces the same pair.
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(info, consumer_key=key, consumer_secret=secret, domain="tiny.my")
    assert e.value.code == "invalid_grant"


# ---------------------------------------------------------------------- username-password


def test_password_flow_through_simple_salesforce(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Finance Export"]
    sf = connect(
        info,
        username=c.username,
        password=(c.password or "") + (c.security_token or ""),
        consumer_key=c.consumer_key,
        consumer_secret=c.consumer_secret,
    )
    assert sf.sf_instance == MY_DOMAIN and sf.query(USER_QUERY)["totalSize"] == 1
    rows = login_history(info, org, JANE)
    assert [(r["LoginType"], r["LoginSubType"], r["Status"], r["Application"]) for r in rows] == [
        ("Remote Access 2.0", "OAuth Username-Password", "Success", "Finance Scripts")
    ]
    assert org.sessions[sf.session_id].app_name == "Finance Scripts"


def test_password_flow_failures(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Finance Export"]
    kw = {
        "username": c.username,
        "consumer_key": c.consumer_key,
        "consumer_secret": c.consumer_secret,
    }
    for secret in ("wrong-password", c.password or ""):  # the second lacks the security token
        with pytest.raises(SalesforceAuthenticationFailed) as e:
            connect(info, password=secret, **kw)
        assert (e.value.code, e.value.auth_message) == ("invalid_grant", "authentication failure")
        assert c.password and c.password not in str(e.value)
    assert sorted(r["Status"] for r in login_history(info, org, JANE)) == [
        "Failed: API security token required",
        "Invalid Password",
    ]
    base = {
        "grant_type": "password",
        "username": JANE,
        "password": (c.password or "") + (c.security_token or ""),
    }
    assert_error(
        post_token(info, {**base, "client_id": "nope", "client_secret": "x"}),
        "invalid_client_id",
        "client identifier invalid",
    )
    assert_error(
        post_token(info, {**base, "client_id": c.consumer_key or "", "client_secret": "x"}),
        "invalid_client",
        "invalid client credentials",
    )
    events = login_events(org)
    # Same simulated instant: the file's order between the two is not defined.
    assert sorted(e["LOGIN_STATUS"] for e in events) == [
        "LOGIN_ERROR_INVALID_PASSWORD",
        "LOGIN_ERROR_MUST_USE_API_TOKEN",
    ]
    assert {e["LOGIN_TYPE"] for e in events} == {"i"}


# ---------------------------------------------------------------------- grant types, errors


@pytest.mark.parametrize(
    ("data", "error", "description"),
    [
        ({}, "invalid_request", "grant type is missing"),
        (
            {"grant_type": "urn:ietf:params:oauth:grant-type:saml2-bearer"},
            "unsupported_grant_type",
            "grant type not supported",
        ),
        (
            {
                "grant_type": "refresh_token",
                "client_id": "TINY_WEB_CONSUMER_KEY",
                "refresh_token": "5Aep861bogus",
            },
            "invalid_grant",
            "expired access/refresh token",
        ),
        (
            {
                "grant_type": "authorization_code",
                "client_id": "TINY_WEB_CONSUMER_KEY",
                "client_secret": "TINY_WEB_CONSUMER_SECRET",
                "code": "aPrxbogus",
                "redirect_uri": WEB_CALLBACK,
            },
            "invalid_grant",
            "expired authorization code",
        ),
    ],
)
def test_token_endpoint_errors(
    info: dict[str, Any], data: dict[str, str], error: str, description: str
) -> None:
    assert_error(post_token(info, data), error, description)


# ---------------------------------------------------------------------- refresh token


def test_refresh_token_grant(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Marketing Sync"]
    admin = connect(info)
    before = admin.query(
        f"SELECT UseCount, LastUsedDate FROM OauthToken WHERE UserId = '{uid(org, JANE)}'"
    )["records"]
    resp = post_token(
        info,
        {
            "grant_type": "refresh_token",
            "client_id": c.consumer_key or "",
            "client_secret": c.consumer_secret or "",
            "refresh_token": c.refresh_token or "",
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert "refresh_token" not in body and body["instance_url"] == f"https://{MY_DOMAIN}"
    sf = connect(info, instance=MY_DOMAIN, session_id=body["access_token"])
    assert sf.query(USER_QUERY)["totalSize"] == 1
    after = admin.query(
        f"SELECT UseCount, LastUsedDate FROM OauthToken WHERE UserId = '{uid(org, JANE)}'"
    )["records"]
    assert after[0]["UseCount"] == before[0]["UseCount"] + 1
    assert after[0]["LastUsedDate"] > before[0]["LastUsedDate"]
    # Real orgs log neither a LoginHistory row nor a Login event for a refresh.
    assert login_history(info, org, JANE) == []
    assert login_events(org) == []


# ---------------------------------------------------------------------- web-server flow


def approve(
    info: dict[str, Any], c: WorkloadCredentials, username: str, state: str = "xyz"
) -> dict[str, Any]:
    """Authorize as ``username`` and exchange the code: the token JSON."""
    s = session_for(info)
    params = {
        "response_type": "code",
        "client_id": c.consumer_key or "",
        "redirect_uri": WEB_CALLBACK,
        "state": state,
    }
    resp = s.get(
        f"https://{LOGIN}/services/oauth2/authorize",
        params=params,
        headers={"X-Emulator-User": username},
        allow_redirects=False,
    )
    assert resp.status_code == 302, resp.text
    location = urlsplit(resp.headers["location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert (
        f"{location.scheme}://{location.netloc}{location.path}" == WEB_CALLBACK
        and query["state"] == state
    )
    assert "code" in query, query
    data = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "client_id": c.consumer_key or "",
        "client_secret": c.consumer_secret or "",
        "redirect_uri": WEB_CALLBACK,
    }
    token = post_token(info, data)
    assert token.status_code == 200, token.text
    reuse = post_token(info, data)  # codes are single use
    assert_error(reuse, "invalid_grant", "expired authorization code")
    return dict(token.json())


def test_web_server_flow_creates_an_oauth_token(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Marketing Sync"]
    body = approve(info, c, ADMIN)
    assert body["refresh_token"] and body["scope"] == "api refresh_token"
    admin = connect(info)
    admin_id = uid(org, ADMIN)
    tokens = admin.query(
        f"SELECT AppName, UseCount, DeleteToken FROM OauthToken WHERE UserId = '{admin_id}'"
    )["records"]
    assert [(t["AppName"], t["UseCount"]) for t in tokens] == [("Marketing Cloud Connect", 1)]
    rows = login_history(info, org, ADMIN)
    assert [(r["LoginType"], r["LoginSubType"], r["Application"]) for r in rows] == [
        ("Remote Access 2.0", "OAuth Web Server", "Marketing Cloud Connect")
    ]
    refreshed = post_token(
        info,
        {
            "grant_type": "refresh_token",
            "client_id": c.consumer_key or "",
            "refresh_token": body["refresh_token"],
        },
    )
    assert refreshed.status_code == 200


def test_web_server_flow_refuses_api_only_users(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Marketing Sync"]
    s = session_for(info)
    params = {
        "response_type": "code",
        "client_id": c.consumer_key or "",
        "redirect_uri": WEB_CALLBACK,
        "emulator_user": SVC,
    }
    resp = s.get(
        f"https://{MY_DOMAIN}/services/oauth2/authorize", params=params, allow_redirects=False
    )
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["location"]).query)
    assert query["error"] == ["access_denied"] and "code" not in query
    assert [(r["Status"], r["LoginSubType"]) for r in login_history(info, org, SVC)] == [
        ("Failed: API-only user", "OAuth Web Server")
    ]
    assert [e["LOGIN_STATUS"] for e in login_events(org)] == ["LOGIN_ERROR_USER_API_ONLY"]
    # A wrong redirect_uri is never redirected to.
    bad = s.get(
        f"https://{MY_DOMAIN}/services/oauth2/authorize",
        params={**params, "redirect_uri": "https://evil.example.com/"},
        allow_redirects=False,
    )
    assert bad.status_code == 400 and bad.json()["error"] == "redirect_uri_mismatch"


# ---------------------------------------------------------------------- revoke


def test_revoke_access_token(info: dict[str, Any], creds: dict[str, WorkloadCredentials]) -> None:
    c = creds["ERP Nightly Sync"]
    token = post_token(info, {"grant_type": JWT, "assertion": jwt_for(c)}).json()["access_token"]
    sf = connect(info, instance=MY_DOMAIN, session_id=token)
    assert sf.query(USER_QUERY)["totalSize"] == 1
    assert (
        session_for(info)
        .post(f"https://{MY_DOMAIN}/services/oauth2/revoke", data={"token": token})
        .status_code
        == 200
    )
    with pytest.raises(SalesforceExpiredSession):
        sf.query(USER_QUERY)
    again = session_for(info).post(
        f"https://{MY_DOMAIN}/services/oauth2/revoke", data={"token": token}
    )
    assert_error(again, "invalid_token", "Token was invalid")


def test_revoke_refresh_token_ends_grant_and_its_sessions(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Marketing Sync"]
    data = {
        "grant_type": "refresh_token",
        "client_id": c.consumer_key or "",
        "refresh_token": c.refresh_token or "",
    }
    token = post_token(info, data).json()["access_token"]
    sf = connect(info, instance=MY_DOMAIN, session_id=token)
    admin = connect(info)
    # simple-salesforce's own oauth2() helper: POST /services/oauth2/revoke?token=...
    assert admin.oauth2("revoke", params={"token": c.refresh_token}, method="POST") is None
    assert admin.query("SELECT Id FROM OauthToken")["totalSize"] == 0
    with pytest.raises(SalesforceExpiredSession):
        sf.query(USER_QUERY)
    assert_error(post_token(info, data), "invalid_grant", "expired access/refresh token")


def test_revoke_by_delete_token(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    admin = connect(info)
    rows = admin.query("SELECT DeleteToken, UserId FROM OauthToken")["records"]
    assert len(rows) == 1
    # As sfdx-hardis does: the DeleteToken in the query string, an empty body.
    resp = session_for(info).post(
        f"https://{MY_DOMAIN}/services/oauth2/revoke", params={"token": rows[0]["DeleteToken"]}
    )
    assert resp.status_code == 200
    assert admin.query("SELECT DeleteToken FROM OauthToken")["totalSize"] == 0
    c = creds["Marketing Sync"]
    data = {
        "grant_type": "refresh_token",
        "client_id": c.consumer_key or "",
        "refresh_token": c.refresh_token or "",
    }
    assert_error(post_token(info, data), "invalid_grant", "expired access/refresh token")
    assert_error(
        session_for(info).post(
            f"https://{MY_DOMAIN}/services/oauth2/revoke", data={"token": "nope"}
        ),
        "invalid_token",
        "Token was invalid",
    )
    assert_error(
        session_for(info).post(f"https://{MY_DOMAIN}/services/oauth2/revoke"),
        "unsupported_token_type",
        "Token type not supported",
    )


# ---------------------------------------------------------------------- identity


def test_userinfo_and_identity_url(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    import json

    c = creds["Warehouse Stock Feed"]
    sf = connect(
        info, consumer_key=c.consumer_key, consumer_secret=c.consumer_secret, domain="tiny.my"
    )
    me = sf.oauth2("userinfo")
    assert me is not None
    svc_id = uid(org, SVC)
    assert (me["user_id"], me["preferred_username"], me["is_salesforce_integration_user"]) == (
        svc_id,
        SVC,
        True,
    )
    ident_url = f"https://login.salesforce.com/id/{org.org_id}/{svc_id}"
    s = session_for(info)
    resp = s.get(ident_url, headers={"Authorization": f"Bearer {sf.session_id}"})
    assert resp.status_code == 200
    ident = resp.json()
    fixture = RECORDED / "SwiftlySalesforce" / "IdentityResponse.json"
    if fixture.exists():
        assert set(json.loads(fixture.read_text())) <= set(ident)
    assert (
        ident["id"] == ident_url
        and ident["username"] == SVC
        and ident["urls"]["rest"] == f"https://{MY_DOMAIN}/services/data/v{{version}}/"
    )
    other = f"https://login.salesforce.com/id/{org.org_id}/{uid(org, JANE)}"
    assert s.get(other, headers={"Authorization": f"Bearer {sf.session_id}"}).status_code == 404
    assert s.get(ident_url, headers={"Authorization": "Bearer nope"}).status_code == 403


def test_users_without_api_enabled_cannot_get_tokens(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    c = creds["Finance Export"]
    no_api = "no.api@tiny.example.com"
    secret = "NoApi-Pass-123" + org.security_tokens[uid(org, no_api)]
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(
            info,
            username=no_api,
            password=secret,
            consumer_key=c.consumer_key,
            consumer_secret=c.consumer_secret,
        )
    assert (e.value.code, e.value.auth_message) == (
        "invalid_grant",
        "API is disabled for this User",
    )
    assert [r["Status"] for r in login_history(info, org, no_api)] == [
        "Failed: API disabled for user"
    ]
