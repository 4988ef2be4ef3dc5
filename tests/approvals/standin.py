"""A tiny flow that stands in for the migration at one gate: it opens the gate (posts the
message, records it), pauses for a ``GateInput``, and trusts only an input whose approval
token verifies; anything else is noted in the thread and it waits again under the next key,
as the migration flow will."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prefect import flow, pause_flow_run
from prefect.runtime import flow_run

from handover.settings import ApprovalsSettings
from handover.slack.gatebook import GateBook, GateMessage
from handover.slack.gates import note_ignored_resume, open_gate
from handover.slack.gateway import SlackGateway
from handover.slack.tokens import GateInput, verify_input

MESSAGE = GateMessage(
    app_name="MuleSoft NetSuite Sync",
    human="dana.reyes@loomis-logistics.com",
    headline="+1 Integration User svc.mulesoft with Order (Read, Create, Edit)",
    changes=["Create user svc.mulesoft@loomis-logistics.com", "Permission set HO_MuleSoft_0042"],
    new_user="svc.mulesoft@loomis-logistics.com",
    evidence_window="2026-10-01 … 2026-10-30, 30 days observed",
)


@dataclass
class Stage:
    """What the flow reaches for; a real flow builds these from settings."""

    book: GateBook
    slack: SlackGateway
    settings: ApprovalsSettings
    key: bytes
    clock: Callable[[], datetime]
    channel: str = "#handover"


STAGE: list[Stage] = []  # set by the test fixture (the flow runs in the test's process)


@flow(name="gate-stand-in", persist_result=False)
def stand_in(migration_id: str, gate: str, plan_hash: str, human_email: str) -> dict[str, Any]:
    stage = STAGE[-1]
    record = open_gate(
        stage.book, stage.slack, stage.settings,
        migration_id=migration_id, gate=gate, flow_run_id=str(flow_run.id),
        plan_hash=plan_hash, channel=stage.channel, human_email=human_email,
        message=MESSAGE, now=stage.clock(),
    )  # fmt: skip
    attempt = 1
    while True:
        answer = pause_flow_run(
            wait_for_input=GateInput, key=f"{gate}-{attempt}", timeout=600, poll_interval=1
        )
        ok, why = verify_input(
            stage.key, answer, migration_id=migration_id, gate=gate, plan_hash=plan_hash
        )
        if ok:
            return {
                "decision": answer.decision,
                "approvers": list(answer.approvers),
                "reason": answer.reason,
                "attempts": attempt,
            }
        note_ignored_resume(stage.book, stage.slack, stage.settings, record, why)
        attempt += 1
