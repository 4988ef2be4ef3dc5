"""Migrate: hand an integration over from a human account to its least-privilege
Integration User, behind Slack approval gates.

Reads like the admin's runbook: load the saved plan (its hash checked again), open the
migration in the ledger, ask to apply the plan, provision, ask to cut over, cut over (a
person switches the external system when the sink is "operator"), verify (failed: roll
back, say so in the thread, end Failed; no traffic: ask), ask to decommission,
decommission, ask to freeze when the account is kept alive for the integration alone,
freeze, report.

Every write is claimed in the ledger before it is made, so the flow can run again from
the top with the same migration id at any point (a crash, a killed worker, a suspended
gate resumed, ``handover resume``): what is done is skipped, decided gates are passed.
A dry run is decided first: it asks nothing, writes nothing, and lists every write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from handover.errors import ConfigError, MigrationError, ReadOnlyRefused
from handover.migration.actions import freeze_actions
from handover.migration.apply import apply_actions
from handover.migration.steps import extensions_before, inconclusive_gate, may_extend
from handover.migration.summary import change_lines, consequence, preview_json, step_json
from handover.models import MigrationOutcome, VerificationResult
from handover.planning.cutover import check_route
from handover.settings import Settings
from handover.slack.tokens import GateInput
from handover.store.ledger import Ledger, check_migration_id, new_migration_id
from handover.store.plans import PlanStore
from tasks.approvals import ask
from tasks.connect import open_org
from tasks.context import MigrationRun, Opened, open_migration
from tasks.credentials import sink_kind
from tasks.cutover import cut_over, cutover_writes
from tasks.decommission import (
    decommission,
    decommission_decisions,
    decommission_writes,
    freeze,
)
from tasks.names import slug
from tasks.plan import load_saved_plan
from tasks.provision import provision, provisioning_writes
from tasks.report import notify_thread, publish_migration_report, run_url
from tasks.retry import io_options
from tasks.rollback import roll_back
from tasks.verify import ingest_window, verify_access, verify_traffic, wait_for_window, window_of


def run_name() -> str:
    """``migrate-<app>``: the app of the plan the run applies (the finding id when the
    store cannot tell yet)."""
    params = flow_run.parameters
    finding_id = str(params.get("finding_id") or "finding")
    try:
        with PlanStore(Settings().store.url) as plans:
            chosen = params.get("plan_hash")
            plan = plans.load(chosen) if chosen else plans.latest(None, finding_id)
        name = plan.app_name if plan is not None else finding_id
    except Exception:  # a name is never worth failing the run for
        name = finding_id
    return slug("migrate", name)


def refuse_in_discovery_only_mode(settings: Settings) -> None:
    """Discovery-only mode never writes: no migration starts, not even a dry run (its
    probes read connected apps through the Metadata API, which is a POST)."""
    if settings.salesforce.read_only:
        raise ReadOnlyRefused(
            "handover runs in discovery-only mode (HANDOVER_SALESFORCE__READ_ONLY=true): "
            "migrations are refused. Unset it where the worker runs (and grant the "
            "migration's permissions: docs/production.md) to migrate."
        )


def refuse_without_approvals(settings: Settings) -> None:
    """Gates need Slack and the approval service: without them nobody could approve, so
    a migration that writes refuses to start (a dry run needs neither)."""
    missing = []
    if settings.slack.token is None:
        missing.append("HANDOVER_SLACK__TOKEN (the Slack bot token)")
    if not settings.slack.channel:
        missing.append("HANDOVER_SLACK__CHANNEL (where gates are posted)")
    if settings.approvals.token_key is None:
        missing.append("HANDOVER_APPROVALS__TOKEN_KEY (shared with the approval service)")
    if not settings.approvals.approvers and not settings.approvals.approver_group:
        missing.append("HANDOVER_APPROVALS__APPROVERS or HANDOVER_APPROVALS__APPROVER_GROUP")
    if missing:
        raise ConfigError(
            "a migration asks for approvals in Slack before it writes anything, and the "
            "approval service decides them: set " + "; ".join(missing) + ". Run the approval "
            "service (`handover approvals serve`) with the same settings, or try --dry-run."
        )


@flow(name="migrate", flow_run_name=run_name, log_prints=False)
def migrate(
    finding_id: str,
    plan_hash: str | None = None,
    org: str | None = None,
    emulator_info: str | None = None,
    dry_run: bool = False,
    migration_id: str | None = None,
    sink: str | None = None,
    sink_target: str | None = None,
    route: str | None = None,
) -> dict[str, Any]:
    """``{"migration_id", "flow_run_id", "ui_url", "state", "outcome", "steps"}``; a dry
    run's steps are the writes it would make (``{"action", "object", "target", "before",
    "after"}``), a migration's its ledger entries with their status. Run again with the
    same ``migration_id`` to continue a migration."""
    settings = Settings()
    refuse_in_discovery_only_mode(settings)
    chosen_route = check_route(route)
    sink_kind(sink, settings.cutover)  # a bad sink is refused before anything else
    if migration_id:
        check_migration_id(migration_id)
    if not dry_run:
        refuse_without_approvals(settings)
    gateway = open_org(settings, org, emulator_info)
    with PlanStore(settings.store.url) as plans:
        plan = load_saved_plan(plans, gateway.org_id(), finding_id, plan_hash, chosen_route)
    with Ledger(settings.store.url) as ledger:
        run = open_migration(
            Opened(
                settings=settings,
                gateway=gateway,
                ledger=ledger,
                plan=plan,
                migration_id=migration_id or new_migration_id(plan.hash, datetime.now(UTC)),
                flow_run_id=str(flow_run.id) if flow_run.id else None,
                run_url=run_url(),
                dry_run=dry_run,
                params={"org": org, "emulator_info": emulator_info, "sink": sink,
                        "sink_target": sink_target, "route": chosen_route},
            )
        )  # fmt: skip
        if run.status().outcome is None:
            if dry_run:
                preview(run)
            else:
                runbook(run)
        return result(run)


def runbook(run: MigrationRun) -> None:
    io = io_options(run.settings)
    if resume_rollback(run):
        return
    provisioning = provisioning_writes.with_options(**io)(run)
    if not passes(run, "plan", change_lines(provisioning)):
        return
    provision.with_options(**io)(run, provisioning)

    cutover = cutover_writes(run)
    if not passes(run, "cutover", change_lines(cutover)):
        return
    cut_over.with_options(**io)(run, cutover)
    if run.hands_over_credentials and run.sink_kind == "operator":
        switch = f"Switch {run.plan.app_name} to {run.plan.user.username}: the new credentials are in the Prefect Secret block {run.sink.where}"  # fmt: skip
        if not passes(run, "operator", [switch]):
            return

    if not verified(run):
        return

    decisions = decommission_decisions.with_options(**io)(run)
    removals = decommission_writes(decisions)
    if not passes(run, "decommission", change_lines(removals) + decisions.reports):
        return
    decommission.with_options(**io)(run, removals)
    if decisions.freeze.ok:
        if not passes(run, "freeze", change_lines(freeze_actions(decisions))):
            return
        freeze.with_options(**io)(run, decisions)
    finish(run, "successful", f"{run.plan.app_name} runs as {run.plan.user.username}")


def passes(run: MigrationRun, gate: str, changes: list[str]) -> bool:
    """Ask at ``gate``; a "no" (or nobody in time) ends the migration, rolling back first
    where the gate says so."""
    return settle(run, gate, ask(run, gate, changes))


def verified(run: MigrationRun) -> bool:
    """Verification: failed rolls back (and raises); inconclusive asks a person to accept,
    roll back, or extend the window — judged again over the longer window, asked again at
    the next inconclusive gate while traffic stays away."""
    verdict = verification(run)
    while True:
        if verdict.outcome == "failed":
            fail(run, verdict)
        if verdict.outcome != "inconclusive":
            return True
        gate = inconclusive_gate(int(run.facts().get("extensions", 0)))
        answer = ask(run, gate, verdict.reasons)
        if answer.decision != "extend" or not may_extend(gate):
            return settle(run, gate, answer)
        # Idempotent on a re-run: the count comes from the gate, the old verdict goes.
        run.remember(extensions=extensions_before(gate) + 1, verification=None, window=None)
        verdict = verification(run)


def settle(run: MigrationRun, gate: str, answer: GateInput) -> bool:
    """Act on a gate's decision: True to go on; otherwise end the migration."""
    then = consequence(gate, answer.decision, list(answer.approvers), answer.reason)
    if then.proceed:
        return True
    if then.roll_back:
        run.remember(rollback={"outcome": then.outcome, "reason": then.reason})
        roll_back.with_options(**io_options(run.settings))(run, then.reason)
    assert then.outcome is not None
    finish(run, then.outcome, then.reason)
    return False


def verification(run: MigrationRun) -> VerificationResult:
    """Static right after the cutover; then live over the window, once its logs are in."""
    known = run.facts().get("verification")
    if known:
        return VerificationResult.model_validate(known)
    io = io_options(run.settings)
    verdict = verify_access.with_options(**io)(run)
    if verdict.outcome != "failed":
        window = window_of(run)
        run.remember(window=window.as_dict())
        wait_for_window(run, window)
        missing = ingest_window(run, window)
        verdict = verify_traffic.with_options(**io)(run, window, missing)
    run.remember(verification=verdict.model_dump(mode="json"))
    return verdict


def fail(run: MigrationRun, verdict: VerificationResult) -> None:
    reason = "verification failed: " + "; ".join(verdict.reasons)
    run.remember(rollback={"outcome": "failed", "reason": reason})
    roll_back.with_options(**io_options(run.settings))(run, reason)
    finish(run, "failed", reason, notice="verification_failed", reasons=verdict.reasons)
    raise MigrationError(f"{run.migration_id} rolled back: {reason}")


def resume_rollback(run: MigrationRun) -> bool:
    """A run that stopped while rolling back finishes the rollback (and nothing else)."""
    pending = run.facts().get("rollback")
    if not pending:
        return False
    roll_back.with_options(**io_options(run.settings))(run, pending["reason"])
    outcome: MigrationOutcome = pending["outcome"]
    finish(run, outcome, pending["reason"])
    if outcome == "failed":
        raise MigrationError(f"{run.migration_id} rolled back: {pending['reason']}")
    return True


def finish(
    run: MigrationRun,
    outcome: MigrationOutcome,
    reason: str,
    *,
    notice: str = "finished",
    reasons: list[str] | None = None,
) -> None:
    """Record how the migration ended, publish its report, tell its thread, and drop the
    secrets kept for a rollback that can no longer come."""
    run.ledger.finish(run.migration_id, outcome, reason)
    publish_migration_report(run)
    if run.dry_run:
        return
    notify_thread(run, notice, reasons or [])
    if run.hands_over_credentials:
        run.sink.forget()
    get_run_logger().info("migration %s: %s (%s)", run.migration_id, outcome, reason)


def preview(run: MigrationRun) -> None:
    """The dry run: every write the migration would make, with what the org holds now;
    nothing asked, nothing written."""
    io = io_options(run.settings)
    port, org = run.port(), run.org()
    apply_actions(provisioning_writes.with_options(**io)(run), port, org, dry_run=True)
    apply_actions(cutover_writes(run), port, org, dry_run=True)
    decisions = decommission_decisions.with_options(**io)(run)
    apply_actions(decommission_writes(decisions), port, org, dry_run=True)
    if decisions.freeze.ok:
        apply_actions(freeze_actions(decisions), port, org, dry_run=True)
    finish(run, "successful", "dry run: nothing was asked and nothing was written")


def result(run: MigrationRun) -> dict[str, Any]:
    status = run.status()
    entries = run.ledger.steps(run.migration_id)
    return {
        "migration_id": run.migration_id,
        "flow_run_id": run.flow_run_id,
        "ui_url": run.run_url,
        "state": "Completed",
        "outcome": status.outcome,
        "steps": [preview_json(e) if run.dry_run else step_json(e) for e in entries],
    }
