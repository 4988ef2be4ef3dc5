"""The migration ledger: every migration, where it stands, and every org write it made,
with the state before it (``migration.apply``'s ``LedgerPort``, one per migration).

``Ledger(url)`` opens the store (migrating it). The flow opens a migration (``open``),
takes its ``port`` for the writes, moves it along (``at_step``, ``waiting``,
``remember``) and finishes it with an outcome; ``handover status`` and the CLI read it
(``migrations``, ``migration``, ``steps``). ``finish`` records the outcome (``close`` closes
the store, as for every room of it).

One open migration per integration (org, app) and per human user: opening takes a lock
row for each, in the same transaction as the migration's own row, and the lock table's
primary key refuses a second holder, in one statement, from any process. Closing a
migration releases its locks. A dry run takes no lock: it writes nothing to the org.

Writes run in ``write_transaction`` (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory
lock on the migration), so two processes working on one migration (a flow run and its
re-run after a crash) never interleave a read-modify-write.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import MigrationError, StoreError
from ..ids import norm_id
from ..models.migration import LedgerEntry, MigrationOutcome, MigrationStatus, WriteAction
from . import tables as t
from .engine import Database, write_transaction

# m-: a migration; r-: an emergency revoke (and the rotation after it); a-: an applied
# audit proposal. All three keep their org writes in this ledger.
MIGRATION_ID = re.compile(r"^[mra]-[0-9a-f]{12}$")


def new_migration_id(plan_hash: str, created: datetime, *, prefix: str = "m") -> str:
    """``m-`` (or ``prefix``-) and 12 hex digits from the plan hash, the creation time and
    a random salt (two migrations of one plan started in the same microsecond still differ)."""
    seed = f"{plan_hash}|{created.isoformat()}|{secrets.token_hex(8)}"
    return f"{prefix}-" + hashlib.sha256(seed.encode()).hexdigest()[:12]


def check_migration_id(migration_id: str) -> str:
    if not MIGRATION_ID.match(migration_id or ""):
        raise MigrationError(
            f"{migration_id!r} is not a migration id: ids look like m-1a2b3c4d5e6f (the one "
            "`handover migrate` printed, or `handover status` lists)"
        )
    return migration_id


@dataclass(frozen=True)
class Opening:
    """What a migration is opened with (its identity never changes afterwards)."""

    migration_id: str
    finding_id: str
    org_id: str
    app_key: str
    app_name: str
    human_user_id: str
    human_username: str
    plan_hash: str
    dry_run: bool = False
    flow_run_id: str | None = None
    # An emergency revoke takes no lock: it must never wait for (or be refused by) an open
    # migration of the same app or user.
    locked: bool = True

    def lock_keys(self) -> list[str]:
        org = norm_id(self.org_id)
        return [f"app:{org}:{self.app_key}", f"human:{org}:{norm_id(self.human_user_id)}"]


def _status(row: Any) -> MigrationStatus:
    return MigrationStatus(
        migration_id=row.migration_id,
        finding_id=row.finding_id,
        org_id=row.org_id,
        app_name=row.app_name,
        human_username=row.human_username,
        plan_hash=row.plan_hash,
        flow_run_id=row.flow_run_id,
        step=row.step,
        waiting_at=row.waiting_at,
        waiting_since=row.waiting_since,
        outcome=row.outcome,
        outcome_reason=row.outcome_reason,
        dry_run=row.dry_run,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        write=WriteAction.model_validate_json(row.write),
        status=row.status,
        before=json.loads(row.before) if row.before is not None else None,
        record_ids=json.loads(row.record_ids),
        error=row.error,
        attempts=row.attempts,
        claimed_at=row.claimed_at,
        updated_at=row.updated_at,
    )


class Ledger(Database):
    """``Ledger(url)``: the store's migrations and their ledgers."""

    # ------------------------------------------------------------------ reading

    def migrations(self) -> list[MigrationStatus]:
        """Every migration, the newest first."""
        m = t.migrations.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.migrations).order_by(m.created_at.desc(), m.migration_id)
            ).all()
        return [_status(r) for r in rows]

    def migration(self, migration_id: str) -> MigrationStatus | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.migrations).where(t.migrations.c.migration_id == migration_id)
            ).first()
        return _status(row) if row is not None else None

    def open_migration_for(
        self, org_id: str, *, app_key: str | None = None, human_user_id: str | None = None
    ) -> MigrationStatus | None:
        """The open migration holding the integration (org, ``app_key``) or the human
        (org, ``human_user_id``), if any."""
        org = norm_id(org_id)
        keys = []
        if app_key is not None:
            keys.append(f"app:{org}:{app_key}")
        if human_user_id is not None:
            keys.append(f"human:{org}:{norm_id(human_user_id)}")
        if not keys:
            raise ValueError("name the app_key or the human_user_id to look for")
        with self.engine.connect() as conn:
            holder = conn.execute(
                select(t.migration_locks.c.migration_id)
                .where(t.migration_locks.c.lock_key.in_(keys))
                .limit(1)
            ).scalar()
        return self.migration(holder) if holder else None

    def steps(self, migration_id: str) -> list[LedgerEntry]:
        """The migration's ledger entries, in the order first written."""
        return self.port(migration_id).entries()

    def facts(self, migration_id: str) -> dict[str, Any]:
        """What the flow remembered of the migration (decisions, gate attempts, times)."""
        with self.engine.connect() as conn:
            raw = conn.execute(
                select(t.migrations.c.facts).where(t.migrations.c.migration_id == migration_id)
            ).scalar()
        if raw is None:
            raise StoreError(f"no migration {migration_id} in the store")
        return dict(json.loads(raw))

    def port(self, migration_id: str) -> MigrationLedger:
        """The migration's ledger as ``migration.apply``'s ``LedgerPort``."""
        return MigrationLedger(self, migration_id)

    # ------------------------------------------------------------------ opening and closing

    def open(self, opening: Opening) -> MigrationStatus:
        """Open the migration, or find it open already (a re-run of its flow: the same
        plan and finding, or a MigrationError). Refused with a MigrationError naming the
        open migration when the integration or the human is already being migrated."""
        check_migration_id(opening.migration_id)
        existing = self.migration(opening.migration_id)
        if existing is not None:
            return self._reopen(existing, opening)
        now = self.clock()
        m = t.migrations
        try:
            with write_transaction(self.engine, opening.migration_id) as conn:
                conn.execute(
                    insert(m).values(
                        migration_id=opening.migration_id,
                        org_id=norm_id(opening.org_id),
                        finding_id=opening.finding_id,
                        app_key=opening.app_key,
                        app_name=opening.app_name,
                        human_user_id=norm_id(opening.human_user_id),
                        human_username=opening.human_username,
                        plan_hash=opening.plan_hash,
                        flow_run_id=opening.flow_run_id,
                        step="plan",
                        dry_run=opening.dry_run,
                        facts="{}",
                        created_at=now,
                        updated_at=now,
                    )
                )
                if not opening.dry_run and opening.locked:
                    conn.execute(
                        insert(t.migration_locks),
                        [
                            {"lock_key": k, "migration_id": opening.migration_id, "created_at": now}
                            for k in opening.lock_keys()
                        ],
                    )
        except IntegrityError:
            raise self._refusal(opening) from None
        status = self.migration(opening.migration_id)
        assert status is not None
        return status

    def _reopen(self, existing: MigrationStatus, opening: Opening) -> MigrationStatus:
        if existing.plan_hash != opening.plan_hash or existing.finding_id != opening.finding_id:
            raise MigrationError(
                f"migration {existing.migration_id} applies plan {existing.plan_hash[:12]} of "
                f"finding {existing.finding_id}, not plan {opening.plan_hash[:12]} of "
                f"{opening.finding_id}: resume it with its own plan, or start a new migration "
                "(without a migration id)"
            )
        if existing.dry_run != opening.dry_run:
            kind = "a dry run" if existing.dry_run else "a real migration"
            raise MigrationError(
                f"migration {existing.migration_id} is {kind}: start a new migration instead"
            )
        if opening.flow_run_id and opening.flow_run_id != existing.flow_run_id:
            self._update(existing.migration_id, flow_run_id=opening.flow_run_id)
            refreshed = self.migration(existing.migration_id)
            assert refreshed is not None
            return refreshed
        return existing

    def _refusal(self, opening: Opening) -> MigrationError:
        if self.migration(opening.migration_id) is not None:
            # Opened by another process at the same moment: the same id, the same migration.
            return MigrationError(
                f"migration {opening.migration_id} was opened twice at once; run it once"
            )
        holder = self.open_migration_for(
            opening.org_id, app_key=opening.app_key
        ) or self.open_migration_for(opening.org_id, human_user_id=opening.human_user_id)
        if holder is None:
            return MigrationError(
                f"could not open migration {opening.migration_id}: another migration took its "
                "lock and released it again; run it again"
            )
        same_app = holder.app_name == opening.app_name
        what = (
            f"{opening.app_name} already has an open migration"
            if same_app
            else f"{opening.human_username}'s account is already being migrated off ({holder.app_name})"
        )
        where = f"waiting at the {holder.waiting_at} gate" if holder.waiting_at else (
            f"at step {holder.step}" if holder.step else "just opened"
        )  # fmt: skip
        return MigrationError(
            f"{what}: {holder.migration_id}, {where} (flow run {holder.flow_run_id or 'none'}). "
            f"Only one migration per integration and per human account may be open: finish "
            f"or resume it (`handover resume {holder.migration_id}`), or decide its open gate."
        )

    def finish(
        self, migration_id: str, outcome: MigrationOutcome, reason: str | None = None
    ) -> MigrationStatus:
        """Record how the migration ended (the first outcome stands) and release its
        locks; returns the migration as closed."""
        now = self.clock()
        m = t.migrations.c
        with write_transaction(self.engine, migration_id) as conn:
            conn.execute(
                update(t.migrations)
                .where(m.migration_id == migration_id, m.outcome.is_(None))
                .values(
                    outcome=outcome,
                    outcome_reason=reason,
                    waiting_at=None,
                    waiting_since=None,
                    step="done",
                    updated_at=now,
                )
            )
            conn.execute(
                delete(t.migration_locks).where(t.migration_locks.c.migration_id == migration_id)
            )
        status = self.migration(migration_id)
        if status is None:
            raise StoreError(f"no migration {migration_id} in the store")
        return status

    # ------------------------------------------------------------------ moving along

    def at_step(self, migration_id: str, step: str) -> None:
        """The runbook item the migration is at now (not waiting)."""
        self._update(migration_id, step=step, waiting_at=None, waiting_since=None)

    def waiting(self, migration_id: str, gate: str, since: datetime) -> None:
        """The migration waits at ``gate`` (since the gate opened: a re-run keeps it)."""
        self._update(migration_id, step=gate, waiting_at=gate, waiting_since=since)

    def set_flow_run(self, migration_id: str, flow_run_id: str) -> None:
        self._update(migration_id, flow_run_id=flow_run_id)

    def remember(self, migration_id: str, **facts: Any) -> dict[str, Any]:
        """Merge ``facts`` (JSON values, never a secret) into what the migration
        remembers; returns all of it."""
        m = t.migrations.c
        with write_transaction(self.engine, migration_id) as conn:
            raw = conn.execute(select(m.facts).where(m.migration_id == migration_id)).scalar()
            if raw is None:
                raise StoreError(f"no migration {migration_id} in the store")
            merged = {**json.loads(raw), **facts}
            conn.execute(
                update(t.migrations)
                .where(m.migration_id == migration_id)
                .values(facts=json.dumps(merged, sort_keys=True), updated_at=self.clock())
            )
        return merged

    def _update(self, migration_id: str, **values: Any) -> None:
        with write_transaction(self.engine, migration_id) as conn:
            done = conn.execute(
                update(t.migrations)
                .where(t.migrations.c.migration_id == migration_id)
                .values(**values, updated_at=self.clock())
            )
        if done.rowcount != 1:
            raise StoreError(f"no migration {migration_id} in the store")


class MigrationLedger:
    """One migration's entries (``LedgerPort``): by idempotency key, in the order first
    written. ``put`` replaces the entry of its key and keeps the key's place."""

    def __init__(self, ledger: Ledger, migration_id: str) -> None:
        self.ledger = ledger
        self.migration_id = migration_id

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with write_transaction(self.ledger.engine, self.migration_id) as conn:
            yield conn

    def get(self, key: str) -> LedgerEntry | None:
        a = t.ledger_actions.c
        with self.ledger.engine.connect() as conn:
            row = conn.execute(
                select(t.ledger_actions).where(a.migration_id == self.migration_id, a.key == key)
            ).first()
        return _entry(row) if row is not None else None

    def put(self, entry: LedgerEntry) -> None:
        a = t.ledger_actions.c
        values = {
            "step": entry.step,
            "status": entry.status,
            "write": entry.write.model_dump_json(),
            "before": json.dumps(entry.before, sort_keys=True, default=str)
            if entry.before is not None
            else None,
            "record_ids": json.dumps(entry.record_ids),
            "error": entry.error,
            "attempts": entry.attempts,
            "claimed_at": entry.claimed_at,
            "updated_at": entry.updated_at,
        }
        mine = (a.migration_id == self.migration_id, a.key == entry.key)
        with self._writing() as conn:
            known = conn.execute(select(a.seq).where(*mine)).scalar()
            if known is not None:
                conn.execute(update(t.ledger_actions).where(*mine).values(**values))
                return
            last = conn.execute(
                select(func.max(a.seq)).where(a.migration_id == self.migration_id)
            ).scalar()
            conn.execute(
                insert(t.ledger_actions).values(
                    migration_id=self.migration_id, key=entry.key, seq=(last or 0) + 1, **values
                )
            )

    def entries(self) -> list[LedgerEntry]:
        a = t.ledger_actions.c
        with self.ledger.engine.connect() as conn:
            rows = conn.execute(
                select(t.ledger_actions).where(a.migration_id == self.migration_id).order_by(a.seq)
            ).all()
        return [_entry(r) for r in rows]
