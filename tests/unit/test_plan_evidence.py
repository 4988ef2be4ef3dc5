"""The usage store read for a plan: operations per object with examples, fields from
query text, days, coverage clipped to the store's history, the latest run's finding, and
the migration that added examples to a store already in use."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import select, text

from handover.ids import to18
from handover.store import tables as t
from handover.store.engine import _config, open_engine, write_transaction
from handover.usage import UsageStore
from tests.unit.test_usage_store import (
    APP,
    DAY,
    HUMAN,
    ORG,
    atu_csv,
    day_file,
    finding,
    meta,
    store,  # noqa: F401  (the fixture: SQLite, and PostgreSQL when configured)
    sync_call,
)

USER, KEY = to18(HUMAN), f"app:{to18(APP)}"
API_FILE = ["EVENT_TYPE", "TIMESTAMP", "USER_ID", "CLIENT_NAME", "METHOD_NAME", "ENTITY_NAME",
            "REQUEST_STATUS", "QUERY"]  # fmt: skip


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def soap_call(day: date, method: str, status: str = "S", query: str = "") -> dict[str, str]:
    return {"EVENT_TYPE": "API", "TIMESTAMP": f"{day:%Y%m%d}010000.000", "USER_ID": HUMAN,
            "CLIENT_NAME": "DataLoaderBatch/59.0.0", "METHOD_NAME": method,
            "ENTITY_NAME": "Account", "REQUEST_STATUS": status, "QUERY": query}  # fmt: skip


def test_operations_per_object_with_counts_and_examples(store: UsageStore) -> None:  # noqa: F811
    days = [DAY, DAY + timedelta(days=1)]
    for d in days:
        store.ingest_event_log(ORG, meta(d), day_file(d))
    # Failed calls and calls that need no object permission are not evidence.
    extra = [
        sync_call(days[1], 3, STATUS_CODE="403"),
        sync_call(days[1], 3, 1, HTTP_METHOD="GET", API_RESOURCE="/v59.0/sobjects/Order/describe"),
        sync_call(days[1], 3, 2, HTTP_METHOD="GET", API_RESOURCE="/v59.0/search", ENTITY_NAME=""),
    ]
    store.ingest_event_log(ORG, meta(days[1], "0AT5g00000EXTRA"), atu_csv(extra))
    ops = store.operation_evidence(ORG, HUMAN, KEY, days[0], days[1])
    assert [(o.object, o.operation, o.count, o.example) for o in ops] == [
        ("Order", "create", 12, "POST /v59.0/sobjects/Order"),
        ("Order", "query", 2, "GET /v59.0/query"),
        ("Order", "upsert", 2, "PATCH /v59.0/sobjects/Order/NS_Id__c/{value}"),
    ]
    create = ops[0]
    assert create.first_seen == at(days[0], 1) and create.last_seen == at(days[1], 2, 5)
    assert store.other_operations(ORG, HUMAN, KEY, days[0], days[1]) == {"search": 1}
    # The window bounds the evidence; another pair's calls are not this pair's.
    assert [o.count for o in store.operation_evidence(ORG, HUMAN, KEY, DAY, DAY)] == [6, 1, 1]
    assert store.operation_evidence(ORG, HUMAN, "client:Workbench/29.0.9i", DAY, DAY) == []
    # Every call counts for when the integration ran, failed ones too.
    assert store.calls_by_day(ORG, HUMAN, KEY, days[0], days[1]) == {days[0]: 8, days[1]: 11}


def test_a_call_on_several_objects_is_evidence_for_each(store: UsageStore) -> None:  # noqa: F811
    rows = [sync_call(DAY, 1, API_RESOURCE="/v59.0/composite/sobjects",
                      ENTITY_NAME="Account,Contact")]  # fmt: skip
    store.ingest_event_log(ORG, meta(DAY), atu_csv(rows))
    ops = store.operation_evidence(ORG, HUMAN, KEY, DAY, DAY)
    assert [(o.object, o.operation, o.count) for o in ops] == [
        ("Account", "create", 1), ("Contact", "create", 1),
    ]  # fmt: skip


def test_examples_do_not_depend_on_the_order_files_arrive_in(tmp_path: Path) -> None:
    a = atu_csv([sync_call(DAY, 1, HTTP_METHOD="PATCH", API_RESOURCE="/v59.0/sobjects/Order/8015g00000Ord01AAA")])  # fmt: skip
    b = atu_csv([sync_call(DAY, 2, HTTP_METHOD="PATCH", API_RESOURCE="/v59.0/composite/sobjects")])
    examples = []
    for name, files in (("ab", [a, b]), ("ba", [b, a])):
        with UsageStore(f"sqlite:///{tmp_path / name}.db") as s:
            for i, data in enumerate(files):
                s.ingest_event_log(ORG, meta(DAY, f"0AT5g0000HOUR{i:02d}"), data)
            (op,) = s.operation_evidence(ORG, HUMAN, KEY, DAY, DAY)
            examples.append((op.operation, op.count, op.example))
    assert examples[0] == examples[1] == ("update", 2, "PATCH /v59.0/composite/sobjects")


def test_paid_files_count_only_on_days_without_the_free_one(store: UsageStore) -> None:  # noqa: F811
    d1, d2 = DAY, DAY + timedelta(days=1)
    store.ingest_event_log(ORG, meta(d1), day_file(d1))
    rows = [soap_call(d, "update") for d in (d1, d2)] + [soap_call(d2, "delete", "F")]
    store.ingest_event_log(ORG, meta(d1, "0AT5g0000000API", "API"), atu_csv(rows, API_FILE))
    key = "client:DataLoaderBatch/59.0.0"
    ops = store.operation_evidence(ORG, HUMAN, key, d1, d2)
    # d1 has ApiTotalUsage (which has no such client rows); d2 only the SOAP file: its
    # successful update counts, its failed delete does not.
    assert [(o.object, o.operation, o.count, o.example) for o in ops] == [
        ("Account", "update", 1, "SOAP update Account")
    ]


def test_fields_come_from_query_text_and_say_whether_there_was_any(store: UsageStore) -> None:  # noqa: F811
    d1, d2 = DAY, DAY + timedelta(days=1)
    store.ingest_event_log(ORG, meta(d1), day_file(d1))
    assert not store.field_evidence_available(ORG, d1, d2)  # ApiTotalUsage has no QUERY
    q1 = "SELECT Id, Industry FROM Account WHERE Name = 'Acme'"
    q2 = "SELECT Industry, Name FROM Account LIMIT 5"
    rows = [soap_call(d1, "query", query=q1), soap_call(d2, "query", query=q1),
            soap_call(d2, "query", query=q2), soap_call(d2, "query", query=q2)]  # fmt: skip
    store.ingest_event_log(ORG, meta(d1, "0AT5g0000000API", "API"), atu_csv(rows, API_FILE))
    assert store.field_evidence_available(ORG, d1, d2)
    assert not store.field_evidence_available(ORG, d2 + timedelta(days=1), d2 + timedelta(days=3))
    key = "client:DataLoaderBatch/59.0.0"
    fields = {f.field: f for f in store.field_evidence(ORG, HUMAN, key, d1, d2)}
    assert {k: (f.access, f.count) for k, f in fields.items()} == {
        "Account.Id": ("read", 2), "Account.Industry": ("read", 4), "Account.Name": ("read", 2),
    }  # fmt: skip
    industry = fields["Account.Industry"]
    assert industry.first_seen == at(d1, 0) and industry.last_seen == at(d2, 0)
    # Literals blanked; the query behind most calls (ties: the first in text order).
    assert industry.example == "SELECT Id, Industry FROM Account WHERE Name = '?'"
    assert fields["Account.Name"].example == "SELECT Industry, Name FROM Account LIMIT 0"


def test_coverage_for_a_plan_is_clipped_to_the_store_history(store: UsageStore) -> None:  # noqa: F811
    d = [DAY + timedelta(days=i) for i in range(6)]
    store.ingest_event_log(ORG, meta(d[1]), day_file(d[1]))
    store.record_coverage(ORG, d[2], "ApiTotalUsage", "gap", "expired")
    store.record_coverage(ORG, d[3], "Login", "ingested", "")  # no API record that day
    store.record_coverage(ORG, d[4], "ApiTotalUsage", "empty", "")
    cov = store.evidence_coverage(ORG, d[0] - timedelta(days=5), d[5] + timedelta(days=3))
    # Before the first record is before history; after the last, not decided yet.
    assert (cov.start, cov.end) == (d[1], d[4])
    assert cov.days_observed == [d[1], d[4]]
    assert cov.gap_days == [d[2]]
    assert cov.unrecorded_days == [d[3]]


def test_a_store_without_history_vouches_for_no_day(tmp_path: Path) -> None:
    with UsageStore(f"sqlite:///{tmp_path / 'new.db'}") as s:
        cov = s.evidence_coverage(ORG, DAY, DAY + timedelta(days=6))
        assert (cov.days_observed, cov.gap_days, cov.unrecorded_days) == ([], [], [])
        assert s.operation_evidence(ORG, HUMAN, KEY, DAY, DAY) == []
        assert s.calls_by_day(ORG, HUMAN, KEY, DAY, DAY) == {}


def test_find_finding_reads_the_latest_run_only(store: UsageStore) -> None:  # noqa: F811
    now = datetime(2026, 11, 5, tzinfo=UTC)
    clock = iter([now + timedelta(minutes=i) for i in range(10)])
    store.clock = lambda: next(clock)
    assert store.find_finding(ORG, "f-a") is None  # no run yet
    store.save_findings(ORG, "run-1", [finding("f-a"), finding("f-b")])
    store.save_findings(ORG, "run-2", [finding("f-b")])
    found = store.find_finding(ORG, " f-b ")
    assert found is not None and found.finding_id == "f-b"
    # f-a is only in an older run: its evidence is stale, so it is not offered.
    assert store.find_finding(ORG, "f-a") is None
    assert store.find_finding("00D5g0000099999", "f-b") is None


def test_migrating_a_store_in_use_keeps_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = open_engine(url)
    with write_transaction(engine) as conn:
        command.upgrade(_config(conn), "0001")
        conn.execute(text(
            "INSERT INTO usage_ingested_files (org_id, file_id, event_type, log_date, status,"
            " rows, bad_rows, aggregates, note, ingested_at) VALUES (:o, '0AT5g0000000API', 'API',"
            " :d, 'ingested', 1, 0, 1, '', :d)"
        ), {"o": to18(ORG), "d": DAY})  # fmt: skip
        conn.execute(text(
            "INSERT INTO usage_field_daily (org_id, day, event_type, user_id, app_key, entity,"
            " field, access, count) VALUES (:o, :d, 'API', :u, 'none', 'Account', 'Name',"
            " 'read', 3)"
        ), {"o": to18(ORG), "d": DAY, "u": USER})  # fmt: skip
    engine.dispose()
    with UsageStore(url) as s:
        assert s.schema_revision == "0004"  # every later revision too
        assert s.field_evidence_available(ORG, DAY, DAY)  # back-filled from its field rows
        (fe,) = s.field_evidence(ORG, HUMAN, "none", DAY, DAY)
        assert (fe.field, fe.count, fe.example) == ("Account.Name", 3, "")
        with s.engine.connect() as conn:
            assert conn.execute(select(t.api_daily.c.example)).all() == []
