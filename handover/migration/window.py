"""The live verification window: when it starts and ends, and when its event logs can be
read. Pure.

Sessions opened before the cutover may run on under the human for a while (an external
system logs in per run, and a run in flight keeps its session), so the window starts
``settle_minutes`` after the cutover, at the next whole hour: the store keeps calls by
the hour, and whole hours keep the window's counts exact. Daily event log files appear
the morning after (``coverage.FILES_READY_BY``): the window can be judged once the files
of its last day are due.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ..coverage import FILES_READY_BY

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class VerificationWindow:
    cutover_at: datetime
    start: datetime
    end: datetime
    ready_at: datetime  # its logs can be read from then on (org time)

    @property
    def hours(self) -> float:
        return (self.end - self.start) / HOUR

    @property
    def hours_of_day(self) -> list[int]:
        """The UTC hour of day of each of the window's hours, in order."""
        return [(self.start + HOUR * i).hour for i in range(math.floor(self.hours))]

    @property
    def days(self) -> list[date]:
        """The UTC days the window touches (whose daily logs it needs)."""
        first, last = self.start.date(), (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def as_dict(self) -> dict[str, str | float]:
        return {
            "cutover_at": self.cutover_at.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "ready_at": self.ready_at.isoformat(),
            "hours": self.hours,
        }


def _next_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + HOUR


def verification_window(
    cutover_at: datetime, *, settle_minutes: float, window_hours: float
) -> VerificationWindow:
    at = cutover_at.astimezone(UTC)
    start = _next_hour(at + timedelta(minutes=settle_minutes))
    end = start + HOUR * max(1, math.floor(window_hours))
    last_day = (end - timedelta(microseconds=1)).date()
    files = datetime.combine(last_day + timedelta(days=1), FILES_READY_BY, UTC)
    return VerificationWindow(cutover_at=at, start=start, end=end, ready_at=max(end, files))
