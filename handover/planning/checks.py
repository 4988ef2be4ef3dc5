"""The invariants a plan must hold before anyone is asked to approve it, checked on the
finished plan as data, independently of how it was derived (the way AWS's CheckNoNewAccess
compares two policies rather than trusting the tool that wrote one):

* no new access: nothing broader than the human's effective access, object and field;
* justified: every permission traces back, through dependencies, to observed calls;
* dependencies: what the platform requires (Create / Edit need Read, Delete needs Read and
  Edit, Modify All needs the rest, Read detail needs Read master, field Edit needs Read);
* grantable: no object the Integration licence cannot carry;
* known kinds: "ready" only when every observed operation on a data object is of known
  kind; each one of unknown kind (a Bulk job no log names the operation of) blocks it.

Each check returns reasons, empty when it holds.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..models import AccessPlan, HumanAccess, PermissionSetSpec, PlanInputs, Provenance
from .grants import DEPENDS, FLAG_LABEL, FLAGS, permission_label
from .kinds import NO_OBJECT, split_key, unknown_operations

_API_ENABLED = "ApiEnabled"


def granted(ps: PermissionSetSpec) -> Iterator[tuple[str, str, str, str]]:
    """Every permission of a permission set as (kind, target, access, label)."""
    for op in ps.object_permissions:
        for flag in FLAGS:
            if getattr(op, flag):
                yield "object", op.object, flag, permission_label(op.object, flag)
    for fp in ps.field_permissions:
        if fp.read:
            yield "field", fp.field, "read", f"Read {fp.field}"
        if fp.edit:
            yield "field", fp.field, "edit", f"Edit {fp.field}"
    for perm in ps.system_permissions:
        yield "system", perm, "enabled", perm
    for app in ps.connected_app_access:
        yield "connected_app", app.app_id, "access", f"Connected app {app.app_name}"


def _why(p: Provenance | None) -> str:
    if p is None:
        return ""
    if p.count:
        first = p.first_seen.date() if p.first_seen else "?"
        last = p.last_seen.date() if p.last_seen else "?"
        return f" ({p.count:,} calls observed, {first} to {last})"
    needers = sorted({j.required_by for j in p.justifications if j.required_by})
    return f" (required by {', '.join(needers)})" if needers else ""


def check_no_new_access(plan: AccessPlan, human: HumanAccess) -> list[str]:
    """Refusals for everything the plan grants that the human cannot do today."""
    prov: dict[tuple[str, str, str], Provenance] = {
        (p.kind, p.target, p.access): p for p in plan.provenance
    }
    who = human.username
    lacking: list[str] = []
    for kind, target, access, _label in granted(plan.permission_set):
        if kind == "object":
            ok = getattr(human.object_access(target), access)
            what = f"{FLAG_LABEL[access]} on {target}"
        elif kind == "field":
            obj, _, name = target.partition(".")
            ok = getattr(human.field_access(obj, name), access)
            what = f"{access.capitalize()} on field {target}"
        elif kind == "system":
            ok = target in human.system_permissions
            what = f"the system permission {target}"
        else:
            continue  # the human reached the app: that is the finding itself
        if not ok:
            lacking.append(
                f"{what}{_why(prov.get((kind, target, access)))}: {who} does not have it today, "
                "and a plan never grants more than the human had. Re-read the human's access "
                "(it may have changed since the calls) and find out how the calls succeeded "
                "before planning again."
            )
    return lacking


def check_justified(plan: AccessPlan) -> list[str]:
    """Permissions with no provenance, or whose provenance never reaches an observed call."""
    by_key: dict[tuple[str, str, str], Provenance] = {
        (p.kind, p.target, p.access): p for p in plan.provenance
    }
    by_label = {p.permission: p for p in plan.provenance}

    def grounded(p: Provenance, seen: frozenset[str]) -> bool:
        for j in p.justifications:
            if j.kind != "dependency" and j.count > 0:
                return True
            if j.kind == "dependency" and j.required_by not in seen:
                needer = by_label.get(j.required_by)
                if needer is not None and grounded(needer, seen | {p.permission}):
                    return True
        return False

    problems = []
    for kind, target, access, label in granted(plan.permission_set):
        p = by_key.get((kind, target, access))
        if p is None:
            problems.append(f"{label} has no provenance: no observed call justifies it.")
        elif not grounded(p, frozenset()):
            problems.append(f"{label} does not trace back to any observed call.")
    return problems


def check_dependencies(ps: PermissionSetSpec, master_detail: dict[str, list[str]]) -> list[str]:
    problems = []
    objects = {op.object.lower(): op for op in ps.object_permissions}
    masters = {d.lower(): ms for d, ms in master_detail.items()}
    for op in ps.object_permissions:
        for flag, needs in DEPENDS.items():
            if getattr(op, flag):
                missing = [FLAG_LABEL[n] for n in needs if not getattr(op, n)]
                if missing:
                    problems.append(
                        f"{permission_label(op.object, flag)} depends on "
                        + ", ".join(f"{m} {op.object}" for m in missing)
                    )
        if op.read:
            for master in masters.get(op.object.lower(), []):
                mp = objects.get(master.lower())
                if mp is None or not mp.read:
                    problems.append(f"Read {op.object} depends on Read {master} (master-detail)")
    for fp in ps.field_permissions:
        if fp.edit and not fp.read:
            problems.append(f"Edit {fp.field} depends on Read {fp.field}")
        obj = fp.field.partition(".")[0].lower()
        if obj not in objects:
            problems.append(f"{fp.field} is granted without any permission on its object")
    return problems


def check_grantable(ps: PermissionSetSpec, grantable: frozenset[str] | None) -> list[str]:
    if grantable is None:
        return []
    allowed = {o.lower() for o in grantable}
    return [
        f"{op.object} cannot be granted under the Integration licence but is in the plan"
        for op in ps.object_permissions
        if op.object.lower() not in allowed
    ]


def check_known_kinds(plan: AccessPlan, inputs: PlanInputs) -> list[str]:
    """Operations of unknown kind the plan does not block on: a plan may leave out what
    it cannot plan only by being blocked, with a blocker on that object saying so."""
    blocked = {b.object.lower() for b in plan.blockers} if plan.status == "blocked" else set()
    problems = []
    for key, calls in unknown_operations(inputs.other_operations).items():
        obj = split_key(key)[0] or NO_OBJECT
        if obj.lower() not in blocked:
            problems.append(
                f"{key} ({calls:,} calls) is an operation of unknown kind, yet the plan is "
                f"{plan.status} with no blocker on {obj}: it would leave out what the "
                "integration does."
            )
    return problems


def verify_plan(plan: AccessPlan, inputs: PlanInputs) -> list[str]:
    """Every invariant on a finished plan; empty when the plan may be offered."""
    ps = plan.permission_set
    problems = check_no_new_access(plan, inputs.human)
    internal = (
        check_justified(plan)
        + check_dependencies(ps, inputs.master_detail)
        + check_grantable(ps, inputs.grantable_objects)
        + check_known_kinds(plan, inputs)
    )
    if _API_ENABLED not in ps.system_permissions and ps.object_permissions:
        internal.append("the plan grants objects but not API Enabled")
    # These hold by construction; one failing is a bug in handover, not in the evidence.
    return problems + [
        f"Internal check failed (a bug in handover, report it): {p}" for p in internal
    ]
