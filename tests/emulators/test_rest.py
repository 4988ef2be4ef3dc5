"""The REST API of the emulated org, driven through the real simple-salesforce client
over HTTPS (trusting the emulator's generated CA). No mocks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from emulators.salesforce.faults import FaultRule
from emulators.salesforce.scenario import Scenario
from emulators.salesforce.server import prepare, start_in_thread
from emulators.salesforce.sessions import Session, expiry, new_access_token

SCENARIO = {
    "org": {
        "name": "Rest Test Org",
        "my_domain": "rest-test.my.salesforce.com",
        "start": "2026-11-02T09:00:00Z",
        "admin_username": "admin@rest.test",
        "event_monitoring": True,
        "user_licenses": [{"name": "Salesforce Integration", "total": 2}],
    },
    "users": [
        {"username": "admin@rest.test", "last_name": "Admin", "profile": "System Administrator"},
        {
            "username": "rep@rest.test",
            "first_name": "Rita",
            "last_name": "Rep",
            "profile": "Standard User",
        },
        {
            "username": "svc.sync@rest.test",
            "last_name": "Sync",
            "profile": "Minimum Access - API Only Integrations",
        },
    ],
    "connected_apps": [
        {"name": "Sync App", "consumer_key": "CK-SYNC", "consumer_secret": "CS-SYNC"}
    ],
    "data": {
        "Account": [
            {"Name": "Acme Freight", "ERP_Id__c": "NS-1"},
            {"Name": "Blue Harbor", "ERP_Id__c": "NS-2"},
        ]
    },
}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    running = prepare(Scenario.model_validate(SCENARIO), state_dir=tmp_path_factory.mktemp("rest"))
    start_in_thread(running)
    yield running
    running.stop()


def _session(ca_bundle) -> requests.Session:
    s = requests.Session()
    s.verify = str(ca_bundle)
    s.trust_env = False
    return s


def sf_as(emulator, username: str | None = None) -> Salesforce:
    """A simple-salesforce client with a session of ``username`` (the admin by default)."""
    org = emulator.org
    if username is None:
        token = emulator.access_token
    else:
        user = org.user_by_username(username)
        now = org.clock.now()
        token = new_access_token(org.org_id)
        org.sessions[token] = Session(
            token,
            user["Id"],
            now,
            expiry(now) + timedelta(days=30),
            "Remote Access 2.0",
            "203.0.113.5",
            "sk",
            "lk",
            app_name="Sync App",
        )
    return Salesforce(
        instance_url=emulator.instance_url, session_id=token, session=_session(emulator.ca_bundle)
    )


def test_versions_and_resources(emulator):
    s = _session(emulator.ca_bundle)
    versions = s.get(emulator.instance_url + "/services/data/").json()
    assert {"label", "url", "version"} <= set(versions[0])
    assert any(v["version"] == "59.0" for v in versions)
    assert s.get(emulator.instance_url + "/services/data/v59").status_code == 404
    sf = sf_as(emulator)
    assert sf.restful("")["sobjects"] == "/services/data/v59.0/sobjects"


def test_limit_header_parsed_by_simple_salesforce(emulator):
    sf = sf_as(emulator)
    sf.query("SELECT Id FROM Account")
    usage = sf.api_usage["api-usage"]
    assert usage.used >= 1 and usage.total == 100_000
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    assert "Sync App" in limits["DailyApiRequests"]


def test_crud_round_trip(emulator):
    sf = sf_as(emulator)
    created = sf.Account.create({"Name": "Northwind Cargo", "Industry": "Logistics"})
    assert (
        created["success"] is True and created["id"].startswith("001") and len(created["id"]) == 18
    )
    got = sf.Account.get(created["id"])
    assert got["Name"] == "Northwind Cargo" and got["attributes"]["type"] == "Account"
    assert sf.Account.update(created["id"], {"Industry": "Retail"}) == 204
    assert sf.Account.get(created["id"])["Industry"] == "Retail"
    assert sf.Account.get(created["id"][:15])["Id"] == created["id"]  # 15-char ids are accepted
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as e:
        sf.Account.get(created["id"])
    assert e.value.content[0]["errorCode"] == "NOT_FOUND"


def test_seeded_records_have_a_last_modifier(emulator):
    """A record is never without LastModifiedById; the Salesforce CLI's `data get record`
    showed seeded ones with null (issue 12)."""
    sf = sf_as(emulator)
    admin = emulator.org.user_by_username("admin@rest.test")["Id"]
    (row,) = sf.query("SELECT Id FROM Account WHERE Name = 'Acme Freight'")["records"]
    got = sf.Account.get(row["Id"])
    assert (got["CreatedById"], got["LastModifiedById"]) == (admin, admin)


def test_validation_errors_have_salesforce_codes(emulator):
    sf = sf_as(emulator)
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Account.create({"Name": "X", "Nope__c": 1})
    assert e.value.content == [
        {
            "message": "No such column 'Nope__c' on sobject of type Account",
            "errorCode": "INVALID_FIELD",
        }
    ]
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Contact.create({"FirstName": "No"})
    assert e.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING" and e.value.content[0][
        "fields"
    ] == ["LastName"]
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Account.create({"Name": "Dup", "ERP_Id__c": "NS-1"})
    assert e.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Order.create({"AccountId": "001000000000000AAA", "EffectiveDate": "2026-11-01"})
    assert e.value.content[0]["errorCode"] in (
        "INVALID_CROSS_REFERENCE_KEY",
        "FIELD_INTEGRITY_EXCEPTION",
    )


def test_upsert_by_external_id(emulator):
    sf = sf_as(emulator)
    assert sf.Account.upsert("ERP_Id__c/NS-77", {"Name": "Upserted"}) == 201
    assert sf.Account.upsert("ERP_Id__c/NS-77", {"Name": "Upserted again"}) == 200
    assert sf.Account.get_by_custom_id("ERP_Id__c", "NS-77")["Name"] == "Upserted again"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.upsert("Industry/x", {"Name": "bad"})


def test_describe_flags(emulator):
    sf = sf_as(emulator)
    glob = sf.describe()
    names = {o["name"] for o in glob["sobjects"]}
    assert {
        "Account",
        "User",
        "PermissionSet",
        "ObjectPermissions",
        "EventLogFile",
        "OauthToken",
    } <= names
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert (
        fields["Name"]["permissionable"] is False and fields["Industry"]["permissionable"] is True
    )
    assert fields["Id"]["createable"] is False and fields["Industry"]["filterable"] is True
    lh = {f["name"]: f for f in sf.LoginHistory.describe()["fields"]}
    assert lh["Application"]["filterable"] is False and lh["LoginTime"]["filterable"] is True


def test_object_and_field_access_is_enforced(emulator):
    rep = sf_as(emulator, "rep@rest.test")
    with pytest.raises(SalesforceMalformedRequest) as e:
        rep.Product2.create({"Name": "Forbidden"})
    assert e.value.content[0]["errorCode"] == "INVALID_TYPE"
    svc = sf_as(emulator, "svc.sync@rest.test")
    with pytest.raises(SalesforceResourceNotFound):
        svc.Account.create({"Name": "nope"})
    with pytest.raises(SalesforceMalformedRequest) as e:
        svc.query("SELECT Id FROM Account")
    assert e.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_integration_user_provisioning_rules(emulator):
    """The order of operations of reference section 3.2, with the platform's real errors."""
    sf = sf_as(emulator)
    psl = sf.query(
        "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'"
    )["records"][0]["Id"]
    user = sf.query("SELECT Id FROM User WHERE Username = 'svc.sync@rest.test'")["records"][0]["Id"]
    ps = sf.PermissionSet.create({"Name": "Sync_Access", "Label": "Sync Access", "LicenseId": psl})[
        "id"
    ]
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.ObjectPermissions.create(
            {"ParentId": ps, "SobjectType": "Account", "PermissionsCreate": True}
        )
    assert e.value.content[0] == {
        "message": "Permission Create Accounts depends on permission(s): Read Accounts",
        "errorCode": "FIELD_INTEGRITY_EXCEPTION",
        "fields": [],
    }
    sf.ObjectPermissions.create(
        {
            "ParentId": ps,
            "SobjectType": "Account",
            "PermissionsRead": True,
            "PermissionsCreate": True,
        }
    )
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.FieldPermissions.create(
            {
                "ParentId": ps,
                "SobjectType": "Account",
                "Field": "Account.Name",
                "PermissionsRead": True,
            }
        )
    assert e.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    sf.FieldPermissions.create(
        {
            "ParentId": ps,
            "SobjectType": "Account",
            "Field": "Account.Industry",
            "PermissionsRead": True,
        }
    )
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    assert e.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    sf.PermissionSetLicenseAssign.create({"AssigneeId": user, "PermissionSetLicenseId": psl})
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.PermissionSetLicenseAssign.create({"AssigneeId": user, "PermissionSetLicenseId": psl})
    assert e.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.PermissionSetAssignment.create({"AssigneeId": user, "PermissionSetId": ps})
    assert e.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.PermissionSet.update(ps, {"LicenseId": None})
    assert e.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    app = sf.query("SELECT Id FROM ConnectedApplication WHERE Name = 'Sync App'")["records"][0][
        "Id"
    ]
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.SetupEntityAccess.create(
            {"ParentId": ps, "SetupEntityId": app, "SetupEntityType": "ConnectedApplication"}
        )
    assert (
        e.value.content[0]["message"] == "Field is not writeable: SetupEntityAccess.SetupEntityType"
    )
    sf.SetupEntityAccess.create({"ParentId": ps, "SetupEntityId": app})
    # Now the integration user reads Account and its permitted field, and nothing else.
    svc = sf_as(emulator, "svc.sync@rest.test")
    rows = svc.query("SELECT Id, Name, Industry FROM Account WHERE Name = 'Blue Harbor'")
    assert rows["totalSize"] == 1 and set(rows["records"][0]) == {
        "attributes",
        "Id",
        "Name",
        "Industry",
    }
    with pytest.raises(SalesforceMalformedRequest) as e:
        svc.query("SELECT Id, Phone FROM Account")
    assert e.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as e:
        svc.Account.create({"Name": "x", "Phone": "1"})
    assert e.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert svc.Account.create({"Name": "Made by integration"})["success"]


def test_user_rules(emulator):
    sf = sf_as(emulator)
    profile = sf.query(
        "SELECT Id FROM Profile WHERE Name = 'Minimum Access - API Only Integrations'"
    )["records"][0]["Id"]
    base = {
        "LastName": "Svc",
        "Alias": "svc",
        "TimeZoneSidKey": "GMT",
        "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "LanguageLocaleKey": "en_US",
        "ProfileId": profile,
        "Email": "ops@rest.test",
    }
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.User.create({**base, "Username": "admin@rest.test"})
    assert e.value.content[0]["errorCode"] == "DUPLICATE_USERNAME"
    sf.User.create({**base, "Username": "svc.two@rest.test"})
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.User.create({**base, "Username": "svc.three@rest.test"})
    assert e.value.content[0]["errorCode"] == "LICENSE_LIMIT_EXCEEDED"
    uid = sf.query("SELECT Id FROM User WHERE Username = 'svc.two@rest.test'")["records"][0]["Id"]
    assert sf.set_password(uid, "Str0ng-Passw0rd") is None


def test_collections_all_or_none(emulator):
    sf = sf_as(emulator)
    before = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "C1"},
            {"attributes": {"type": "Account"}},
        ],
    }
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == before
    body["allOrNone"] = False
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert [r["success"] for r in results] == [True, False]


def test_pagination_and_batch_size(emulator):
    sf = sf_as(emulator)
    records = [
        {"attributes": {"type": "Lead"}, "LastName": f"L{i}", "Company": "Big Co"}
        for i in range(200)
    ]
    for _ in range(12):
        sf.restful(
            "composite/sobjects", method="POST", json={"allOrNone": True, "records": records}
        )
    first = sf.query("SELECT Id FROM Lead")
    assert first["done"] is False and len(first["records"]) == 2000 and first["totalSize"] == 2400
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert len(sf.query_all("SELECT Id FROM Lead")["records"]) == 2400
    sf.headers["Sforce-Query-Options"] = "batchSize=500"
    try:
        assert len(sf.query("SELECT Id FROM Lead")["records"]) == 500
    finally:
        del sf.headers["Sforce-Query-Options"]


def test_daily_limit_and_faults(emulator):
    sf = sf_as(emulator)
    org = emulator.org
    emulator.emulator.faults.add(FaultRule(kind="503", path="/query", nth=[1]))
    with pytest.raises(SalesforceGeneralError) as e:
        sf.query("SELECT Id FROM Account")
    assert e.value.status == 503
    emulator.emulator.faults.add(
        FaultRule(kind="UNABLE_TO_LOCK_ROW", path="/sobjects/Account", method="POST", nth=[1])
    )
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Account.create({"Name": "locked"})
    assert e.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    emulator.emulator.faults.add(
        FaultRule(kind="INVALID_SESSION_ID", path="/sobjects/Account", method="GET", nth=[1])
    )
    with pytest.raises(SalesforceExpiredSession):
        sf.Account.describe()
    emulator.emulator.faults.clear()
    used, _ = org.api_usage()
    org.api_counter.limit = used + 1
    try:
        sf.query("SELECT Id FROM Account")
        with pytest.raises(SalesforceRefusedRequest) as e:
            sf.query("SELECT Id FROM Account")
        assert e.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
    finally:
        org.api_counter.limit = org.daily_api_limit


def test_calls_become_event_log_files(emulator):
    sf = sf_as(emulator, "rep@rest.test")
    sf.query("SELECT Id, Name FROM Account")
    org = emulator.org
    org.clock.advance(timedelta(days=1, hours=5))
    admin = sf_as(emulator)
    files = admin.query(
        "SELECT Id, EventType, LogDate, LogFileLength FROM EventLogFile ORDER BY EventType"
    )["records"]
    types = {f["EventType"] for f in files}
    assert {"ApiTotalUsage", "RestApi"} <= types
    usage = next(f for f in files if f["EventType"] == "ApiTotalUsage")
    body = admin.EventLogFile.get_base64(usage["Id"], base64_field="LogFile")
    assert len(body) == usage["LogFileLength"]
    text = body.decode()
    assert text.startswith('"EVENT_TYPE"') and '"rep@rest.test"' in text


def test_oauth_token_caps_500_per_page_2500_in_total(emulator):
    """OauthToken: 500 rows per batch and queryMore stops at 2,500 (reference §1.2)."""
    from emulators.salesforce.sessions import RefreshGrant, new_key, new_refresh_token

    org = emulator.org
    app = org.app_by_name("Sync App")
    rep = org.user_by_username("rep@rest.test")
    now = org.clock.now()
    for i in range(2600):
        grant = RefreshGrant(
            token=new_refresh_token(),
            delete_token=new_key(40),
            user_id=rep["Id"],
            app_id=app.app_id,
            app_name=app.name,
            created=now - timedelta(minutes=i),
            last_used=now,
        )
        org.refresh_grants[grant.token] = grant
        org.sync_oauth_token(grant)
    sf = sf_as(emulator)
    first = sf.query("SELECT AppName, UserId, DeleteToken FROM OauthToken")
    assert len(first["records"]) == 500 and first["totalSize"] == 2600 and first["done"] is False
    assert first["records"][0]["attributes"] == {"type": "OauthToken"}
    everything = sf.query_all("SELECT AppName, DeleteToken FROM OauthToken")
    assert len(everything["records"]) == 2500
    # Users without Customize Application see only their own tokens.
    assert (
        sf_as(emulator, "svc.sync@rest.test").query("SELECT COUNT() FROM OauthToken")["totalSize"]
        == 0
    )


def test_the_clock_runs_no_workloads_in_an_org_without_any(emulator):
    info = emulator.info()
    resp = requests.post(
        f"{info['instance_url']}/_emulator/clock",
        json={"seconds": 60, "run_workloads": True},
        headers={"X-Emulator-Control": info["control_token"]},
        verify=info["ca_bundle"],
    )
    assert resp.status_code == 409
    assert resp.json() == {"error": "this emulator has no scenario workloads to run"}
