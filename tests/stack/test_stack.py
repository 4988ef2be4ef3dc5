"""The stack a person runs, as processes: `handover up --emulators` (what starts, where it
is recorded, a second `up`, a part that stopped and is started again); migrations through
it (`handover discover` and `handover plan` from the shell, `handover migrate` as a run of
the deployment on the worker, the gates clicked in the Slack emulator as Loomis' approvers,
the org's clock moved through the verification window, `handover status --json`); and a
`handover down` that leaves nothing running. One `up` for the module; all of it is marked
slow (`make test` skips it, `make test-all` and CI run it)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from handover.cli import prefect_api
from handover.cli.autopilot import Autopilot
from handover.cli.processes import alive, kill
from handover.cli.stack import StackPaths
from tests.flows.loomis import DAYS
from tests.stack.conftest import HANDOVER, StackUnderTest, eventually, stack_env

# All slow: one `up` takes ~30 s on a busy 2-core machine (`make test-all` and CI run them).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
PARTS = {"prefect-server", "worker", "approvals", "salesforce-emulator", "slack-emulator"}
WMS = ("Warehouse Management System", "rosa.delgado@loomis-logistics.com")


def test_up_starts_every_part_and_says_where(stack: StackUnderTest) -> None:
    record = stack.record
    assert record.ready and set(record.pids) == PARTS and set(record.alive_parts()) == PARTS
    for started in record.processes():  # each its own process group, never the test's
        assert os.getpgid(started.pid) == started.pid != os.getpgid(0)
        assert Path(record.logs[started.part]).is_file()
    assert httpx.get(record.prefect_api_url + "/health", timeout=5).json() is True
    assert httpx.get(record.ui_url, timeout=5).status_code == 200  # the UI
    health = record.approvals_url.removesuffix("/slack/actions") + "/healthz"
    assert httpx.get(health, timeout=5).json() == {"ok": True}
    assert stack.info("salesforce")["org_name"] == "Loomis Logistics"
    assert stack.info("slack")["actions_url"] == record.approvals_url
    assert record.store_url == f"sqlite:///{stack.project.resolve()}/.handover/handover.db"
    key = stack.paths.token_key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # No secret in up.json or the logs: not the token key, not Slack's.
    secrets = [key.read_text().strip(), stack.info("slack")["bot_token"],
               stack.info("slack")["signing_secret"]]  # fmt: skip
    written = [stack.paths.up_json.read_text()] + [
        Path(p).read_text() for p in record.logs.values()
    ]
    assert not [s for s in secrets for text in written if s in text]
    deployments = httpx.post(record.prefect_api_url + "/deployments/filter", json={}, timeout=10)
    names = {d["name"] for d in deployments.json()}
    assert {"discovery", "plan"} <= names


def test_a_second_up_says_so(stack: StackUnderTest) -> None:
    proc = stack.handover("up", "--emulators", check=False)
    assert proc.returncode == 1
    assert "already up" in proc.stderr and "handover down" in proc.stderr
    assert set(stack.record.alive_parts()) == PARTS


def test_a_killed_worker_is_started_again_by_up(stack: StackUnderTest) -> None:
    before = {p.part: p for p in stack.record.processes()}
    kill(before["worker"])
    assert "worker" not in stack.record.alive_parts()
    proc = stack.handover("up", "--emulators")
    assert "starting again worker" in proc.stderr
    after = {p.part: p for p in stack.record.processes()}
    assert after["worker"].pid != before["worker"].pid and alive(after["worker"])
    assert all(after[p] == before[p] for p in PARTS - {"worker"})


def test_status_of_a_fresh_stack(stack: StackUnderTest) -> None:
    assert stack.json("status") == []


@pytest.fixture(scope="module")
def wms(stack: StackUnderTest) -> dict[str, Any]:
    info = stack.record.salesforce_info
    assert info is not None
    findings = stack.json("discover", "--emulator", info, "--window-days", str(DAYS))
    finding = next(f for f in findings if (f["app_name"], f["username"]) == WMS)
    plan = stack.json("plan", "--finding", finding["finding_id"], "--emulator", info)
    assert plan["status"] == "ready" and plan["cutover"]["route"] == "run_as"
    return plan


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_dry_run_lists_every_write_and_makes_none(
    stack: StackUnderTest, wms: dict[str, Any]
) -> None:
    out = stack.json("migrate", "--finding", wms["finding_id"], "--dry-run")
    assert out["outcome"] == "successful" and out["state"] == "Completed" and out["dry_run"]
    assert out["ui_url"].startswith(stack.record.ui_url + "/runs/flow-run/")
    assert {"migration_id", "flow_run_id", "ui_url", "state", "outcome", "steps"} <= set(out)
    kinds = {(s["action"], s["object"]) for s in out["steps"]}
    assert {("create", "User"), ("create", "PermissionSet"), ("update", "ConnectedApp")} <= kinds
    assert all(set(s) == {"action", "object", "target", "before", "after"} for s in out["steps"])
    user = next(s for s in out["steps"] if s["object"] == "User")
    assert user["before"] is None and user["target"] == wms["user"]["username"]
    [status] = [s for s in stack.json("status") if s["migration_id"] == out["migration_id"]]
    assert status["outcome"] == "successful" and status["flow_run_id"] == out["flow_run_id"]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_migration_with_clicks_hands_over(stack: StackUnderTest, wms: dict[str, Any]) -> None:
    follow = subprocess.Popen(
        [str(HANDOVER), "migrate", "--finding", wms["finding_id"], "--json"],
        cwd=stack.project, env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    pilot = Autopilot(stack.record)
    try:
        migration_id = _started(stack, wms["finding_id"])
        waiting = {s["migration_id"]: s for s in stack.json("status")}[migration_id]
        ended = pilot.drive([migration_id], timeout=600)
    finally:
        pilot.close()
    out, err = follow.communicate(timeout=120)
    assert follow.returncode == 0, err[-3000:]
    result = json.loads(out)
    assert result["migration_id"] == migration_id and result["outcome"] == "successful"
    assert ended[migration_id].outcome == "successful"
    statuses = {s["key"]: s["status"] for s in result["steps"]}
    assert statuses["cutover:run-as:warehouse-management-system"] == "done"
    assert set(statuses.values()) == {"done"}, statuses
    assert waiting["waiting_at"] in (None, "plan")
    [status] = [s for s in stack.json("status") if s["migration_id"] == migration_id]
    assert status == {
        "migration_id": migration_id, "finding_id": wms["finding_id"],
        "flow_run_id": result["flow_run_id"], "step": "done", "waiting_at": None,
        "waiting_since": None, "outcome": "successful",
    }  # fmt: skip


def _started(stack: StackUnderTest, finding_id: str) -> str:
    def opened() -> str | None:
        found = [
            s for s in stack.json("status")
            if s["finding_id"] == finding_id and s["outcome"] is None
        ]  # fmt: skip
        return found[0]["migration_id"] if found else None

    return str(eventually(opened, timeout=180, what="the migration to open", every=2))


def test_down_stops_everything_and_is_harmless_twice(stack: StackUnderTest) -> None:
    record = stack.record
    started = record.processes()
    proc = stack.handover("down", timeout=60)
    assert "stopped:" in proc.stderr
    assert not [p.part for p in started if alive(p)]
    assert not stack.paths.up_json.exists()
    proc = stack.handover("down", timeout=60)
    assert "nothing to stop" in proc.stderr
    assert not prefect_api.healthy(record.prefect_api_url)


def test_down_where_nothing_was_started(tmp_path: Path) -> None:
    stack = StackUnderTest(tmp_path, stack_env(tmp_path))
    proc = stack.handover("down")
    assert "nothing to stop" in proc.stderr
    assert not StackPaths(tmp_path / ".handover").up_json.exists()


def test_up_without_slack_says_what_to_set_and_starts_nothing(tmp_path: Path) -> None:
    stack = StackUnderTest(tmp_path, stack_env(tmp_path))
    proc = stack.handover("up", check=False)
    assert proc.returncode == 2
    assert "HANDOVER_APPROVALS__SIGNING_SECRET" in proc.stderr
    assert "HANDOVER_SLACK__TOKEN" in proc.stderr
    assert not StackPaths(tmp_path / ".handover").up_json.exists()


def test_up_on_a_port_in_use_names_it_and_starts_nothing(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = StackUnderTest(
            tmp_path, stack_env(tmp_path, HANDOVER_STACK__PREFECT_PORT=str(port))
        )
        proc = stack.handover("up", "--emulators", check=False)
    assert proc.returncode == 1
    assert f"port {port}" in proc.stderr and "HANDOVER_STACK__PREFECT_PORT" in proc.stderr
    assert not StackPaths(tmp_path / ".handover").up_json.exists()
