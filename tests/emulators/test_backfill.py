"""Backfill: volumes, login semantics per auth flow, determinism, and rows identical to live ones."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from emulators.salesforce.backfill import BackfillReport, MemoryTarget, backfill, group_usernames
from emulators.salesforce.clock import SimClock
from emulators.salesforce.eventlog.csvfmt import encode_api_call
from emulators.salesforce.eventlog.events import ApiCall
from emulators.salesforce.eventlog.store import EventStore
from emulators.salesforce.ids import IdFactory, is_valid_id
from emulators.salesforce.scenario import Scenario

START = "2024-03-15T09:00:00Z"  # a Friday
ORDER_CALLS = [
    {
        "object": "Order",
        "operation": "query",
        "fields": ["Id", "Status"],
        "where": "Status = 'Draft'",
        "weight": 3,
    },
    {"object": "Order", "operation": "create"},
    {"object": "Order", "operation": "update"},
    {"object": "Order", "operation": "upsert", "external_id_field": "ERP_Order_Id__c"},
    {"object": "Order", "operation": "delete"},
]


def scenario(
    *, event_monitoring: bool = True, workloads: list[dict] | None = None, **org: Any
) -> Scenario:
    return Scenario.model_validate(
        {
            "org": {
                "name": "Loomis",
                "my_domain": "loomis.my.salesforce.com",
                "event_monitoring": event_monitoring,
                "start": START,
                "admin_username": "admin@loomis.example",
                **org,
            },
            "users": [
                {
                    "username": "carl@loomis.example",
                    "last_name": "C",
                    "profile": "Standard User",
                    "ui_logins_per_day": 2,
                },
                {"username": "api@loomis.example", "last_name": "Api", "profile": "Standard User"},
            ],
            "user_groups": [{"prefix": "rep", "count": 3, "profile": "Standard User"}],
            "workloads": workloads if workloads is not None else default_workloads(),
        }
    )


def default_workloads() -> list[dict]:
    return [
        {
            "name": "erp-sync",
            "app": "ERP Sync",
            "username": "jane@loomis.example",
            "ground_truth": "integration_under_human",
            "auth": "client_credentials",
            "client_name": "erp-sync/2.1",
            "source_ips": ["203.0.113.10", "203.0.113.11"],
            "calls": ORDER_CALLS,
            "schedule": {
                "calls_per_hour": 120,
                "hours": list(range(6, 20)),
                "login_every_minutes": 30,
            },
        },
        {
            "name": "dataloader",
            "app": "Data Loader",
            "client_name": "DataLoaderPartnerUI/59.0",
            "username": "bob@loomis.example",
            "ground_truth": "integration_under_human",
            "auth": "soap_login",
            "api_family": "SOAP",
            "calls": [
                {"object": "Account", "operation": "query", "fields": ["Id", "Name"]},
                {"object": "Account", "operation": "update"},
            ],
            "schedule": {"calls_per_hour": 20, "hours": [9, 10, 11], "weekdays": [0, 1, 2, 3, 4]},
        },
        {
            "name": "bi-refresh",
            "app": "BI Connector",
            "username": "bob@loomis.example",
            "ground_truth": "integration_under_human",
            "auth": "refresh_token",
            "calls": [{"object": "Opportunity", "operation": "query", "fields": ["Id", "Amount"]}],
            "schedule": {"calls_per_hour": 10, "login_every_minutes": 120},
        },
        {
            "name": "jwt-job",
            "app": "Nightly Job",
            "username": "integration@loomis.example",
            "ground_truth": "dedicated_integration",
            "auth": "jwt_bearer",
            "calls": [{"object": "Case", "operation": "query", "fields": ["Id"]}],
            "schedule": {"calls_per_hour": 30, "hours": [2]},
        },
    ]


def run(
    sc: Scenario, days: int = 3, *, seed: int = 7, workers: int = 1
) -> tuple[MemoryTarget, BackfillReport]:
    ids = IdFactory(11)
    store = EventStore(
        org_id=ids.new("00D"),
        event_monitoring=sc.org.event_monitoring,
        retention_days=sc.retention_days,
        ids=ids,
    )
    target = MemoryTarget(store, SimClock(sc.org.start), ids)
    return target, backfill(target, sc, days, seed=seed, workers=workers)


def files(target: MemoryTarget) -> dict[tuple[date, str], bytes]:
    out = {}
    for f in target.events.published_files(target.clock.now()):
        out[(f["LogDate"].date(), f["EventType"])] = target.events.content(f["Id"]) or b""
    return out


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_group_usernames_use_the_admin_domain() -> None:
    sc = scenario()
    assert group_usernames(sc.user_groups[0], sc) == [
        "rep001@loomis.example",
        "rep002@loomis.example",
        "rep003@loomis.example",
    ]


def test_days_before_today_only_and_files_for_each() -> None:
    target, report = run(scenario(), days=3)
    assert report.days == [date(2024, 3, 12), date(2024, 3, 13), date(2024, 3, 14)]
    got = files(target)
    assert {d for d, _ in got} == set(report.days)  # nothing for today (2024-03-15)
    for d in report.days:
        for event_type in ("ApiTotalUsage", "RestApi", "API", "Login"):
            assert (d, event_type) in got
    for (_, event_type), data in got.items():
        assert data.startswith(b'"EVENT_TYPE","TIMESTAMP"') and data.endswith(b"\n")
        stamps = [r["TIMESTAMP"] for r in rows(data)]
        assert stamps == sorted(stamps), event_type


def test_volume_follows_the_schedule_within_jitter() -> None:
    workloads = [
        dict(
            default_workloads()[0],
            schedule={"calls_per_hour": 200, "hours": list(range(8, 18)), "jitter": 0.1},
        )
    ]
    target, report = run(scenario(workloads=workloads), days=5)
    expected = 200 * 10 * 5
    assert expected * 0.9 - 50 <= report.api_calls <= expected * 1.1 + 50
    usage = [
        r for (_, t), data in files(target).items() if t == "ApiTotalUsage" for r in rows(data)
    ]
    assert len(usage) == report.api_calls == report.rows_by_type["ApiTotalUsage"]
    assert all(8 <= int(r["TIMESTAMP"][8:10]) < 18 for r in usage)
    weights = Counter(r["HTTP_METHOD"] for r in usage)
    assert weights["GET"] > weights["POST"]  # query has weight 3 of 7


def test_weekdays_are_respected() -> None:
    _, report = run(scenario(workloads=[default_workloads()[1]]), days=7)
    # 2024-03-08 .. 2024-03-14: Friday to Thursday, so 5 working days of 3 hours at 20/h.
    assert 5 * 3 * 20 * 0.8 <= report.calls_by_workload["dataloader"] <= 5 * 3 * 20 * 1.2


def test_login_history_per_auth_flow() -> None:
    target, report = run(scenario(), days=2)
    by_app: dict[str, list[dict]] = {}
    for row in target.login_history:
        by_app.setdefault(row["Application"], []).append(row)
    cc = by_app["ERP Sync"][0]
    assert (cc["LoginType"], cc["LoginSubType"], cc["Status"]) == (
        "Remote Access 2.0",
        "OAuth Client Credentials",
        "Success",
    )
    assert (
        cc["SourceIp"] in ("203.0.113.10", "203.0.113.11")
        and cc["LoginUrl"] == "loomis.my.salesforce.com"
    )
    assert len(by_app["ERP Sync"]) == 2 * 14 * 2  # 14 active hours, a login every 30 minutes
    soap = by_app["DataLoaderPartnerUI/59.0"][0]
    assert (soap["LoginType"], soap["ApiType"], soap["ApiVersion"]) == (
        "Other Apex API",
        "SOAP Partner",
        "59.0",
    )
    jwt = by_app["Nightly Job"][0]
    assert (jwt["LoginType"], jwt["LoginSubType"]) == ("Remote Access 2.0", None)
    ui = by_app["Browser"]
    assert {r["LoginType"] for r in ui} == {"Application"}
    assert all(
        r["Browser"].split()[0] in ("Chrome", "Edge", "Firefox") and r["Platform"] for r in ui
    )
    assert report.logins == len(target.login_history)
    bob = target.users["bob@loomis.example"]["Id"]
    assert target.last_login[bob] == max(
        r["LoginTime"] for r in target.login_history if r["UserId"] == bob
    )


def test_refresh_token_use_leaves_no_login_history() -> None:
    workloads = [default_workloads()[2]]
    target, report = run(scenario(workloads=workloads), days=3)
    bob = target.users["bob@loomis.example"]["Id"]
    assert not [r for r in target.login_history if r["UserId"] == bob]
    logins = [r for (_, t), data in files(target).items() if t == "Login" for r in rows(data)]
    assert not [r for r in logins if r["USER_NAME"] == "bob@loomis.example"]
    # The token's uses from its grant (180 days before the start, by default) to the first
    # backfilled day, then the three days' own.
    before, during = target.token_uses
    first_day = datetime.combine(date(2024, 3, 12), time(0), UTC)
    granted = (datetime.fromisoformat(START) - timedelta(days=180)).date()
    days_before = (first_day.date() - granted).days
    assert before[:3] == (bob, "BI Connector", days_before * 12)  # 12 sessions a day
    assert before[3] < first_day <= during[3]
    assert during[:3] == (bob, "BI Connector", 3 * 12)
    assert report.token_refreshes == 36 and report.calls_by_workload["bi-refresh"] > 0
    usage = [
        r for (_, t), data in files(target).items() if t == "ApiTotalUsage" for r in rows(data)
    ]
    assert usage and all(r["CONNECTED_APP_NAME"] == "BI Connector" for r in usage)


def test_login_rows_carry_elf_codes() -> None:
    target, _ = run(scenario(), days=1)
    logins = rows(files(target)[(date(2024, 3, 14), "Login")])
    by_user = {r["USER_NAME"]: r for r in logins}
    cc = by_user["jane@loomis.example"]
    assert (cc["LOGIN_TYPE"], cc["LOGIN_SUB_TYPE"], cc["API_VERSION"]) == (
        "i",
        "oauthclientcredential",
        "9998.0",
    )
    assert cc["URI"] == "/services/oauth2/token" and cc["LOGIN_STATUS"] == "LOGIN_NO_ERROR"
    soap = by_user["bob@loomis.example"]
    assert (soap["LOGIN_TYPE"], soap["API_TYPE"], soap["URI"]) == (
        "I",
        "P",
        "/services/Soap/u/59.0",
    )
    assert by_user["carl@loomis.example"]["LOGIN_TYPE"] == "A"


def test_same_seed_same_bytes_and_parallel_equals_serial() -> None:
    a, ra = run(scenario(), days=2, seed=3)
    b, rb = run(scenario(), days=2, seed=3, workers=2)
    c, _ = run(scenario(), days=2, seed=4)
    assert files(a) == files(b)
    assert a.login_history == b.login_history and a.token_uses == b.token_uses
    assert ra.rows_by_type == rb.rows_by_type and rb.workers == 2
    assert files(a) != files(c)


def test_retention_one_keeps_only_yesterday_but_all_login_history() -> None:
    target, report = run(scenario(event_monitoring=False), days=30)
    got = files(target)
    assert {d for d, _ in got} == {date(2024, 3, 14)}
    assert {t for _, t in got} == {"ApiTotalUsage", "Login"}
    assert report.rows_by_type["ApiTotalUsage"] == len(
        rows(got[(date(2024, 3, 14), "ApiTotalUsage")])
    )
    assert min(r["LoginTime"] for r in target.login_history).date() == date(2024, 2, 14)


def test_record_ids_are_plausible() -> None:
    target, _ = run(scenario(workloads=[default_workloads()[0]]), days=1)
    rest = rows(files(target)[(date(2024, 3, 14), "RestApi")])
    updates = [
        r for r in rest if r["METHOD"] in ("PATCH", "DELETE") and "ERP_Order_Id__c" not in r["URI"]
    ]
    assert updates
    for r in updates:
        record_id = r["URI"].rsplit("/", 1)[1]
        assert (
            record_id.startswith("801")
            and is_valid_id(record_id)
            and r["URI_ID_DERIVED"] == record_id
        )
    upserts = [r for r in rest if "ERP_Order_Id__c" in r["URI"]]
    assert {r["STATUS_CODE"] for r in upserts} <= {"200", "201"} and upserts[0][
        "URI_ID_DERIVED"
    ] == ""
    assert {r["STATUS_CODE"] for r in rest if r["METHOD"] == "POST"} == {"201"}


_OPERATION = {("GET", "query"): "query", ("POST", ""): "create", ("DELETE", ""): "delete"}


def _rebuild(
    usage: dict[str, str], paid: dict[str, str], target: MemoryTarget, sc: Scenario
) -> ApiCall:
    """The ApiCall a live request would have reported for this backfilled row."""
    workload = next(w for w in sc.workloads if w.username == usage["USER_NAME"])
    call_spec = next(c for c in workload.calls if c.object == usage["ENTITY_NAME"])
    method, resource = usage["HTTP_METHOD"], usage["API_RESOURCE"]
    if workload.api_family == "SOAP":
        operation = resource
    elif "ERP_Order_Id__c" in resource:
        operation = "upsert"
    else:
        operation = _OPERATION.get(
            (method, resource.rsplit("/", 1)[1] if method == "GET" else ""), "update"
        )
    query_spec = next(
        (c for c in workload.calls if c.operation == "query" and c.object == call_spec.object), None
    )
    soql = None
    if operation == "query" and query_spec is not None:
        soql = f"SELECT {', '.join(query_spec.fields)} FROM {query_spec.object}"
        soql += f" WHERE {query_spec.where}" if query_spec.where else ""
    app = target.apps.get(workload.app)
    return ApiCall(
        timestamp=datetime.strptime(usage["TIMESTAMP_DERIVED"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=UTC
        ),
        request_id=usage["REQUEST_ID"],
        user_id=paid["USER_ID_DERIVED"],
        username=usage["USER_NAME"],
        session_key=paid["SESSION_KEY"],
        login_key=paid["LOGIN_KEY"],
        api_family=usage["API_FAMILY"],
        api_version=usage["API_VERSION"],
        api_resource=resource,
        http_method=method,
        uri=paid["URI"] if workload.api_family == "REST" else "/services/Soap/u/59.0",
        entity_name=usage["ENTITY_NAME"] or None,
        operation=operation,
        status_code=int(usage["STATUS_CODE"]),
        client_ip=usage["CLIENT_IP"],
        client_name=usage["CLIENT_NAME"] or None,
        connected_app_id=app["Id"] if app else None,
        connected_app_name=usage["CONNECTED_APP_NAME"] or None,
        user_agent=paid.get("USER_AGENT", workload.user_agent),
        counts_against_limit=usage["COUNTS_AGAINST_API_LIMIT"] == "1",
        query=soql,
        rows_processed=int(paid["ROWS_PROCESSED"]),
        run_time_ms=int(paid["RUN_TIME"]),
        cpu_time_ms=int(paid["CPU_TIME"]),
        request_size=int(paid["REQUEST_SIZE"]),
        response_size=int(paid["RESPONSE_SIZE"]),
    )


@pytest.mark.parametrize("family_file", ["RestApi", "API"])
def test_backfilled_rows_are_byte_identical_to_live_ones(family_file: str) -> None:
    sc = scenario(workloads=default_workloads()[:2])
    target, _ = run(sc, days=1)
    got = files(target)
    day = date(2024, 3, 14)
    usage_lines = got[(day, "ApiTotalUsage")].decode().splitlines(keepends=True)[1:]
    paid_lines = got[(day, family_file)].decode().splitlines(keepends=True)[1:]
    usage_by_id = {
        r["REQUEST_ID"]: (r, line)
        for r, line in zip(rows(got[(day, "ApiTotalUsage")]), usage_lines, strict=True)
    }
    checked: Counter[str] = Counter()
    for paid, paid_line in zip(rows(got[(day, family_file)]), paid_lines, strict=True):
        usage, usage_line = usage_by_id[paid["REQUEST_ID"]]
        if usage["API_RESOURCE"] == "login":
            continue  # the SOAP login() request itself: no Call spec to rebuild it from
        live = dict(
            encode_api_call(_rebuild(usage, paid, target, sc), target.events.org15, paid=True)
        )
        assert live["ApiTotalUsage"] == usage_line
        assert live[family_file] == paid_line
        checked[
            usage["HTTP_METHOD"]
            + " "
            + usage["API_RESOURCE"].split("/")[-2 if "sobjects" in usage["API_RESOURCE"] else -1]
        ] += 1
    assert sum(checked.values()) > 50 and len(checked) == (5 if family_file == "RestApi" else 2)


def test_missing_users_are_reported_not_invented() -> None:
    class Partial(MemoryTarget):
        def user_by_username(self, username: str) -> dict | None:
            return (
                None
                if username.startswith("rep") or username.startswith("bob")
                else super().user_by_username(username)
            )

    sc = scenario()
    ids = IdFactory(2)
    store = EventStore(org_id=ids.new("00D"), event_monitoring=True, retention_days=30, ids=ids)
    target = Partial(store, SimClock(sc.org.start), ids)
    report = backfill(target, sc, 1, workers=1)
    assert len(report.skipped) == 2 + 3  # two of bob's workloads, three group users
    assert "dataloader" not in report.calls_by_workload


def test_today_is_never_backfilled_even_late_in_the_day() -> None:
    sc = scenario(start="2024-03-15T23:59:00Z")
    target, report = run(sc, days=1)
    assert report.days == [date(2024, 3, 14)]
    assert max(r["LoginTime"] for r in target.login_history) < datetime(2024, 3, 15, tzinfo=UTC)
    assert target.clock.now() - timedelta(days=2) < min(
        r["LoginTime"] for r in target.login_history
    )
