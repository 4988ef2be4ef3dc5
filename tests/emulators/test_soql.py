"""Unit tests of the SOQL engine against a small in-memory source (no server)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from emulators.salesforce.exceptions import SoqlError
from emulators.salesforce.ids import IdFactory, to15
from emulators.salesforce.objects import custom_object, standard_schema
from emulators.salesforce.schema import FieldDef, ObjectDef, Schema
from emulators.salesforce.soql import QueryResult, execute, parse
from emulators.salesforce.soql import ast as soql_ast
from emulators.salesforce.soql.dates import relative_range

NOW = datetime(2024, 5, 15, 10, 30, tzinfo=UTC)  # a Wednesday
NO_COLUMN_TAIL = (
    ". If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)


class FakeSource:
    """The QuerySource protocol over plain lists, with switchable visibility."""

    def __init__(self, schema: Schema | None = None) -> None:
        self.schema = schema or standard_schema()
        self.api_version = "59.0"
        self.clock = NOW
        self.hidden_objects: set[str] = set()
        self.hidden_fields: set[tuple[str, str]] = set()
        self._rows: dict[str, list[dict]] = {}
        self._by_id: dict[str, dict] = {}
        self._ids = IdFactory()

    def add(self, obj_name: str, **values: Any) -> dict:
        obj = self.schema.get(obj_name)
        assert obj is not None
        row: dict[str, Any] = {"__type": obj.name, "IsDeleted": False, **values}
        if "Id" not in row:
            row["Id"] = self._ids.new(obj.key_prefix) if obj.key_prefix else None
        self._rows.setdefault(obj.name, []).append(row)
        if row["Id"]:
            self._by_id[row["Id"]] = row
        return row

    def now(self) -> datetime:
        return self.clock

    def object_visible(self, obj: ObjectDef) -> bool:
        return obj.name not in self.hidden_objects

    def field_visible(self, obj: ObjectDef, field: FieldDef) -> bool:
        return (obj.name, field.name) not in self.hidden_fields

    def rows(self, obj: ObjectDef, include_deleted: bool) -> Iterable[dict]:
        return [r for r in self._rows.get(obj.name, []) if include_deleted or not r["IsDeleted"]]

    def get(self, record_id: str) -> dict | None:
        return self._by_id.get(record_id)


@pytest.fixture
def org() -> FakeSource:
    src = FakeSource()
    full = src.add("UserLicense", Name="Salesforce")
    integ = src.add("UserLicense", Name="Salesforce Integration")
    admin = src.add("Profile", Name="System Administrator", UserLicenseId=full["Id"])
    api = src.add(
        "Profile", Name="Minimum Access - API Only Integrations", UserLicenseId=integ["Id"]
    )
    alice = src.add(
        "User",
        Username="alice@acme.test",
        LastName="Smith",
        FirstName="Alice",
        Name="Alice Smith",
        ProfileId=admin["Id"],
        IsActive=True,
        LastLoginDate=datetime(2024, 5, 14, 13, 4, 5, 120000, tzinfo=UTC),
        ManagerId=None,
    )
    src.add(
        "User",
        Username="bob@acme.test",
        LastName="Jones",
        FirstName="Bob",
        Name="Bob Jones",
        ProfileId=admin["Id"],
        IsActive=False,
        LastLoginDate=None,
        ManagerId=alice["Id"],
    )
    src.add(
        "User",
        Username="integration@acme.test",
        LastName="Integration",
        FirstName=None,
        Name="Integration",
        ProfileId=api["Id"],
        IsActive=True,
        LastLoginDate=datetime(2024, 5, 15, 9, 0, tzinfo=UTC),
        ManagerId=None,
    )
    return src


def q(src: FakeSource, soql: str, **kw: Any) -> QueryResult:
    return execute(soql, src, **kw)


def err(src: FakeSource | None, soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        if src is None:
            parse(soql)
        else:
            execute(soql, src)
    assert info.value.status == 400
    return info.value


def rows_of(src: FakeSource, name: str) -> list[dict]:
    obj = src.schema.get(name)
    assert obj is not None
    return list(src.rows(obj, False))


def user_id(src: FakeSource, username: str) -> str:
    return next(r["Id"] for r in rows_of(src, "User") if r["Username"] == username)


# -- parsing and syntax errors ---------------------------------------------------------


def test_parse_builds_ast_with_positions() -> None:
    query = parse("select Id, Profile.Name from User where IsActive = TRUE limit 5")
    assert query.sobject == "User" and query.sobject_pos == 29 and query.limit == 5
    assert query.select[1] == soql_ast.SelectField(soql_ast.FieldPath(("Profile", "Name"), 11))
    assert query.where == soql_ast.Comparison(
        soql_ast.FieldPath(("IsActive",), 40), "=", soql_ast.BoolLit(True, 51), 40
    )


def test_premature_end_reports_eof_at_the_end() -> None:
    e = err(None, "SELECT Id FROM")
    assert e.error_code == "MALFORMED_QUERY"
    assert (
        e.message
        == "\nSELECT Id FROM\n              ^\nERROR at Row:1:Column:15\nunexpected token: <EOF>"
    )


def test_unexpected_token_column_and_caret() -> None:
    e = err(None, "SELECT Id, FROM Account")
    assert (
        e.message == "\nSELECT Id, FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        "unexpected token: 'FROM'"
    )


def test_mixing_and_or_without_parentheses_is_malformed() -> None:
    e = err(None, "SELECT Id FROM User WHERE IsActive = true AND Name = 'a' OR Name = 'b'")
    assert e.message.endswith("ERROR at Row:1:Column:58\nunexpected token: 'OR'")
    parse("SELECT Id FROM User WHERE IsActive = true AND (Name = 'a' OR Name = 'b')")


def test_error_row_and_column_on_multiline_query() -> None:
    e = err(None, "SELECT Id\nFROM User\nWHERE Name = ")
    assert (
        e.message
        == "\nWHERE Name = \n             ^\nERROR at Row:3:Column:14\nunexpected token: <EOF>"
    )


def test_long_query_is_shown_as_a_window_around_the_error() -> None:
    fields = ", ".join(f"Field{i}__c" for i in range(20))
    e = err(None, f"SELECT {fields} FROM Account WHERE Name = = 'x'")
    shown, caret = e.message.split("\n")[1:3]
    assert len(shown) < 100 and shown.endswith("= = 'x'")
    assert shown[caret.index("^") :].startswith("= 'x'")


def test_unknown_character_and_bind_variable() -> None:
    e = err(None, "select Id from Account where id = $sfid")
    assert e.message.endswith("Column:34\nline 1:34 no viable alternative at character '$'")
    assert err(None, "SELECT Id FROM Account WHERE Id = :ids").message.endswith(
        "Bind variables only allowed in Apex code"
    )


def test_clauses_out_of_order_are_rejected() -> None:
    assert (
        "unexpected token: 'WHERE'"
        in err(None, "SELECT Id FROM User LIMIT 5 WHERE Name = 'x'").message
    )


# -- object and field resolution -------------------------------------------------------


def test_unknown_object_matches_the_recorded_message(org: FakeSource) -> None:
    e = err(org, "select count() from XYZZY")
    assert e.error_code == "INVALID_TYPE"
    assert e.message == (
        "\nselect count() from XYZZY\n                    ^\nERROR at Row:1:Column:21\n"
        "sObject type 'XYZZY' is not supported. If you are attempting to use a custom object, be "
        "sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )


def test_invisible_object_looks_unknown(org: FakeSource) -> None:
    org.hidden_objects.add("User")
    assert err(org, "SELECT Id FROM User").error_code == "INVALID_TYPE"


def test_unknown_and_invisible_field(org: FakeSource) -> None:
    e = err(org, "SELECT Id, Bacon__c FROM User")
    assert e.error_code == "INVALID_FIELD"
    assert e.message == (
        "\nSELECT Id, Bacon__c FROM User\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Bacon__c' on entity 'User'" + NO_COLUMN_TAIL
    )
    org.hidden_fields.add(("User", "Email"))
    assert "No such column 'Email' on entity 'User'" in err(org, "SELECT Email FROM User").message


def test_unknown_field_behind_a_relationship_names_the_parent(org: FakeSource) -> None:
    e = err(org, "SELECT Profile.Nope FROM User")
    assert "Column:8\nNo such column 'Nope' on entity 'Profile'" in e.message


def test_unknown_relationship(org: FakeSource) -> None:
    e = err(org, "SELECT Id, Manger.Name FROM User")
    assert e.error_code == "INVALID_FIELD"
    assert (
        "Column:12\nDidn't understand relationship 'Manger' in field path. If you are attempting"
        in e.message
    )


def test_non_filterable_non_groupable_non_sortable(org: FakeSource) -> None:
    e = err(org, "SELECT Id FROM LoginHistory WHERE Application = 'Workbench'")
    assert e.error_code == "INVALID_FIELD"
    assert e.message.endswith("Column:35\nfield 'Application' can not be filtered in a query call")
    e = err(org, "SELECT Description FROM Account GROUP BY Description")
    assert e.message.endswith("field 'Description' can not be grouped in a query call")
    e = err(org, "SELECT Id FROM Account ORDER BY description")
    assert e.message.endswith("field 'Description' can not be sorted in a query call")


def test_literal_type_errors(org: FakeSource) -> None:
    e = err(org, "SELECT Id FROM User WHERE IsActive = 'true'")
    assert e.error_code == "INVALID_FIELD"
    assert e.message.endswith(
        "Column:38\nvalue of filter criterion for field 'IsActive' must be of type boolean "
        "and should not be enclosed in quotes"
    )
    assert (
        "must be of type dateTime and should not"
        in err(org, "SELECT Id FROM User WHERE CreatedDate > 2024-01-01").message
    )
    assert (
        "must be of type string and should be enclosed"
        in err(org, "SELECT Id FROM User WHERE Name = 5").message
    )
    e = err(org, "SELECT Id FROM User WHERE Id = 'nope'")
    assert e.error_code == "INVALID_QUERY_FILTER_OPERATOR" and e.message.endswith(
        "invalid ID field: nope"
    )


def test_offset_over_2000(org: FakeSource) -> None:
    e = err(org, "SELECT Id FROM User LIMIT 10 OFFSET 2001")
    assert (e.error_code, e.message) == (
        "NUMBER_OUTSIDE_VALID_RANGE",
        "Maximum SOQL offset allowed is 2000",
    )
    assert q(org, "SELECT Id FROM User OFFSET 2000").records == []


def test_duplicate_field_and_field_alias_outside_aggregates(org: FakeSource) -> None:
    e = err(org, "SELECT Id, FIELDS(STANDARD) FROM Profile")
    assert (e.error_code, e.message) == ("INVALID_FIELD", "duplicate field selected: Id")
    assert err(org, "SELECT Name n FROM User").message.endswith("unexpected token: 'n'")


# -- records, values, relationships ----------------------------------------------------


def test_record_shape_uses_canonical_names_in_select_order(org: FakeSource) -> None:
    res = q(org, "select lastlogindate, USERNAME, id from user where username = 'ALICE@acme.test'")
    assert (res.total_size, res.object_name, res.is_aggregate, res.count_only) == (
        1,
        "User",
        False,
        False,
    )
    uid = user_id(org, "alice@acme.test")
    assert res.records == [
        {
            "attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{uid}"},
            "LastLoginDate": "2024-05-14T13:04:05.120+0000",
            "Username": "alice@acme.test",
            "Id": uid,
        }
    ]
    assert list(res.records[0]) == ["attributes", "LastLoginDate", "Username", "Id"]


def test_parent_paths_nest_and_merge(org: FakeSource) -> None:
    res = q(
        org,
        "SELECT Username, Profile.UserLicense.Name, Manager.Name, profile.name "
        "FROM User ORDER BY Username",
    )
    bob = res.records[1]
    assert bob["Manager"]["Name"] == "Alice Smith"
    assert bob["Manager"]["attributes"]["type"] == "User"
    profile = bob["Profile"]
    assert list(profile) == ["attributes", "UserLicense", "Name"]
    assert profile["attributes"]["url"].startswith("/services/data/v59.0/sobjects/Profile/00e")
    assert profile["UserLicense"]["Name"] == "Salesforce"
    assert profile["UserLicense"]["attributes"]["type"] == "UserLicense"
    assert res.records[0]["Manager"] is None  # alice has no manager


def test_filter_and_order_through_relationships(org: FakeSource) -> None:
    res = q(
        org, "SELECT Username FROM User WHERE Profile.UserLicense.Name = 'salesforce integration'"
    )
    assert [r["Username"] for r in res.records] == ["integration@acme.test"]
    res = q(org, "SELECT Username FROM User ORDER BY Profile.Name DESC, Username")
    assert res.records[0]["Username"] == "alice@acme.test"


def test_polymorphic_reference_resolves_by_row_type(org: FakeSource) -> None:
    psl = org.add(
        "PermissionSetLicense",
        DeveloperName="SalesforceAPIIntegrationPsl",
        MasterLabel="Salesforce API Integration",
    )
    lic = rows_of(org, "UserLicense")[0]
    org.add("PermissionSet", Name="A", Label="A", LicenseId=psl["Id"])
    org.add("PermissionSet", Name="B", Label="B", LicenseId=lic["Id"])
    res = q(org, "SELECT Name, License.Type, License.Name FROM PermissionSet ORDER BY Name")
    assert res.records[0]["License"]["attributes"]["type"] == "PermissionSetLicense"
    assert res.records[0]["License"]["Type"] == "PermissionSetLicense"
    assert res.records[0]["License"]["Name"] is None  # no Name field on PermissionSetLicense
    assert res.records[1]["License"]["Name"] == "Salesforce"
    assert "on entity 'Name'" in err(org, "SELECT License.Bogus FROM PermissionSet").message


def test_oauth_token_rows_have_no_url_and_alias_is_accepted(org: FakeSource) -> None:
    uid = user_id(org, "alice@acme.test")
    org.add("OauthToken", Id=None, AppName="Workbench", UserId=uid, UseCount=3)
    res = q(org, "SELECT Id, AppName, User.Name, UseCount FROM OAuthToken")
    assert res.object_name == "OauthToken"
    assert res.records == [
        {
            "attributes": {"type": "OauthToken"},
            "Id": None,
            "AppName": "Workbench",
            "User": {
                "attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{uid}"},
                "Name": "Alice Smith",
            },
            "UseCount": 3,
        }
    ]


def test_base64_field_renders_as_blob_url(org: FakeSource) -> None:
    elf = org.add(
        "EventLogFile",
        EventType="Login",
        LogDate=datetime(2024, 5, 14, tzinfo=UTC),
        LogFile=b"a,b\n",
    )
    rec = q(org, "SELECT LogFile, LogDate FROM EventLogFile").records[0]
    assert rec["LogFile"] == f"/services/data/v59.0/sobjects/EventLogFile/{elf['Id']}/LogFile"
    assert rec["LogDate"] == "2024-05-14T00:00:00.000+0000"


def test_date_values_render_iso(org: FakeSource) -> None:
    acct = org.add("Account", Name="Acme")
    org.add("Order", AccountId=acct["Id"], EffectiveDate=date(2024, 5, 1), Status="Draft")
    assert q(org, "SELECT EffectiveDate FROM Order").records[0]["EffectiveDate"] == "2024-05-01"


def test_child_subquery(org: FakeSource) -> None:
    acme = org.add("Account", Name="Acme")
    org.add("Account", Name="Empty")
    org.add("Contact", LastName="Zed", AccountId=acme["Id"])
    org.add("Contact", LastName="Abe", AccountId=acme["Id"])
    res = q(
        org,
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name",
    )
    contacts = res.records[0]["Contacts"]
    assert contacts["totalSize"] == 2 and contacts["done"] is True
    assert [c["LastName"] for c in contacts["records"]] == ["Abe", "Zed"]
    assert res.records[1]["Contacts"] is None
    assert err(org, "SELECT Name, (SELECT Id FROM Nopes) FROM Account").error_code == "INVALID_TYPE"


def test_fields_macro(org: FakeSource) -> None:
    rec = q(org, "SELECT FIELDS(STANDARD) FROM UserLicense LIMIT 1").records[0]
    assert list(rec)[:3] == ["attributes", "Id", "IsDeleted"] and rec["Name"] == "Salesforce"
    assert "LIMIT of at most 200" in err(org, "SELECT FIELDS(ALL) FROM UserLicense").message
    assert q(org, "SELECT FIELDS(ALL) FROM UserLicense LIMIT 200").total_size == 2


# -- filters -----------------------------------------------------------------------------


def test_each_literal_kind(org: FakeSource) -> None:
    acct = org.add(
        "Account", Name="O'Brien \\ Sons\nLtd", NumberOfEmployees=12, AnnualRevenue=2.5e6
    )
    org.add("Account", Name="Other", NumberOfEmployees=None, AnnualRevenue=-3.0)
    org.add("Order", AccountId=acct["Id"], EffectiveDate=date(2024, 1, 31), Status="Draft")

    def names(where: str) -> list[str]:
        return [r["Name"] for r in q(org, f"SELECT Name FROM Account WHERE {where}").records]

    assert names("Name = 'o\\'brien \\\\ sons\\nltd'") == ["O'Brien \\ Sons\nLtd"]
    assert (
        names("NumberOfEmployees = 12")
        == names("NumberOfEmployees >= 12.0")
        == ["O'Brien \\ Sons\nLtd"]
    )
    assert names("AnnualRevenue < -2.5") == ["Other"]
    assert names("NumberOfEmployees = NULL") == ["Other"]
    assert names("NumberOfEmployees != null") == ["O'Brien \\ Sons\nLtd"]
    assert q(org, "SELECT Id FROM Order WHERE EffectiveDate = 2024-01-31").total_size == 1
    assert q(org, "SELECT Id FROM Order WHERE EffectiveDate > 2024-01-31").total_size == 0
    assert q(org, "SELECT Id FROM User WHERE IsActive = FALSE").total_size == 1
    stamp = "LastLoginDate = 2024-05-14T13:04:05.120Z"
    assert q(org, f"SELECT Id FROM User WHERE {stamp}").total_size == 1
    assert (
        q(org, "SELECT Id FROM User WHERE LastLoginDate = 2024-05-14T14:04:05.12+01:00").total_size
        == 1
    )
    assert q(org, "SELECT Id FROM User WHERE LastLoginDate > 2024-05-14T13:04:05Z").total_size == 2


def test_not_equals_and_not_in_include_nulls(org: FakeSource) -> None:
    res = q(org, "SELECT Username FROM User WHERE FirstName != 'alice' ORDER BY Username")
    assert [r["Username"] for r in res.records] == ["bob@acme.test", "integration@acme.test"]
    res = q(org, "SELECT Username FROM User WHERE FirstName NOT IN ('BOB', 'Alice')")
    assert [r["Username"] for r in res.records] == ["integration@acme.test"]
    res = q(org, "SELECT Username FROM User WHERE FirstName IN ('bob', null) ORDER BY Username")
    assert [r["Username"] for r in res.records] == ["bob@acme.test", "integration@acme.test"]


def test_like_is_case_insensitive_with_wildcards_and_escapes(org: FakeSource) -> None:
    def users(pattern: str) -> list[str]:
        res = q(org, f"SELECT Username FROM User WHERE Username LIKE '{pattern}' ORDER BY Username")
        return [r["Username"] for r in res.records]

    assert users("%ACME%") == ["alice@acme.test", "bob@acme.test", "integration@acme.test"]
    assert users("_ob@%") == ["bob@acme.test"]
    assert users("bob") == []
    org.add("User", Username="a_b@x.test", Name="x", LastName="x", ProfileId=None, IsActive=True)
    assert users("a\\_b%") == ["a_b@x.test"]
    assert users("a\\%%") == []
    assert (
        "invalid operator on id field"
        in err(org, "SELECT Id FROM User WHERE Id LIKE '005%'").message
    )


def test_not_and_parentheses(org: FakeSource) -> None:
    res = q(
        org, "SELECT Username FROM User WHERE NOT (IsActive = true AND Profile.Name LIKE 'System%')"
    )
    assert sorted(r["Username"] for r in res.records) == ["bob@acme.test", "integration@acme.test"]


def test_fifteen_character_id_matches_stored_eighteen(org: FakeSource) -> None:
    uid = user_id(org, "bob@acme.test")
    assert len(uid) == 18
    assert (
        q(org, f"SELECT Username FROM User WHERE Id = '{to15(uid)}'").records[0]["Username"]
        == "bob@acme.test"
    )
    assert (
        q(
            org,
            f"SELECT Id FROM User WHERE ManagerId IN ('{to15(user_id(org, 'alice@acme.test'))}')",
        ).total_size
        == 1
    )
    assert q(org, f"SELECT Id FROM User WHERE Id = '{uid[:15]}{uid[15:].lower()}'").total_size == 1


def test_keywords_and_names_are_case_insensitive(org: FakeSource) -> None:
    res = q(
        org,
        "sElEcT uSeRnAmE fRoM uSeR wHeRe IsAcTiVe = TrUe AnD nAmE lIkE 'ALICE%' "
        "oRdEr By UsErNaMe DeSc LiMiT 1",
    )
    assert res.records[0]["Username"] == "alice@acme.test"


def test_semi_join_and_anti_join(org: FakeSource) -> None:
    ps = org.add("PermissionSet", Name="Api", Label="Api")
    alice = user_id(org, "alice@acme.test")
    org.add("PermissionSetAssignment", AssigneeId=alice, PermissionSetId=ps["Id"])
    inner = "SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSet.Name = 'api'"
    res = q(org, f"SELECT Username FROM User WHERE Id IN ({inner})")
    assert [r["Username"] for r in res.records] == ["alice@acme.test"]
    res = q(org, f"SELECT Username FROM User WHERE Id NOT IN ({inner}) AND IsActive = true")
    assert [r["Username"] for r in res.records] == ["integration@acme.test"]
    e = err(org, f"SELECT Id FROM User WHERE IsActive = false OR Id IN ({inner})")
    assert "Semi join sub-selects are not allowed with the 'OR' operator" in e.message


def test_includes_and_excludes_on_multipicklist() -> None:
    schema = standard_schema()
    schema.add(custom_object("Shipment__c", "a01", [{"name": "Tags__c", "type": "multipicklist"}]))
    src = FakeSource(schema)
    src.add("Shipment__c", Name="s1", Tags__c="Fragile;Cold")
    src.add("Shipment__c", Name="s2", Tags__c="Cold")
    res = q(src, "SELECT Id FROM Shipment__c WHERE Tags__c INCLUDES ('fragile;cold', 'hot')")
    assert res.total_size == 1
    assert q(src, "SELECT Id FROM Shipment__c WHERE Tags__c EXCLUDES ('Fragile')").total_size == 1
    assert q(src, "SELECT Id FROM Shipment__c WHERE Tags__c = 'cold;fragile'").total_size == 1


# -- date literals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "n", "expected"),
    [
        ("TODAY", None, (date(2024, 5, 15), date(2024, 5, 16))),
        ("YESTERDAY", None, (date(2024, 5, 14), date(2024, 5, 15))),
        ("TOMORROW", None, (date(2024, 5, 16), date(2024, 5, 17))),
        ("LAST_N_DAYS", 30, (date(2024, 4, 15), date(2024, 5, 16))),
        ("NEXT_N_DAYS", 2, (date(2024, 5, 16), date(2024, 5, 18))),
        ("N_DAYS_AGO", 3, (date(2024, 5, 12), date(2024, 5, 13))),
        ("THIS_WEEK", None, (date(2024, 5, 12), date(2024, 5, 19))),
        ("LAST_WEEK", None, (date(2024, 5, 5), date(2024, 5, 12))),
        ("THIS_MONTH", None, (date(2024, 5, 1), date(2024, 6, 1))),
        ("LAST_MONTH", None, (date(2024, 4, 1), date(2024, 5, 1))),
        ("LAST_90_DAYS", None, (date(2024, 2, 15), date(2024, 5, 16))),
        ("THIS_QUARTER", None, (date(2024, 4, 1), date(2024, 7, 1))),
        ("LAST_N_MONTHS", 2, (date(2024, 3, 1), date(2024, 5, 1))),
        ("LAST_YEAR", None, (date(2023, 1, 1), date(2024, 1, 1))),
    ],
)
def test_relative_date_ranges(literal: str, n: int | None, expected: tuple[date, date]) -> None:
    assert relative_range(literal, n, NOW.date()) == expected


def test_date_literals_against_datetime_cover_whole_utc_days(org: FakeSource) -> None:
    uid = user_id(org, "alice@acme.test")
    start = datetime(2024, 4, 15, tzinfo=UTC)  # midnight 30 days before today
    edge = [start - timedelta(milliseconds=1), start, datetime(2024, 5, 15, 23, 59, 59, tzinfo=UTC)]
    for t in [*edge, datetime(2024, 5, 16, tzinfo=UTC)]:
        org.add("LoginHistory", UserId=uid, LoginTime=t)

    def times(where: str) -> list[datetime]:
        res = q(org, f"SELECT LoginTime FROM LoginHistory WHERE {where} ORDER BY LoginTime")
        return [datetime.strptime(r["LoginTime"], "%Y-%m-%dT%H:%M:%S.%f%z") for r in res.records]

    assert times("LoginTime >= LAST_N_DAYS:30") == [
        start,
        edge[2],
        datetime(2024, 5, 16, tzinfo=UTC),
    ]
    assert times("LoginTime = LAST_N_DAYS:30") == [start, edge[2]]
    assert times("LoginTime < LAST_N_DAYS:30") == [edge[0]]
    assert times("LoginTime = TODAY") == [edge[2]]
    assert times("LoginTime > TODAY") == [datetime(2024, 5, 16, tzinfo=UTC)]
    assert times("LoginTime <= YESTERDAY") == [edge[0], start]


def test_date_literal_against_date_field(org: FakeSource) -> None:
    acct = org.add("Account", Name="Acme")
    for d in (date(2024, 5, 14), date(2024, 5, 15), date(2024, 5, 16)):
        org.add("Order", AccountId=acct["Id"], EffectiveDate=d, Status="Draft")
    res = q(org, "SELECT EffectiveDate FROM Order WHERE EffectiveDate = TODAY")
    assert [r["EffectiveDate"] for r in res.records] == ["2024-05-15"]
    assert q(org, "SELECT Id FROM Order WHERE EffectiveDate >= YESTERDAY").total_size == 3
    assert q(org, "SELECT Id FROM Order WHERE EffectiveDate IN (TODAY, TOMORROW)").total_size == 2


# -- ordering and windows ----------------------------------------------------------------


def test_order_by_nulls_placement(org: FakeSource) -> None:
    def order(clause: str) -> list[str]:
        return [
            r["Username"] for r in q(org, f"SELECT Username FROM User ORDER BY {clause}").records
        ]

    assert order("LastLoginDate") == ["bob@acme.test", "alice@acme.test", "integration@acme.test"]
    assert order("LastLoginDate DESC") == [
        "integration@acme.test",
        "alice@acme.test",
        "bob@acme.test",
    ]
    assert order("LastLoginDate ASC NULLS LAST") == [
        "alice@acme.test",
        "integration@acme.test",
        "bob@acme.test",
    ]
    assert order("LastLoginDate DESC NULLS FIRST")[0] == "bob@acme.test"
    assert order("IsActive DESC, Username DESC") == [
        "integration@acme.test",
        "alice@acme.test",
        "bob@acme.test",
    ]


def test_limit_and_offset(org: FakeSource) -> None:
    res = q(org, "SELECT Username FROM User ORDER BY Username LIMIT 1 OFFSET 1")
    assert [r["Username"] for r in res.records] == ["bob@acme.test"] and res.total_size == 1


def test_include_deleted(org: FakeSource) -> None:
    org.add("Account", Name="Gone", IsDeleted=True)
    assert q(org, "SELECT Id FROM Account").total_size == 0
    res = q(org, "SELECT Name, IsDeleted FROM Account", include_deleted=True)
    assert res.records[0]["IsDeleted"] is True


# -- aggregates --------------------------------------------------------------------------


def test_count_only(org: FakeSource) -> None:
    res = q(org, "SELECT COUNT() FROM User WHERE IsActive = true")
    assert (res.records, res.total_size, res.count_only) == ([], 2, True)
    assert q(org, "select count() from User limit 1").total_size == 1


def test_aggregate_expr_numbering_and_aliases(org: FakeSource) -> None:
    res = q(
        org,
        "SELECT ProfileId, COUNT(Id), MAX(LastLoginDate) latest, COUNT_DISTINCT(ManagerId) "
        "FROM User GROUP BY ProfileId",
    )
    assert res.is_aggregate and res.total_size == 2
    first = res.records[0]
    assert list(first) == ["attributes", "ProfileId", "expr0", "latest", "expr1"]
    assert first["attributes"] == {"type": "AggregateResult"}
    assert (first["expr0"], first["latest"], first["expr1"]) == (
        2,
        "2024-05-14T13:04:05.120+0000",
        1,
    )


def test_group_by_relationship_path_keys_on_last_name(org: FakeSource) -> None:
    res = q(
        org,
        "SELECT Profile.UserLicense.Name, COUNT(Id) n FROM User "
        "GROUP BY Profile.UserLicense.Name ORDER BY COUNT(Id) DESC",
    )
    assert [(r["Name"], r["n"]) for r in res.records] == [
        ("Salesforce", 2),
        ("Salesforce Integration", 1),
    ]


def test_aggregate_without_group_by_on_no_rows(org: FakeSource) -> None:
    res = q(org, "SELECT COUNT(Id), SUM(AnnualRevenue), AVG(NumberOfEmployees) FROM Account")
    assert res.records == [
        {"attributes": {"type": "AggregateResult"}, "expr0": 0, "expr1": None, "expr2": None}
    ]
    org.add("Account", Name="a", AnnualRevenue=10, NumberOfEmployees=3)
    org.add("Account", Name="b", AnnualRevenue=5, NumberOfEmployees=4)
    rec = q(
        org, "SELECT SUM(AnnualRevenue), AVG(NumberOfEmployees), MIN(Name) FROM Account"
    ).records[0]
    assert (rec["expr0"], rec["expr1"], rec["expr2"]) == (15.0, 3.5, "a")


def test_having_and_group_by_without_aggregates(org: FakeSource) -> None:
    res = q(org, "SELECT ProfileId FROM User GROUP BY ProfileId HAVING COUNT(Id) > 1")
    assert len(res.records) == 1 and list(res.records[0]) == ["attributes", "ProfileId"]
    res = q(org, "SELECT IsActive FROM User GROUP BY IsActive ORDER BY IsActive")
    assert [r["IsActive"] for r in res.records] == [False, True]


def test_aggregate_errors(org: FakeSource) -> None:
    e = err(org, "SELECT Name, COUNT(Id) FROM User")
    assert e.error_code == "MALFORMED_QUERY" and e.message.endswith(
        "Column:8\nField must be grouped or aggregated: Name"
    )
    e = err(org, "SELECT SUM(Name) FROM User")
    assert e.message.endswith("field Name does not support aggregate operator SUM")
    assert (
        "does not support aggregate operator COUNT"
        in err(org, "SELECT COUNT(IsActive) FROM User").message
    )


def test_login_history_grouping_is_fast() -> None:
    src = FakeSource()
    users = [src.add("User", Username=f"u{i}@x.test", Name=f"U{i}")["Id"] for i in range(50)]
    apps = ["Workbench", "Data Loader", "Browser", "Salesforce CLI"]
    for i in range(20_000):
        src.add(
            "LoginHistory",
            UserId=users[i % 50],
            Application=apps[i % 4],
            LoginTime=NOW - timedelta(minutes=5 * i),
            Status="Success",
        )
    soql = (
        "SELECT UserId, Application, COUNT(Id) FROM LoginHistory "
        "WHERE LoginTime >= LAST_N_DAYS:30 GROUP BY UserId, Application"
    )
    started = time.perf_counter()
    res = q(src, soql)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, elapsed
    in_window = sum(
        1
        for i in range(20_000)
        if NOW - timedelta(minutes=5 * i) >= datetime(2024, 4, 15, tzinfo=UTC)
    )
    assert sum(r["expr0"] for r in res.records) == in_window


# -- odds and ends -----------------------------------------------------------------------


def test_invalid_escape_and_unterminated_string() -> None:
    e = err(None, "SELECT Id FROM Account WHERE Name = 'a\\qb'")
    assert e.message.endswith(
        "Column:37\nInvalid string literal 'a\\qb'. "
        "Illegal character sequence '\\q' in string literal."
    )
    assert err(None, "SELECT Id FROM Account WHERE Name = 'x").message.endswith("<EOF>")


def test_from_alias_and_object_name_qualify_paths(org: FakeSource) -> None:
    res = q(org, "SELECT u.Username, u.Profile.Name FROM User u WHERE u.Username = 'bob@acme.test'")
    assert res.records[0]["Username"] == "bob@acme.test"
    assert res.records[0]["Profile"]["Name"] == "System Administrator"
    assert q(org, "SELECT User.Username FROM User ORDER BY User.Username").total_size == 3


def test_double_fields_render_as_floats(org: FakeSource) -> None:
    org.add("Account", Name="a", AnnualRevenue=10, NumberOfEmployees=3)
    rec = q(org, "SELECT AnnualRevenue, NumberOfEmployees FROM Account").records[0]
    assert rec["AnnualRevenue"] == 10.0 and isinstance(rec["AnnualRevenue"], float)
    assert isinstance(rec["NumberOfEmployees"], int)
    agg = q(org, "SELECT MAX(AnnualRevenue) m, SUM(NumberOfEmployees) s FROM Account").records[0]
    assert isinstance(agg["m"], float) and agg["s"] == 3 and isinstance(agg["s"], int)


def test_accepted_clauses_and_unsupported_features(org: FakeSource) -> None:
    ok = "SELECT Id FROM User USING SCOPE Everything WITH SECURITY_ENFORCED LIMIT 1 FOR VIEW"
    assert q(org, ok).total_size == 1
    assert (
        "TYPEOF is not supported"
        in err(None, "SELECT TYPEOF Owner WHEN User THEN Name END FROM Account").message
    )
    assert (
        "CALENDAR_YEAR() is not supported"
        in err(None, "SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) = 2024").message
    )
