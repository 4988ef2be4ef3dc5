"""Approval tokens: proof that a gate's decision came from the approval service.

Anyone who can reach Prefect's API (or its UI's Resume button) can resume a paused run with
any input, so the flow trusts a decision only when it carries a token that only the approval
service can make: HMAC-SHA256 under ``HANDOVER_APPROVALS__TOKEN_KEY`` (a secret the service
and the flow share) over the migration, the gate, the plan hash and the decision itself.
A token for another migration, gate, plan or decision, or with an approver added or
removed, does not verify.

The signed message is a canonical JSON array (not ``a|b|c``: a field holding ``|`` could
shift the boundaries), prefixed with the token version so a future format can never be
mistaken for this one. Tokens look like ``hv1.<64 hex digits>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

VERSION = "hv1"
MIN_KEY_BYTES = 16
# "extend": only at an inconclusive gate (verify over a longer window, then ask again).
Decision = Literal["approve", "reject", "expired", "extend"]
DECISIONS: tuple[str, ...] = ("approve", "reject", "expired", "extend")
KEY_HINT = (
    "set HANDOVER_APPROVALS__TOKEN_KEY to the same random secret for the approval service and "
    'the flows, e.g. python -c "import secrets; print(secrets.token_hex(32))"'
)


class GateInput(BaseModel):
    """What a gate's paused flow run is resumed with (``pause_flow_run(wait_for_input=...)``).

    ``decided_at`` is an ISO 8601 string rather than a datetime so the value signed is the
    value Prefect stores and hands back, byte for byte."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: Decision = Field(
        description="approve, reject, expired (nobody decided in time), or extend (an "
        "inconclusive verification's window)"
    )
    approvers: list[str] = Field(description="Slack user ids of who decided, first vote first")
    reason: str | None = Field(None, description="Why it was rejected (from the Reject dialog)")
    decided_at: str = Field(description="When the decision was made (ISO 8601, UTC)")
    token: str = Field(description="The approval service's signature over the decision")


def decided_at_text(moment: datetime) -> str:
    """The one text form of a decision time (UTC, seconds) that tokens are signed over."""
    if moment.tzinfo is None:
        raise ValueError("decided_at must carry a time zone (use datetime.now(UTC))")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _normalised_time(decided_at: datetime | str) -> str:
    if isinstance(decided_at, datetime):
        return decided_at_text(decided_at)
    try:
        return decided_at_text(datetime.fromisoformat(decided_at))
    except ValueError as exc:
        raise ValueError(f"decided_at {decided_at!r} is not an ISO 8601 time with a zone") from exc


def _message(
    *,
    migration_id: str,
    gate: str,
    plan_hash: str,
    decision: str,
    approvers: list[str],
    decided_at: datetime | str,
) -> bytes:
    fields = {"migration_id": migration_id, "gate": gate, "plan_hash": plan_hash}
    empty = [name for name, value in fields.items() if not value]
    if empty:
        raise ValueError(f"an approval token needs {', '.join(empty)}")
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if decision != "expired" and not approvers:
        raise ValueError(f"a {decision} decision names at least one approver")
    parts = [VERSION, migration_id, gate, plan_hash, decision, list(approvers)]
    parts.append(_normalised_time(decided_at))
    return json.dumps(parts, separators=(",", ":"), ensure_ascii=True).encode()


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"the approval token key is shorter than {MIN_KEY_BYTES} bytes: {KEY_HINT}"
        )


def sign(
    key: bytes,
    *,
    migration_id: str,
    gate: str,
    plan_hash: str,
    decision: str,
    approvers: list[str],
    decided_at: datetime | str,
) -> str:
    """The token for one decision. Raises ValueError on a short key or incomplete fields."""
    _check_key(key)
    message = _message(
        migration_id=migration_id,
        gate=gate,
        plan_hash=plan_hash,
        decision=decision,
        approvers=approvers,
        decided_at=decided_at,
    )
    return f"{VERSION}.{hmac.new(key, message, hashlib.sha256).hexdigest()}"


def verify(
    key: bytes,
    token: str,
    *,
    migration_id: str,
    gate: str,
    plan_hash: str,
    decision: str,
    approvers: list[str],
    decided_at: datetime | str,
) -> tuple[bool, str]:
    """(True, "") when ``token`` was signed with ``key`` over exactly these fields, else
    (False, why). Never raises for a bad token; a short key is still a ValueError (that is
    the deployment's mistake, not the caller's)."""
    _check_key(key)
    if not isinstance(token, str) or "." not in token:
        return False, "no approval token, or not one the approval service makes"
    version, _, digest = token.partition(".")
    if version != VERSION:
        return False, f"unknown approval token version {version[:12]!r} (expected {VERSION})"
    try:
        message = _message(
            migration_id=migration_id,
            gate=gate,
            plan_hash=plan_hash,
            decision=decision,
            approvers=approvers,
            decided_at=decided_at,
        )
    except ValueError as exc:
        return False, f"the decision is incomplete: {exc}"
    expected = hmac.new(key, message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), digest.encode()):
        return False, (
            "the approval token does not match this migration, gate, plan and decision "
            "(a resume that did not come from the approval service, or a changed decision)"
        )
    return True, ""


def verify_input(
    key: bytes, gate_input: GateInput, *, migration_id: str, gate: str, plan_hash: str
) -> tuple[bool, str]:
    """``verify`` for what a paused flow run was resumed with; the flow supplies what it
    knows itself (its migration, the gate it is waiting at, the plan it is applying)."""
    return verify(
        key,
        gate_input.token,
        migration_id=migration_id,
        gate=gate,
        plan_hash=plan_hash,
        decision=gate_input.decision,
        approvers=list(gate_input.approvers),
        decided_at=gate_input.decided_at,
    )
