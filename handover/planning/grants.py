"""Object permissions from observed operations, with the platform's dependencies and the
objects the Integration licence cannot carry.

Operation -> permission (reference §3, "Deriving CRUD from observed usage"):
query / retrieve -> Read; create -> Create; update -> Edit; upsert -> Create + Edit;
delete -> Delete. Then the dependencies the platform enforces are added, each justified by
the permission that needs it: Create / Edit need Read, Delete needs Read and Edit, View All
needs Read, Modify All needs Read, Edit, Delete and View All, and Read on a master-detail
child needs Read on its master. View All / Modify All come only from calls that reached
records outside the user's sharing, and only when settings allow; otherwise a blocker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Blocker, Justification, ObjectPermission, OperationEvidence, PlanInputs
from ..settings import PlanSettings
from .observed import Names, observed, summary

FLAGS = ("read", "create", "edit", "delete", "view_all", "modify_all")
FLAG_LABEL = {
    "read": "Read",
    "create": "Create",
    "edit": "Edit",
    "delete": "Delete",
    "view_all": "View All",
    "modify_all": "Modify All",
}
OPERATION_FLAGS: dict[str, tuple[str, ...]] = {
    "query": ("read",),
    "retrieve": ("read",),
    "create": ("create",),
    "update": ("edit",),
    "upsert": ("create", "edit"),
    "delete": ("delete",),
}
READ_OPERATIONS = frozenset({"query", "retrieve"})
WRITE_OPERATIONS = frozenset({"create", "update", "upsert"})
# Flag -> flags it needs on the same object (ObjectPermissions dependency table).
DEPENDS: dict[str, tuple[str, ...]] = {
    "create": ("read",),
    "edit": ("read",),
    "delete": ("read", "edit"),
    "view_all": ("read",),
    "modify_all": ("read", "edit", "delete", "view_all"),
}
# Operations whose calls on other people's records need Modify All rather than View All.
_ALL_RECORDS_FLAG = {"query": "view_all", "retrieve": "view_all", "update": "modify_all",
                     "upsert": "modify_all", "delete": "modify_all"}  # fmt: skip
_NOT_GRANTABLE_ACTION = (
    "Keep this part of the integration on a dedicated full-licence user (not a person), or "
    "change the integration so it no longer needs it; the rest of the plan cannot go ahead "
    "without it."
)


def permission_label(obj: str, flag: str) -> str:
    return f"{FLAG_LABEL[flag]} {obj}"


@dataclass
class ObjectGrants:
    """object -> flag -> why; blockers for what cannot be granted; notes for people."""

    grants: dict[str, dict[str, list[Justification]]] = field(default_factory=dict)
    blockers: list[Blocker] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, obj: str, flag: str, why: Justification) -> bool:
        """Record ``why`` for ``obj``/``flag``; False when it was already there."""
        reasons = self.grants.setdefault(obj, {}).setdefault(flag, [])
        if why in reasons:
            return False
        reasons.append(why)
        return True


def derive_objects(
    inputs: PlanInputs, names: Names, operations: list[OperationEvidence], settings: PlanSettings
) -> ObjectGrants:
    out = ObjectGrants()
    masters = {names.obj(d): [names.obj(m) for m in ms] for d, ms in inputs.master_detail.items()}
    want_all: dict[str, list[OperationEvidence]] = {}
    for op in operations:
        for flag in OPERATION_FLAGS[op.operation]:
            out.add(op.object, flag, observed(op, op.operation))
        all_flag = _ALL_RECORDS_FLAG.get(op.operation)
        if op.all_records and all_flag:
            if settings.allow_view_all_modify_all:
                out.add(
                    op.object,
                    all_flag,
                    observed(op, op.operation, "reached records outside the user's sharing"),
                )
            else:
                want_all.setdefault(op.object, []).append(op)
    _add_dependencies(out, masters)
    _drop_public_reads(out, inputs, names, operations)
    _block_ungrantable(out, inputs, names, masters, operations)
    _prune(out)
    for obj, ops in sorted(want_all.items()):
        if obj in out.grants:
            out.blockers.append(_view_all_blocker(obj, ops))
    out.blockers.sort(key=lambda b: (b.object, b.reason))
    return out


def _add_dependencies(out: ObjectGrants, masters: dict[str, list[str]]) -> None:
    """Add what the platform requires until nothing changes (chains: Modify All -> Delete
    -> Edit -> Read -> Read master -> Read master's master)."""
    changed = True
    while changed:
        changed = False
        for obj in sorted(out.grants):
            for flag in [f for f in FLAGS if f in out.grants[obj]]:
                needer = permission_label(obj, flag)
                for need in DEPENDS.get(flag, ()):
                    why = Justification(kind="dependency", required_by=needer)
                    changed |= out.add(obj, need, why)
                if flag == "read":
                    for master in masters.get(obj, ()):
                        why = Justification(
                            kind="dependency", required_by=needer, detail="master-detail"
                        )
                        changed |= out.add(master, "read", why)


def _prune(out: ObjectGrants) -> None:
    """Drop dependencies on permissions that left the plan (a blocked child's Read needed
    its master's Read): what remains must still trace back to an observed call."""
    changed = True
    while changed:
        changed = False
        present = {permission_label(o, f) for o, flags in out.grants.items() for f in flags}
        for obj in sorted(out.grants):
            for flag in list(out.grants[obj]):
                kept = [
                    j
                    for j in out.grants[obj][flag]
                    if j.kind != "dependency" or j.required_by in present
                ]
                if len(kept) != len(out.grants[obj][flag]):
                    changed = True
                    if kept:
                        out.grants[obj][flag] = kept
                    else:
                        del out.grants[obj][flag]
            if not out.grants[obj]:
                del out.grants[obj]


def _drop_public_reads(
    out: ObjectGrants, inputs: PlanInputs, names: Names, operations: list[OperationEvidence]
) -> None:
    """Objects every user can read need no permission for reads alone."""
    public = {names.obj(o) for o in inputs.public_objects}
    for obj in sorted(public & set(out.grants)):
        if set(out.grants[obj]) == {"read"}:
            calls = sum(op.count for op in operations if op.object == obj)
            del out.grants[obj]
            out.notes.append(
                f"{obj} is readable by every user: its {calls:,} read calls need no permission."
            )


def _block_ungrantable(
    out: ObjectGrants,
    inputs: PlanInputs,
    names: Names,
    masters: dict[str, list[str]],
    operations: list[OperationEvidence],
) -> None:
    if inputs.grantable_objects is None:
        out.notes.append(
            "Which objects the Integration licence can carry was not checked (unknown for "
            "this org): provisioning fails on any object it cannot."
        )
        return
    grantable = {names.obj(o) for o in inputs.grantable_objects}
    blocked: dict[str, str] = {}
    for obj in sorted(out.grants):
        if obj not in grantable:
            blocked[obj] = (
                f"{obj} cannot be granted to a user with the Salesforce Integration licence "
                "and the Salesforce API Integration permission set licence."
            )
    changed = True
    while changed:  # a child whose master is blocked cannot be read either
        changed = False
        for obj in sorted(set(out.grants) - set(blocked)):
            stuck = [m for m in masters.get(obj, ()) if m in blocked]
            if stuck and "read" in out.grants[obj]:
                blocked[obj] = (
                    f"Read {obj} needs Read {stuck[0]} (master-detail), which cannot be granted."
                )
                changed = True
    for obj, reason in sorted(blocked.items()):
        flags = out.grants.pop(obj)
        reasons = [j for js in flags.values() for j in js]
        calls, first, last, example = summary(reasons)
        if not calls:  # only needed by other permissions: say which
            needers = sorted({j.required_by for j in reasons if j.required_by})
            reason += f" It is needed for {', '.join(needers)}."
        out.blockers.append(
            Blocker(
                object=obj,
                permissions=[FLAG_LABEL[f] for f in FLAGS if f in flags],
                reason=reason,
                action=_NOT_GRANTABLE_ACTION,
                count=calls,
                first_seen=first,
                last_seen=last,
                example=example,
            )
        )


def _view_all_blocker(obj: str, ops: list[OperationEvidence]) -> Blocker:
    writes = any(op.operation != "query" and op.operation != "retrieve" for op in ops)
    perm = "Modify All" if writes else "View All"
    calls, first, last, example = summary(observed(op, op.operation) for op in ops)
    return Blocker(
        object=obj,
        permissions=[perm],
        reason=(
            f"Calls on {obj} reached records outside the user's sharing, which needs {perm} "
            f"{obj}; settings allow neither View All nor Modify All."
        ),
        action=(
            "Share those records with the new user (a sharing rule, its role or record "
            "ownership), or set HANDOVER_PLAN__ALLOW_VIEW_ALL_MODIFY_ALL=true and plan again."
        ),
        count=calls,
        first_seen=first,
        last_seen=last,
        example=example,
    )


def ordered_permissions(
    grants: dict[str, dict[str, list[Justification]]], masters: dict[str, list[str]]
) -> list[ObjectPermission]:
    """Masters before their details (the platform checks Read master at insert), then by name."""

    def depth(obj: str, seen: frozenset[str] = frozenset()) -> int:
        ups = [m for m in masters.get(obj, ()) if m in grants and m not in seen]
        return 1 + max(depth(m, seen | {obj}) for m in ups) if ups else 0

    return [
        ObjectPermission.model_validate({"object": obj, **{f: f in grants[obj] for f in FLAGS}})
        for obj in sorted(grants, key=lambda o: (depth(o), o))
    ]
