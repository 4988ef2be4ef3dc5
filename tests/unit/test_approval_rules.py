"""Who may decide a gate, as pure judgements (no Slack, no Prefect)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handover.slack.gatebook import GateDecision, GateMessage, GateRecord, Vote
from handover.slack.rules import (
    Approved,
    Clicker,
    Recorded,
    Refusal,
    judge_approval,
    judge_rejection,
    may_reject,
)

NOW = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)
SAM = Clicker("U1", "sam@loomis.example", deleted=False, is_bot=False, allowed=True)
PRIYA = Clicker("U2", "priya@loomis.example", deleted=False, is_bot=False, allowed=True)


def gate(required: int = 1, **more: object) -> GateRecord:
    fields: dict[str, object] = {
        "migration_id": "m-1", "gate": "cutover", "flow_run_id": "r", "plan_hash": "h",
        "channel": "C", "ts": "1.1", "opened_at": NOW, "expires_at": NOW + timedelta(hours=24),
        "human_email": "dana@loomis.example", "required_approvals": required,
        "message": GateMessage(app_name="Sync", human="dana", headline="+1"),
    }  # fmt: skip
    return GateRecord.model_validate(fields | more)


def test_one_approver_decides_a_one_person_gate() -> None:
    assert judge_approval(gate(), [], SAM, NOW) == Approved(["U1"])


def test_two_different_approvers_for_a_two_person_gate() -> None:
    two = gate(required=2)
    assert judge_approval(two, [], SAM, NOW) == Recorded(needed=1)
    sams = [Vote(user_id="U1", at=NOW)]
    assert judge_approval(two, sams, SAM, NOW) == Refusal("already_voted")
    assert judge_approval(two, sams, PRIYA, NOW) == Approved(["U1", "U2"])


def test_refusals_in_the_order_a_person_would_ask() -> None:
    decided = gate(outcome=GateDecision(decision="approve", approvers=["U9"], decided_at=NOW))
    assert judge_approval(None, [], SAM, NOW) == Refusal("unknown_gate")
    assert judge_approval(decided, [], SAM, NOW) == Refusal("already_decided", by=["U9"], at=NOW)
    late = NOW + timedelta(hours=24)
    assert judge_approval(gate(), [], SAM, late) == Refusal("expired", at=late)
    outsider = Clicker("U3", "x@loomis.example", deleted=False, is_bot=False, allowed=False)
    assert judge_approval(gate(), [], outsider, NOW) == Refusal("not_approver")
    gone = Clicker("U1", "sam@loomis.example", deleted=True, is_bot=False, allowed=True)
    assert judge_approval(gate(), [], gone, NOW) == Refusal("inactive")
    bot = Clicker("B1", None, deleted=False, is_bot=True, allowed=True)
    assert judge_approval(gate(), [], bot, NOW) == Refusal("inactive")


def test_the_human_never_approves_their_own_migration() -> None:
    dana = Clicker("U4", " Dana@Loomis.Example", deleted=False, is_bot=False, allowed=True)
    assert judge_approval(gate(), [], dana, NOW) == Refusal("self_approval")
    hidden = Clicker("U5", None, deleted=False, is_bot=False, allowed=True)
    assert judge_approval(gate(), [], hidden, NOW) == Refusal("no_email")


def test_rejections_need_an_approver_an_open_gate_and_a_reason() -> None:
    assert may_reject(gate(), SAM, NOW) is None
    assert judge_rejection(gate(), SAM, "month-end close", NOW) is None
    assert judge_rejection(gate(), SAM, "  no ", NOW) == Refusal("reason_required")
    outsider = Clicker("U3", "x@loomis.example", deleted=False, is_bot=False, allowed=False)
    assert may_reject(gate(), outsider, NOW) == Refusal("not_approver")
    # The human may not approve, but an approver who is that human may still stop it.
    dana = Clicker("U4", "dana@loomis.example", deleted=False, is_bot=False, allowed=True)
    assert may_reject(gate(), dana, NOW) is None
