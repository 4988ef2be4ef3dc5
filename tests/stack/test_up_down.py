"""`handover up --emulators` and `handover down` as processes: what starts, where it is
recorded, a second `up`, a part that stopped and is started again, and a `down` that
leaves nothing running."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from handover.cli import prefect_api
from handover.cli.processes import alive, kill
from handover.cli.stack import StackPaths
from tests.stack.conftest import StackUnderTest, stack_env

pytestmark = pytest.mark.timeout(600)  # the shared `up` is slow on a busy 2-core machine
PARTS = {"prefect-server", "worker", "approvals", "salesforce-emulator", "slack-emulator"}


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
