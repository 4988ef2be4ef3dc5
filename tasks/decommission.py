"""Decommission the old dependency, not the person: revoke the human's OAuth tokens for
this app only, end their sessions of it, remove app access granted for the integration
alone (anything else is reported, never removed). Freezing the account is a step of its
own, behind its own gate, only when the evidence says it is kept alive for the
integration alone."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from handover.migration.actions import decommission_actions, freeze_actions
from handover.migration.apply import apply_actions
from handover.migration.decommission import decommission_plan
from handover.models import AccountUse, DecommissionPlan, LedgerEntry, WriteAction
from handover.salesforce.revoke import HumanPaths
from handover.usage import UsageStore
from tasks.context import MigrationRun


@task(name="plan-decommission", cache_policy=NO_CACHE, persist_result=False)
def decommission_decisions(run: MigrationRun) -> DecommissionPlan:
    """What may be taken from the human, each as (ok, reason): read once, remembered, so
    the gate shows what decommission then does (a re-run reads the same decisions)."""
    known = run.facts().get("decommission_plan")
    if known:
        return DecommissionPlan.model_validate(known)
    plan, paths = run.plan, HumanPaths(run.gateway)
    app_id = plan.cutover.connected_app_id if plan.cutover else None
    app_id = app_id or next((a.app_id for a in plan.permission_set.connected_app_access), None)
    ew = plan.evidence_window
    with UsageStore(run.settings.store.url) as store:
        activity = store.account_activity(
            run.gateway.org_id(), plan.human.user_id, plan.app_key, ew.start, ew.end
        )
    ours = run.port().get("provision:permission-set")
    decisions = decommission_plan(
        human_user_id=plan.human.user_id,
        human_username=plan.human.username,
        app_name=plan.app_name,
        connected_app_id=app_id,
        tokens=paths.tokens(plan.human.user_id),
        grants=paths.app_grants(app_id) if app_id else [],
        account=AccountUse(
            days_observed=ew.days_observed,
            ui_logins=activity.ui_logins,
            last_ui_login=activity.last_ui_login,
            other_apps=activity.other_apps,
        ),
        integration_parent_ids=[ours.record_id] if ours and ours.record_id else [],
    )
    if not run.dry_run:
        run.remember(decommission_plan=decisions.model_dump(mode="json"))
    return decisions


@task(name="decommission", cache_policy=NO_CACHE, persist_result=False)
def decommission(run: MigrationRun, actions: list[WriteAction]) -> list[LedgerEntry]:
    run.ledger.at_step(run.migration_id, "decommission")
    entries = apply_actions(actions, run.port(), run.org(), dry_run=False)
    get_run_logger().info("decommissioned %s's path to %s: %d writes", run.plan.human.username,
                          run.plan.app_name, len(entries))  # fmt: skip
    return entries


@task(name="freeze", cache_policy=NO_CACHE, persist_result=False)
def freeze(run: MigrationRun, decisions: DecommissionPlan) -> list[LedgerEntry]:
    run.ledger.at_step(run.migration_id, "freeze")
    return apply_actions(freeze_actions(decisions), run.port(), run.org(), dry_run=False)


def decommission_writes(decisions: DecommissionPlan) -> list[WriteAction]:
    return decommission_actions(decisions)
