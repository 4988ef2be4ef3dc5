"""A simulated clock: scenarios start at a fixed instant and tests or the demo advance it.

Everything time-dependent in the emulator (token expiry, LoginHistory, event logs, daily
limits, TODAY in SOQL) reads this clock, never the wall clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(self, start: datetime, *, follow_wall_clock: bool = False) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self._base = start.astimezone(UTC)
        self._lock = threading.Lock()
        # When following the wall clock, time moves on by itself from `start` (for serve).
        self._follow = follow_wall_clock
        self._wall_at_base = datetime.now(UTC)

    def now(self) -> datetime:
        with self._lock:
            if self._follow:
                return self._base + (datetime.now(UTC) - self._wall_at_base)
            return self._base

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._base += delta
            return self._base

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        with self._lock:
            now = self._base + (
                (datetime.now(UTC) - self._wall_at_base) if self._follow else timedelta()
            )
            if instant < now:
                raise ValueError("the simulated clock only moves forward")
            self._base = instant.astimezone(UTC)
            self._wall_at_base = datetime.now(UTC)

    def today(self):
        return self.now().date()
