"""The approval loop end to end: the Slack emulator (its /__emulator/click delivers signed
clicks), the real approval service over HTTP, a real Prefect test server, and a stand-in
flow paused at a gate. Each test opens its own gate in its own flow run."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient

from emulators.slack import RunningSlack, start_in_thread
from emulators.slack.models import Workspace
from handover.settings import ApprovalsSettings
from handover.slack.approvals import RunningService, create_app
from handover.slack.approvals import start_in_thread as start_service
from handover.slack.desk import ApprovalDesk
from handover.slack.gatebook import GateRecord, MemoryGateBook
from handover.slack.gateway import SlackGateway
from handover.slack.reaper import Reaper
from handover.slack.runs import PrefectRuns
from tests.approvals import standin

KEY = b"approval-token-key-for-tests-only"
SAM, PRIYA, DANA, LEE = "U0LOOMIS01", "U0LOOMIS02", "U0LOOMIS03", "U0LOOMIS04"
EMAILS = {
    SAM: "sam.whitfield@loomis-logistics.com",
    PRIYA: "priya.natarajan@loomis-logistics.com",
    DANA: "dana.reyes@loomis-logistics.com",
    LEE: "lee.chen@loomis-logistics.com",
}


class Clock:
    """The service's clock for gate times; tests move it forward to reach an expiry."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def eventually(check: Callable[[], Any], *, timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


@dataclass
class Loop:
    slack: RunningSlack
    service: RunningService
    book: MemoryGateBook
    desk: ApprovalDesk
    reaper: Reaper
    runs: PrefectRuns
    clock: Clock
    settings: ApprovalsSettings

    def messages(self) -> dict[str, Any]:
        return httpx.get(f"{self.slack.url}/__emulator/messages").json()  # type: ignore[no-any-return]

    def click(self, ts: str, action_id: str, user_id: str, **more: Any) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.slack.url}/__emulator/click",
            json={"ts": ts, "action_id": action_id, "user_id": user_id, **more},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]


@dataclass
class GateRun:
    loop: Loop
    migration_id: str
    gate: str
    plan_hash: str
    result: list[dict[str, Any]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    thread: threading.Thread | None = None

    @property
    def record(self) -> GateRecord:
        found = self.loop.book.get(self.migration_id, self.gate)
        assert found is not None, "the flow has not opened its gate"
        return found

    def state(self) -> str | None:
        return self.loop.runs.state_type(self.record.flow_run_id)

    def wait_paused(self) -> GateRecord:
        eventually(lambda: self.loop.book.get(self.migration_id, self.gate), what="gate opened")
        eventually(lambda: self.state() == "PAUSED", what="run paused")
        return self.record

    def message(self) -> dict[str, Any]:
        ts = self.record.ts
        return next(m for m in self.loop.messages()["messages"] if m["ts"] == ts)

    def ephemeral_for(self, user_id: str) -> list[str]:
        return [e["text"] for e in self.loop.messages()["ephemeral"] if e["user"] == user_id]

    def finish(self, timeout: float = 60) -> dict[str, Any]:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the flow is still waiting"
        assert not self.errors, self.errors
        return self.result[0]


@pytest.fixture
def loop(prefect_harness: None) -> Iterator[Loop]:
    from prefect.settings import PREFECT_API_URL

    workspace = Workspace(team_name="Loomis Logistics", with_defaults=False, seed=3)
    for user_id, email in EMAILS.items():
        name = email.split("@")[0]
        workspace.add_user(
            name, real_name=name.replace(".", " ").title(), email=email, user_id=user_id
        )
    workspace.seed_channels()
    group = workspace.add_usergroup("handover-approvers", [SAM, PRIYA, LEE])
    slack = start_in_thread(workspace)
    settings = ApprovalsSettings(approvers=[SAM], approver_group=group.id)
    gateway = SlackGateway(WebClient(token=slack.bot_token, base_url=slack.base_url))
    runs = PrefectRuns(str(PREFECT_API_URL.value()))
    clock, book = Clock(), MemoryGateBook()
    desk = ApprovalDesk(book, gateway, runs, settings, token_key=KEY, clock=clock)
    reaper = Reaper(desk, book, runs, clock)
    service = start_service(create_app(desk, signing_secret=slack.signing_secret))
    workspace.actions_url = service.actions_url
    standin.STAGE.append(standin.Stage(book, gateway, settings, KEY, clock))
    try:
        yield Loop(slack, service, book, desk, reaper, runs, clock, settings)
    finally:
        standin.STAGE.pop()
        service.stop()
        slack.stop()
        runs.close()


@pytest.fixture
def open_gate(loop: Loop) -> Iterator[Callable[..., GateRun]]:
    started: list[GateRun] = []

    def start(gate: str = "cutover", human_email: str = EMAILS[DANA]) -> GateRun:
        run = GateRun(loop, f"m-{uuid.uuid4().hex[:12]}", gate, uuid.uuid4().hex * 2)

        def target() -> None:
            try:
                run.result.append(
                    standin.stand_in(run.migration_id, gate, run.plan_hash, human_email)
                )
            except BaseException as exc:  # surfaced by finish()
                run.errors.append(exc)

        run.thread = threading.Thread(target=target, name=f"flow-{run.migration_id}", daemon=True)
        run.thread.start()
        started.append(run)
        run.wait_paused()
        return run

    yield start
    for run in started:  # never leave a run paused behind a failed test
        if run.thread is not None and run.thread.is_alive():
            record = loop.book.get(run.migration_id, run.gate)
            if record is not None and not record.decided:
                loop.desk.expire(record)
            run.thread.join(30)
