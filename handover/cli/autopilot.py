"""Migrations on the emulated stack, driven the way people and time would: each gate
approved in Slack by the scenario's approvers once the run waits at it (holding its
process, or suspended), the org's clock moved through the verification window with the
workloads running. The demo, the stack's tests and the benchmark use it; a real org has
people and days instead.

It reads what a migration is doing from the ledger (the step, the gate it waits at, the
verification window the flow measured) and from Prefect (whether the run is suspended
yet), and acts only through the emulators' endpoints and the approval service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from handover.errors import StackError

from . import prefect_api
from .emulated import APPROVE, REJECT, Emulated
from .stack import UpRecord

# How many different approvers each gate needs (decommission: two by default).
APPROVALS = {"decommission": 2}
# Past the time the window's event logs are due, so the day's files are surely published.
MARGIN = timedelta(minutes=10)
# Prefect shows a run Suspended a moment before it has saved the schema of the input it
# waits for; a decision in that moment is retried by the reaper, seconds later. A person
# never clicks that fast; the autopilot waits as long.
SETTLE_SECONDS = 1.0


@dataclass
class Event:
    """Something the autopilot did, for whoever tells the story."""

    migration_id: str
    kind: str  # "gate" (a gate message to decide), "decided", "clock", "ended"
    gate: str | None = None
    message: dict[str, Any] | None = None
    who: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None


@dataclass
class Plan:
    """What to do at a gate of one migration: approve (the default) or reject."""

    reject: dict[str, str] = field(default_factory=dict)  # gate -> reason
    before: dict[str, Callable[[], None]] = field(default_factory=dict)  # gate -> action

    def decision(self, gate: str) -> tuple[str, str | None]:
        return (REJECT, self.reject[gate]) if gate in self.reject else (APPROVE, None)


class Autopilot:
    def __init__(
        self,
        record: UpRecord,
        *,
        on_event: Callable[[Event], None] | None = None,
        org_info: Path | None = None,
    ) -> None:
        from handover.settings import Settings
        from handover.store.ledger import Ledger

        from .record import store_url

        self.record = record
        self.emulated = Emulated(record, org_info)
        self.ledger = Ledger(store_url(record, Settings()))
        self.approvers = self.emulated.approvers()
        self.on_event = on_event or (lambda event: None)
        self._decided: set[tuple[str, str, str]] = set()  # (migration, gate, flow run)
        self._runs: dict[str, str] = {}  # migration -> a newer run than the ledger names yet
        self._paused: dict[tuple[str, str, str], float] = {}  # gate -> first seen waiting

    def close(self) -> None:
        self.emulated.close()
        self.ledger.close()

    def follow_run(self, migration_id: str, flow_run_id: str) -> None:
        """A new run continues the migration (`handover resume`): watch it, not the last
        one the ledger names, until the new run has told the ledger it took over."""
        self._runs[migration_id] = flow_run_id

    def drive(
        self,
        migration_ids: Iterable[str],
        *,
        plans: dict[str, Plan] | None = None,
        timeout: float = 600,
        poll: float = 0.5,
    ) -> dict[str, Any]:
        """Take every migration to its end; their statuses by id."""
        waiting = set(migration_ids)
        plans = plans or {}
        deadline = time.monotonic() + timeout
        ended: dict[str, Any] = {}
        while waiting:
            for migration_id in sorted(waiting):
                status = self.step(migration_id, plans.get(migration_id, Plan()))
                if status is not None:
                    ended[migration_id] = status
                    waiting.discard(migration_id)
                    self.on_event(Event(migration_id, "ended"))
            if waiting and time.monotonic() > deadline:
                raise StackError(f"migrations still open after {timeout:.0f} s: {sorted(waiting)}")
            if waiting:
                time.sleep(poll)
        return ended

    def step(self, migration_id: str, plan: Plan) -> Any:
        """One look at a migration and what it needs now; its status once it has ended
        (the run over, the outcome recorded), else None."""
        status = self.ledger.migration(migration_id)
        if status is None or status.flow_run_id is None:
            return None
        flow_run_id = self._runs.get(migration_id, status.flow_run_id)
        if flow_run_id == status.flow_run_id:
            self._runs.pop(migration_id, None)
        run = prefect_api.read_run(self.record.prefect_api_url, flow_run_id)
        kind = prefect_api.state_type(run)
        if kind in prefect_api.TERMINAL:
            return status if status.outcome is not None or kind != "COMPLETED" else None
        if (
            status.waiting_at
            and kind in ("RUNNING", "PAUSED")
            and flow_run_id == status.flow_run_id
        ):
            # Running: the run holds its process at the gate and takes a decision itself.
            self._at_gate(
                migration_id, status.waiting_at, flow_run_id, plan, paused=kind == "PAUSED"
            )
        elif status.step == "verify":  # polling the org's clock, or suspended until woken
            self._through_window(migration_id)
        return None

    def _at_gate(
        self, migration_id: str, gate: str, flow_run_id: str, plan: Plan, *, paused: bool
    ) -> None:
        key = (migration_id, gate, flow_run_id)
        if key in self._decided:
            return  # decided; the run has not left the gate yet
        since = self._paused.setdefault(key, time.monotonic()) if paused else None
        if since is not None and time.monotonic() - since < SETTLE_SECONDS:
            return
        message = self.emulated.gate_message(migration_id, gate)
        if message is None:
            return  # not posted yet (or already decided by someone else)
        self.on_event(Event(migration_id, "gate", gate=gate, message=message))
        if gate in plan.before:
            plan.before.pop(gate)()
        action, reason = plan.decision(gate)
        who = self.approvers[: APPROVALS.get(gate, 1) if action == APPROVE else 1]
        for user in who:
            answer = self.emulated.click(message["ts"], action, user, reason)
            if answer.get("status") != 200:
                raise StackError(f"the approval service refused {user} at {gate}: {answer}")
        self._decided.add(key)
        self.on_event(Event(migration_id, "decided", gate=gate, who=who))

    def _through_window(self, migration_id: str) -> None:
        window = self.ledger.facts(migration_id).get("window")
        if not window:
            return  # the static check runs first; the flow records the window after it
        ready = datetime.fromisoformat(window["ready_at"]) + MARGIN
        now = self.emulated.now()
        if now >= ready:
            return
        summary = self.emulated.advance((ready - now).total_seconds())
        self.on_event(Event(migration_id, "clock", summary=summary))
