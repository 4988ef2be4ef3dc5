"""The usage store over a temporary SQLite file: migrations, idempotent ingestion, crash
safety, coverage gaps, profiles, findings history, and two processes at once."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, select

from handover.detect import classify_all
from handover.ids import to18
from handover.models import Evidence, Finding, UserInfo, finding_id
from handover.settings import DetectionSettings
from handover.store import tables as t
from handover.store.engine import MIGRATIONS
from handover.usage import EventLogFileMeta, UsageStore, UsageStoreError
from handover.usage import store as store_module

ORG = "00D5g0000012345"
DAY = date(2026, 11, 2)
HUMAN = "0055g00000Ops01"
OTHER = "0055g00000Ann02"
APP = "0H45g000000Ns01"
ATU = ["EVENT_TYPE", "TIMESTAMP", "USER_ID", "API_FAMILY", "API_RESOURCE", "CLIENT_NAME",
       "HTTP_METHOD", "CLIENT_IP", "CONNECTED_APP_ID", "ENTITY_NAME", "STATUS_CODE",
       "CONNECTED_APP_NAME"]  # fmt: skip


def q(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def atu_csv(rows: list[dict[str, str]], header: list[str] = ATU) -> bytes:
    lines = [",".join(q(h) for h in header)]
    lines += [",".join(q(r.get(h, "")) for h in header) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def sync_call(day: date, hour: int, minute: int = 0, **over: str) -> dict[str, str]:
    row = {
        "EVENT_TYPE": "ApiTotalUsage", "TIMESTAMP": f"{day:%Y%m%d}{hour:02d}{minute:02d}00.000",
        "USER_ID": HUMAN, "API_FAMILY": "REST", "API_RESOURCE": "/v59.0/sobjects/Order",
        "HTTP_METHOD": "POST", "CLIENT_IP": "203.0.113.7", "CONNECTED_APP_ID": APP,
        "ENTITY_NAME": "Order", "STATUS_CODE": "201", "CONNECTED_APP_NAME": "NetSuite Sync",
    }  # fmt: skip
    row.update(over)
    return row


def day_file(day: date, calls: int = 6) -> bytes:
    """A nightly sync: creates, upserts and a query, every night 01:00-02:59."""
    rows = []
    for i in range(calls):
        rows.append(sync_call(day, 1 + i % 2, i))
    rows.append(sync_call(day, 2, 30, HTTP_METHOD="PATCH",
                          API_RESOURCE="/v59.0/sobjects/Order/NS_Id__c/SO-7", STATUS_CODE="204"))  # fmt: skip
    rows.append(sync_call(day, 2, 31, HTTP_METHOD="GET", API_RESOURCE="/v59.0/query",
                          STATUS_CODE="200", CLIENT_IP="198.51.100.9"))  # fmt: skip
    # Someone else, through a client with no connected app.
    rows.append(sync_call(day, 14, USER_ID=OTHER, CONNECTED_APP_ID="", CONNECTED_APP_NAME="",
                          CLIENT_NAME="Workbench/29.0.9i", HTTP_METHOD="GET",
                          API_RESOURCE="/v59.0/query", STATUS_CODE="200"))  # fmt: skip
    return atu_csv(rows)


def meta(
    day: date, file_id: str | None = None, event_type: str = "ApiTotalUsage"
) -> EventLogFileMeta:
    return EventLogFileMeta(file_id or f"0AT5g{day:%m%d}000{len(event_type):03d}", event_type, day)


# PostgreSQL runs too when a throw-away database is named here (it is emptied per test).
PG_URL = os.environ.get("TEST_POSTGRES_URL")


def _empty_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        t.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS usage_schema_version")
    engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql", marks=pytest.mark.skipif(not PG_URL, reason="no TEST_POSTGRES_URL")
        ),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UsageStore]:
    if request.param == "postgresql":
        assert PG_URL
        _empty_postgres(PG_URL)
        s = UsageStore(PG_URL)
    else:
        s = UsageStore(f"sqlite:///{tmp_path}/sub/handover.db")
    yield s
    s.close()


def api_rows(s: UsageStore) -> list[tuple[Any, ...]]:
    a = t.api_daily.c
    cols = [a.day, a.user_id, a.app_key, a.operation, a.status, a.calls, *[a[h] for h in t.HOURS]]
    with s.engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(select(*cols)))


# ---------------------------------------------------------------------- schema


def test_migrates_from_empty_and_reopens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new/handover.db"  # the directory does not exist yet
    first = UsageStore(url)
    assert first.schema_revision == ScriptDirectory(str(MIGRATIONS)).get_current_head()
    first.ingest_event_log(ORG, meta(DAY), day_file(DAY))
    first.close()
    again = UsageStore(url)
    assert again.is_file_ingested(ORG, meta(DAY).file_id)
    with again.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 10_000
        names = set(inspect(conn).get_table_names())
        assert {tb.name for tb in t.metadata.sorted_tables} <= names
        assert "usage_schema_version" in names
        # The migrations create exactly what the table definitions declare.
        opts = {"compare_type": True, "version_table": "usage_schema_version"}
        ctx = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(ctx, t.metadata) == []
    again.close()


def test_bad_urls_say_what_to_do() -> None:
    with pytest.raises(UsageStoreError, match="HANDOVER_STORE__URL"):
        UsageStore("not a url")
    with pytest.raises(UsageStoreError, match="SQLite and PostgreSQL"):
        UsageStore("mysql://u@h/db")


# ---------------------------------------------------------------------- ingestion


def test_reingesting_a_file_adds_nothing(store: UsageStore) -> None:
    first = store.ingest_event_log(ORG, meta(DAY), day_file(DAY))
    assert first.rows == 9 and first.aggregates > 0 and not first.already_ingested
    before = api_rows(store)
    second = store.ingest_event_log(ORG, meta(DAY), day_file(DAY))
    assert second.already_ingested and second.rows == 0
    # The 18-character form of the same file id is the same file.
    assert store.ingest_event_log(
        ORG, meta(DAY, to18(meta(DAY).file_id)), day_file(DAY)
    ).already_ingested
    assert api_rows(store) == before
    assert store.is_file_ingested(ORG, meta(DAY).file_id)


def test_a_crash_mid_ingest_leaves_nothing(
    store: UsageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store_module.upsert_sum

    def crash(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)  # some rows are written inside the transaction...
        raise RuntimeError("power cut")  # ...then the process dies

    monkeypatch.setattr(store_module, "upsert_sum", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        store.ingest_event_log(ORG, meta(DAY), day_file(DAY))
    assert not store.is_file_ingested(ORG, meta(DAY).file_id)
    assert api_rows(store) == []
    assert store.coverage(ORG, DAY, DAY).days_observed == []
    monkeypatch.setattr(store_module, "upsert_sum", real)
    assert store.ingest_event_log(ORG, meta(DAY), day_file(DAY)).rows == 9


def test_hourly_files_of_one_day_add_up(store: UsageStore) -> None:
    store.ingest_event_log(ORG, meta(DAY, "0AT5g00000HOUR1"), atu_csv([sync_call(DAY, 1)]))
    store.ingest_event_log(ORG, meta(DAY, "0AT5g00000HOUR2"), atu_csv([sync_call(DAY, 5, 7)]))
    (row,) = api_rows(store)
    assert row[5] == 2 and row[6 + 1] == 1 and row[6 + 5] == 1
    a = t.api_daily.c
    with store.engine.connect() as conn:
        first, last = conn.execute(select(a.first_at, a.last_at)).one()
    assert first == datetime(2026, 11, 2, 1, tzinfo=UTC)
    assert last == datetime(2026, 11, 2, 5, 7, tzinfo=UTC)


def test_window_traffic_keeps_each_days_calls_by_hour(store: UsageStore) -> None:
    """Verification judges a window against the same hours of the baseline's days: the
    window's successful calls per operation, day and UTC hour, inside [start, end) only."""
    days = [DAY, DAY + timedelta(days=1)]
    for d in days:
        store.ingest_event_log(ORG, meta(d), day_file(d))
    start = datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(hours=2)
    traffic = store.window_traffic(ORG, HUMAN, f"app:{to18(APP)}", start, start + timedelta(days=1))
    creates = traffic.by_hour["Order.create"]
    assert sorted(creates) == [d.isoformat() for d in days]
    first, second = creates[DAY.isoformat()], creates[days[1].isoformat()]
    assert (first[1], first[2]) == (0, 3)  # 01:00 is before the window
    assert (second[1], second[2]) == (3, 0)  # 02:00 of the next day is after it
    assert sum(first) + sum(second) == traffic.operations["Order.create"] == 6


def test_unknown_event_types_are_recorded_and_listed(store: UsageStore) -> None:
    result = store.ingest_event_log(ORG, meta(DAY, "0AT5g0000000UIT", "UITracking"), b"x")
    assert result.unknown_type and result.aggregates == 0
    assert store.is_file_ingested(ORG, "0AT5g0000000UIT")
    assert store.coverage(ORG, DAY, DAY).unparsed_types == ["UITracking"]


# ---------------------------------------------------------------------- coverage


def test_coverage_gaps_are_reported(store: UsageStore) -> None:
    d1, d2, d3, d4 = (DAY + timedelta(days=i) for i in range(4))
    store.ingest_event_log(ORG, meta(d1), day_file(d1))
    store.record_coverage(ORG, d2, "ApiTotalUsage", "gap", "file expired before the run")
    store.record_coverage(ORG, d2, "Login", "gap", "")
    store.record_coverage(ORG, d4, "ApiTotalUsage", "empty", "no API calls that day")
    # A late "gap" for an ingested day is a contradiction: the ingested record stays.
    store.record_coverage(ORG, d1, "ApiTotalUsage", "gap", "stale")
    cov = store.coverage(ORG, d1 - timedelta(days=3), d4)
    assert cov.days_observed == [d1, d4]
    assert [(g.day, g.event_type, g.note) for g in cov.gaps] == [
        (d2, "ApiTotalUsage", "file expired before the run"),
        (d2, "Login", "log file expired before ingestion"),
    ]
    assert cov.unrecorded_days == [d3]  # after history began, nothing recorded: a gap too
    assert cov.gap_days == [d2, d3]  # days before the first record are before history
    assert cov.event_types == {"ApiTotalUsage": 1}
    assert cov.decided_days("ApiTotalUsage") == {d1, d2, d4} and cov.decided_days("X") == set()
    view = cov.as_dict()
    assert view["days_in_window"] == 7 and view["days_observed"] == 2
    assert [(g["day"], g["event_type"]) for g in view["gaps"]] == [
        (d2, "ApiTotalUsage"), (d2, "Login"), (d3, "(any)"),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="coverage status"):
        store.record_coverage(ORG, d1, "Login", "missing", "")  # type: ignore[arg-type]
    (profile,) = [p for p in store.profiles(ORG, d1, d4) if p.user.user_id == to18(HUMAN)]
    assert profile.gap_days == [d2, d3] and profile.days_observed == 2


def test_gaps_recorded_before_history_began_are_before_history(store: UsageStore) -> None:
    # Earlier releases recorded the days before the first run as gaps (a free-logs org
    # keeps one day, so a 30-day window began with 29 of them). History begins with the
    # first day the store holds logs for; what came before was never ours to see.
    first = DAY + timedelta(days=29)
    for i in range(29):
        store.record_coverage(ORG, DAY + timedelta(days=i), "ApiTotalUsage", "gap", "old")
    store.ingest_event_log(ORG, meta(first), day_file(first))
    assert store.history_began(ORG) == first
    cov = store.coverage(ORG, DAY, first)
    assert (cov.gaps, cov.unrecorded_days, cov.days_observed) == ([], [], [first])
    ev = store.evidence_coverage(ORG, DAY, first)
    assert (ev.start, ev.gap_days, ev.unrecorded_days) == (first, [], [])
    # A run missed after that is a gap.
    later = first + timedelta(days=2)
    store.ingest_event_log(ORG, meta(later, "0AT5g0000000LAT"), day_file(later))
    assert store.coverage(ORG, DAY, later).unrecorded_days == [first + timedelta(days=1)]


# ---------------------------------------------------------------------- profiles


def seed(store: UsageStore, days: int = 3) -> list[date]:
    dates = [DAY + timedelta(days=i) for i in range(days)]
    for d in dates:
        store.ingest_event_log(ORG, meta(d), day_file(d))
    store.snapshot_users(ORG, [
        UserInfo(user_id=to18(HUMAN), username="ops@loomis.example.com", license="Salesforce",
                 profile="System Administrator"),
        UserInfo(user_id=to18(OTHER), username="ann@loomis.example.com", license="Salesforce"),
    ])  # fmt: skip
    store.snapshot_connected_apps(ORG, [
        {"Id": to18(APP), "Name": "NetSuite Sync", "OptionsAllowAdminApprovedUsersOnly": True},
    ])  # fmt: skip
    store.snapshot_app_access(ORG, [
        {"SetupEntityId": to18(APP), "ParentId": "0PS5g00000PsAdm",
         "Parent": {"IsOwnedByProfile": True, "ProfileId": "00e5g00000PrAdm"}},
    ])  # fmt: skip
    store.snapshot_assignments(ORG, [
        {"AssigneeId": to18(HUMAN), "PermissionSetId": "0PS5g00000PsAdm",
         "PermissionSet": {"Name": "X00e", "IsOwnedByProfile": True}},
    ])  # fmt: skip
    store.snapshot_oauth_tokens(ORG, [
        {"UserId": to18(HUMAN), "AppName": "NetSuite Sync", "UseCount": 41,
         "LastUsedDate": "2026-11-03T01:00:00.000+0000", "CreatedDate": "2026-01-01T00:00:00.000+0000",
         "AppMenuItem": {"ApplicationId": to18(APP)}},
        # No ApplicationId: matched by the connected app's name.
        {"UserId": to18(HUMAN), "AppName": "NetSuite Sync", "UseCount": 1,
         "AppMenuItem": {"ApplicationId": None}},
        {"UserId": to18(OTHER), "AppName": "Workbench", "UseCount": 3, "AppMenuItem": None},
    ])  # fmt: skip
    login = {"UserId": to18(HUMAN), "Application": "NetSuite Sync", "LoginType": "Remote Access 2.0",
             "LoginSubType": "OAuth Refresh Token", "Status": "Success", "ApiType": "N/A"}  # fmt: skip
    ui = {"UserId": to18(HUMAN), "Application": "Browser", "LoginType": "Application",
          "Status": "Success"}  # fmt: skip
    rows = [{**login, "LoginTime": f"{d}T01:00:00.000+0000"} for d in dates]
    rows.append({**ui, "LoginTime": f"{dates[0]}T09:12:00.000+0000"})
    rows.append({**ui, "LoginTime": f"{dates[0]}T09:20:00.000+0000", "Status": "Invalid Password"})
    assert store.ingest_login_history(ORG, rows) == len(rows)
    return dates


def test_profiles_from_hand_made_files(store: UsageStore) -> None:
    dates = seed(store)
    profiles = {(p.user.user_id, p.app.key): p for p in store.profiles(ORG, dates[0], dates[-1])}
    assert set(profiles) == {
        (to18(HUMAN), f"app:{to18(APP)}"), (to18(OTHER), "client:Workbench"),
    }  # fmt: skip
    p = profiles[(to18(HUMAN), f"app:{to18(APP)}")]
    assert p.user.username == "ops@loomis.example.com" and p.user.profile == "System Administrator"
    assert p.app.name == "NetSuite Sync" and p.app.connected_app_id == to18(APP)
    assert p.days_observed == 3 and p.days_active == 3 and p.gap_days == []
    assert p.total_calls == 8 * 3 and p.calls_by_day == {d: 8 for d in dates}
    assert p.hour_counts[1] == 9 and p.hour_counts[2] == 15 and sum(p.hour_counts) == 24
    assert sum(p.weekday_counts) == 24 and p.weekday_counts[dates[0].weekday()] == 8
    assert p.operations == {"Order.create": 18, "Order.upsert": 3, "Order.query": 3}
    assert p.status_codes == {"201": 18, "204": 3, "200": 3}
    assert p.api_families == {"REST": 24}
    assert p.source_ips == {"203.0.113.7": 21, "198.51.100.9": 3}
    assert p.logins == {"Remote Access 2.0|OAuth Refresh Token": 3}
    # Two grants (the second matched by name): each keeps its own count and dates.
    assert p.token_use_count == 42
    assert [(g.use_count, g.created, g.last_used) for g in p.token_grants] == [
        (41, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 3, 1, tzinfo=UTC)),
        (1, None, None),
    ]
    assert p.user_ui_logins == 1
    assert p.user_last_ui_login == datetime.combine(dates[0], datetime.min.time(), UTC).replace(
        hour=9, minute=12
    )
    assert p.preauthorized is True
    w = profiles[(to18(OTHER), "client:Workbench")]
    assert w.total_calls == 3 and w.operations == {"Order.query": 3} and w.preauthorized is None
    # A client name is not a connected app label: no token is attributed by guesswork.
    assert w.token_use_count is None


def test_a_client_upgrade_keeps_one_client_and_its_finding(store: UsageStore) -> None:
    # Data Loader 59 on day 1, 60 on day 2: one client, one finding, both days of history.
    d1, d2 = DAY, DAY + timedelta(days=1)
    for day, version in ((d1, "59.0.0"), (d2, "60.0.0")):
        row = sync_call(day, 1, CONNECTED_APP_ID="", CONNECTED_APP_NAME="",
                        CLIENT_NAME=f"DataLoaderBatch/{version}")  # fmt: skip
        store.ingest_event_log(ORG, meta(day), atu_csv([row, row]))
    store.ingest_login_history(ORG, [
        {"UserId": to18(HUMAN), "Application": f"DataLoaderBatch/{v}", "LoginType": "Other Apex API",
         "Status": "Success", "LoginTime": f"{d}T00:59:00.000+0000"}
        for d, v in ((d1, "59.0.0"), (d2, "60.0.0"))
    ])  # fmt: skip
    (p,) = store.profiles(ORG, d1, d2)
    assert (p.app.key, p.app.name) == ("client:DataLoaderBatch", "DataLoaderBatch")
    assert p.calls_by_day == {d1: 2, d2: 2} and p.logins == {"Other Apex API|": 2}
    (f,) = classify_all([p], DetectionSettings())
    assert f.finding_id == finding_id(ORG, to18(HUMAN), "client:DataLoaderBatch")


def test_handovers_own_calls_are_recognized_by_user_and_client(store: UsageStore) -> None:
    # handover connects as the ops user; its calls name it (Sforce-Call-Options client).
    rows = [
        sync_call(
            DAY, 6, i, CONNECTED_APP_ID="", CONNECTED_APP_NAME="", CLIENT_NAME=client, USER_ID=user
        )
        for i, (client, user) in enumerate([("handover", HUMAN), ("handover", OTHER)])
    ]
    store.ingest_event_log(ORG, meta(DAY), atu_csv(rows))
    found = {
        (p.user.user_id, p.app.key): p.is_handover
        for p in store.profiles(ORG, DAY, DAY, own_user_id=HUMAN)
    }
    # Another user calling as "handover" is not handover: a name alone hides nothing.
    assert found == {
        (to18(HUMAN), "client:handover"): True,
        (to18(OTHER), "client:handover"): False,
    }
    assert not any(p.is_handover for p in store.profiles(ORG, DAY, DAY))  # identity unknown
    mine = next(p for p in store.profiles(ORG, DAY, DAY, own_user_id=HUMAN) if p.is_handover)
    f = classify_all([mine], DetectionSettings())[0]
    assert f.verdict == "handover" and f.reasons[0].startswith("These are handover's own calls")


def test_paid_files_fill_days_without_the_free_one(store: UsageStore) -> None:
    d1, d2 = DAY, DAY + timedelta(days=1)
    rest = ["EVENT_TYPE", "TIMESTAMP", "USER_ID", "METHOD", "URI", "ENTITY_NAME", "STATUS_CODE",
            "CONNECTED_APP_ID", "CLIENT_IP"]  # fmt: skip
    row = {"EVENT_TYPE": "RestApi", "USER_ID": HUMAN, "METHOD": "PATCH", "ENTITY_NAME": "Order",
           "URI": "/services/data/v59.0/sobjects/Order/8015g00000Ord01", "STATUS_CODE": "204",
           "CONNECTED_APP_ID": APP, "CLIENT_IP": "203.0.113.7"}  # fmt: skip
    paid = atu_csv([{**row, "TIMESTAMP": f"{d:%Y%m%d}030000.000"} for d in (d1, d2)], rest)
    store.ingest_event_log(ORG, meta(d1), day_file(d1))  # d1 has the free file...
    store.ingest_event_log(ORG, meta(d1, "0AT5g000000REST", "RestApi"), paid)  # ...and paid ones
    (p,) = [p for p in store.profiles(ORG, d1, d2) if p.user.user_id == to18(HUMAN)]
    # d1 counts only ApiTotalUsage (the same calls are in both); d2 only has RestApi.
    assert p.calls_by_day == {d1: 8, d2: 1}
    assert p.operations["Order.update"] == 1 and p.app.name == "NetSuite Sync"


def test_field_usage_from_query_text(store: UsageStore) -> None:
    header = ["EVENT_TYPE", "TIMESTAMP", "USER_ID", "CLIENT_NAME", "METHOD_NAME", "ENTITY_NAME",
              "QUERY"]  # fmt: skip
    row = {"EVENT_TYPE": "API", "TIMESTAMP": "20261102010000.000", "USER_ID": HUMAN,
           "CLIENT_NAME": "MuleSoft", "METHOD_NAME": "query", "ENTITY_NAME": "Order",
           "QUERY": "SELECT Id, Status, Account.Name FROM Order WHERE Id = '8015g00000Ord01'"}  # fmt: skip
    result = store.ingest_event_log(
        ORG, meta(DAY, "0AT5g0000000API", "API"), atu_csv([row] * 2, header)
    )
    assert result.field_rows == 3
    usage = store.field_usage(ORG, to18(HUMAN), "client:MuleSoft", DAY, DAY)
    assert usage == {"Order.Id": 2, "Order.Status": 2, "Order.Account.Name": 2}
    assert (
        store.field_usage(
            ORG, to18(HUMAN), "client:MuleSoft", DAY + timedelta(1), DAY + timedelta(9)
        )
        == {}
    )


def test_login_history_cursor_makes_reruns_idempotent(store: UsageStore) -> None:
    seed(store, days=1)
    cursor = store.login_history_cursor(ORG)
    assert cursor == datetime.combine(DAY, datetime.min.time(), UTC).replace(hour=9, minute=20)
    h = t.login_history_daily.c
    with store.engine.connect() as conn:
        before = conn.execute(select(func.sum(h.calls))).scalar()
    row = {"UserId": to18(HUMAN), "Application": "NetSuite Sync", "LoginType": "Remote Access 2.0",
           "Status": "Success", "LoginTime": f"{DAY}T09:20:00.000+0000"}  # fmt: skip
    assert store.ingest_login_history(ORG, [row]) == 0  # at the cursor: already taken
    assert store.ingest_login_history(ORG, [{**row, "LoginTime": f"{DAY}T10:00:00Z"}]) == 1
    with store.engine.connect() as conn:
        assert conn.execute(select(func.sum(h.calls))).scalar() == (before or 0) + 1
    assert store.login_history_cursor("other-org") is None


def test_snapshots_replace_the_previous_one(store: UsageStore) -> None:
    store.snapshot_users(ORG, [UserInfo(user_id=to18(HUMAN), username="a")])
    store.snapshot_users(ORG, [UserInfo(user_id=to18(OTHER), username="b")])
    with store.engine.connect() as conn:
        assert conn.execute(select(t.users.c.username)).scalars().all() == ["b"]


# ---------------------------------------------------------------------- runs and findings


def finding(fid: str) -> Finding:
    return Finding(
        finding_id=fid, org_id=ORG, user_id=to18(HUMAN), username="ops", app_name="NetSuite Sync",
        app_key=f"app:{to18(APP)}", verdict="integration_under_human", score=0.9,
        evidence=[Evidence(key="calls", label="Calls", value=24, weight=0.2)],
        window_start=DAY, window_end=DAY,
    )  # fmt: skip


def test_findings_history(store: UsageStore) -> None:
    now = datetime(2026, 11, 5, tzinfo=UTC)
    clock = iter([now + timedelta(minutes=i) for i in range(10)])
    store.clock = lambda: next(clock)
    assert store.previous_finding_ids(ORG, "run-1") == set()
    store.save_run(ORG, "run-1", now, now + timedelta(minutes=1), 120, {"files": 2})
    store.save_findings(ORG, "run-1", [finding("f-a"), finding("f-b")])
    store.save_findings(ORG, "run-2", [finding("f-b"), finding("f-c")])
    assert store.previous_finding_ids(ORG, "run-2") == {"f-a", "f-b"}
    assert store.previous_finding_ids(ORG, "run-3") == {"f-b", "f-c"}  # not saved yet: the latest
    assert store.previous_finding_ids(ORG, "run-1") == set()
    assert [f.finding_id for f in store.load_findings(ORG, "run-2")] in (
        ["f-b", "f-c"],
        ["f-c", "f-b"],
    )
    store.save_run(ORG, "run-1", now, None, 130, {})  # re-saving a run replaces it
    with store.engine.connect() as conn:
        assert conn.execute(select(t.runs.c.api_calls)).scalars().all() == [130]


# ---------------------------------------------------------------------- two processes


def _worker(url: str, worker: int, rounds: int) -> int:
    store = UsageStore(url)
    for i in range(rounds):
        d = DAY + timedelta(days=i)
        store.ingest_event_log(ORG, meta(d, f"0AT5g{worker}{i:04d}00000"), day_file(d))
        store.ingest_event_log(ORG, meta(d, f"0AT5g9{i:04d}000000"), day_file(d))  # both try
        store.ingest_login_history(ORG, [{
            "UserId": to18(HUMAN), "Application": "NetSuite Sync", "LoginType": "Remote Access 2.0",
            "Status": "Success", "LoginTime": f"{d}T0{worker}:00:00Z"}])  # fmt: skip
        store.snapshot_users(ORG, [UserInfo(user_id=to18(HUMAN), username=f"w{worker}")])
        store.record_coverage(ORG, d, "Login", "empty", f"worker {worker}")
        store.save_findings(ORG, f"run-{worker}-{i}", [finding(f"f-{worker}-{i}")])
        store.profiles(ORG, DAY, d)
    store.close()
    return rounds


@pytest.mark.parametrize(
    "backend",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="no PG"))],
)
def test_two_processes_at_once(tmp_path: Path, backend: str) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    if backend == "postgresql":
        assert PG_URL
        _empty_postgres(PG_URL)
        url = PG_URL
    rounds = 6
    ctx = multiprocessing.get_context("spawn")  # polars' threads and fork do not mix
    with ctx.Pool(2) as pool:
        done = pool.starmap(_worker, [(url, 1, rounds), (url, 2, rounds)])
    assert done == [rounds, rounds]
    store = UsageStore(url)
    f = t.ingested_files.c
    with store.engine.connect() as conn:
        files = conn.execute(select(func.count()).select_from(t.ingested_files)).scalar()
        shared = conn.execute(select(func.count()).where(f.file_id.like("0AT5g9%"))).scalar()
    assert files == 3 * rounds and shared == rounds  # the shared files: once each
    calls = sum(row[5] for row in api_rows(store))
    assert calls == 9 * 3 * rounds
    store.close()
