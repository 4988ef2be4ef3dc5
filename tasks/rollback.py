"""Roll back: replay the ledger in reverse (each inverse is itself a ledger action, so a
crash during a rollback resumes like any step). The run-as or the credentials go back,
the new user's assignments go and the user is deactivated (Salesforce cannot delete
users: a later migration reactivates the same one)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from handover.migration.rollback import apply_rollback
from handover.models import LedgerEntry
from tasks.context import MigrationRun


@task(name="roll-back", cache_policy=NO_CACHE, persist_result=False)
def roll_back(run: MigrationRun, why: str) -> list[LedgerEntry]:
    run.ledger.at_step(run.migration_id, "rollback")
    get_run_logger().warning("rolling back %s: %s", run.migration_id, why)
    entries = apply_rollback(run.port(), run.org())
    get_run_logger().info("rolled back: %d writes undone", len(entries))
    return entries
