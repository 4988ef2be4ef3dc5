"""POST /_emulator/clock with run_workloads: the workloads run their schedules live over the
span through their credential files (real logins, a sample of real calls, the rest as
event-log rows of whoever logged in), so a cutover or a freeze shows in the next run."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from emulators.salesforce.client import connect
from emulators.salesforce.faults import FaultRule
from emulators.salesforce.live import scheduled_runs
from emulators.salesforce.org import Org
from emulators.salesforce.scenario import Scenario, load_scenario
from emulators.salesforce.server import RunningEmulator, prepare, start_in_thread
from emulators.salesforce.workloads import credential_file
from tests.emulators.conftest import TINY
from tests.emulators.test_oauth import JANE, SVC
from tests.emulators.test_soap import REPLACEMENT, read_app

HOURS = 3


def clock(info: dict[str, Any], body: Any) -> requests.Response:
    return requests.post(
        f"{info['instance_url']}/_emulator/clock",
        json=body,
        headers={"X-Emulator-Control": info["control_token"]},
        verify=info["ca_bundle"],
        timeout=120,
    )


def run_span(info: dict[str, Any], seconds: float) -> dict[str, Any]:
    resp = clock(info, {"seconds": seconds, "run_workloads": True})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def api_rows(org: Org, day: str) -> list[dict[str, str]]:
    """The ApiTotalUsage file of ``day``: the clock moves on until it is published (the
    next morning), and not so far that the one-day retention of the tiny org drops it."""
    org.clock.advance(timedelta(days=1, hours=5))
    files = [
        f
        for f in org.events.published_files(org.clock.now())
        if f["EventType"] == "ApiTotalUsage" and f["LogDate"].date().isoformat() == day
    ]
    assert len(files) == 1
    content = org.events.content(files[0]["Id"])
    assert content is not None
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_a_span_runs_every_workload_and_logs_all_its_calls(
    emulator: RunningEmulator, info: dict[str, Any], org: Org
) -> None:
    # The simulated clock runs two days ahead of the wall clock: the JWT workload's
    # simple-salesforce signs exp with the wall clock and still logs in.
    org.clock.set(datetime.now(UTC).replace(hour=1, minute=0, second=0) + timedelta(days=2))
    start = org.clock.now()
    scenario = emulator.loaded.scenario
    summary = run_span(info, HOURS * 3600)

    assert datetime.fromisoformat(summary["now"]) == start + timedelta(hours=HOURS)
    planned = scheduled_runs(scenario, start, start + timedelta(hours=HOURS))
    for w in scenario.workloads:
        s = summary["workloads"][w.name]
        runs = sum(1 for r in planned if r.workload.name == w.name)
        # The tiny org's Integration User holds no object permission: its calls fail for real.
        runner, ok = (SVC, False) if w.auth == "client_credentials" else (JANE, True)
        calls = s["calls_ok"] + s["calls_failed"]
        assert (s["runs"], s["runs_failed"]) == (runs, 0), (w.name, s)
        assert s["users"] == {
            runner: {"runs": runs, "calls_ok": s["calls_ok"], "calls_failed": s["calls_failed"]}
        }, w.name
        assert s["calls_failed" if ok else "calls_ok"] == 0, (w.name, s)
        assert s["error_codes"] == ({} if ok else {"INVALID_TYPE": calls}), (w.name, s)
        # Every planned call happened: each run's sample live, the rest as rows.
        assert calls >= sum(len(r.calls) for r in planned if r.workload.name == w.name)

    # One real login per run (a refresh token leaves no LoginHistory row).
    jane = org.user_by_username(JANE)
    assert jane is not None
    logins = [r for r in org.find("LoginHistory", UserId=jane["Id"]) if r["LoginTime"] >= start]
    interactive_flows = ("jwt_bearer", "password", "soap_login")
    assert len(logins) == sum(1 for r in planned if r.workload.auth in interactive_flows)
    assert {r["Status"] for r in logins} == {"Success"}

    # Every call of the JWT workload is a row of the day's ApiTotalUsage file, as Jane
    # through its app, the live ones and the recorded rest alike.
    rows = api_rows(org, start.date().isoformat())
    erp = [r for r in rows if r["CONNECTED_APP_NAME"] == "ERP Sync"]
    assert len(erp) == summary["workloads"]["ERP Nightly Sync"]["calls_ok"]
    assert {(r["USER_NAME"], r["STATUS_CODE"], r["ENTITY_NAME"]) for r in erp} == {
        (JANE, "200", "Account")
    }
    assert {r["USER_ID"] for r in erp} == {jane["Id"][:15]}
    assert all(
        start.strftime("%Y%m%d") + "010000" <= r["TIMESTAMP"] < start.strftime("%Y%m%d") + "040000"
        for r in erp
    )


def test_a_cutover_shows_at_the_next_run(
    emulator: RunningEmulator, info: dict[str, Any], org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JWT workload's credential file now names the Integration User, which the app
    pre-authorizes but which may not read Account: every run logs in as it and fails its
    calls with the real error; the rest of its volume carries that error too. The
    client-credentials app is re-pointed (Metadata API): its runs log in as the new user."""
    path = credential_file(Path(info["credentials_dir"]), "ERP Nightly Sync")
    path.write_text(json.dumps({**json.loads(path.read_text()), "username": SVC}))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(info["ca_bundle"]))  # zeep's own session
    admin = connect(info)
    app = read_app(admin, "Warehouse_Connector")
    app.oauthConfig.oauthClientCredentialUser = REPLACEMENT
    admin.mdapi.ConnectedApp.update([app])
    start = org.clock.now()
    summary = run_span(info, HOURS * 3600)["workloads"]
    assert set(summary["Warehouse Stock Feed"]["users"]) == {REPLACEMENT}
    s = summary["ERP Nightly Sync"]
    assert s["runs"] >= HOURS and s["runs_failed"] == 0 and s["calls_ok"] == 0
    assert set(s["users"]) == {SVC}
    assert s["error_codes"] == {"INVALID_TYPE": s["calls_failed"]}
    rows = [
        r for r in api_rows(org, start.date().isoformat()) if r["CONNECTED_APP_NAME"] == "ERP Sync"
    ]
    assert len(rows) == s["calls_failed"]
    assert {(r["USER_NAME"], r["STATUS_CODE"]) for r in rows} == {(SVC, "400")}


def test_frozen_people_neither_run_integrations_nor_sign_in(tmp_path: Path) -> None:
    base = load_scenario(TINY)
    users = [
        u.model_copy(update={"ui_logins_per_day": 6}) if u.username == JANE else u
        for u in base.users
    ]
    scenario = Scenario.model_validate(
        {**base.model_dump(), "users": [u.model_dump() for u in users]}
    )
    running = start_in_thread(prepare(scenario, state_dir=tmp_path / "emulator"))
    try:
        info, org = running.info(), running.org
        admin = connect(info)
        jane = org.user_by_username(JANE)
        assert jane is not None
        row = admin.query(f"SELECT Id FROM UserLogin WHERE UserId = '{jane['Id']}'")
        admin.UserLogin.update(row["records"][0]["Id"], {"IsFrozen": True})
        org.clock.set(datetime(2026, 10, 5, 0, 0, tzinfo=UTC))  # a Monday
        summary = run_span(info, 24 * 3600)
        for w in scenario.workloads:
            s = summary["workloads"][w.name]
            if w.auth == "client_credentials":  # runs as the (unfrozen) Integration User
                assert s["runs"] > 0 and s["runs_failed"] == 0 and set(s["users"]) == {SVC}
                continue
            assert s["runs"] == s["runs_failed"] > 0 and s["calls_ok"] == s["calls_failed"] == 0
            assert set(s["error_codes"]) <= {"invalid_grant", "INVALID_LOGIN"}, s
        assert summary["ui_logins"] == 6
        statuses = {r["Status"] for r in org.find("LoginHistory", UserId=jane["Id"])}
        assert statuses == {"User is frozen"}
        # The day completed: its files appear the next morning, as after a backfill.
        files = run_span(info, 6 * 3600)["event_log_files"]
        assert {(f["day"], f["event_type"]) for f in files} >= {
            ("2026-10-05", "ApiTotalUsage"),
            ("2026-10-05", "Login"),
        }
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("body", "status"),
    [({"seconds": -1}, 400), ({"seconds": "soon"}, 400), (["x"], 400), ({"seconds": 60}, 200)],
)
def test_clock_input_is_checked(info: dict[str, Any], org: Org, body: Any, status: int) -> None:
    before = org.clock.now()
    resp = clock(info, body)
    assert resp.status_code == status, resp.text
    moved = org.clock.now() - before
    assert moved == (timedelta(seconds=60) if status == 200 else timedelta(0))
    if status == 200:
        assert resp.json() == {"now": org.clock.now().isoformat()}  # no workloads ran
    else:
        assert "seconds" in resp.json()["error"]


def test_a_login_lost_on_the_wire_fails_that_run_only(
    emulator: RunningEmulator, info: dict[str, Any], org: Org
) -> None:
    """The token request is handled (a session exists) but its answer never arrives."""
    emulator.emulator.faults.add(
        FaultRule(
            kind="lost_response", lost_as="disconnect", path="^/services/oauth2/token$", nth=[1]
        )
    )
    start = org.clock.now()
    summary = run_span(info, 3600)
    assert datetime.fromisoformat(summary["now"]) == start + timedelta(hours=1)
    failed = {n: s for n, s in summary["workloads"].items() if s["runs_failed"]}
    assert len(failed) == 1
    (s,) = failed.values()
    assert s["runs_failed"] == 1 and set(s["error_codes"]) <= {
        "ChunkedEncodingError",
        "ConnectionError",
    }
    assert sum(w["runs"] for w in summary["workloads"].values()) == len(
        scheduled_runs(emulator.loaded.scenario, start, start + timedelta(hours=1))
    )
