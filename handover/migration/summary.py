"""A migration's writes and its ledger as data for people and for callers: the lines a
gate message lists, the dry-run preview, the ledger's steps as the flow returns them, and
what each gate's decision means for the migration. Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..models.migration import (
    SECRET_PLACEHOLDER,
    LedgerEntry,
    MigrationOutcome,
    StepPreview,
    WriteAction,
)
from .steps import gate_kind

_VERBS = {
    "create": "Create",
    "update": "Update",
    "delete": "Delete",
    "set_password": "Set a new password on",
    "revoke": "Revoke",
    "restore": "Restore",
}


def _value(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"$ref"}:
        return f"(the id {value['$ref']} gets)"
    return value if isinstance(value, str) else json.dumps(value)


def change_line(action: WriteAction) -> str:
    """One write as a gate message lists it: what it does to which record, and the values
    it sets when there are few (a password only as its placeholder)."""
    line = f"{_VERBS[action.action]} {action.object} {action.target}"
    shown = {k: v for k, v in action.after.items() if k not in ("records", "keep")}
    if action.action == "update" and shown and len(shown) <= 3:
        line += ": " + ", ".join(f"{k} → {_value(v)}" for k, v in shown.items())
    return line


def change_lines(actions: list[WriteAction]) -> list[str]:
    return [change_line(a) for a in actions]


def preview_json(entry: LedgerEntry) -> dict[str, Any]:
    """The dry-run contract: ``{"action", "object", "target", "before", "after"}``."""
    return StepPreview.of(entry).model_dump(mode="json")


def step_json(entry: LedgerEntry) -> dict[str, Any]:
    """A ledger entry as the flow returns it (and ``--json`` prints it): never a secret,
    as the entry itself holds none."""
    return {
        "key": entry.key,
        "step": entry.step,
        "action": entry.write.action,
        "object": entry.write.object,
        "target": entry.write.target,
        "status": entry.status,
        "record_ids": list(entry.record_ids),
        "error": entry.error,
        "updated_at": entry.updated_at.isoformat(),
    }


def has_secret_placeholder(entry: LedgerEntry) -> bool:
    return SECRET_PLACEHOLDER in entry.write.after.values()


# ---------------------------------------------------------------------- gate decisions


@dataclass(frozen=True)
class Consequence:
    """What a gate's decision means: go on, or end the migration with ``outcome`` (after
    rolling back what it wrote, when ``roll_back``)."""

    proceed: bool
    roll_back: bool = False
    outcome: MigrationOutcome | None = None
    reason: str = ""


# Gates whose "no" undoes what the migration wrote so far: before the cutover nothing but
# the new user exists (it goes); after it, the integration goes back to the human.
_UNDONE_ON_NO = frozenset({"cutover", "operator", "inconclusive"})


def consequence(gate: str, decision: str, approvers: list[str], reason: str | None) -> Consequence:
    """``extend`` is not settled here: the flow verifies again (see ``runbook``)."""
    if decision == "approve":
        return Consequence(proceed=True)
    gate = gate_kind(gate)
    who = ", ".join(approvers) or "nobody"
    said = f"rejected at the {gate} gate by {who}" + (f": {reason}" if reason else "")
    if decision == "expired":
        said = f"nobody decided the {gate} gate in time"
    if gate == "freeze":
        # Freezing is optional: the migration itself is done; the account stays active.
        return Consequence(
            proceed=False, outcome="successful", reason=f"{said}; the account stays active"
        )
    outcome: MigrationOutcome = "expired" if decision == "expired" else "rejected"
    if gate == "inconclusive" and decision == "reject":
        outcome = "rolled_back"
    if gate in _UNDONE_ON_NO:
        what = (
            "the provisioned user was rolled back"
            if gate == "cutover"
            else "the cutover and the provisioned user were rolled back"
        )
        return Consequence(proceed=False, roll_back=True, outcome=outcome, reason=f"{said}; {what}")
    if gate == "decommission":
        return Consequence(
            proceed=False,
            outcome=outcome,
            reason=f"{said}; the integration keeps running as the new user, and the human's "
            "tokens and app access stay",
        )
    return Consequence(proceed=False, outcome=outcome, reason=f"{said}; nothing was written")
