"""What the scenario format can say of a real org, each key with its effect: day-of-month
and one-off schedules, the hours of a person's UI logins, a last UI login, a workload using
several API families (and the live runner logging each call as its family), refresh-token
use that began before the backfill. Keys that could take no effect are refused."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from emulators.salesforce.backfill import MemoryTarget, backfill
from emulators.salesforce.clock import SimClock
from emulators.salesforce.eventlog.store import EventStore
from emulators.salesforce.ids import IdFactory
from emulators.salesforce.scenario import Scenario, Schedule
from tests.flows.orgs import start_org

START = "2026-11-02T06:30:00Z"  # a Monday


def scenario(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "org": {"name": "Format Org", "my_domain": "format.my.salesforce.com", "start": START,
                "admin_username": "admin@format.test", "event_monitoring": True},
        "users": [
            {"username": "admin@format.test", "last_name": "Admin", "profile": "System Administrator"},
            {"username": "ops@format.test", "last_name": "Ops", "profile": "System Administrator"},
        ],
        "connected_apps": [{"name": "Sync", "consumer_key": "CK-SYNC", "certificate": True,
                            "profiles": ["System Administrator"]},
                           {"name": "Tokens", "consumer_key": "CK-TOK", "consumer_secret": "S",
                            "admin_approved": False}],
    }  # fmt: skip
    base.update(extra)
    return base


def workload(**over: Any) -> dict[str, Any]:
    w: dict[str, Any] = {
        "name": "Job", "app": "Sync", "username": "ops@format.test",
        "ground_truth": "integration_under_human", "auth": "jwt_bearer",
        "schedule": {"calls_per_hour": 20, "hours": [2]},
        "calls": [{"object": "Account", "operation": "query", "fields": ["Id"]}],
    }  # fmt: skip
    w.update(over)
    return w


def backfilled(data: dict[str, Any], days: int) -> tuple[MemoryTarget, EventStore, Scenario]:
    sc = Scenario.model_validate(data)
    ids = IdFactory(5)
    store = EventStore(org_id=ids.new("00D"), event_monitoring=sc.org.event_monitoring,
                       retention_days=max(days, 1), ids=ids)  # fmt: skip
    target = MemoryTarget(store, SimClock(sc.org.start), ids)
    backfill(target, sc, days, seed=3, workers=1)
    return target, store, sc


def rows_by_day(store: EventStore, now: datetime, event_type: str) -> dict[date, list[dict]]:
    out: dict[date, list[dict]] = {}
    for f in store.published_files(now):
        if f["EventType"] == event_type:
            text = (store.content(f["Id"]) or b"").decode()
            out[f["LogDate"].date()] = list(csv.DictReader(io.StringIO(text)))
    return out


# ---------------------------------------------------------------------- schedules


def test_month_end_and_one_off_schedules_run_on_their_days_only() -> None:
    data = scenario(workloads=[
        workload(name="Month End", schedule={"calls_per_hour": 20, "hours": [2],
                                            "days_of_month": [-1, 1]}),
        workload(name="Migration", schedule={"calls_per_hour": 20, "hours": [3],
                                            "dates": ["2026-10-14", "2026-10-21"]}),
    ])  # fmt: skip
    target, store, _ = backfilled(data, 45)
    days = rows_by_day(store, target.clock.now(), "ApiTotalUsage")
    assert sorted(days) == [date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 14),
                            date(2026, 10, 21), date(2026, 10, 31), date(2026, 11, 1)]  # fmt: skip
    hours = {d: {r["TIMESTAMP"][8:10] for r in rows} for d, rows in days.items()}
    assert hours[date(2026, 10, 14)] == {"03"} and hours[date(2026, 10, 31)] == {"02"}


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"dates": ["2026-10-14"], "weekdays": [0]}, "dates name the days of one-off runs"),
        ({"dates": ["2026-10-14"], "days_of_month": [1]}, "dates name the days of one-off runs"),
        ({"days_of_month": [0]}, "days_of_month are 1..31"),
        ({"weekdays": [7]}, "weekdays are 0..6"),
    ],
)
def test_schedule_keys_that_could_not_take_effect_are_refused(
    schedule: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule.model_validate(schedule)


# ---------------------------------------------------------------------- people


def test_ui_logins_fall_in_the_users_own_hours() -> None:
    data = scenario()
    data["users"][1].update({"ui_logins_per_day": 6, "ui_login_hours": [22, 23]})
    target, _, _ = backfilled(data, 7)
    hours = {r["LoginTime"].hour for r in target.login_history if r["LoginType"] == "Application"}
    assert hours and hours <= {22, 23}


def test_a_last_ui_login_is_history_and_nothing_follows_it() -> None:
    data = scenario()
    data["users"][1]["last_ui_login"] = "2026-07-14T15:20:00Z"
    data["users"].append({"username": "old@format.test", "last_name": "Old",
                          "profile": "Standard User", "leaver": True,
                          "last_ui_login": "2025-12-01T10:00:00Z"})  # fmt: skip
    target, _, _ = backfilled(data, 3)
    ops, old = target.users["ops@format.test"]["Id"], target.users["old@format.test"]["Id"]
    ui = [
        (r["UserId"], r["LoginTime"])
        for r in target.login_history
        if r["LoginType"] == "Application"
    ]
    # LoginHistory keeps six months: July's login is in it, last December's is not.
    assert ui == [(ops, datetime(2026, 7, 14, 15, 20, tzinfo=UTC))]
    assert target.last_login[old] == datetime(2025, 12, 1, 10, tzinfo=UTC)
    # A login after the last one is a contradiction, and so is a "last" login in the future.
    data["users"][1]["ui_logins_per_day"] = 1
    with pytest.raises(ValueError, match="ui_logins_per_day must be 0"):
        Scenario.model_validate(data)
    data["users"][1].update({"ui_logins_per_day": 0, "last_ui_login": "2026-12-01T00:00:00Z"})
    with pytest.raises(ValueError, match="last_ui_login must be before the scenario's start"):
        Scenario.model_validate(data)


def test_a_leaver_has_no_slack_account_and_hours_need_logins() -> None:
    data = scenario(slack_users=[{"id": "U01", "name": "Old", "email": "old@format.test"}])
    data["users"].append({"username": "old@format.test", "last_name": "Old",
                          "profile": "Standard User", "leaver": True})  # fmt: skip
    with pytest.raises(ValueError, match="left the company"):
        Scenario.model_validate(data)
    data = scenario()
    data["users"][1]["ui_login_hours"] = [9]
    with pytest.raises(ValueError, match="ui_login_hours without ui_logins_per_day"):
        Scenario.model_validate(data)


# ---------------------------------------------------------------------- API families, tokens


def test_one_workload_reads_over_rest_and_writes_through_the_bulk_api() -> None:
    calls = [
        {"object": "Account", "operation": "query", "fields": ["Id", "Name"]},
        {"object": "Account", "operation": "update", "api_family": "Bulk2"},
        {"object": "Contact", "operation": "create", "api_family": "Bulk"},
    ]
    target, store, _ = backfilled(scenario(workloads=[workload(calls=calls)]), 1)
    now = target.clock.now()
    (usage,) = rows_by_day(store, now, "ApiTotalUsage").values()
    # ApiTotalUsage logs Bulk API 2.0 requests as REST, under /jobs/.
    kinds = {(r["API_FAMILY"], r["ENTITY_NAME"], r["API_RESOURCE"].split("/")[2]) for r in usage}
    assert kinds == {
        ("REST", "Account", "query"), ("REST", "Account", "jobs"), ("Bulk", "Contact", "job"),
    }  # fmt: skip
    (rest,) = rows_by_day(store, now, "RestApi").values()
    (bulk,) = rows_by_day(store, now, "BulkApi").values()
    (bulk2,) = rows_by_day(store, now, "BulkApi2").values()
    assert {r["METHOD"] for r in rest} == {"GET"}
    assert {(r["OPERATION_TYPE"], r["ENTITY_TYPE"]) for r in bulk} == {("insert", "Contact")}
    assert {(r["OPERATION_TYPE"], r["ENTITY_TYPE"]) for r in bulk2} == {("update", "Account")}


def test_refresh_token_use_began_with_the_grant_not_with_the_backfill() -> None:
    w = workload(name="Tokens", app="Tokens", auth="refresh_token", token_granted_days_ago=100,
                 schedule={"calls_per_hour": 5, "login_every_minutes": 120})  # fmt: skip
    target, _, _ = backfilled(scenario(workloads=[w]), 10)
    uses = sum(n for _, _, n, _ in target.token_uses)
    assert uses == 100 * 12  # twelve sessions a day, every day since the grant
    with pytest.raises(ValueError, match="token_granted_days_ago is for refresh_token"):
        Scenario.model_validate(scenario(workloads=[workload(token_granted_days_ago=5)]))


def test_the_live_runner_logs_each_call_as_its_family(tmp_path: Path) -> None:
    calls = [
        {"object": "Account", "operation": "query", "fields": ["Id", "Name"]},
        {"object": "Account", "operation": "update", "api_family": "Bulk"},
    ]
    sc = Scenario.model_validate(
        scenario(
            workloads=[workload(calls=calls, schedule={"calls_per_hour": 4, "hours": [7]})],
            data={"Account": [{"Name": "Pier 9"}]},
        )
    )
    running, info_path = start_org(sc, tmp_path, 0)
    try:
        info = json.loads(info_path.read_text())
        resp = requests.post(
            f"{info['instance_url']}/_emulator/clock",
            json={"seconds": 2 * 3600, "run_workloads": True},
            headers={"X-Emulator-Control": info["control_token"]},
            verify=info["ca_bundle"],
            timeout=120,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["workloads"]["Job"]["calls_failed"] == 0
        org = running.org
        org.clock.advance(timedelta(days=1))
        (usage,) = rows_by_day(org.events, org.clock.now(), "ApiTotalUsage").values()
        ops = Counter(
            (r["API_FAMILY"], r["ENTITY_NAME"], r["HTTP_METHOD"])
            for r in usage
            if r["USER_NAME"] == "ops@format.test" and r["ENTITY_NAME"]
        )
        # The live update went over REST and is logged as the Bulk API batch it stands for;
        # so are the run's other updates. The lookup that found the record is a REST query.
        assert {f for f, _, _ in ops} == {"REST", "Bulk"}
        assert all(m == "GET" for f, _, m in ops if f == "REST")
        assert ("Bulk", "Account", "POST") in ops
    finally:
        running.stop()


# ---------------------------------------------------------------------- every key


EMULATORS = Path(__file__).resolve().parents[2] / "emulators"
# Keys read where the emulator's code names them otherwise (a property, another loader) or
# whose effect is what the model refuses: each says where it takes effect.
EFFECT_ELSEWHERE = {
    ("OrgSpec", "event_log_retention_days"): "Scenario.retention_days",
    ("Schedule", "days_of_month"): "Schedule.runs_on",
    ("Workload", "token_granted_days_ago"): "Workload.token_age_days",
    ("Workload", "ground_truth"): "the contract: what detection must conclude",
    ("UserSpec", "leaver"): "refused with UI logins or a Slack account",
    ("Scenario", "slack_users"): "the Slack emulator's loader reads the same file",
    ("SlackUserSpec", "approver"): "the Slack emulator's loader reads the same file",
}


def test_every_key_the_loader_accepts_takes_effect_somewhere() -> None:
    """A key nobody reads would be accepted and ignored: each is read by the emulator (or
    named above with where its effect is)."""
    from pydantic import BaseModel

    import emulators.salesforce.scenario as model

    source = "\n".join(p.read_text() for p in EMULATORS.rglob("*.py") if p.name != "scenario.py")
    unread = []
    for name, cls in vars(model).items():
        if (
            isinstance(cls, type)
            and issubclass(cls, BaseModel)
            and cls.__module__ == model.__name__
        ):
            for key in cls.model_fields:
                if f".{key}" not in source and (name, key) not in EFFECT_ELSEWHERE:
                    unread.append(f"{name}.{key}")
    assert unread == []
