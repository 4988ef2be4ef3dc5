"""Plan tasks: read the finding and its evidence from the usage store, read the human's
access and the objects' describes from the org, save the plan by its hash, publish it.
Thin: the store, the gateway and handover.plan do the work. Every org read is read-only:
planning never writes to the org.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from handover.errors import EvidenceError, MigrationError
from handover.models import AccessPlan, CutoverSpec, Finding, HumanAccess, PlanRefusal, RouteChoice
from handover.plan import build_plan
from handover.planning.cutover import cutover_spec
from handover.planning.inputs import OrgFacts, StoreEvidence, grantability_note, plan_inputs
from handover.render import render_plan_markdown
from handover.salesforce import SalesforceGateway
from handover.salesforce.access import PUBLIC_OBJECTS
from handover.settings import PlanSettings
from handover.store.plans import PlanStore
from handover.usage.store import UsageStore
from tasks.report import artifact_key

OBJECT_FLAGS = ("read", "create", "edit", "delete", "view_all", "modify_all")


def plan_artifact_key(finding_id: str) -> str:
    """The plan's Markdown artifact: one key per finding, so its history is that finding's."""
    return artifact_key("access-plan", finding_id)


def permissions_artifact_key(finding_id: str) -> str:
    return artifact_key("access-plan", finding_id, "permissions")


@task(name="load-finding", cache_policy=NO_CACHE, persist_result=False)
def load_finding(store: UsageStore, org_id: str, finding_id: str, org_name: str) -> Finding:
    """The finding as the latest discovery run saw it."""
    finding = store.find_finding(org_id, finding_id)
    if finding is None:
        raise EvidenceError(
            f"no finding {finding_id!r} in the latest discovery run of {org_name} ({org_id}): "
            f"run discovery first (`handover discover`) and plan one of the ids it lists."
        )
    return finding


@task(name="read-evidence", cache_policy=NO_CACHE, persist_result=False)
def read_evidence(store: UsageStore, finding: Finding) -> StoreEvidence:
    """The pair's operations, fields and days, over the finding's window as far as the
    store's history reaches."""
    f = finding
    cov = store.evidence_coverage(f.org_id, f.window_start, f.window_end)
    start, end = cov.start, cov.end
    args = (f.org_id, f.user_id, f.app_key, start, end)
    evidence = StoreEvidence(
        start=start,
        end=end,
        operations=store.operation_evidence(*args),
        fields=store.field_evidence(*args),
        field_evidence_available=store.field_evidence_available(f.org_id, start, end),
        days_observed=cov.days_observed,
        gap_days=cov.gap_days,
        unrecorded_days=cov.unrecorded_days,
        calls_by_day=store.calls_by_day(*args),
        other_operations=store.other_operations(*args),
    )
    if evidence.other_operations:
        # The plan names them too; the log makes them visible while the run is watched.
        get_run_logger().warning(
            "%s also made calls no permission is planned from: %s",
            f.app_name,
            ", ".join(f"{k} ×{n:,}" for k, n in evidence.other_operations.items()),
        )
    return evidence


@task(name="read-cutover-evidence", cache_policy=NO_CACHE, persist_result=False)
def read_cutover_evidence(
    store: UsageStore, finding: Finding, evidence: StoreEvidence
) -> CutoverSpec:
    """How the pair logs in over the evidence window (LoginHistory labels, OAuth refresh
    tokens): the plan's cutover section."""
    kinds = store.login_kinds(
        finding.org_id,
        finding.user_id,
        [finding.app_name],
        finding.connected_app_id,
        evidence.start,
        evidence.end,
    )
    return cutover_spec(
        app_name=finding.app_name,
        connected_app_id=finding.connected_app_id,
        logins=kinds.logins,
        token_uses=kinds.token_uses,
        token_rows=kinds.token_rows,
    )


@task(name="read-human-access", cache_policy=NO_CACHE, persist_result=False)
def read_human_access(gateway: SalesforceGateway, user_id: str) -> HumanAccess:
    return gateway.human_access(user_id)


@task(name="read-org-facts", cache_policy=NO_CACHE, persist_result=False)
def read_org_facts(
    gateway: SalesforceGateway, finding: Finding, objects: list[str], non_grantable: list[str]
) -> OrgFacts:
    """Describes of the evidence's objects, what the Integration licence can carry, and
    the connected app as the org names it now."""
    describes = gateway.describe_objects(objects)
    app_id, app_name = finding.connected_app_id, None
    if app_id:
        app = gateway.connected_app(app_id)
        if app is None:
            get_run_logger().warning(
                "connected app %s (%s) is not in the org any more", finding.app_name, app_id
            )
        else:
            app_name = str(app.get("Name") or finding.app_name)
    return OrgFacts(
        notes=[grantability_note(non_grantable)],
        permissionable_fields=describes.permissionable_fields,
        readonly_fields=describes.readonly_fields,
        master_detail=describes.master_detail,
        grantable_objects=gateway.grantable_objects(non_grantable),
        public_objects=PUBLIC_OBJECTS,
        connected_app_id=app_id,
        connected_app_name=app_name,
    )


@task(name="build-plan", cache_policy=NO_CACHE, persist_result=False)
def make_plan(
    finding: Finding,
    evidence: StoreEvidence,
    human: HumanAccess,
    facts: OrgFacts,
    settings: PlanSettings,
    cutover: CutoverSpec | None = None,
    route: RouteChoice | None = None,
) -> AccessPlan | PlanRefusal:
    """The least-privilege plan from what was read (or the refusal, saying why), with its
    cutover section (the route an operator named, if any)."""
    return build_plan(plan_inputs(finding, evidence, human, facts, cutover, route), settings)


@task(name="save-plan", cache_policy=NO_CACHE, persist_result=False)
def save_plan(plans: PlanStore, plan: AccessPlan | PlanRefusal) -> str | None:
    """The plan, saved under its hash: what an approval binds to and the migration applies.
    A refusal is no plan: nothing to approve or apply, so nothing is saved."""
    if not isinstance(plan, AccessPlan):
        get_run_logger().info("no plan to save: %s", plan.status)
        return None
    saved = plans.save(plan)
    get_run_logger().info("plan %s saved (%s)", saved.plan_hash[:12], saved.status)
    return saved.plan_hash


def permissions_table(plan: AccessPlan) -> list[dict[str, Any]]:
    """One row per object and field permission, with the successful calls behind it."""
    calls: dict[str, int] = {}
    for ev in plan.operations:
        calls[ev.object] = calls.get(ev.object, 0) + ev.count
    prov = {(p.kind, p.target, p.access): p for p in plan.provenance}
    rows: list[dict[str, Any]] = []
    for op in plan.permission_set.object_permissions:
        flags = [f for f in OBJECT_FLAGS if getattr(op, f)]
        rows.append(
            {
                "permission": "object",
                "target": op.object,
                "access": ", ".join(flags),
                "calls": calls.get(op.object, 0),
            }
        )
    for fp in plan.permission_set.field_permissions:
        read = prov.get(("field", fp.field, "read"))
        rows.append(
            {
                "permission": "field",
                "target": fp.field,
                "access": "read, edit" if fp.edit else "read",
                "calls": read.count if read else 0,
            }
        )
    return rows


@task(name="publish-plan", cache_policy=NO_CACHE, persist_result=False)
def publish_plan(plan: AccessPlan | PlanRefusal) -> str:
    """The plan (or the refusal) as a Markdown artifact, and its permissions as a table."""
    markdown = render_plan_markdown(plan)
    create_markdown_artifact(
        markdown,
        key=plan_artifact_key(plan.finding_id),
        description=f"Access plan for {plan.app_name}",
    )
    if isinstance(plan, AccessPlan):
        create_table_artifact(
            permissions_table(plan),
            key=permissions_artifact_key(plan.finding_id),
            description=f"Permissions planned for {plan.user.username}",
        )
    return markdown


@task(name="load-saved-plan", cache_policy=NO_CACHE, persist_result=False)
def load_saved_plan(
    plans: PlanStore,
    org_id: str,
    finding_id: str,
    plan_hash: str | None,
    route: RouteChoice | None,
) -> AccessPlan:
    """The plan a migration applies: the one saved under ``plan_hash`` (its hash checked
    again), else the finding's latest. Refused unless it is ready, its cutover has a route,
    and it is the finding's and the org's."""
    plan = plans.load(plan_hash) if plan_hash else plans.latest(org_id, finding_id)
    if plan is None:
        raise MigrationError(
            f"no saved plan for finding {finding_id}: make one first (`handover plan "
            f"--finding {finding_id}`), then migrate it"
        )
    if plan.finding_id != finding_id or plan.org_id[:15] != org_id[:15]:
        raise MigrationError(
            f"plan {plan.hash[:12]} is for finding {plan.finding_id} in org {plan.org_id}, not "
            f"finding {finding_id} in {org_id}: give the plan of this finding"
        )
    problems = migration_refusals(plan, route)
    if problems:
        raise MigrationError(
            f"plan {plan.hash[:12]} of {plan.app_name} cannot be migrated: " + " ".join(problems)
        )
    get_run_logger().info("migrating plan %s (%s)", plan.hash[:12], plan.headline)
    return plan


def migration_refusals(plan: AccessPlan, route: RouteChoice | None) -> list[str]:
    """Why a saved plan may not be applied (empty: it may)."""
    out = []
    if plan.status != "ready":
        reasons = "; ".join(f"{b.object}: {b.reason}" for b in plan.blockers[:5])
        out.append(f"it is {plan.status} ({reasons}); resolve its blockers and plan again.")
    c = plan.cutover
    if c is None:
        out.append("it has no cutover section (it was made before plans carried one): plan again.")
    elif c.blocked:
        out.append(f"its cutover is blocked: {c.blocker}")
        if c.alternatives:
            out.append(
                f"Plan again naming the route (`handover plan --finding {plan.finding_id} "
                f"--route {' | '.join(c.alternatives)}`)."
            )
    elif route is not None and route != (c.chosen_route or _pattern_route(c)):
        out.append(
            f"it cuts over by {c.chosen_route or c.auth_pattern}, not {route}: the route is "
            f"part of the approved plan; plan again with --route {route}."
        )
    return out


def _pattern_route(c: CutoverSpec) -> str:
    return {"run_as": "client_credentials", "username": "jwt_bearer"}.get(c.route, c.route)
