"""Every write the migration makes, through simple-salesforce over HTTPS, with the
platform's rules: the Integration User (licence seats, duplicates, deactivation and
reactivation), its permission set licence, the permission set and its permissions in
sObject Collections, the assignment, the connected-app access, the password, and the
undoing of each (rollback and decommission delete in the reverse order)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from simple_salesforce import Salesforce, SFType
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
)

from emulators.salesforce.client import connect
from emulators.salesforce.loader import WorkloadCredentials
from emulators.salesforce.org import Org

INTEGRATION_PROFILE = "Minimum Access - API Only Integrations"
NEW_USER = "svc-erp@tiny.example.com"


def sobject(sf: Salesforce, name: str) -> SFType:
    return cast(SFType, getattr(sf, name))


def one(sf: Salesforce, soql: str) -> dict[str, Any]:
    rows = sf.query(soql)["records"]
    assert len(rows) == 1, (soql, rows)
    return dict(rows[0])


def seats(sf: Salesforce) -> tuple[int, int]:
    lic = one(
        sf,
        "SELECT TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'",
    )
    return lic["TotalLicenses"], lic["UsedLicenses"]


def new_user(sf: Salesforce, username: str) -> str:
    profile = one(sf, f"SELECT Id FROM Profile WHERE Name = '{INTEGRATION_PROFILE}'")["Id"]
    result = sobject(sf, "User").create(
        {
            "Username": username,
            "LastName": "Integration",
            "FirstName": "ERP",
            "Email": "it@tiny.example.com",
            "Alias": "svcerp",
            "TimeZoneSidKey": "GMT",
            "LocaleSidKey": "en_US",
            "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US",
            "ProfileId": profile,
        }
    )
    return str(result["id"])


def error_of(e: pytest.ExceptionInfo[SalesforceMalformedRequest]) -> tuple[str, str]:
    return e.value.content[0]["errorCode"], e.value.content[0]["message"]


def collection(sf: Salesforce, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"allOrNone": True, "records": records}
    return list(sf.restful("composite/sobjects", method="POST", json=body))


def test_integration_user_seats_deactivation_and_reactivation(
    info: dict[str, Any], org: Org
) -> None:
    sf = connect(info)
    total, used = seats(sf)
    uid = new_user(sf, NEW_USER)
    assert seats(sf) == (total, used + 1)
    with pytest.raises(SalesforceMalformedRequest) as e:
        new_user(sf, NEW_USER.upper())  # usernames compare case-insensitively
    assert error_of(e)[0] == "DUPLICATE_USERNAME"
    extra = [new_user(sf, f"svc-{i}@tiny.example.com") for i in range(total - used - 1)]
    with pytest.raises(SalesforceMalformedRequest) as e:
        new_user(sf, "svc-too-many@tiny.example.com")
    assert error_of(e) == (
        "LICENSE_LIMIT_EXCEEDED",
        "License Limit Exceeded: no more Salesforce Integration licenses are available. Deactivate a user or buy more licenses.",
    )

    # A user can't be deleted; deactivating frees the seat and ends the user's sessions.
    with pytest.raises(SalesforceMalformedRequest) as e:
        sobject(sf, "User").delete(uid)
    assert error_of(e)[0] == "DELETE_FAILED"
    session = connect(info, instance=info["instance_url"].removeprefix("https://"),
                      session_id=_session_of(org, uid))  # fmt: skip
    assert session.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1
    assert sobject(sf, "User").update(uid, {"IsActive": False}) == 204
    assert seats(sf) == (total, total - 1)
    with pytest.raises(SalesforceExpiredSession):
        session.query("SELECT Id FROM User LIMIT 1")
    # Someone took the seat: reactivating is refused, until a seat is free again.
    sobject(sf, "User").update(extra[0], {"IsActive": False})
    new_user(sf, "svc-late@tiny.example.com")
    new_user(sf, "svc-later@tiny.example.com")
    with pytest.raises(SalesforceMalformedRequest) as e:
        sobject(sf, "User").update(uid, {"IsActive": True})
    assert error_of(e)[0] == "LICENSE_LIMIT_EXCEEDED"
    sobject(sf, "User").update(extra[1], {"IsActive": False})
    assert sobject(sf, "User").update(uid, {"IsActive": True}) == 204
    assert one(sf, f"SELECT IsActive, Username FROM User WHERE Id = '{uid}'") == {
        "attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{uid}"},
        "IsActive": True,
        "Username": NEW_USER,
    }


def _session_of(org: Org, user_id: str) -> str:
    """A session for ``user_id``, as a login would give (the test needs one to lose)."""
    from emulators.salesforce.sessions import Session, expiry, new_access_token

    now = org.clock.now()
    token = new_access_token(org.org_id)
    org.add_session(Session(token, user_id, now, expiry(now), "Remote Access 2.0", "x", "s", "l"))
    return token


def test_permission_set_built_in_collections_and_taken_apart(
    info: dict[str, Any], org: Org, creds: dict[str, WorkloadCredentials]
) -> None:
    sf = connect(info)
    uid = new_user(sf, NEW_USER)
    psl = one(
        sf,
        "SELECT Id, UsedLicenses FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'",
    )
    psla = sobject(sf, "PermissionSetLicenseAssign").create(
        {"AssigneeId": uid, "PermissionSetLicenseId": psl["Id"]}
    )["id"]
    assert (
        one(sf, f"SELECT UsedLicenses FROM PermissionSetLicense WHERE Id = '{psl['Id']}'")[
            "UsedLicenses"
        ]
        == psl["UsedLicenses"] + 1
    )
    ps = sobject(sf, "PermissionSet").create(
        {"Name": "ERP_Sync_Integration", "Label": "ERP Sync Integration", "LicenseId": psl["Id"],
         "PermissionsApiEnabled": True}
    )["id"]  # fmt: skip

    def op(obj: str, **flags: bool) -> dict[str, Any]:
        return {"attributes": {"type": "ObjectPermissions"}, "ParentId": ps, "SobjectType": obj,
                **{f"Permissions{k}": v for k, v in flags.items()}}  # fmt: skip

    # Masters first: a detail's Read needs its master's. All or none: nothing half-applied.
    wrong = collection(sf, [op("OrderItem", Read=True), op("Order", Read=True, Edit=True)])
    assert [r["success"] for r in wrong] == [False, False]
    assert wrong[0]["errors"][0]["message"] == (
        "Permission Read Order Products depends on permission(s): Read Orders"
    )
    assert wrong[1]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf.query(f"SELECT Id FROM ObjectPermissions WHERE ParentId = '{ps}'")["totalSize"] == 0
    objects = collection(
        sf, [op("Order", Read=True, Edit=True), op("OrderItem", Read=True, Create=True)]
    )
    assert all(r["success"] for r in objects), objects
    fields = collection(
        sf,
        [
            {"attributes": {"type": "FieldPermissions"}, "ParentId": ps, "SobjectType": "Order",
             "Field": "Order.Description", "PermissionsRead": True, "PermissionsEdit": True},
            {"attributes": {"type": "FieldPermissions"}, "ParentId": ps, "SobjectType": "OrderItem",
             "Field": "OrderItem.Description", "PermissionsRead": True, "PermissionsEdit": False},
        ],
    )  # fmt: skip
    assert all(r["success"] for r in fields), fields
    # Object and field permissions are Setup objects: one type per call, or mixed DML.
    field = {"attributes": {"type": "FieldPermissions"}, "ParentId": ps, "SobjectType": "Order",
             "Field": "Order.PoNumber", "PermissionsRead": True}  # fmt: skip
    mixed = collection(sf, [op("Product2", Read=True), field])
    assert {r["errors"][0]["statusCode"] for r in mixed} == {"MIXED_DML_OPERATION"}
    assert sf.query(f"SELECT Id FROM ObjectPermissions WHERE ParentId = '{ps}'")["totalSize"] == 2

    sobject(sf, "PermissionSetAssignment").create({"AssigneeId": uid, "PermissionSetId": ps})
    assignment = one(
        sf,
        f"SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{uid}' AND PermissionSetId = '{ps}'",
    )["Id"]
    # Taking it apart in the wrong order is refused with the platform's reasons.
    with pytest.raises(SalesforceMalformedRequest) as e:
        sobject(sf, "PermissionSet").delete(ps)
    assert error_of(e) == (
        "DELETE_FAILED",
        "You can't delete this permission set because it's assigned to one or more users.",
    )
    with pytest.raises(SalesforceMalformedRequest) as e:
        sobject(sf, "PermissionSetLicenseAssign").delete(psla)
    assert error_of(e)[0] == "FIELD_INTEGRITY_EXCEPTION"

    # Connected-app access: the app pre-authorizes the integration profile; take that away,
    # then the permission set's SetupEntityAccess is what lets the new user in by JWT.
    c = creds["ERP Nightly Sync"]
    app = one(sf, "SELECT Id FROM ConnectedApplication WHERE Name = 'ERP Sync'")["Id"]
    profile_set = one(
        sf,
        f"SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND Profile.Name = '{INTEGRATION_PROFILE}'",
    )["Id"]
    by_profile = one(
        sf,
        f"SELECT Id FROM SetupEntityAccess WHERE ParentId = '{profile_set}' AND SetupEntityId = '{app}'",
    )["Id"]
    sobject(sf, "SetupEntityAccess").delete(by_profile)

    def jwt_login() -> Salesforce:
        return connect(
            info, username=NEW_USER, consumer_key=c.consumer_key, privatekey=c.private_key_pem
        )

    with pytest.raises(SalesforceAuthenticationFailed) as auth:
        jwt_login()
    assert auth.value.code == "invalid_app_access"
    sea = sobject(sf, "SetupEntityAccess").create({"ParentId": ps, "SetupEntityId": app})["id"]
    integration = jwt_login()
    orders = sf.query("SELECT COUNT() FROM Order")["totalSize"]
    assert integration.query("SELECT Id, Description FROM Order")["totalSize"] == orders

    # Undo, in reverse: access, assignment, permissions, set, licence.
    assert sobject(sf, "SetupEntityAccess").delete(sea) == 204
    with pytest.raises(SalesforceAuthenticationFailed):
        jwt_login()
    assert sobject(sf, "PermissionSetAssignment").delete(assignment) == 204
    with pytest.raises(SalesforceMalformedRequest) as e:
        integration.query("SELECT Id FROM Order")
    assert error_of(e)[0] == "INVALID_TYPE"
    ids = [r["id"] for r in fields] + [r["id"] for r in objects]
    deleted = sf.restful(
        "composite/sobjects", method="DELETE", params={"ids": ",".join(ids), "allOrNone": "true"}
    )
    assert [r["success"] for r in deleted] == [True] * 4
    assert sf.query(f"SELECT Id FROM FieldPermissions WHERE ParentId = '{ps}'")["totalSize"] == 0
    assert sobject(sf, "PermissionSet").delete(ps) == 204
    assert sobject(sf, "PermissionSetLicenseAssign").delete(psla) == 204
    assert sf.query(f"SELECT Id FROM PermissionSet WHERE Id = '{ps}'")["totalSize"] == 0


def test_a_new_password_works_where_the_old_credentials_did(info: dict[str, Any]) -> None:
    sf = connect(info)
    uid = new_user(sf, NEW_USER)
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.set_password(uid, "short")
    assert error_of(e)[0] == "INVALID_NEW_PASSWORD"
    assert sf.set_password(uid, "N3w-Integration-Pass") is None
    assert sf.restful(f"sobjects/User/{uid}/password") == {"isExpired": False}
    assert one(sf, f"SELECT LastPasswordChangeDate FROM User WHERE Id = '{uid}'")[
        "LastPasswordChangeDate"
    ]
    # The OAuth username-password flow (Finance Scripts) logs in with it.
    scripts = connect(
        info,
        username=NEW_USER,
        password="N3w-Integration-Pass",
        consumer_key="TINY_PW_CONSUMER_KEY",
        consumer_secret="TINY_PW_CONSUMER_SECRET",
    )
    assert scripts.query(f"SELECT Id FROM User WHERE Id = '{uid}'")["totalSize"] == 1
