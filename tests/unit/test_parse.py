"""Event log parsing: pure functions over CSV bytes, no store."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from handover.datetimes import parse_sf_datetime
from handover.ids import checksum_suffix, is_valid_id, same_id, to15, to18
from handover.usage import EventLogFormatError, parse_event_log, soql_fields
from handover.usage.csvsource import read_header
from handover.usage.decode import method_operation, operation_of, parse_bool, status_of
from handover.usage.loginhistory import aggregate_login_history
from handover.usage.model import ApiAgg, ParseResult
from tests.recorded import RECORDED

LOGSTASH = RECORDED / "logstash-input-sfdc_elf"
needs_fixtures = pytest.mark.skipif(not LOGSTASH.exists(), reason="shared/fixtures not present")

DAY = date(2026, 11, 1)
USER15 = "0055j00000AT6I1"
USER18 = "0055j00000AT6I1AAL"  # reference §2.5: the Login sample's USER_ID_DERIVED
APP15 = "0H45g000000AbCd"
ATU = [
    "EVENT_TYPE", "TIMESTAMP", "REQUEST_ID", "ORGANIZATION_ID", "USER_ID", "API_FAMILY",
    "API_VERSION", "API_RESOURCE", "CLIENT_NAME", "HTTP_METHOD", "CLIENT_IP",
    "COUNTS_AGAINST_API_LIMIT", "CONNECTED_APP_ID", "ENTITY_NAME", "STATUS_CODE",
    "CONNECTED_APP_NAME", "USER_NAME", "TIMESTAMP_DERIVED",
]  # fmt: skip


def q(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def elf(header: list[str], rows: list[dict[str, str]]) -> bytes:
    """A CSV quoted like the real files: every value in quotes, LF line ends."""
    lines = [",".join(q(h) for h in header)]
    lines += [",".join(q(r.get(h, "")) for h in header) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def call(ts: str = "20261101093000.123", **over: str) -> dict[str, str]:
    row = {
        "EVENT_TYPE": "ApiTotalUsage", "TIMESTAMP": ts, "USER_ID": USER15, "API_FAMILY": "REST",
        "API_VERSION": "59.0", "API_RESOURCE": "/v59.0/sobjects/Order", "HTTP_METHOD": "POST",
        "CLIENT_IP": "203.0.113.7", "COUNTS_AGAINST_API_LIMIT": "1", "CONNECTED_APP_ID": APP15,
        "ENTITY_NAME": "Order", "STATUS_CODE": "201", "CONNECTED_APP_NAME": "NetSuite Sync",
        "USER_NAME": "ops@loomis.example.com",
    }  # fmt: skip
    row.update(over)
    return row


def only(result: ParseResult) -> ApiAgg:
    assert len(result.api) == 1, result.api
    return next(iter(result.api.values()))


# ---------------------------------------------------------------------- ids


def test_15_to_18_matches_the_recorded_login_row() -> None:
    assert to18(USER15) == USER18
    assert to18(USER18.lower()[:15] + "aal") != USER18  # lower-cased 15 chars: another id
    assert to18(USER15[:15] + "aal") == USER18  # a lower-cased suffix is repaired
    assert to15(USER18) == USER15
    assert checksum_suffix("001000000000000") == "AAA"
    assert is_valid_id(USER15) and is_valid_id(USER18) and not is_valid_id(USER15 + "AAA")
    assert same_id(USER15, USER18)
    with pytest.raises(ValueError, match="not a Salesforce id"):
        to18("005-bad")


# ---------------------------------------------------------------------- CSV conventions


def test_embedded_quotes_commas_and_newlines_survive() -> None:
    name = 'Acme "Orders", v2\nsecond line'
    data = elf(ATU, [call(CLIENT_NAME='sfdx "toolbelt", 7', CONNECTED_APP_NAME=name)] * 3)
    result = parse_event_log("ApiTotalUsage", DAY, data)
    agg = only(result)
    assert agg.client_name == 'sfdx "toolbelt", 7'
    assert agg.app_name == name
    assert agg.calls == 3 and result.rows == 3 and result.bad_rows == 0


def test_header_order_does_not_matter() -> None:
    rows = [call(), call("20261101100000.000", HTTP_METHOD="GET", API_RESOURCE="/v59.0/query")]
    shuffled = list(reversed(ATU))
    a = parse_event_log("ApiTotalUsage", DAY, elf(ATU, rows))
    b = parse_event_log("ApiTotalUsage", DAY, elf(shuffled, rows))
    assert {k: v.hours for k, v in a.api.items()} == {k: v.hours for k, v in b.api.items()}
    assert len(a.api) == 2


def test_ids_come_out_18_characters_and_keys_follow_appref() -> None:
    agg = only(parse_event_log("ApiTotalUsage", DAY, elf(ATU, [call()])))
    assert agg.user_id == USER18
    assert agg.app_id == to18(APP15) and agg.app_key == f"app:{to18(APP15)}"
    no_app = only(parse_event_log("ApiTotalUsage", DAY, elf(ATU, [call(CONNECTED_APP_ID="")])))
    assert no_app.app_key == "none" and no_app.app_id == ""
    client = call(CONNECTED_APP_ID="", CLIENT_NAME="DataLoaderBulkUI/")
    assert only(parse_event_log("ApiTotalUsage", DAY, elf(ATU, [client]))).app_key == (
        "client:DataLoaderBulkUI/"
    )


def test_counts_hours_first_and_last() -> None:
    rows = [call("20261101000001.500"), call("20261101093000.000"), call("20261101235959.999")]
    agg = only(parse_event_log("ApiTotalUsage", DAY, elf(ATU, rows)))
    assert agg.calls == 3
    assert agg.hours[0] == 1 and agg.hours[9] == 1 and agg.hours[23] == 1 and sum(agg.hours) == 3
    assert agg.first == datetime(2026, 11, 1, 0, 0, 1, 500_000, tzinfo=UTC)
    assert agg.last == datetime(2026, 11, 1, 23, 59, 59, 999_000, tzinfo=UTC)


def test_booleans_are_read_both_ways() -> None:
    assert [parse_bool(v) for v in ("1", "0", "true", "FALSE", " True ", "", "x")] == [
        True, False, True, False, True, None, None,
    ]  # fmt: skip
    assert status_of("BulkApi", "1") == "success" and status_of("BulkApi", "0") == "failure"
    assert status_of("RestApi", "204") == "204"
    assert status_of("BulkApi", "true") == "success"
    assert status_of("BulkApi", "false") == "failure"
    assert status_of("API", "S") == "success" and status_of("API", "F") == "failure"
    assert status_of("ApiTotalUsage", "") == "unknown"


def test_missing_optional_columns_are_listed_not_fatal() -> None:
    header = [h for h in ATU if h not in ("CONNECTED_APP_NAME", "CLIENT_IP", "CLIENT_NAME")]
    result = parse_event_log("ApiTotalUsage", DAY, elf(header, [call()]))
    assert result.missing_columns == ["CLIENT_IP", "CLIENT_NAME", "CONNECTED_APP_NAME"]
    assert only(result).calls == 1 and result.ips == {}


def test_timestamp_derived_is_enough() -> None:
    header = [h for h in ATU if h != "TIMESTAMP"]
    agg = only(
        parse_event_log(
            "ApiTotalUsage", DAY, elf(header, [call(TIMESTAMP_DERIVED="2026-11-01T07:08:09.010Z")])
        )
    )
    assert agg.first == datetime(2026, 11, 1, 7, 8, 9, 10_000, tzinfo=UTC) and agg.hours[7] == 1


def test_unreadable_rows_are_counted_not_guessed() -> None:
    rows = [call(), call("garbage"), call(USER_ID="not-an-id")]
    result = parse_event_log("ApiTotalUsage", DAY, elf(ATU, rows))
    assert result.rows == 1 and result.bad_rows == 2


def test_a_file_without_user_id_is_refused_and_empty_files_are_fine() -> None:
    with pytest.raises(EventLogFormatError, match="USER_ID"):
        parse_event_log("ApiTotalUsage", DAY, b'"EVENT_TYPE","TIMESTAMP"\n"x","y"\n')
    empty = parse_event_log("ApiTotalUsage", DAY, b"")
    assert empty.api == {} and empty.days == [DAY]
    header_only = parse_event_log("ApiTotalUsage", DAY, elf(ATU, []))
    assert header_only.api == {} and header_only.rows == 0


def test_unknown_event_types_are_flagged_and_not_read() -> None:
    result = parse_event_log("UITracking", DAY, b"not even csv")
    assert result.unknown_type and result.api == {} and result.days == [DAY]


def test_streams_and_chunks_read_like_paths(tmp_path: Path) -> None:
    data = elf(ATU, [call(), call("20261101120000.000", CLIENT_IP="198.51.100.1")])
    path = tmp_path / "atu.csv"
    path.write_bytes(data)
    by_path = parse_event_log("ApiTotalUsage", DAY, path)
    by_stream = parse_event_log("ApiTotalUsage", DAY, io.BytesIO(data))
    by_chunks = parse_event_log(
        "ApiTotalUsage", DAY, (data[i : i + 7] for i in range(0, len(data), 7))
    )
    assert by_path.api.keys() == by_stream.api.keys() == by_chunks.api.keys()
    assert by_path.ips == by_stream.ips == by_chunks.ips
    assert sorted(k[3] for k in by_path.ips) == ["198.51.100.1", "203.0.113.7"]


def test_header_reader() -> None:
    assert read_header(b'\xef\xbb\xbf"A","B C",D\r\n') == ["A", "B C", "D"]
    assert read_header(b"\n") == []


# ---------------------------------------------------------------------- operations


@pytest.mark.parametrize(
    ("family", "method", "resource", "entity", "expected"),
    [
        ("REST", "GET", "/v59.0/query", "Account", ("query", "Account")),
        ("REST", "GET", "/v59.0/queryAll", "Account", ("query", "Account")),
        ("REST", "GET", "/v59.0/sobjects/Order/801xx000003DGQW", "", ("retrieve", "Order")),
        ("REST", "POST", "/v59.0/sobjects/Order", "Order", ("create", "Order")),
        ("REST", "PATCH", "/v59.0/sobjects/Order/801xx000003DGQWAAA", "", ("update", "Order")),
        ("REST", "PATCH", "/v59.0/sobjects/Order/NS_Id__c/SO-1001", "", ("upsert", "Order")),
        ("REST", "DELETE", "/v59.0/sobjects/Order/801xx000003DGQW", "", ("delete", "Order")),
        ("REST", "GET", "/v59.0/sobjects/Order/describe", "", ("describe", "Order")),
        ("REST", "POST", "/v59.0/composite/sobjects", "Order", ("create", "Order")),
        ("REST", "GET", "/services/data/v59.0/sobjects/Account/001xx000003DGQW", "",
         ("retrieve", "Account")),
        ("SOAP", "POST", "insert", "Order", ("create", "Order")),
        ("SOAP", "POST", "queryAll", "Order", ("query", "Order")),
        ("SOAP", "POST", "query_all", "Order", ("query", "Order")),
        ("SOAP", "POST", "describeSObjects", "", ("describe", "")),
        ("SOAP", "POST", "login", "", ("login", "")),
        ("Bulk", "POST", "/59.0/job/750xx000000AbCd/batch", "Order", ("bulk", "Order")),
    ],
)  # fmt: skip
def test_operation_names(
    family: str, method: str, resource: str, entity: str, expected: tuple[str, str]
) -> None:
    # The parser blanks ids and external values before naming (one regex pass per file).
    result = parse_event_log(
        "ApiTotalUsage", DAY,
        elf(ATU, [call(API_FAMILY=family, HTTP_METHOD=method, API_RESOURCE=resource, ENTITY_NAME=entity)]),
    )  # fmt: skip
    agg = only(result)
    assert (agg.operation, agg.entity) == expected
    assert (
        operation_of(family, method, "/v59.0/sobjects/X/{id}", "") == ("retrieve", "X")
        or method != "GET"
    )


def test_bulk_and_soap_method_names() -> None:
    assert method_operation("hardDelete") == "delete"
    assert method_operation("get_user_info") == "userinfo"
    assert method_operation("describeLayout") == "describe"
    assert method_operation("convertLead") == "update"


# ---------------------------------------------------------------------- SOQL fields


@pytest.mark.parametrize(
    ("soql", "expected"),
    [
        ("SELECT Id, Name, Owner.Email FROM Account WHERE Name = 'a, FROM b'",
         ("Account", ["Id", "Name", "Owner.Email"])),
        ("select count() from Contact", ("Contact", [])),
        ("SELECT MAX(Amount) m, FORMAT(MIN(CloseDate)), toLabel(StageName) FROM Opportunity "
         "GROUP BY AccountId", ("Opportunity", ["Amount", "CloseDate", "StageName"])),
        ("SELECT Id, (SELECT Email FROM Contacts) FROM Account a WHERE a.Name != null",
         ("Account", ["Id"])),
        ("SELECT a.Id, a.Name FROM Account a", ("Account", ["Id", "Name"])),
        ("SELECT FIELDS(ALL) FROM Lead LIMIT 200", ("Lead", ["FIELDS(ALL)"])),
        ("SELECT Id,\nName\nFROM Order__c\nWHERE Id IN ('1','2')", ("Order__c", ["Id", "Name"])),
        ("SELECT Id FROM", None),
        ("UPDATE x", None),
        ("SELECT Id, 1 + 2 FROM X", None),
    ],
)  # fmt: skip
def test_soql_fields(soql: str, expected: tuple[str, list[str]] | None) -> None:
    assert soql_fields(soql) == expected


def test_query_text_gives_field_usage_and_counts_what_it_cannot_read() -> None:
    header = ["EVENT_TYPE", "TIMESTAMP", "USER_ID", "CLIENT_NAME", "METHOD_NAME", "ENTITY_NAME",
              "REQUEST_STATUS", "CLIENT_IP", "QUERY"]  # fmt: skip
    base = {"EVENT_TYPE": "API", "TIMESTAMP": "20261101010000.000", "USER_ID": USER15,
            "CLIENT_NAME": "Workbench/29.0.9i", "METHOD_NAME": "query", "ENTITY_NAME": "Account",
            "REQUEST_STATUS": "S", "CLIENT_IP": "203.0.113.7"}  # fmt: skip
    rows = [
        {**base, "QUERY": "SELECT Id, Name FROM Account WHERE Id = '001xx000003DGQW'"},
        {**base, "QUERY": "SELECT Id, Name FROM Account WHERE Id = '001xx000003DGQX'"},
        {**base, "QUERY": "SELECT Id, Owner.Name FROM Account LIMIT 5"},
        {**base, "QUERY": "this is not soql"},
        {**base, "QUERY": ""},
    ]
    result = parse_event_log("API", DAY, elf(header, rows))
    fields = {k[3] + "." + k[4]: n for k, n in result.fields.items()}
    assert fields == {"Account.Id": 3, "Account.Name": 2, "Account.Owner.Name": 1}
    assert result.unparsed_queries == 1
    agg = only(result)
    assert (agg.api_family, agg.operation, agg.status, agg.calls) == ("SOAP", "query", "success", 5)
    assert agg.app_key == "client:Workbench"


# ---------------------------------------------------------------------- Login and LoginHistory


def test_login_codes_become_loginhistory_labels() -> None:
    header = ["EVENT_TYPE", "TIMESTAMP", "USER_ID", "LOGIN_TYPE", "LOGIN_SUB_TYPE", "API_TYPE",
              "LOGIN_STATUS", "SOURCE_IP"]  # fmt: skip
    rows = [
        {"EVENT_TYPE": "Login", "TIMESTAMP": "20261101054831.655", "USER_ID": USER15,
         "LOGIN_TYPE": "i", "LOGIN_SUB_TYPE": "oauthclientcredential", "LOGIN_STATUS": "LOGIN_NO_ERROR"},
        {"EVENT_TYPE": "Login", "TIMESTAMP": "20261101064831.655", "USER_ID": USER15,
         "LOGIN_TYPE": "A", "LOGIN_STATUS": "LOGIN_ERROR_INVALID_PASSWORD"},
    ]  # fmt: skip
    result = parse_event_log("Login", DAY, elf(header, rows))
    keys = {(k[2], k[3], k[4]) for k in result.logins}
    assert keys == {
        ("Remote Access 2.0", "OAuth Client Credentials", "Success"),
        ("Application", "", "LOGIN_ERROR_INVALID_PASSWORD"),
    }


def test_loginhistory_rows_aggregate_after_the_cursor() -> None:
    rows = [
        {"UserId": USER18, "LoginTime": "2026-11-01T09:00:00.000+0000", "LoginType": "Remote Access 2.0",
         "LoginSubType": "OAuth Client Credentials", "Status": "Success", "Application": "NetSuite Sync"},
        {"UserId": USER18, "LoginTime": "2026-11-01T09:30:00.000+0000", "LoginType": "Remote Access 2.0",
         "LoginSubType": "OAuth Client Credentials", "Status": "Success", "Application": "NetSuite Sync"},
        {"UserId": USER18, "LoginTime": "2026-11-01T08:00:00Z", "LoginType": "Application",
         "Status": "Success", "Application": "Browser"},
        {"UserId": "bad", "LoginTime": "2026-11-01T08:00:00Z"},
    ]  # fmt: skip
    aggs, taken, newest = aggregate_login_history(rows, cursor=None)
    assert taken == 3 and newest == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    by_app = {k["application"]: a for k, a in aggs}
    assert by_app["NetSuite Sync"].calls == 2 and by_app["NetSuite Sync"].hours[9] == 2
    _, again, _ = aggregate_login_history(rows, cursor=newest)
    assert again == 0
    assert parse_sf_datetime("2026-11-01T09:00:00.000+0100") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert parse_sf_datetime(None) is None and parse_sf_datetime("nope") is None


# ---------------------------------------------------------------------- recorded files


def _data_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.reader(f)) - 1


@needs_fixtures
@pytest.mark.parametrize(
    ("name", "event_type"),
    [("sample_data1.csv", "API"), ("sample_data2.csv", "BulkApi"),
     ("sample_data3.csv", "Login"), ("sample_data5.csv", "RestApi")],
)  # fmt: skip
def test_recorded_logstash_files_parse_completely(name: str, event_type: str) -> None:
    path = LOGSTASH / name
    result = parse_event_log(event_type, date(2015, 7, 26), path)
    assert result.bad_rows == 0
    assert result.rows == _data_rows(path)
    assert result.days[0] == date(2015, 7, 26)
    users = {k[1] for k in (result.logins or result.api)}
    assert all(len(u) == 18 for u in users)


@needs_fixtures
def test_recorded_bulk_and_rest_files_name_their_operations() -> None:
    bulk = parse_event_log("BulkApi", date(2015, 7, 26), LOGSTASH / "sample_data2.csv")
    assert {(a.entity, a.operation, a.status) for a in bulk.api.values()} == {
        ("Account", "query", "success"), ("Opportunity", "query", "success"),
        ("User", "query", "success"), ("UserRole", "query", "success"),
    }  # fmt: skip
    rest = parse_event_log("RestApi", date(2015, 7, 26), LOGSTASH / "sample_data5.csv")
    ops = {a.operation for a in rest.api.values()}
    assert {"describe", "query"} <= ops


@needs_fixtures
@pytest.mark.parametrize("name", ["sample_data4.csv", "create_event_sampledata1.csv"])
def test_recorded_files_of_other_types_are_flagged_unknown(name: str) -> None:
    event_type = "QueuedExecution" if name == "sample_data4.csv" else "UITracking"
    assert parse_event_log(event_type, date(2015, 7, 30), LOGSTASH / name).unknown_type
