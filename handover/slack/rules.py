"""Who may decide a gate, and what a click does: pure judgements over the gate's record,
its votes and what Slack says about the person who clicked. No I/O here; the approval
service gathers the facts, asks, and acts on the answer.

Every refusal is a ``Refusal`` with a code the templates word for people
(``templates/slack/gate_refusal.json.j2``) and the facts they need (who decided, when).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from .gatebook import GateRecord, Vote

RefusalCode = Literal[
    "unknown_gate",  # no such gate in the book (an old message, another deployment's)
    "already_decided",  # first decision wins
    "expired",  # past its expiry; the reaper will close it
    "not_approver",  # not in the allowlist
    "inactive",  # deactivated account, or a bot
    "self_approval",  # the human whose account is migrated
    "no_email",  # Slack did not show the clicker's email: self-approval cannot be ruled out
    "already_voted",  # the same approver twice at a two-person gate
    "reason_required",  # a rejection without a reason
    "not_offered",  # "extend" where the gate offers none (not inconclusive, or none left)
]
MIN_REASON = 3  # characters; "no" is not a reason


@dataclass(frozen=True)
class Clicker:
    """What Slack says about whoever clicked (users.info), and the allowlist's verdict."""

    id: str
    email: str | None
    deleted: bool
    is_bot: bool
    allowed: bool


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    by: list[str] = field(default_factory=list)  # already_decided: who decided
    at: datetime | None = None  # already_decided / expired: when


@dataclass(frozen=True)
class Recorded:
    """An approval counted; ``needed`` more (from other people) before the gate is decided."""

    needed: int


@dataclass(frozen=True)
class Approved:
    approvers: list[str]


def _gate_state(record: GateRecord | None, now: datetime) -> Refusal | None:
    if record is None:
        return Refusal("unknown_gate")
    if record.outcome is not None:
        return Refusal("already_decided", by=record.outcome.approvers, at=record.outcome.decided_at)
    if now >= record.expires_at:
        return Refusal("expired", at=record.expires_at)
    return None


def _person(clicker: Clicker) -> Refusal | None:
    if clicker.deleted or clicker.is_bot:
        return Refusal("inactive")
    if not clicker.allowed:
        return Refusal("not_approver")
    return None


def may_revoke(clicker: Clicker) -> Refusal | None:
    """None when ``clicker`` may press "Revoke now": an active approver. One is enough (a
    leak does not wait for a second person), and the human of the migration may too:
    cutting access off is never a way to gain any."""
    return _person(clicker)


def may_reject(record: GateRecord | None, clicker: Clicker, now: datetime) -> Refusal | None:
    """None when ``clicker`` may reject the gate now (the reason is asked next)."""
    return _gate_state(record, now) or _person(clicker)


def judge_rejection(
    record: GateRecord | None, clicker: Clicker, reason: str, now: datetime
) -> Refusal | None:
    """None when the rejection stands: checked again at submission, the gate may have been
    decided or expired while the dialog was open."""
    refused = may_reject(record, clicker, now)
    if refused is None and len(reason.strip()) < MIN_REASON:
        return Refusal("reason_required")
    return refused


def judge_approval(
    record: GateRecord | None, votes: list[Vote], clicker: Clicker, now: datetime
) -> Refusal | Recorded | Approved:
    """What an Approve click does: a refusal, one more approval counted, or the decision
    (with every approver, first vote first, this one last)."""
    refused = _gate_state(record, now) or _person(clicker)
    if refused is not None:
        return refused
    assert record is not None  # _gate_state refused a missing record
    if clicker.email is None:
        return Refusal("no_email")
    if clicker.email.strip().lower() == record.human_email.strip().lower():
        return Refusal("self_approval")
    earlier = [v.user_id for v in votes]
    if clicker.id in earlier:
        return Refusal("already_voted")
    approvers = [*earlier, clicker.id]
    if len(approvers) < record.required_approvals:
        return Recorded(needed=record.required_approvals - len(approvers))
    return Approved(approvers=approvers)
