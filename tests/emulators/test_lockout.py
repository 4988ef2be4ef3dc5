"""Stopping a user without deactivating them, as decommissioning does: UserLogin.IsFrozen
(every login flow refused, with LoginHistory "User is frozen" and the Login event's
LOGIN_ERROR_USER_FROZEN) and AuthSession (deleting a row ends that session). Driven through
simple-salesforce over HTTPS against the tiny org."""

from __future__ import annotations

from typing import Any, cast

import pytest
from simple_salesforce import Salesforce, SFType
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from emulators.salesforce.client import connect, session_for
from emulators.salesforce.loader import WorkloadCredentials
from emulators.salesforce.org import Org
from tests.emulators.test_oauth import (
    JANE,
    JWT,
    MY_DOMAIN,
    SVC,
    USER_QUERY,
    assert_error,
    jwt_for,
    login_events,
    login_history,
    post_token,
    uid,
)


def sobject(sf: Salesforce, name: str) -> SFType:
    return cast(SFType, getattr(sf, name))


def user_login_id(admin: Salesforce, org: Org, username: str) -> str:
    rows = admin.query(
        f"SELECT Id, UserId, IsFrozen, IsPasswordLocked FROM UserLogin WHERE UserId = '{uid(org, username)}'"
    )["records"]
    assert len(rows) == 1
    return str(rows[0]["Id"])


def jane_by_jwt(info: dict[str, Any], c: WorkloadCredentials) -> Salesforce:
    return connect(info, username=JANE, consumer_key=c.consumer_key, privatekey=c.private_key_pem)


def test_user_login_is_read_and_changed_with_manage_users(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    admin = connect(info)
    rows = admin.query("SELECT Id, UserId, IsFrozen, IsPasswordLocked FROM UserLogin")["records"]
    assert len(rows) == len(org.table("User")) and not any(r["IsFrozen"] for r in rows)
    assert all(r["Id"].startswith("060") for r in rows)
    row_id = user_login_id(admin, org, JANE)
    # "From the API, you can set this field to false, but not true."
    with pytest.raises(SalesforceMalformedRequest) as e:
        sobject(admin, "UserLogin").update(row_id, {"IsPasswordLocked": True})
    assert e.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    with pytest.raises(SalesforceMalformedRequest) as e:
        sobject(admin, "UserLogin").create({"UserId": uid(org, JANE)})
    assert e.value.content[0]["errorCode"] == "INVALID_TYPE"
    # Without Manage Users the object does not exist for the caller.
    jane = jane_by_jwt(info, creds["ERP Nightly Sync"])
    with pytest.raises(SalesforceMalformedRequest) as e:
        jane.query("SELECT Id FROM UserLogin")
    assert e.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_a_frozen_user_can_log_in_with_no_flow(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    admin = connect(info)
    jwt_creds, pw, web = creds["ERP Nightly Sync"], creds["Finance Export"], creds["Marketing Sync"]
    sobject(admin, "UserLogin").update(user_login_id(admin, org, JANE), {"IsFrozen": True})
    sobject(admin, "UserLogin").update(user_login_id(admin, org, SVC), {"IsFrozen": True})

    refusals = []
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        jane_by_jwt(info, jwt_creds)
    refusals.append((e.value.code, e.value.auth_message))
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(
            info,
            username=JANE,
            password=(pw.password or "") + (pw.security_token or ""),
            consumer_key=pw.consumer_key,
            consumer_secret=pw.consumer_secret,
        )
    refusals.append((e.value.code, e.value.auth_message))
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(info, username=JANE, password=pw.password, security_token=pw.security_token)
    refusals.append((e.value.code, e.value.auth_message))
    cc = creds["Warehouse Stock Feed"]
    with pytest.raises(SalesforceAuthenticationFailed) as e:
        connect(
            info,
            consumer_key=cc.consumer_key,
            consumer_secret=cc.consumer_secret,
            domain=MY_DOMAIN.removesuffix(".salesforce.com"),
        )
    refusals.append((e.value.code, e.value.auth_message))
    assert refusals == [
        ("invalid_grant", "user is frozen"),
        ("invalid_grant", "authentication failure"),  # as for a wrong password
        ("INVALID_LOGIN", "Invalid username, password, security token; or user locked out."),
        ("invalid_grant", "user is frozen"),
    ]
    # A refresh token of a frozen user gets no access token either (and logs no login).
    refresh = {
        "grant_type": "refresh_token",
        "client_id": web.consumer_key or "",
        "refresh_token": web.refresh_token or "",
    }
    assert_error(post_token(info, refresh), "invalid_grant", "user is frozen")

    statuses = [r["Status"] for r in login_history(info, org, JANE)]
    assert statuses == ["User is frozen"] * 3
    assert [r["Status"] for r in login_history(info, org, SVC)] == ["User is frozen"]

    # Unfrozen, the same credentials work again.
    sobject(admin, "UserLogin").update(user_login_id(admin, org, JANE), {"IsFrozen": False})
    assert jane_by_jwt(info, jwt_creds).query(USER_QUERY)["totalSize"] == 1
    assert post_token(info, refresh).status_code == 200

    events = login_events(org)
    frozen = [e for e in events if e["LOGIN_STATUS"] == "LOGIN_ERROR_USER_FROZEN"]
    assert len(frozen) == 4
    assert [e["LOGIN_STATUS"] for e in events if e not in frozen] == ["LOGIN_NO_ERROR"]


def test_deleting_an_auth_session_ends_that_session(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    admin = connect(info)
    c = creds["ERP Nightly Sync"]
    token = post_token(info, {"grant_type": JWT, "assertion": jwt_for(c)}).json()["access_token"]
    jane = Salesforce(instance=MY_DOMAIN, session_id=token, session=session_for(info))
    assert jane.query(USER_QUERY)["totalSize"] == 1
    other = post_token(info, {"grant_type": JWT, "assertion": jwt_for(c)}).json()["access_token"]
    soql = (
        "SELECT Id, UsersId, LoginType, SessionType, SourceIp, LoginHistoryId, NumSecondsValid "
        f"FROM AuthSession WHERE UsersId = '{uid(org, JANE)}' ORDER BY CreatedDate"
    )
    rows = admin.query(soql)["records"]
    assert len(rows) == 2
    assert {(r["LoginType"], r["SessionType"], r["NumSecondsValid"]) for r in rows} == {
        ("Remote Access 2.0", "Oauth2", 7200)
    }
    history = {h["Id"] for h in admin.query("SELECT Id FROM LoginHistory")["records"]}
    assert all(r["LoginHistoryId"] in history for r in rows)
    # Jane sees her own sessions, but may not end them (no Manage Users).
    assert jane.query(soql)["totalSize"] == 2
    with pytest.raises(SalesforceRefusedRequest):
        sobject(jane, "AuthSession").delete(rows[1]["Id"])

    session_of = {s.auth_session_id: s.token for s in org.sessions.values()}
    first = next(r["Id"] for r in rows if session_of[r["Id"]] == token)
    assert sobject(admin, "AuthSession").delete(first) == 204
    with pytest.raises(SalesforceExpiredSession):
        jane.query(USER_QUERY)
    # The other session lives on; a revoked token's session leaves the list too.
    still = Salesforce(instance=MY_DOMAIN, session_id=other, session=session_for(info))
    assert still.query(USER_QUERY)["totalSize"] == 1
    assert [r["Id"] for r in admin.query(soql)["records"]] == [
        r["Id"] for r in rows if r["Id"] != first
    ]
    session_for(info).post(f"https://{MY_DOMAIN}/services/oauth2/revoke", data={"token": other})
    assert admin.query(soql)["totalSize"] == 0
