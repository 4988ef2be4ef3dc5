"""Cut over: the integration switches to the new user. Client credentials: the connected
app's Run-As user is re-pointed (Metadata API, read-modify-write of the whole app). JWT
bearer, username-password, SOAP: the new credentials go to the credential sink (and the
new user gets its password first). The human's path keeps working until decommission."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from handover.migration.actions import cutover_actions
from handover.migration.apply import apply_actions
from handover.models import LedgerEntry, WriteAction
from tasks.context import MigrationRun


@task(name="plan-cutover", cache_policy=NO_CACHE, persist_result=False)
def cutover_writes(run: MigrationRun) -> list[WriteAction]:
    return cutover_actions(run.plan, run.cutover)


@task(name="cut-over", cache_policy=NO_CACHE, persist_result=False)
def cut_over(run: MigrationRun, actions: list[WriteAction]) -> list[LedgerEntry]:
    """Apply the cutover and remember when it took effect, in the org's time (the
    verification window is measured from it)."""
    run.ledger.at_step(run.migration_id, "cutover")
    entries = apply_actions(actions, run.port(), run.org(), dry_run=False)
    if "cutover_at" not in run.facts():
        run.remember(cutover_at=run.gateway.org_now(refresh=True).isoformat())
    spec = run.cutover
    where = (
        f" (credentials to {run.sink.kind}: {run.sink.where})" if run.hands_over_credentials else ""
    )
    get_run_logger().info(
        "%s cut over to %s by route %s%s",
        run.plan.app_name,
        run.plan.user.username,
        spec.route,
        where,
    )
    return entries
