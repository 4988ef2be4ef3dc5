"""Event log files: CSV conventions, columns against recorded files, daily publication."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from emulators.salesforce.eventlog.columns import COLUMNS, field_types
from emulators.salesforce.eventlog.csvfmt import encode_api_call, format_timestamps
from emulators.salesforce.eventlog.events import ApiCall, LoginEvent, new_key, new_request_id
from emulators.salesforce.eventlog.store import EventStore
from emulators.salesforce.ids import IdFactory, to18
from tests.recorded import RECORDED

LOGSTASH = RECORDED / "logstash-input-sfdc_elf"
APPOMNI = RECORDED / "appomni-event-maturity-matrix"
needs_fixtures = pytest.mark.skipif(not LOGSTASH.exists(), reason="shared/fixtures not present")

# The Login header of a live file, verbatim (reference section 2.5).
LOGIN_HEADER = (
    '"EVENT_TYPE","TIMESTAMP","REQUEST_ID","ORGANIZATION_ID","USER_ID","RUN_TIME","CPU_TIME","URI",'
    '"SESSION_KEY","LOGIN_KEY","USER_TYPE","REQUEST_STATUS","DB_TOTAL_TIME","LOGIN_TYPE",'
    '"BROWSER_TYPE","API_TYPE","API_VERSION","USER_NAME","TLS_PROTOCOL","CIPHER_SUITE",'
    '"AUTHENTICATION_METHOD_REFERENCE","LOGIN_SUB_TYPE","TIMESTAMP_DERIVED","USER_ID_DERIVED",'
    '"CLIENT_IP","URI_ID_DERIVED","LOGIN_STATUS","SOURCE_IP"\n'
)
DAY = datetime(2024, 3, 14, tzinfo=UTC)


def make_store(*, event_monitoring: bool = True, retention_days: int = 30) -> EventStore:
    ids = IdFactory(3)
    return EventStore(
        org_id=ids.new("00D"),
        event_monitoring=event_monitoring,
        retention_days=retention_days,
        ids=ids,
    )


USER = IdFactory(5).new("005")
APP = IdFactory(6).new("0H4")
RECORD = IdFactory(7).new("801")


def call(when: datetime, **kw: object) -> ApiCall:
    base = ApiCall(
        timestamp=when,
        request_id=new_request_id(when),
        user_id=USER,
        username="jane@loomis.example",
        session_key=new_key(),
        login_key=new_key(),
        api_family="REST",
        api_version="59.0",
        api_resource=f"/v59.0/sobjects/Order/{RECORD}",
        http_method="PATCH",
        uri=f"/services/data/v59.0/sobjects/Order/{RECORD}",
        entity_name="Order",
        operation="update",
        status_code=204,
        client_ip="203.0.113.10",
        client_name="erp-sync",
        connected_app_id=APP,
        connected_app_name="ERP Sync",
        user_agent="python-requests/2.32",
        counts_against_limit=True,
        run_time_ms=87,
        cpu_time_ms=31,
        request_size=220,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def login(when: datetime, **kw: object) -> LoginEvent:
    base = LoginEvent(
        timestamp=when,
        request_id=new_request_id(when),
        user_id=USER,
        username="jane@loomis.example",
        login_type="Remote Access 2.0",
        login_sub_type="OAuth Client Credentials",
        status="Success",
        application="ERP Sync",
        api_type="N/A",
        api_version="N/A",
        browser="Unknown",
        platform="Unknown",
        source_ip="203.0.113.10",
        login_url="loomis.my.salesforce.com",
        login_key=new_key(),
        session_key=new_key(),
        uri="/services/oauth2/token",
        user_agent="Go-http-client/1.1",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def published(store: EventStore, now: datetime) -> dict[str, dict]:
    return {f["EventType"]: f for f in store.published_files(now)}


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def after_publication(day: datetime) -> datetime:
    return day + timedelta(days=1, hours=4, seconds=1)


# --------------------------------------------------------------------------- CSV conventions


def test_csv_conventions_quotes_timestamps_ids_booleans() -> None:
    store = make_store()
    when = DAY + timedelta(hours=11, minutes=32, seconds=59, microseconds=555_999)
    store.record_api_call(call(when, exception_message='bad value "x", try again', status_code=400))
    files = published(store, after_publication(DAY))
    raw = store.content(files["RestApi"]["Id"])
    assert raw is not None
    assert b"\r" not in raw and raw.endswith(b"\n")
    header, record = raw.decode().splitlines()
    # Every value quoted; an embedded quote doubled.
    assert record.startswith('"RestApi","20240314113259.555","') and record.endswith('"')
    assert '"bad value ""x"", try again"' in record
    assert header == ",".join(f'"{c}"' for c in files["RestApi"]["LogFileFieldNames"].split(","))
    row = rows_of(raw)[0]
    assert row["TIMESTAMP"] == "20240314113259.555"
    assert row["TIMESTAMP_DERIVED"] == "2024-03-14T11:32:59.555Z"
    assert row["USER_ID"] == USER[:15] and row["CONNECTED_APP_ID"] == APP[:15]
    assert len(row["ORGANIZATION_ID"]) == 15
    assert row["USER_ID_DERIVED"] == to18(USER) and row["URI_ID_DERIVED"] == RECORD
    assert row["EXCEPTION_MESSAGE"] == 'bad value "x", try again'
    assert row["REQUEST_STATUS"] == "F" and row["STATUS_CODE"] == "400"
    usage = rows_of(store.content(files["ApiTotalUsage"]["Id"]) or b"")[0]
    assert usage["COUNTS_AGAINST_API_LIMIT"] == "1"
    assert usage["API_RESOURCE"] == f"/v59.0/sobjects/Order/{RECORD}"
    assert "USER_ID_DERIVED" not in usage and "URI" not in usage and "QUERY" not in usage


def test_timestamps_are_truncated_to_the_millisecond_in_gmt() -> None:
    from datetime import timezone

    local = datetime(2024, 3, 14, 13, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamps(local) == ("20240314110000.999", "2024-03-14T11:00:00.999Z")


@needs_fixtures
def test_bulk_message_is_quoted_like_the_recorded_file() -> None:
    store = make_store()
    store.record_api_call(
        call(
            DAY + timedelta(hours=9),
            api_family="Bulk",
            operation="query",
            job_id=IdFactory(1).new("750"),
            batch_id=IdFactory(1).new("751"),
            rows_processed=45,
        )
    )
    raw = store.content(published(store, after_publication(DAY))["BulkApi"]["Id"]) or b""
    recorded = (LOGSTASH / "sample_data2.csv").read_bytes()
    assert b'"1","""success"""' in recorded and b'"1","""success"""' in raw
    row = rows_of(raw)[0]
    assert (
        row["URI"] == "BULKAPI-LOG"
        and len(row["JOB_ID"]) == 15
        and row["OPERATION_TYPE"] == "query"
    )


def test_login_header_is_the_live_one_and_codes_are_elf_codes() -> None:
    store = make_store(event_monitoring=False, retention_days=1)
    store.record_login(login(DAY + timedelta(hours=5, minutes=48)))
    store.record_login(
        login(
            DAY + timedelta(hours=6),
            login_type="Other Apex API",
            login_sub_type=None,
            api_type="SOAP Partner",
            api_version="59.0",
            uri="/services/Soap/u/59.0",
            status="Invalid Password",
            tls_protocol="TLS 1.2",
            cipher_suite="ECDHE-RSA-AES256-GCM-SHA384",
        )
    )
    raw = store.content(published(store, after_publication(DAY))["Login"]["Id"]) or b""
    assert raw.decode().startswith(LOGIN_HEADER)
    oauth, soap = rows_of(raw)
    assert (oauth["LOGIN_TYPE"], oauth["LOGIN_SUB_TYPE"], oauth["LOGIN_STATUS"]) == (
        "i",
        "oauthclientcredential",
        "LOGIN_NO_ERROR",
    )
    assert oauth["API_VERSION"] == "9998.0" and oauth["API_TYPE"] == ""
    assert oauth["CLIENT_IP"] == "Salesforce.com IP" and oauth["SOURCE_IP"] == "203.0.113.10"
    assert oauth["SESSION_KEY"] == "" and oauth["BROWSER_TYPE"] == "Go-http-client/1.1"
    assert oauth["TLS_PROTOCOL"] == "TLSv1.3"
    assert (soap["LOGIN_TYPE"], soap["API_TYPE"], soap["API_VERSION"]) == ("I", "P", "59.0")
    assert (
        soap["LOGIN_STATUS"] == "LOGIN_ERROR_INVALID_PASSWORD"
        and soap["CLIENT_IP"] == "203.0.113.10"
    )


def test_soap_calls_write_query_text_and_method_names() -> None:
    store = make_store()
    soql = "SELECT Id, Name FROM Account WHERE Name = 'Acme \"Inc\"'"
    for op in ("query", "create", "queryAll"):
        store.record_api_call(
            call(
                DAY + timedelta(hours=10),
                api_family="SOAP",
                api_resource=op,
                operation=op,
                http_method="POST",
                uri="/services/Soap/u/59.0",
                entity_name="Account",
                status_code=200,
                query=soql if op != "create" else None,
            )
        )
    raw = store.content(published(store, after_publication(DAY))["API"]["Id"]) or b""
    rows = rows_of(raw)
    assert {r["METHOD_NAME"] for r in rows} == {"query", "insert", "query_all"}
    assert all(r["API_TYPE"] == "P" and r["URI"] == "Api" for r in rows)
    assert next(r for r in rows if r["METHOD_NAME"] == "query")["QUERY"] == soql


@needs_fixtures
def test_columns_cover_the_recorded_files() -> None:
    recorded = {
        "API": LOGSTASH / "sample_data1.csv",
        "BulkApi": LOGSTASH / "sample_data2.csv",
        "Login": LOGSTASH / "sample_data3.csv",
        "RestApi": LOGSTASH / "sample_data5.csv",
    }
    for event_type, path in recorded.items():
        header = next(csv.reader(io.StringIO(path.read_text())))
        # 2015 column sets: current files keep those columns and add more (CLIENT_IP moved
        # to the end, SESSION_KEY / LOGIN_KEY / *_DERIVED were added), so compare as sets.
        assert set(header) <= set(COLUMNS[event_type]), event_type
    for event_type, folder in (
        ("Login", "salesforce_elf_login_event"),
        ("API", "salesforce_elf_soap_api_event"),
    ):
        for path in (APPOMNI / folder).glob("*.json"):
            assert set(json.loads(path.read_text())) <= set(COLUMNS[event_type]), path.name


@needs_fixtures
def test_field_types_use_the_recorded_vocabulary() -> None:
    vocabulary = set()
    for path in LOGSTASH.glob("create_event_ELF_list*.json"):
        for record in json.loads(path.read_text())["records"]:
            vocabulary |= set(record.get("LogFileFieldTypes", "String").split(","))
    vocabulary |= {"Set", "DateTime"}  # named by the object reference (2.1, 2.4)
    for event_type in COLUMNS:
        types = field_types(event_type)
        assert len(types) == len(COLUMNS[event_type]) and set(types) <= vocabulary


@needs_fixtures
def test_our_files_parse_like_the_recorded_ones() -> None:
    """Same dialect: the recorded Login file and ours both read with csv.DictReader."""
    recorded = rows_of((LOGSTASH / "sample_data3.csv").read_bytes())
    assert len(recorded) == 1466 and recorded[0]["EVENT_TYPE"] == "Login"
    store = make_store()
    store.record_login(login(DAY + timedelta(hours=1)))
    ours = rows_of(store.content(published(store, after_publication(DAY))["Login"]["Id"]) or b"")
    common = set(recorded[0]) & set(ours[0])
    assert {"TIMESTAMP", "REQUEST_ID", "USER_ID", "API_VERSION", "SOURCE_IP"} <= common
    for key in ("TIMESTAMP", "REQUEST_ID", "USER_ID"):
        assert len(ours[0][key]) == len(recorded[0][key]), key


# --------------------------------------------------------------------------- publication


def test_daily_file_appears_the_next_night_and_never_for_today() -> None:
    store = make_store()
    store.record_api_call(call(DAY + timedelta(hours=10)))
    store.record_login(login(DAY + timedelta(hours=10)))
    assert store.published_files(DAY + timedelta(hours=23, minutes=59)) == []  # today: nothing
    assert store.published_files(DAY + timedelta(days=1, hours=1, minutes=59)) == []
    files = published(store, DAY + timedelta(days=1, hours=4))
    assert set(files) == {"ApiTotalUsage", "RestApi", "Login"}
    for f in files.values():
        assert f["LogDate"] == DAY and f["Interval"] == "Daily" and f["Sequence"] == 0
        assert (
            DAY + timedelta(days=1, hours=2) <= f["CreatedDate"] < DAY + timedelta(days=1, hours=4)
        )
        assert f["Id"].startswith("0AT") and len(f["Id"]) == 18
        assert (
            f["LogFileContentType"] == "CSV" and f["ApiVersion"] == 59.0 and f["IsDeleted"] is False
        )
        assert f["__type"] == "EventLogFile"


def test_paid_types_need_event_monitoring_and_files_need_events() -> None:
    store = make_store(event_monitoring=False, retention_days=1)
    store.record_api_call(call(DAY + timedelta(hours=10)))
    assert set(published(store, after_publication(DAY))) == {"ApiTotalUsage"}  # no Login: no login


def test_retention_one_day_versus_thirty() -> None:
    for retention, days_listed in ((1, 1), (30, 30)):
        store = make_store(event_monitoring=False, retention_days=retention)
        for d in range(40):
            store.record_api_call(call(DAY + timedelta(days=d, hours=12)))
        now = DAY + timedelta(days=40, hours=12)
        files = store.published_files(now)
        log_dates = sorted(f["LogDate"] for f in files)
        assert len(files) == days_listed
        assert log_dates[-1] == DAY + timedelta(days=39)  # yesterday
    # With retention 1 the older file goes only once the newer one exists: never a gap.
    store = make_store(event_monitoring=False, retention_days=1)
    for d in range(3):
        store.record_api_call(call(DAY + timedelta(days=d, hours=12)))
    for minutes in range(0, 48 * 60, 20):
        assert store.published_files(DAY + timedelta(days=2, minutes=minutes)), minutes


def test_content_is_stable_and_length_exact() -> None:
    store = make_store()
    for i in range(500):
        store.record_api_call(call(DAY + timedelta(seconds=60 * i + 7)))
    now = after_publication(DAY)
    files = published(store, now)
    file_id = files["RestApi"]["Id"]
    first = store.content(file_id)
    assert first is not None and len(first) == files["RestApi"]["LogFileLength"]
    store.record_api_call(call(DAY + timedelta(hours=23)))  # late: the file is frozen
    again = published(store, now + timedelta(hours=5))
    assert again["RestApi"]["Id"] == file_id and store.content(file_id) == first
    assert store.late_events == 2
    chunks = list(store.iter_content(file_id, chunk_size=4096) or [])
    assert b"".join(chunks) == first and max(len(c) for c in chunks) <= 4096
    assert store.content("0AT000000000000AAA") is None


def test_expired_files_are_gone() -> None:
    store = make_store(event_monitoring=False, retention_days=1)
    store.record_api_call(call(DAY + timedelta(hours=3)))
    file_id = published(store, after_publication(DAY))["ApiTotalUsage"]["Id"]
    assert store.content(file_id) is not None
    assert store.published_files(DAY + timedelta(days=3)) == []
    assert store.content(file_id) is None and store.iter_content(file_id) is None


def test_records_are_sorted_by_time_across_days_and_threads() -> None:
    store = make_store()

    def worker(offset: int) -> None:
        for i in range(200):
            store.record_api_call(call(DAY + timedelta(seconds=offset + 4 * i)))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.record_api_call(call(DAY + timedelta(days=1, hours=1)))  # the next day compacts D
    assert store.stats()["pending_records"] == 2  # only the new day's two records
    raw = store.content(published(store, after_publication(DAY))["ApiTotalUsage"]["Id"]) or b""
    stamps = [r["TIMESTAMP"] for r in rows_of(raw)]
    assert len(stamps) == 800 and stamps == sorted(stamps)


def test_encoding_is_a_pure_function_of_the_call() -> None:
    c = call(
        DAY + timedelta(hours=1), query="SELECT Id, (SELECT Id FROM OrderItems), Name FROM Order"
    )
    a = encode_api_call(c, "00D5g0000000001", paid=True)
    assert a == encode_api_call(c, "00D5g0000000001", paid=True)
    assert [t for t, _ in a] == ["ApiTotalUsage", "RestApi"]
    header = ",".join(f'"{x}"' for x in COLUMNS["RestApi"]) + "\n"
    assert rows_of((header + a[1][1]).encode())[0]["NUMBER_FIELDS"] == "3"
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}-", c.request_id)
