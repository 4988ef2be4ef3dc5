"""Least-privilege planning: the access an integration was observed to use, as a new
Integration User and one permission set, never more than the human it runs under had.

Pure: ``PlanInputs`` in (the usage store's evidence, the human's access, the org's
describe), ``AccessPlan`` or ``PlanRefusal`` out; no I/O. The steps:

1. evidence (planning/cadence.py): enough days, no unreported gaps, two cycles of the
   integration's cadence, or "insufficient evidence" saying what is missing;
2. objects (planning/grants.py): operation -> permission, platform dependencies, objects
   the Integration licence cannot carry turned into blockers;
3. fields (planning/fields.py): the fields the logs show, or the object-level fallback;
4. the system permission (API Enabled) and the connected app (SetupEntityAccess);
5. operations of unknown kind (planning/kinds.py), e.g. Bulk API jobs whose operation no
   log says: each is a blocker, never left out;
6. invariants (planning/checks.py) on the finished plan: no new access, justified,
   dependencies, grantable, known kinds. Any failure gives a refusal, never a smaller plan;
7. the cutover section (planning/cutover.py), when the inputs carry how the pair logs in:
   the route, with the operator's choice where the evidence has none. A blocked cutover
   does not block the plan (its access is right); the migration refuses to start on it.

Decisions: a plan with blockers is returned with status "blocked": shown in full so people
see what the integration needs, never approvable or applied. Names come from the finding
(planning/naming.py), so planning again names the same user and permission set.
"""

from __future__ import annotations

from datetime import date

from .models import (
    AccessPlan,
    ConnectedAppAccess,
    HumanSummary,
    Justification,
    OperationEvidence,
    PermissionSetSpec,
    PlanInputs,
    PlanRefusal,
    Provenance,
)
from .planning import naming
from .planning.cadence import assess_evidence
from .planning.canonical import content_hash, plan_hash, plan_json
from .planning.checks import verify_plan
from .planning.cutover import with_route
from .planning.fields import FieldGrants, derive_fields
from .planning.grants import (
    FLAGS,
    ObjectGrants,
    derive_objects,
    ordered_permissions,
    permission_label,
)
from .planning.headline import headline, permission_words, refusal_headline
from .planning.kinds import is_unknown_kind, unknown_kind_blockers, unknown_operations
from .planning.observed import Names, merge_fields, merge_operations, summary
from .settings import PlanSettings

__all__ = ["build_plan", "content_hash", "plan_hash", "plan_json", "verify_plan"]

API_ENABLED = "ApiEnabled"


def build_plan(inputs: PlanInputs, settings: PlanSettings) -> AccessPlan | PlanRefusal:
    """The plan for ``inputs.finding``, or the reasons there is none. Raises ConfigError
    when the username template cannot give a valid username for the org's domain."""
    finding = inputs.finding
    window, insufficient = assess_evidence(inputs, settings)
    refusals = _verdict_refusals(inputs)
    names = Names(inputs)
    operations = merge_operations(inputs, names)
    field_usage = merge_fields(inputs, names)
    objects = derive_objects(inputs, names, operations, settings)
    fields = derive_fields(inputs, names, operations, field_usage, set(objects.grants), settings)
    masters = {names.obj(d): [names.obj(m) for m in ms] for d, ms in inputs.master_detail.items()}
    object_perms = ordered_permissions(objects.grants, masters)
    app_id = inputs.connected_app_id or finding.connected_app_id
    app_name = inputs.connected_app_name or finding.app_name
    apps = [ConnectedAppAccess(app_id=app_id, app_name=app_name)] if app_id else []
    human = _human_summary(inputs)
    user = naming.integration_user(finding, finding.app_name, inputs.org_domain, settings)
    cutover = (
        with_route(inputs.cutover, inputs.route, new_username=user.username)
        if inputs.cutover is not None
        else None
    )
    unknown = unknown_operations(inputs.other_operations)
    permission_set = PermissionSetSpec(
        name=naming.permission_set_name(finding.app_name, finding.finding_id, settings),
        label=naming.permission_set_label(finding.app_name),
        license=naming.INTEGRATION_PSL,
        description=naming.clip(
            f"What {naming.display_name(finding.app_name)} was observed to use as "
            f"{finding.username} from {window.start} to {window.end} (finding "
            f"{finding.finding_id}), planned by handover.",
            naming.MAX_DESCRIPTION,
        ),
        object_permissions=object_perms,
        field_permissions=fields.permissions(),
        system_permissions=[API_ENABLED] if operations or unknown else [],
        connected_app_access=apps,
    )
    coverage = fields.coverage
    blockers = objects.blockers + unknown_kind_blockers(inputs.other_operations, names)
    blockers.sort(key=lambda b: (b.object, b.reason))
    content = {
        "status": "blocked" if blockers else "ready",
        "finding_id": finding.finding_id,
        "org_id": finding.org_id,
        "app_name": finding.app_name,
        "app_key": finding.app_key,
        "human": human,
        "user": user,
        "permission_set": permission_set,
        "provenance": _provenance(objects, fields, operations, apps, unknown),
        "blockers": blockers,
        "evidence_window": window,
        "field_level_evidence": (
            "observed" if any("observed" in (c.reads, c.writes) for c in coverage) else "missing"
        ),
        "field_coverage": coverage,
        "operations": operations,
        "field_usage": field_usage,
        "notes": _notes(inputs, objects, fields, window.gap_days, bool(apps)),
        "headline": headline(human, object_perms, blockers),
        "hash": "",
        "cutover": cutover,
    }
    draft = AccessPlan.model_validate(content)
    plan = draft.model_copy(update={"hash": plan_hash(draft)})
    problems = verify_plan(plan, inputs)
    if insufficient or refusals or problems:
        return PlanRefusal(
            status="insufficient_evidence" if insufficient else "refused",
            finding_id=finding.finding_id,
            org_id=finding.org_id,
            app_name=finding.app_name,
            username=finding.username,
            # What could not be read of the human's access explains a "no new access" refusal.
            reasons=insufficient + refusals + problems + (inputs.human.notes if problems else []),
            evidence_window=window,
            headline=refusal_headline(finding.app_name, finding.username, bool(insufficient)),
        )
    return plan


def _verdict_refusals(inputs: PlanInputs) -> list[str]:
    f = inputs.finding
    if f.verdict == "dedicated_integration" or f.license == naming.INTEGRATION_LICENSE:
        return [f"{f.username} is already a dedicated integration user: there is nothing to move."]
    if f.verdict == "human_interactive":
        return [
            f"Finding {f.finding_id} is {f.username} working interactively, not an integration: "
            "planning it would move a person's own work onto a service account."
        ]
    if inputs.human.user_id[:15] != f.user_id[:15]:
        return [
            f"The human access given is {inputs.human.username}'s, but the finding is about "
            f"{f.username}: a bug in the caller."
        ]
    return []


def _human_summary(inputs: PlanInputs) -> HumanSummary:
    h = inputs.human
    return HumanSummary(
        user_id=h.user_id,
        username=h.username,
        name=h.name,
        profile=h.profile,
        license=h.license,
        permission_sets=sorted(h.permission_sets),
        permission_set_groups=sorted(h.permission_set_groups),
        system_permissions=sorted(h.system_permissions),
        modify_all_data=h.modify_all_data,
        view_all_data=h.view_all_data,
        reachable_objects=h.reachable_objects,
    )


def _entry(kind: str, target: str, access: str, label: str, why: list[Justification]) -> Provenance:
    # Observed first, then object-level, then dependencies; each group in a fixed order.
    rank = {"observed": 0, "object_level": 1, "dependency": 2}
    ordered = sorted(why, key=lambda j: (rank[j.kind], j.operation, j.required_by, j.detail))
    count, first, last, example = summary(ordered)
    return Provenance.model_validate(
        {
            "kind": kind,
            "target": target,
            "access": access,
            "permission": label,
            "justifications": ordered,
            "count": count,
            "first_seen": first,
            "last_seen": last,
            "example": example,
        }
    )


def _provenance(
    objects: ObjectGrants,
    fields: FieldGrants,
    operations: list[OperationEvidence],
    apps: list[ConnectedAppAccess],
    unknown: dict[str, int],
) -> list[Provenance]:
    out = [
        _entry("object", obj, flag, permission_label(obj, flag), flags[flag])
        for obj, flags in sorted(objects.grants.items())
        for flag in FLAGS
        if flag in flags
    ]
    out += [
        _entry("field", path, access, f"{access.capitalize()} {path}", acc[access])
        for path, acc in sorted(fields.grants.items())
        for access in ("read", "edit")
        if access in acc
    ]
    if not operations and not unknown:
        return out
    # Calls of unknown kind are API calls through the app too (a plan blocked on them
    # still shows what the integration reaches the org with).
    calls, first, last, example = summary(
        [
            Justification(
                kind="observed",
                operation=op.operation,
                count=op.count,
                first_seen=op.first_seen,
                last_seen=op.last_seen,
                example=op.example,
            )
            for op in operations
        ]
        + [Justification(kind="observed", operation=k, count=n) for k, n in unknown.items()]
    )
    api = Justification(
        kind="observed",
        operation="api",
        count=calls,
        first_seen=first,
        last_seen=last,
        example=example,
        detail="every call the integration made is an API call",
    )
    out.append(_entry("system", API_ENABLED, "enabled", permission_words(API_ENABLED), [api]))
    for app in apps:
        through = api.model_copy(update={"detail": f"the calls came through {app.app_name}"})
        out.append(
            _entry(
                "connected_app", app.app_id, "access", f"Connected app {app.app_name}", [through]
            )
        )
    return out


def _notes(
    inputs: PlanInputs,
    objects: ObjectGrants,
    fields: FieldGrants,
    gaps: list[date],
    has_app: bool,
) -> list[str]:
    notes = [
        f"The profile {naming.INTEGRATION_PROFILE} makes the user API-only "
        f"({permission_words('ApiUserOnly')}): it cannot log in to the Salesforce UI."
    ]
    if inputs.finding.verdict == "unclear":
        notes.append(
            "Detection was unclear whether this is an integration: confirm with the human "
            "before approving."
        )
    if not has_app:
        notes.append(
            f"The calls came through no connected app ({inputs.finding.app_name}): there is "
            "no app access to grant, and the cutover is changing the credentials the external "
            "system holds to the new user's."
        )
    if not inputs.field_evidence_available:
        notes.append(
            "The org's logs carry no field lists (no Event Monitoring API or ApiEvent files "
            "were ingested): field-level evidence is missing, so field permissions are "
            "object-level."
        )
    notes += inputs.notes + inputs.human.notes
    # Operations of unknown kind are blockers; the rest are named here to check by hand.
    other = {k: n for k, n in inputs.other_operations.items() if not is_unknown_kind(k)}
    if other:
        calls = ", ".join(f"{k} ×{n:,}" for k, n in sorted(other.items()))
        notes.append(
            f"The integration also made calls no object permission is planned from ({calls}): "
            "check they work as the new user before cutover."
        )
    if gaps:
        notes.append(
            f"The logs of {len(gaps)} day{'s' if len(gaps) != 1 else ''} in the window are "
            f"lost ({', '.join(d.isoformat() for d in gaps)}): anything done only then is "
            "not in this plan."
        )
    return notes + objects.notes + fields.notes
