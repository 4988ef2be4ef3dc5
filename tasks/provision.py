"""Provision: the Integration User, its licence, the permission set with its object and
field permissions, the assignment and the app access, in the order the platform needs,
each write claimed in the ledger (with the state before it) before it is made."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from handover.migration.actions import provision_actions
from handover.migration.apply import apply_actions
from handover.models import LedgerEntry, WriteAction
from handover.salesforce.provision import Records
from tasks.context import MigrationRun


@task(name="plan-provisioning", cache_policy=NO_CACHE, persist_result=False)
def provisioning_writes(run: MigrationRun) -> list[WriteAction]:
    """The plan as the org's writes (the ids its names resolve to are read first)."""
    return provision_actions(run.plan, Records(run.gateway).provision_facts(run.plan))


@task(name="provision", cache_policy=NO_CACHE, persist_result=False)
def provision(run: MigrationRun, actions: list[WriteAction]) -> list[LedgerEntry]:
    """Apply the writes (a re-run finds what an earlier attempt made: no duplicate)."""
    run.ledger.at_step(run.migration_id, "provision")
    entries = apply_actions(actions, run.port(), run.org(), dry_run=False)
    get_run_logger().info(
        "provisioned %s with %s (%d writes, %d Salesforce API calls so far)",
        run.plan.user.username,
        run.plan.permission_set.name,
        len(entries),
        run.gateway.api_calls,
    )
    return entries
