"""The stage the migration tests play on, all in this process: a scaled Loomis org of its
own (migrations change it), discovery and the plans made by the real flows into a store,
the Slack emulator with Loomis' Slack users, the real approval service over HTTP (its
reaper on a clock the tests can move), and the shared Prefect test server.

A test starts ``migrate`` in a thread (``Stage.start``), clicks the gates in the Slack
emulator as Loomis' approvers (``Migration.approve`` / ``reject``), moves the org's clock
with the workloads running (``Stage.advance``), and reads the outcome from the flow's
return value and the ledger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from simple_salesforce import Salesforce
from slack_sdk import WebClient

from emulators.salesforce import client
from emulators.salesforce.scenario import Scenario
from emulators.salesforce.server import RunningEmulator
from emulators.salesforce.workloads import credential_file
from emulators.slack import RunningSlack
from handover.models import MigrationStatus
from handover.slack.approvals import RunningService
from handover.slack.desk import ApprovalDesk
from handover.slack.gatebook import GateRecord
from handover.slack.reaper import Reaper
from handover.store.gates import SqlGateBook
from handover.store.ledger import Ledger, new_migration_id

KEY = "migration-tests-approval-token-key"
SAM, NADIA, KENJI = "U0LOOMIS01", "U0LOOMIS02", "U0LOOMIS03"  # Loomis' approvers
DANA, ROSA = "U0LOOMIS04", "U0LOOMIS08"  # people whose accounts run integrations


def eventually(check: Callable[[], Any], *, timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


class Clock:
    """The approval service's clock; a test moves it forward to reach a gate's expiry."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Stage:
    scenario: Scenario
    org: RunningEmulator
    info_path: Path
    store_url: str
    slack: RunningSlack
    service: RunningService
    desk: ApprovalDesk
    reaper: Reaper
    clock: Clock
    secrets_dir: Path
    findings: dict[str, dict[str, Any]]  # by workload name
    plans: dict[str, dict[str, Any]]  # by workload name (plan JSON)
    ledger: Ledger

    # ------------------------------------------------------------------ the org

    def admin(self) -> Salesforce:
        return client.connect(self.org.info())

    def credentials_file(self, workload: str) -> Path:
        return credential_file(Path(self.org.info()["credentials_dir"]), workload)

    def org_now(self) -> datetime:
        return self.org.org.clock.now()

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the org's clock with every workload running live over the span."""
        assert self.org.emulator.run_workloads is not None
        return self.org.emulator.run_workloads(seconds)

    def advance_to(self, moment: datetime) -> dict[str, Any]:
        return self.advance(max(0.0, (moment - self.org_now()).total_seconds()))

    # ------------------------------------------------------------------ Slack

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

    # ------------------------------------------------------------------ migrations

    def start(self, workload: str, **params: Any) -> Migration:
        """``migrate`` of the workload's finding, in a thread, with a migration id made here."""
        from flows.migration import migrate

        finding_id = self.findings[workload]["finding_id"]
        plan_hash = self.plans[workload]["hash"]
        params.setdefault("migration_id", new_migration_id(plan_hash, datetime.now(UTC)))
        params.setdefault("emulator_info", str(self.info_path))
        m = Migration(self, workload, params["migration_id"])

        def target() -> None:
            try:
                m.result.append(migrate(finding_id, **params))
            except BaseException as exc:  # surfaced by Migration.finish
                m.errors.append(exc)

        m.thread = threading.Thread(target=target, name=f"migrate-{m.migration_id}", daemon=True)
        m.thread.start()
        return m


@dataclass
class Migration:
    stage: Stage
    workload: str
    migration_id: str
    result: list[dict[str, Any]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    thread: threading.Thread | None = None

    @property
    def book(self) -> SqlGateBook:
        return SqlGateBook(self.stage.ledger.engine)

    def status(self) -> MigrationStatus | None:
        return self.stage.ledger.migration(self.migration_id)

    def facts(self) -> dict[str, Any]:
        return self.stage.ledger.facts(self.migration_id)

    def gate(self, name: str, *, timeout: float = 60) -> GateRecord:
        """The gate once the flow waits at it (its message posted, the run paused)."""

        def waiting() -> GateRecord | None:
            self._raise_if_ended()
            status = self.status()
            record = self.book.get(self.migration_id, name)
            if record is None or status is None or status.waiting_at != name:
                return None
            return (
                record if self.stage.desk.runs.state_type(record.flow_run_id) == "PAUSED" else None
            )

        found: GateRecord = eventually(
            waiting, timeout=timeout, what=f"{self.workload}: gate {name}"
        )
        return found

    def approve(self, name: str, *approvers: str) -> GateRecord:
        record = self.gate(name)
        for who in approvers or (SAM,):
            answer = self.stage.click(record.ts, "gate_approve", who)
            assert answer["status"] == 200, answer
        return record

    def extend(self, name: str, who: str = SAM) -> GateRecord:
        record = self.gate(name)
        answer = self.stage.click(record.ts, "gate_extend", who)
        assert answer["status"] == 200, answer
        return record

    def reject(self, name: str, reason: str, who: str = NADIA) -> GateRecord:
        record = self.gate(name)
        answer = self.stage.click(record.ts, "gate_reject", who, reason=reason)
        assert answer["status"] == 200 and answer["view_submission"]["status"] == 200, answer
        return record

    def wait_for(self, check: Callable[[Migration], Any], what: str, timeout: float = 60) -> Any:
        def probe() -> Any:
            self._raise_if_ended()
            return check(self)

        return eventually(probe, timeout=timeout, what=f"{self.workload}: {what}")

    def window(self) -> dict[str, Any]:
        """The verification window, once the flow has measured it from the cutover."""
        found: dict[str, Any] = self.wait_for(lambda m: m.facts().get("window"), "the window")
        return found

    def _raise_if_ended(self) -> None:
        if self.thread is not None and not self.thread.is_alive():
            if self.errors:
                raise AssertionError(f"the flow ended with {self.errors[0]!r}") from self.errors[0]
            raise AssertionError(f"the flow ended early: {self.result}")

    def finish(self, timeout: float = 120) -> dict[str, Any]:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.workload}: the flow is still running"
        assert not self.errors, self.errors
        return self.result[0]

    def failure(self, timeout: float = 120) -> BaseException:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.workload}: the flow is still running"
        assert self.errors, f"{self.workload}: expected the flow to fail, got {self.result}"
        return self.errors[0]


def slack_client(slack: RunningSlack) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.base_url)


def artifact(key: str) -> str:
    """The latest version of a Markdown artifact, from the Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as c:
        found = c.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert found, f"no artifact {key}"
    latest = max(found, key=lambda a: a.created or datetime.min.replace(tzinfo=UTC))
    return str(latest.data)


def run_logs(flow_run_id: str, *, until: str) -> list[str]:
    """Every log line the server keeps for a flow run and its task runs, once one of them
    holds ``until`` (logs are shipped to the server in batches, after the fact)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    def read() -> list[str]:
        with get_client(sync_client=True) as c:
            logs = c.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )
        lines = [log.message for log in logs]
        return lines if any(until in line for line in lines) else []

    found: list[str] = eventually(read, what=f"the run's log line {until!r} on the server")
    return found


def thread_of(stage: Stage, migration_id: str) -> list[dict[str, Any]]:
    """The migration's Slack messages (with their updates), oldest first."""
    book = SqlGateBook(stage.ledger.engine)
    thread = book.thread_of(migration_id)
    assert thread is not None, "no gate opened a thread"
    messages = stage.messages()["messages"]
    return [m for m in messages if thread[1] in (m["ts"], m.get("thread_ts"))]
