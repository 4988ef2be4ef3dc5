"""Gate state: the open gates, their votes, their decisions, and the migrations waiting for
a verification window to end, behind one small port, ``GateBook``.

The migration's flow opens a gate (a message in the migration's Slack thread and a row
here); the approval service records votes and the decision and tells the flow run. Both
processes use the book at once, so the writes that decide are conditional: a second vote by
the same person is refused, the first decision stands (``decide`` returns the one that won),
and a wake-up is claimed by one reaper only. The SQL ledger implements the same port
(``handover/store/gates.py``); ``MemoryGateBook`` serves tests and one-process runs.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from handover.migration.steps import GATE_NAMES
from handover.migration.steps import Gate as MigrationGate

from .tokens import Decision

# The migration's gates, and the audit's (one per proposed change to an Integration User).
Gate = MigrationGate | Literal["audit"]
GATES: tuple[str, ...] = (*GATE_NAMES, "audit")
# What became of a decision sent to the flow run: taken, or why it never will be.
Delivery = Literal["accepted", "run_ended", "refused"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GateMessage(_Frozen):
    """What the gate's Slack message shows besides its state (set by the flow that opens it)."""

    app_name: str
    human: str = Field(description="The human account the integration runs under (username)")
    headline: str = Field(description="The plan's headline diff, one line")
    changes: list[str] = Field(default_factory=list, description="What approving changes")
    new_user: str | None = None
    evidence_window: str | None = Field(None, description="e.g. 2026-10-01 … 2026-10-30, 30 days")
    flagged: list[str] = Field(
        default_factory=list, description="Broad grants flagged with their risk (the audit's)"
    )
    run_url: str | None = None


class GateDecision(_Frozen):
    decision: Decision
    approvers: list[str]
    reason: str | None = None
    decided_at: datetime


class Vote(_Frozen):
    user_id: str
    at: datetime


class GateRecord(_Frozen):
    migration_id: str
    gate: Gate
    flow_run_id: str
    plan_hash: str
    channel: str
    ts: str
    thread_ts: str | None = Field(None, description="The migration's thread; None: this opened it")
    opened_at: datetime
    expires_at: datetime
    human_email: str = Field(description="Lower-case; that person may never approve")
    required_approvals: int = Field(1, ge=1, le=5)
    message: GateMessage
    outcome: GateDecision | None = None
    delivery: Delivery | None = None
    delivery_detail: str | None = None
    notes: list[str] = Field(default_factory=list, description="Refusals shown on the message")

    @property
    def decided(self) -> bool:
        return self.outcome is not None


# The delivery detail of a decision the waiting run took from the book (claim_delivery).
TAKEN_BY_RUN = "taken by the waiting run"


class Wake(_Frozen):
    """A migration waiting (suspended) for its verification window to end."""

    migration_id: str
    flow_run_id: str
    wake_at: datetime


class GateBook(Protocol):
    def add_gate(self, record: GateRecord) -> GateRecord:
        """Record a newly posted gate; if the migration already has this gate, keep and
        return that one (a flow re-run from the top re-opens nothing)."""
        ...

    def get(self, migration_id: str, gate: str) -> GateRecord | None: ...

    def rebind(self, migration_id: str, gate: str, flow_run_id: str) -> GateRecord | None:
        """A new flow run of the migration waits at the gate now (the one that opened it
        crashed or was killed): point the gate at it, and take back an undelivered (or
        undeliverable) decision so the reaper delivers it to the new run."""
        ...

    def thread_of(self, migration_id: str) -> tuple[str, str] | None:
        """(channel, ts) of the message that opened the migration's thread, if any."""
        ...

    def add_vote(self, migration_id: str, gate: str, vote: Vote) -> bool:
        """False when that person already voted on this gate (nothing recorded)."""
        ...

    def votes(self, migration_id: str, gate: str) -> list[Vote]:
        """Oldest first."""
        ...

    def decide(self, migration_id: str, gate: str, decision: GateDecision) -> GateDecision:
        """Record the decision unless one exists; return the decision that stands."""
        ...

    def record_delivery(
        self, migration_id: str, gate: str, delivery: Delivery, detail: str | None = None
    ) -> None: ...

    def claim_delivery(self, migration_id: str, gate: str) -> GateDecision | None:
        """The flow run waiting at the gate takes its decision itself (it is still holding
        its process, so the approval service cannot resume it): the decision, unless the
        service delivered it (then None, as while undecided). Taking it again is allowed: a
        run that crashed after taking it must find it when it runs again."""
        ...

    def add_note(self, migration_id: str, gate: str, note: str) -> None: ...

    def open_past(self, now: datetime) -> list[GateRecord]:
        """Undecided gates whose expiry is at or before ``now``."""
        ...

    def undelivered(self) -> list[GateRecord]:
        """Decided gates whose decision has not reached the flow run yet."""
        ...

    def set_wake(self, wake: Wake) -> None: ...

    def due_wakes(self, now: datetime) -> list[Wake]: ...

    def claim_wake(self, wake: Wake) -> bool:
        """Take a due wake-up (True once, for one caller); a newer wake_at is not taken."""
        ...


class MemoryGateBook:
    """The port in memory, for tests and a single process; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gates: dict[tuple[str, str], GateRecord] = {}
        self._votes: dict[tuple[str, str], list[Vote]] = {}
        self._wakes: dict[str, Wake] = {}

    def _update(self, migration_id: str, gate: str, **changes: object) -> None:
        key = (migration_id, gate)
        self._gates[key] = self._gates[key].model_copy(update=changes)

    def add_gate(self, record: GateRecord) -> GateRecord:
        with self._lock:
            return self._gates.setdefault((record.migration_id, record.gate), record)

    def get(self, migration_id: str, gate: str) -> GateRecord | None:
        with self._lock:
            return self._gates.get((migration_id, gate))

    def rebind(self, migration_id: str, gate: str, flow_run_id: str) -> GateRecord | None:
        with self._lock:
            record = self._gates.get((migration_id, gate))
            if record is None or record.flow_run_id == flow_run_id:
                return record
            delivery = record.delivery if record.delivery == "accepted" else None
            self._update(migration_id, gate, flow_run_id=flow_run_id, delivery=delivery,
                         delivery_detail=None if delivery is None else record.delivery_detail)  # fmt: skip
            return self._gates[(migration_id, gate)]

    def thread_of(self, migration_id: str) -> tuple[str, str] | None:
        with self._lock:
            mine = [g for (m, _), g in self._gates.items() if m == migration_id]
        if not mine:
            return None
        first = min(mine, key=lambda g: (g.opened_at, g.ts))
        return first.channel, first.thread_ts or first.ts

    def add_vote(self, migration_id: str, gate: str, vote: Vote) -> bool:
        with self._lock:
            votes = self._votes.setdefault((migration_id, gate), [])
            if any(v.user_id == vote.user_id for v in votes):
                return False
            votes.append(vote)
            return True

    def votes(self, migration_id: str, gate: str) -> list[Vote]:
        with self._lock:
            return list(self._votes.get((migration_id, gate), []))

    def decide(self, migration_id: str, gate: str, decision: GateDecision) -> GateDecision:
        with self._lock:
            current = self._gates[(migration_id, gate)]
            if current.outcome is not None:
                return current.outcome
            self._update(migration_id, gate, outcome=decision)
            return decision

    def record_delivery(
        self, migration_id: str, gate: str, delivery: Delivery, detail: str | None = None
    ) -> None:
        with self._lock:
            self._update(migration_id, gate, delivery=delivery, delivery_detail=detail)

    def claim_delivery(self, migration_id: str, gate: str) -> GateDecision | None:
        with self._lock:
            record = self._gates.get((migration_id, gate))
            if record is None or record.outcome is None:
                return None
            if record.delivery is not None and record.delivery_detail != TAKEN_BY_RUN:
                return None
            self._update(migration_id, gate, delivery="accepted", delivery_detail=TAKEN_BY_RUN)
            return record.outcome

    def add_note(self, migration_id: str, gate: str, note: str) -> None:
        with self._lock:
            notes = self._gates[(migration_id, gate)].notes
            self._update(migration_id, gate, notes=[*notes, note])

    def open_past(self, now: datetime) -> list[GateRecord]:
        with self._lock:
            return [g for g in self._gates.values() if g.outcome is None and g.expires_at <= now]

    def undelivered(self) -> list[GateRecord]:
        with self._lock:
            return [g for g in self._gates.values() if g.outcome and g.delivery is None]

    def set_wake(self, wake: Wake) -> None:
        with self._lock:
            self._wakes[wake.migration_id] = wake

    def due_wakes(self, now: datetime) -> list[Wake]:
        with self._lock:
            return [w for w in self._wakes.values() if w.wake_at <= now]

    def claim_wake(self, wake: Wake) -> bool:
        with self._lock:
            if self._wakes.get(wake.migration_id) != wake:
                return False
            del self._wakes[wake.migration_id]
            return True
