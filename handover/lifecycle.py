"""Where a finding stands in the story, from what the store holds about it: pure.

new        found, nothing done about it yet
planned    a plan is saved for it (and no migration is open or done)
migrating  a migration of it is open (at a gate, provisioning, verifying, ...)
migrated   a migration of it ended successful: the integration runs as its own user
dismissed  a person set it aside (`handover dismiss`), with a reason

A dismissal wins over everything but a successful migration: a person may dismiss a
finding whose plan they will not pursue. A migration that failed, rolled back, was rejected
or expired leaves the finding planned: it can be migrated again. Dry runs change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from .models.migration import MigrationStatus

FindingState = Literal["new", "planned", "migrating", "migrated", "dismissed"]
STATES: tuple[FindingState, ...] = ("new", "planned", "migrating", "migrated", "dismissed")


def finding_state(
    *, planned: bool, migrations: Iterable[MigrationStatus], dismissed: bool
) -> FindingState:
    real = [m for m in migrations if not m.dry_run]
    if any(m.outcome == "successful" for m in real):
        return "migrated"
    if dismissed:
        return "dismissed"
    if any(m.open for m in real):
        return "migrating"
    return "planned" if planned or real else "new"
