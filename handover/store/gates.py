"""The gate book in the handover store (SQLite or PostgreSQL): ``SqlGateBook`` implements
``handover.slack.gatebook.GateBook`` over four tables.

Both the flow process and the approval service write here at once, so every write that
decides something is one conditional statement, atomic on both databases: a vote is an
INSERT that the primary key refuses the second time; a decision is an UPDATE ... WHERE
decision IS NULL (the first one wins, the others read what won); a wake-up is claimed by a
DELETE of exactly the row that was due. No statement reads before it writes in the same
transaction, which keeps SQLite's WAL from refusing a late write (SQLITE_BUSY_SNAPSHOT).

The tables are the store's (``tables/migration.py``, revision 0004): open the store
(``engine.Database``) and the book over its engine.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from handover.slack.gatebook import (
    TAKEN_BY_RUN,
    Delivery,
    GateDecision,
    GateMessage,
    GateRecord,
    Vote,
    Wake,
)
from handover.store.tables import gate_notes, gate_votes, gate_wakes, gates


def _record(row: Any, notes: list[str]) -> GateRecord:
    outcome = None
    if row.decision is not None:
        outcome = GateDecision(
            decision=row.decision,
            approvers=json.loads(row.approvers or "[]"),
            reason=row.reason,
            decided_at=row.decided_at,
        )
    return GateRecord(
        migration_id=row.migration_id,
        gate=row.gate,
        flow_run_id=row.flow_run_id,
        plan_hash=row.plan_hash,
        channel=row.channel,
        ts=row.ts,
        thread_ts=row.thread_ts,
        opened_at=row.opened_at,
        expires_at=row.expires_at,
        human_email=row.human_email,
        required_approvals=row.required_approvals,
        message=GateMessage.model_validate_json(row.message),
        outcome=outcome,
        delivery=row.delivery,
        delivery_detail=row.delivery_detail,
        notes=notes,
    )


def _where(migration_id: str, gate: str) -> Any:
    return and_(gates.c.migration_id == migration_id, gates.c.gate == gate)


class SqlGateBook:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _read(self, *conditions: Any) -> list[GateRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(gates).where(*conditions)).all()
            found = []
            for row in rows:
                notes = conn.execute(
                    select(gate_notes.c.note)
                    .where(
                        gate_notes.c.migration_id == row.migration_id,
                        gate_notes.c.gate == row.gate,
                    )
                    .order_by(gate_notes.c.id)
                ).scalars()
                found.append(_record(row, list(notes)))
        return found

    def add_gate(self, record: GateRecord) -> GateRecord:
        values = {
            "migration_id": record.migration_id,
            "gate": record.gate,
            "flow_run_id": record.flow_run_id,
            "plan_hash": record.plan_hash,
            "channel": record.channel,
            "ts": record.ts,
            "thread_ts": record.thread_ts,
            "opened_at": record.opened_at,
            "expires_at": record.expires_at,
            "human_email": record.human_email,
            "required_approvals": record.required_approvals,
            "message": record.message.model_dump_json(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(gates).values(**values))
        except IntegrityError:
            pass  # the gate was there already: keep it (a re-run opens nothing)
        existing = self.get(record.migration_id, record.gate)
        assert existing is not None
        return existing

    def get(self, migration_id: str, gate: str) -> GateRecord | None:
        found = self._read(_where(migration_id, gate))
        return found[0] if found else None

    def rebind(self, migration_id: str, gate: str, flow_run_id: str) -> GateRecord | None:
        with self.engine.begin() as conn:
            conn.execute(
                update(gates)
                .where(_where(migration_id, gate), gates.c.flow_run_id != flow_run_id)
                .values(flow_run_id=flow_run_id)
            )
            conn.execute(
                update(gates)
                .where(
                    _where(migration_id, gate),
                    gates.c.delivery.is_not(None),
                    gates.c.delivery != "accepted",
                )
                .values(delivery=None, delivery_detail=None)
            )
        return self.get(migration_id, gate)

    def thread_of(self, migration_id: str) -> tuple[str, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(gates.c.channel, gates.c.ts, gates.c.thread_ts)
                .where(gates.c.migration_id == migration_id)
                .order_by(gates.c.opened_at, gates.c.ts)
                .limit(1)
            ).first()
        return (row.channel, row.thread_ts or row.ts) if row else None

    def add_vote(self, migration_id: str, gate: str, vote: Vote) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(gate_votes).values(
                        migration_id=migration_id, gate=gate, user_id=vote.user_id, at=vote.at
                    )
                )
        except IntegrityError:
            return False
        return True

    def votes(self, migration_id: str, gate: str) -> list[Vote]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(gate_votes.c.user_id, gate_votes.c.at)
                .where(gate_votes.c.migration_id == migration_id, gate_votes.c.gate == gate)
                .order_by(gate_votes.c.at, gate_votes.c.user_id)
            ).all()
        return [Vote(user_id=r.user_id, at=r.at) for r in rows]

    def decide(self, migration_id: str, gate: str, decision: GateDecision) -> GateDecision:
        with self.engine.begin() as conn:
            conn.execute(
                update(gates)
                .where(_where(migration_id, gate), gates.c.decision.is_(None))
                .values(
                    decision=decision.decision,
                    approvers=json.dumps(decision.approvers),
                    reason=decision.reason,
                    decided_at=decision.decided_at,
                )
            )
        standing = self.get(migration_id, gate)
        if standing is None or standing.outcome is None:
            raise LookupError(f"no gate {gate} for migration {migration_id}")
        return standing.outcome

    def record_delivery(
        self, migration_id: str, gate: str, delivery: Delivery, detail: str | None = None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(gates)
                .where(_where(migration_id, gate))
                .values(delivery=delivery, delivery_detail=detail)
            )

    def claim_delivery(self, migration_id: str, gate: str) -> GateDecision | None:
        # One conditional UPDATE: of the run and the approval service's reaper, one wins.
        # Taken before counts as taken: a run that crashed after taking it takes it again.
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(gates)
                .where(
                    _where(migration_id, gate),
                    gates.c.decision.is_not(None),
                    or_(gates.c.delivery.is_(None), gates.c.delivery_detail == TAKEN_BY_RUN),
                )
                .values(delivery="accepted", delivery_detail=TAKEN_BY_RUN)
            ).rowcount
        record = self.get(migration_id, gate) if taken == 1 else None
        return record.outcome if record else None

    def add_note(self, migration_id: str, gate: str, note: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(gate_notes).values(
                    migration_id=migration_id, gate=gate, note=note, at=datetime.now(UTC)
                )
            )

    def open_past(self, now: datetime) -> list[GateRecord]:
        return self._read(gates.c.decision.is_(None), gates.c.expires_at <= now)

    def undelivered(self) -> list[GateRecord]:
        return self._read(gates.c.decision.is_not(None), gates.c.delivery.is_(None))

    def set_wake(self, wake: Wake) -> None:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        values = wake.model_dump()
        statement = dialect.insert(gate_wakes).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[gate_wakes.c.migration_id],
            set_={"flow_run_id": wake.flow_run_id, "wake_at": wake.wake_at},
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def due_wakes(self, now: datetime) -> list[Wake]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(gate_wakes).where(gate_wakes.c.wake_at <= now)).all()
        return [
            Wake(migration_id=r.migration_id, flow_run_id=r.flow_run_id, wake_at=r.wake_at)
            for r in rows
        ]

    def claim_wake(self, wake: Wake) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                delete(gate_wakes).where(
                    gate_wakes.c.migration_id == wake.migration_id,
                    gate_wakes.c.wake_at == wake.wake_at,
                )
            )
        return done.rowcount == 1
