"""Which days of the evidence window are covered by ingested logs (pure).

Salesforce writes a day's log file in the early hours of the next day, and only when the
day had events; free logs are kept one day. So for a day with no ingested file there are
three cases: the file is not written yet (decide later), the day had no traffic (a later
day's file is listed while this one is not: "empty"), or the file existed and is gone
because no run fetched it in time ("gap"). Gaps are reported in every report.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .models import EventLogFileMeta

# Daily files are generated in non-peak hours the day after (REST guide); by 06:00 UTC
# the previous day's file is there if it will ever be.
FILES_READY_BY = time(6, 0)
# Every Enterprise org writes these: their days are decided even when none is listed.
FREE_TYPES = ("ApiTotalUsage", "Login")


@dataclass(frozen=True)
class DayStatus:
    day: date
    event_type: str
    status: str  # "ingested" | "empty" | "gap"
    note: str


def decidable_until(org_now: datetime) -> date:
    """The last day whose daily file must exist by now if it ever will."""
    yesterday = org_now.date() - timedelta(days=1)
    return yesterday if org_now.time() >= FILES_READY_BY else yesterday - timedelta(days=1)


def window(org_now: datetime, days: int) -> tuple[date, date]:
    end = org_now.date() - timedelta(days=1)
    return end - timedelta(days=days - 1), end


def decide(
    *,
    event_type: str,
    start: date,
    end: date,
    org_now: datetime,
    ingested_days: set[date],
    listed_days: set[date],
    already_decided: set[date],
) -> list[DayStatus]:
    """Statuses for the days of [start, end] not decided yet.

    ``listed_days``: days whose file Salesforce lists now. The earliest listed day marks
    how far back the org keeps logs; earlier days without an ingested file are gaps.
    """
    last = min(end, decidable_until(org_now))
    earliest_visible = min(listed_days) if listed_days else last
    out = []
    day = start
    while day <= last:
        if day not in already_decided:
            if day in ingested_days:
                out.append(DayStatus(day, event_type, "ingested", ""))
            elif day >= earliest_visible:
                out.append(
                    DayStatus(day, event_type, "empty", "no events that day (no file was written)")
                )
            else:
                out.append(
                    DayStatus(
                        day,
                        event_type,
                        "gap",
                        "the log file was deleted by Salesforce before any discovery run fetched it (free logs are kept 1 day): run discovery daily",
                    )
                )
        day += timedelta(days=1)
    return out


def window_statuses(
    *,
    files: Sequence[EventLogFileMeta],
    ingested_ids: Collection[str],
    decided: Mapping[str, Collection[date]],
    org_now: datetime,
    start: date,
    end: date,
) -> list[DayStatus]:
    """What a run records for the window: for every event type listed now (and the free
    ones always), the status of each day not decided by an earlier run.

    ``files``: every file the org lists now; ``ingested_ids``: those of them the store
    has; ``decided``: event type -> days already recorded."""
    ingested = [f for f in files if f.file_id in ingested_ids]
    out: list[DayStatus] = []
    for event_type in sorted({f.event_type for f in files} | set(FREE_TYPES)):
        out += decide(
            event_type=event_type,
            start=start,
            end=end,
            org_now=org_now,
            ingested_days={f.log_date for f in ingested if f.event_type == event_type},
            listed_days={f.log_date for f in files if f.event_type == event_type},
            already_decided=set(decided.get(event_type, ())),
        )
    return out
