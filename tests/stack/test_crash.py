"""Killing the worker after each step of a migration (provision, cutover, verify,
decommission) and starting it again — `handover up` restarts it, `handover resume` starts
a new run when the killed one was running — ends in the same org state as a migration
nobody interrupted, with no duplicate record.

Every migration runs on an org of its own, built from the same scenario (the emulator is
deterministic: the same ids, the same history), against the plan made once on the stack's
org; the worker, the approval service and the store are the stack's."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.salesforce.backfill import backfill
from emulators.salesforce.scenario import load_scenario
from emulators.salesforce.server import RunningEmulator, prepare, start_in_thread
from handover.cli import prefect_api
from handover.cli.autopilot import Autopilot, Plan
from handover.cli.processes import kill
from tests.flows.loomis import DAYS, LOOMIS, scaled
from tests.stack.conftest import StackUnderTest, bring_up, eventually
from tests.stack.orgstate import org_state

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3000)]
WMS = ("Warehouse Management System", "rosa.delgado@loomis-logistics.com")
STEPS = ("provision", "cutover", "verify", "decommission")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUnderTest]:
    yield from bring_up(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def finding_id(stack: StackUnderTest) -> str:
    info = stack.record.salesforce_info
    assert info is not None
    findings = stack.json("discover", "--emulator", info, "--window-days", str(DAYS))
    finding = next(f for f in findings if (f["app_name"], f["username"]) == WMS)
    plan = stack.json("plan", "--finding", finding["finding_id"], "--emulator", info)
    assert plan["status"] == "ready"
    return str(finding["finding_id"])


@pytest.fixture(scope="module")
def uninterrupted(
    stack: StackUnderTest, finding_id: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return migrate(stack, finding_id, tmp_path_factory.mktemp("org"), crash_after=None)


def fresh_org(where: Path) -> tuple[RunningEmulator, Path]:
    scenario = scaled(load_scenario(LOOMIS), 25)
    running = prepare(scenario, state_dir=where)
    backfill(running.org, scenario, DAYS)
    start_in_thread(running)
    info = where / "info.json"
    running.write_info(info)
    return running, info


def reached(stack: StackUnderTest, pilot: Autopilot, migration_id: str, step: str) -> bool:
    """The step is over: its writes are all done and the runbook has moved past it (for
    verify: the verdict is recorded)."""
    status = pilot.ledger.migration(migration_id)
    if status is None:
        return False  # not opened yet
    if step == "verify":
        return bool(pilot.ledger.facts(migration_id).get("verification"))
    entries = [e for e in pilot.ledger.steps(migration_id) if e.step == step]
    return status.step != step and bool(entries) and all(e.status == "done" for e in entries)


def run_state(stack: StackUnderTest, pilot: Autopilot, migration_id: str) -> str:
    status = pilot.ledger.migration(migration_id)
    assert status is not None and status.flow_run_id is not None
    run = prefect_api.read_run(stack.record.prefect_api_url, status.flow_run_id)
    return prefect_api.state_type(run)


def crash_and_recover(stack: StackUnderTest, migration_id: str, pilot: Autopilot) -> str:
    """SIGKILL the worker and its flow runs; `handover up` starts it again; a run that was
    running when it died is resumed. The state the kill found the run in."""
    worker = next(p for p in stack.record.processes() if p.part == "worker")
    found = run_state(stack, pilot, migration_id)
    kill(worker)
    assert "starting again worker" in stack.handover("up", "--emulators").stderr
    status = pilot.ledger.migration(migration_id)
    assert status is not None and status.flow_run_id is not None
    run = prefect_api.read_run(stack.record.prefect_api_url, status.flow_run_id)
    if prefect_api.state_type(run) in ("RUNNING", "PENDING"):  # its process is gone
        out = stack.json("resume", migration_id, "--no-follow")
        assert out["migration_id"] == migration_id and out["flow_run_id"] != str(run.id)
        pilot.follow_run(migration_id, out["flow_run_id"])
        old = prefect_api.read_run(stack.record.prefect_api_url, run.id)
        assert prefect_api.state_type(old) == "CRASHED"
    else:  # suspended at a gate: nothing to resume, the click will
        assert prefect_api.state_type(run) == "PAUSED", run.state
        refused = stack.handover("resume", migration_id, check=False)
        assert refused.returncode == 2 and "waiting at gate" in refused.stderr
    return found


def migrate(
    stack: StackUnderTest, finding_id: str, where: Path, *, crash_after: str | None
) -> dict[str, Any]:
    running, info = fresh_org(where)
    pilot = Autopilot(stack.record, org_info=info)
    try:
        out = stack.json("migrate", "--finding", finding_id, "--emulator", str(info), "--no-follow")
        migration_id = out["migration_id"]
        crashed: str | None = None
        deadline = time.monotonic() + 900
        while True:
            # Before the autopilot acts: a run suspended at a gate is killed before its click.
            # Never in the moments a worker is handing the run over (Scheduled, Pending).
            if (
                crash_after
                and crashed is None
                and reached(stack, pilot, migration_id, crash_after)
                and run_state(stack, pilot, migration_id) in ("RUNNING", "PAUSED")
            ):
                crashed = crash_and_recover(stack, migration_id, pilot)
            if (ended := pilot.step(migration_id, Plan())) is not None:
                break
            assert time.monotonic() < deadline, f"{migration_id} still open"
            time.sleep(0.3)
        assert crash_after is None or crashed is not None
        entries = pilot.ledger.steps(migration_id)
        return {
            "outcome": ended.outcome,
            "crashed_in": crashed,
            "keys": [e.key for e in entries],
            "statuses": {e.key: e.status for e in entries},
            "state": org_state(running, [WMS[0]]),
        }
    finally:
        pilot.close()
        running.stop()


def test_an_uninterrupted_migration_hands_over(uninterrupted: dict[str, Any]) -> None:
    assert uninterrupted["outcome"] == "successful"
    assert set(uninterrupted["statuses"].values()) == {"done"}
    run_as = dict(uninterrupted["state"]["ConnectedApp run-as"])
    assert run_as[WMS[0]] == "svc.warehouse-management-system@loomis-logistics.com"


@pytest.mark.parametrize("step", STEPS)
def test_killing_the_worker_after_a_step_ends_the_same(
    stack: StackUnderTest,
    finding_id: str,
    uninterrupted: dict[str, Any],
    step: str,
    tmp_path: Path,
) -> None:
    crashed = migrate(stack, finding_id, tmp_path, crash_after=step)
    assert crashed["outcome"] == "successful", crashed
    if step == "cutover":  # killed while it waited in verification: a run that died mid-flow
        assert crashed["crashed_in"] == "RUNNING"
    assert crashed["statuses"] == uninterrupted["statuses"]
    assert len(crashed["keys"]) == len(set(crashed["keys"]))  # one ledger entry per write
    for kind, rows in uninterrupted["state"].items():
        assert crashed["state"][kind] == rows, (
            f"{kind} differs after a kill {step}: {json.dumps(crashed['state'][kind])[:2000]}"
        )
    svc = [u for u in crashed["state"]["User"] if u[0].startswith("svc.")]
    assert len(svc) == 1, svc  # never a second user


def test_resume_refuses_what_it_cannot_continue(
    stack: StackUnderTest, uninterrupted: dict[str, Any]
) -> None:
    ended = next(s for s in stack.json("status") if s["outcome"] == "successful")
    proc = stack.handover("resume", ended["migration_id"], check=False)
    assert proc.returncode == 2 and "has ended" in proc.stderr
    proc = stack.handover("resume", "m-000000000000", check=False)
    assert proc.returncode == 2 and "no migration m-000000000000" in proc.stderr
    eventually(lambda: True, timeout=1, what="")
