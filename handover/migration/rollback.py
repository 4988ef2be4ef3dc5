"""Undoing a migration from its ledger: every claimed or done write, newest first, mapped
to its inverse from (action, before, match). Each inverse is itself a write action, keyed
``rollback:<key>``, so a crash during rollback resumes like any step.

created -> deleted, except a User, which can't be deleted: deactivated (a later migration
reactivates the same username). A record that existed before (a reactivated user) ->
restored to ``before``. updated -> restored to ``before``. Credentials -> the prior
credentials restored from their reference. Deleted (decommission) -> created again from
``before``. Password writes, token revocations and ended sessions have no inverse: the
deactivation covers the first; the others happen only after verification passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..models.migration import LedgerEntry, Observed, WriteAction
from .apply import Clock, LedgerPort, OrgPort, apply_actions, doomed_records, holds, now_utc

IRREVERSIBLE = frozenset({"set_password", "revoke"})
NOT_RECREATABLE = frozenset({"AuthSession"})  # an ended session can't be brought back
# What a batch row is made of, when one removed is created again (its Id and audit fields
# are the org's).
_WRITABLE = {
    "ObjectPermissions": frozenset(
        {
            "ParentId",
            "SobjectType",
            "PermissionsRead",
            "PermissionsCreate",
            "PermissionsEdit",
            "PermissionsDelete",
            "PermissionsViewAllRecords",
            "PermissionsModifyAllRecords",
        }
    ),
    "FieldPermissions": frozenset(
        {"ParentId", "SobjectType", "Field", "PermissionsRead", "PermissionsEdit"}
    ),
}


def rollback_actions(entries: Sequence[LedgerEntry]) -> list[WriteAction]:
    """The inverse writes of ``entries`` (in the order they were applied), newest first."""
    out: list[WriteAction] = []
    for entry in reversed(entries):
        if entry.status in ("claimed", "done") and entry.step != "rollback":
            out += inverse(entry)
    return out


def inverse(entry: LedgerEntry) -> list[WriteAction]:
    w = entry.write
    if w.action in IRREVERSIBLE or w.action == "restore":
        return []
    if w.action == "create":
        return _undo_batch(entry) if w.batch else _undo_create(entry)
    if w.action == "update":
        return _undo_update(entry)
    if w.action == "delete":
        return _undo_delete(entry)
    return []


def _inverse(w: WriteAction, action: Any, after: dict[str, Any], suffix: str = "") -> WriteAction:
    return w.model_copy(
        update={
            "step": "rollback",
            "key": f"rollback:{w.key}{suffix}",
            "action": action,
            "after": after,
            "adopt": True,
            "adopt_if": {},
        }
    )


def _restored(w: WriteAction, before: dict[str, Any]) -> dict[str, Any]:
    return {k: before.get(k) for k in w.after if k in before}


def _undo_create(entry: LedgerEntry) -> list[WriteAction]:
    w = entry.write
    if entry.before is not None:
        # It existed before this migration (a reactivated user): put back what it was.
        restored = _restored(w, entry.before)
        return [_inverse(w, "update", restored)] if restored else []
    if w.object == "User":
        return [_inverse(w, "update", {"IsActive": False})]
    return [_inverse(w, "delete", {})]


def _undo_batch(entry: LedgerEntry) -> list[WriteAction]:
    w = entry.write
    rk = w.record_key or ""
    before = {str(r.get(rk)).casefold(): r for r in (entry.before or {}).get("records") or []}
    created = [{rk: r[rk]} for r in w.records if str(r[rk]).casefold() not in before]
    changed = [
        {rk: r[rk], **{k: before[str(r[rk]).casefold()].get(k) for k in r if k != rk}}
        for r in w.records
        if str(r[rk]).casefold() in before and not holds(before[str(r[rk]).casefold()], r)
    ]
    out = []
    if created:
        out.append(_inverse(w, "delete", {"records": created}))
    if changed:
        out.append(_inverse(w, "create", {"records": changed}, ":restore"))
    return out


def _undo_update(entry: LedgerEntry) -> list[WriteAction]:
    w = entry.write
    if entry.before is None:
        return []
    if w.object == "Credentials":
        return [_inverse(w, "restore", dict(entry.before))]
    restored = _restored(w, entry.before)
    return [_inverse(w, "update", restored)] if restored else []


def _undo_delete(entry: LedgerEntry) -> list[WriteAction]:
    w = entry.write
    if entry.before is None or w.object in NOT_RECREATABLE:
        return []
    if w.batch:
        # The rows the delete found (a prune: those outside the plan) are created again.
        gone = doomed_records(w, Observed(state=entry.before))
        records = [{k: v for k, v in r.items() if k in _WRITABLE[w.object]} for r in gone]
        return [_inverse(w, "create", {"records": records})] if records else []
    # The record is defined by its unique key (SetupEntityAccess: ParentId + SetupEntityId);
    # read-only fields of ``before`` (Id, SetupEntityType) can't be written back.
    return [_inverse(w, "create", {k: entry.before.get(k, v) for k, v in w.match.items()})]


def apply_rollback(
    ledger: LedgerPort, org: OrgPort, *, clock: Clock = now_utc
) -> list[LedgerEntry]:
    """Apply the inverses of everything in ``ledger`` and mark the undone entries
    ``rolled_back``; returns the rollback's own entries. Re-runnable after a crash."""
    originals = [e for e in ledger.entries() if e.step != "rollback"]
    actions = rollback_actions(originals)
    applied = apply_actions(actions, ledger, org, dry_run=False, clock=clock)
    # Every write with an inverse is now undone, and so is one that changed nothing (a
    # prune with nothing to prune); irreversible ones stay done, as they are.
    for entry in originals:
        if entry.status in ("claimed", "done") and entry.write.action not in IRREVERSIBLE:
            ledger.put(entry.model_copy(update={"status": "rolled_back", "updated_at": clock()}))
    return applied
