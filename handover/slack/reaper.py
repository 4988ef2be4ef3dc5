"""The approval service's background loop: it closes gates nobody decided in time as
``expired`` (Prefect's own pause timeout would fail the run instead; the flow sets it a
little longer than the gate's TTL), retries decisions that did not reach their run, and
wakes migrations whose verification window ended (a suspended run with a ``wake_at``).

Each pass is idempotent and safe beside another service process: expiry is a conditional
decision, a wake-up is claimed before the run is resumed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from handover.errors import HandoverError, TransientPrefectError

from .desk import ApprovalDesk
from .gatebook import GateBook, Wake
from .runs import TERMINAL_STATES, PrefectRuns

log = logging.getLogger("handover.approvals.reaper")
FRESH = timedelta(seconds=10)  # a decision this new is still being delivered by its click


class Reaper:
    def __init__(
        self, desk: ApprovalDesk, book: GateBook, runs: PrefectRuns, clock: Callable[[], datetime]
    ) -> None:
        self.desk, self.book, self.runs, self.clock = desk, book, runs, clock

    def tick(self) -> dict[str, int]:
        """One pass; what it did, by kind (for logs and tests)."""
        now = self.clock()
        done = {"expired": 0, "redelivered": 0, "woken": 0}
        for record in self.book.open_past(now):
            done["expired"] += self._safely(partial(self.desk.expire, record))
        for record in self.book.undelivered():
            if record.outcome is not None and now - record.outcome.decided_at >= FRESH:
                # No retry at once: the next pass is the retry (an expiry still retries
                # at once, the one delivery it makes).
                redeliver = partial(self.desk.deliver, retry_now=False)
                self._safely(partial(redeliver, record.migration_id, record.gate))
                done["redelivered"] += 1
        for wake in self.book.due_wakes(now):
            if self.book.claim_wake(wake):
                done["woken"] += self._safely(partial(self._wake, wake))
        return done

    def _wake(self, wake: Wake) -> bool:
        try:
            result = self.runs.resume(wake.flow_run_id, None)
        except TransientPrefectError:
            # Claimed (deleted) above: put it back, or the run would wait past its window
            # for good while Prefect is busy (SQLite's 503) or down. The next pass retries.
            self.book.set_wake(wake)
            raise
        if result.accepted:
            log.info("migration %s: verification window over, run resumed", wake.migration_id)
            return True
        state = self.runs.state_type(wake.flow_run_id)
        if state in TERMINAL_STATES:
            log.info("migration %s: the run had ended (%s); no wake-up", wake.migration_id, state)
            return False
        self.book.set_wake(wake)  # not suspended yet (or Prefect busy): the next pass retries
        return False

    @staticmethod
    def _safely(step: Callable[[], bool | None]) -> int:
        try:
            return 1 if step() else 0
        except HandoverError as exc:
            log.warning("reaper: %s", exc)
            return 0


class ReaperThread:
    """Runs ``Reaper.tick`` every ``interval`` seconds until stopped."""

    def __init__(self, reaper: Reaper, interval: float) -> None:
        self.reaper, self.interval = reaper, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="approvals-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.reaper.tick()
            except Exception:  # the loop must outlive any one bad pass
                log.exception("reaper pass failed")
