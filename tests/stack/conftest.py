"""`handover up --emulators` as processes, under a temporary project directory, on free
ports: the stack a person runs, driven through the `handover` command line only.

The emulated org is Loomis with every workload's volume divided (tests/flows/loomis.py),
written as a scenario file, so the backfill and discovery take seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from emulators.salesforce.scenario import load_scenario
from handover.cli.stack import StackPaths, UpRecord, free_port, read_record
from tests.flows.loomis import DAYS, LOOMIS, scaled

HANDOVER = Path(sys.executable).with_name("handover")
UP_TIMEOUT = 420


@dataclass
class StackUnderTest:
    project: Path
    env: dict[str, str]
    log: list[str] = field(default_factory=list)

    def handover(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(HANDOVER), *args], cwd=self.project, env=self.env, capture_output=True,
            text=True, timeout=timeout,
        )  # fmt: skip
        self.log.append(f"$ handover {' '.join(args)} -> {proc.returncode}\n{proc.stderr[-2000:]}")
        if check:
            assert proc.returncode == 0, (
                f"handover {' '.join(args)}: {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        return proc

    def json(self, *args: str, timeout: float = 300) -> Any:
        return json.loads(self.handover(*args, "--json", timeout=timeout).stdout)

    @property
    def paths(self) -> StackPaths:
        return StackPaths(self.project / ".handover")

    @property
    def record(self) -> UpRecord:
        record = read_record(self.paths)
        assert record is not None, "no up.json"
        return record

    def info(self, which: str) -> dict[str, Any]:
        path = self.record.salesforce_info if which == "salesforce" else self.record.slack_info
        assert path is not None
        return json.loads(Path(path).read_text())

    def slack_messages(self) -> list[dict[str, Any]]:
        return httpx.get(self.info("slack")["messages_url"], timeout=10).json()["messages"]

    def click(
        self, ts: str, action_id: str, user_id: str, reason: str | None = None
    ) -> dict[str, Any]:
        body = {"ts": ts, "action_id": action_id, "user_id": user_id}
        if reason is not None:
            body["reason"] = reason
        return httpx.post(self.info("slack")["click_url"], json=body, timeout=30).json()


def eventually(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def stack_env(project: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HANDOVER_", "PREFECT_API"))}
    return (
        env
        | {
            "PREFECT_HOME": str(project / ".prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "HANDOVER_STACK__PREFECT_PORT": str(free_port()),
            "HANDOVER_APPROVALS__PORT": str(free_port()),
            "HANDOVER_APPROVALS__REAPER_INTERVAL_SECONDS": "1",
            "HANDOVER_STACK__WORKER_QUERY_SECONDS": "1",
            # At this scale the live clock's one real call per kind skews rare operations:
            # judge on volume only those expected 30 times or more in the window (as
            # tests/flows do).
            "HANDOVER_VERIFY__MIN_EXPECTED_CALLS": "30",
        }
        | extra
    )


def bring_up(project: Path, *, days: int = DAYS, **extra: str) -> Iterator[StackUnderTest]:
    """A stack with the emulators over a scaled Loomis, up for the caller; down after."""
    project.mkdir(parents=True, exist_ok=True)
    scenario = project / "loomis-scaled.yaml"
    data = scaled(load_scenario(LOOMIS), 25).model_dump(mode="json", exclude_unset=True)
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    stack = StackUnderTest(project, stack_env(project, **extra))
    try:
        stack.handover("up", "--emulators", "--scenario", str(scenario), "--backfill-days",
                       str(days), timeout=UP_TIMEOUT)  # fmt: skip
        yield stack
    finally:
        stack.handover("down", timeout=60, check=False)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackUnderTest]:
    yield from bring_up(tmp_path_factory.mktemp("project"))
