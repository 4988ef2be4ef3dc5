"""An approved audit proposal as org writes (pure), and the judgement of its read-back.

Each permission set the proposal touches gets one sObject Collections write of the rows
it changes (every flag of the row written, so the row ends exactly as approved) and a
delete of the rows that end with no flag. They are the migration's batch writes
(``migration.apply``: claim with the prior rows, write, done) under the audit change's
id, so ``migration.rollback`` restores the prior rows when verification fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..models.audit import Change, Flag, HeldObject, Risk
from ..models.migration import WriteAction
from ..models.plan import OBJECT_FLAG_COLUMNS
from .proposal import FLAG_ORDER, after_change

COLUMNS: dict[str, str] = OBJECT_FLAG_COLUMNS


def _row(obj: str, flags: Sequence[Flag]) -> dict[str, Any]:
    return {"SobjectType": obj, **{COLUMNS[f]: f in flags for f in FLAG_ORDER}}


def change_actions(held: Sequence[HeldObject], changes: Sequence[Change]) -> list[WriteAction]:
    names = {c.permission_set_id: c.permission_set for c in changes}
    actions = []
    for ps_id, objects in sorted(after_change(held, changes).items()):
        kept = {o: f for o, f in objects.items() if f}
        gone = sorted(o for o, f in objects.items() if not f)
        name = names[ps_id]
        if kept:
            actions.append(
                WriteAction(
                    step="audit",
                    key=f"audit:object-permissions:{ps_id}",
                    action="create",
                    object="ObjectPermissions",
                    target=f"{len(kept)} ObjectPermissions of {name}",
                    match={"ParentId": ps_id},
                    after={"records": [_row(o, f) for o, f in sorted(kept.items())]},
                    record_key="SobjectType",
                )
            )
        if gone:
            actions.append(
                WriteAction(
                    step="audit",
                    key=f"audit:object-permissions:{ps_id}:remove",
                    action="delete",
                    object="ObjectPermissions",
                    target=f"{', '.join(gone)} from {name}",
                    match={"ParentId": ps_id},
                    after={"records": [{"SobjectType": o} for o in gone]},
                    record_key="SobjectType",
                )
            )
    return actions


def verify_change(
    held: Sequence[HeldObject],
    changes: Sequence[Change],
    read_back: Mapping[str, Mapping[str, Sequence[Flag]]],
) -> list[str]:
    """What the org holds that the approved change does not say (empty: verified).
    ``read_back``: permission set id -> object -> flags, as read after the change."""
    problems = []
    for ps_id, objects in after_change(held, changes).items():
        have = {o.casefold(): set(f) for o, f in read_back.get(ps_id, {}).items()}
        for obj, flags in objects.items():
            found = have.get(obj.casefold(), set())
            if found != set(flags):
                want = ", ".join(flags) or "nothing"
                got = ", ".join(f for f in FLAG_ORDER if f in found) or "nothing"
                problems.append(f"{obj}: the org holds {got}, the approved change says {want}")
    return problems


def change_lines(changes: Sequence[Change]) -> list[str]:
    """The gate's "What changes", one line each."""
    from .proposal import LABEL

    return [
        f"{'Remove' if c.kind == 'remove' else 'Add'} "
        f"{', '.join(LABEL[f] for f in c.flags)} on {c.object} ({c.permission_set}): {c.reason}"
        for c in changes
    ]


def risk_lines(risks: Sequence[Risk]) -> list[str]:
    """The gate's flagged broad grants, the riskiest first, one line each."""
    ranked = sorted(risks, key=lambda r: (r.level != "high", r.permission))
    return [f"{r.level.capitalize()}: {r.permission} ({r.where}): {r.reason}" for r in ranked]
