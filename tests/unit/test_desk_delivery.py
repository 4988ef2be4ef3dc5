"""A decision that reaches its run in the instant after Prefect shows it Suspended, before
the run has saved the schema of the input it waits for, is delivered again later (by the
reaper), not recorded as refused: a fast click must not strand a gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from handover.errors import TransientPrefectError
from handover.settings import ApprovalsSettings
from handover.slack.desk import ApprovalDesk
from handover.slack.gatebook import GateDecision, MemoryGateBook
from handover.slack.runs import ResumeResult
from tests.unit.test_gate_templates import record

NOW = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)


class Runs:
    """Prefect's answers, in order (an exception is raised)."""

    def __init__(self, *answers: ResumeResult | Exception) -> None:
        self.answers = list(answers)
        self.inputs: list[dict[str, Any] | None] = []

    def resume(self, flow_run_id: str, run_input: dict[str, Any] | None) -> ResumeResult:
        self.inputs.append(run_input)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def state_type(self, flow_run_id: str) -> str | None:
        return "PAUSED"


class Slack:
    def __init__(self) -> None:
        self.updates: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: self.updates.append((name, a, k)) or {}


def desk_with(runs: Runs, slept: list[float]) -> tuple[ApprovalDesk, MemoryGateBook]:
    book = MemoryGateBook()
    book.add_gate(record("cutover"))
    book.decide(
        "m-0123456789ab", "cutover",
        GateDecision(decision="approve", approvers=["U0LOOMIS01"], decided_at=NOW),
    )  # fmt: skip
    desk = ApprovalDesk(
        book, Slack(), runs, ApprovalsSettings(approvers=["U0LOOMIS01"]),  # type: ignore[arg-type]
        token_key=b"k" * 32, clock=lambda: NOW + timedelta(seconds=1), sleep=slept.append,
    )  # fmt: skip
    return desk, book


def test_a_decision_before_the_input_schema_is_saved_is_delivered_again() -> None:
    runs = Runs(
        ResumeResult("REJECT", "Run input schema not found."),
        ResumeResult("ACCEPT", None),
    )
    desk, book = desk_with(runs, [])
    desk.deliver("m-0123456789ab", "cutover")
    gate = book.get("m-0123456789ab", "cutover")
    assert gate is not None and gate.delivery is None  # not refused: the reaper retries
    desk.deliver("m-0123456789ab", "cutover")
    gate = book.get("m-0123456789ab", "cutover")
    assert gate is not None and gate.delivery == "accepted"
    assert len(runs.inputs) == 2 and runs.inputs[0] == runs.inputs[1]


def test_a_resume_prefect_answered_503_is_tried_again_at_once() -> None:
    """Prefect on SQLite answers 503 while another write holds its database: the decision
    reaches the run moments later, not at the reaper's next tick (30 s)."""
    busy = TransientPrefectError("resuming flow run: Prefect answered HTTP 503", status=503)
    runs, slept = Runs(busy, busy, ResumeResult("ACCEPT", None)), list[float]()
    desk, book = desk_with(runs, slept)
    desk.deliver("m-0123456789ab", "cutover")
    gate = book.get("m-0123456789ab", "cutover")
    assert gate is not None and gate.delivery == "accepted"
    assert slept == [0.25, 0.75] and len(runs.inputs) == 3


def test_a_resume_still_failing_after_the_retries_is_left_to_the_reaper() -> None:
    busy = TransientPrefectError("resuming flow run: Prefect answered HTTP 503", status=503)
    runs, slept = Runs(busy, busy, busy, busy, ResumeResult("ACCEPT", None)), list[float]()
    desk, book = desk_with(runs, slept)
    desk.deliver("m-0123456789ab", "cutover")
    gate = book.get("m-0123456789ab", "cutover")
    assert gate is not None and gate.delivery is None and len(runs.inputs) == 4
    desk.deliver("m-0123456789ab", "cutover")  # the reaper's tick
    gate = book.get("m-0123456789ab", "cutover")
    assert gate is not None and gate.delivery == "accepted"


def test_the_reaper_does_not_retry_at_once_its_next_pass_does() -> None:
    busy = TransientPrefectError("resuming flow run: Prefect answered HTTP 503", status=503)
    runs, slept = Runs(busy, ResumeResult("ACCEPT", None)), list[float]()
    desk, book = desk_with(runs, slept)
    desk.deliver("m-0123456789ab", "cutover", retry_now=False)
    gate = book.get("m-0123456789ab", "cutover")
    assert gate is not None and gate.delivery is None and slept == [] and len(runs.answers) == 1
