"""Which days of the evidence window are covered by ingested logs (pure).

Salesforce writes a day's log file in the early hours of the next day, and only when the
day had events, and keeps it for the org's retention: one day for the free types
(ApiTotalUsage, Login) without Event Monitoring, 30 days with it. So for a day with no
ingested file there are four cases:

* the file is not written yet: decide later;
* the day is before handover's history began: the first discovery run could not fetch
  what the org no longer kept, so those days are "before history", not gaps (nothing is
  recorded for them, and no rule counts them);
* the day had no traffic (the org still keeps that day, yet lists no file): "empty";
* the file existed and is gone because no run fetched it in time: a "gap", reported in
  every report, worded with the retention that lost it.
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


def retention_days(files: Sequence[EventLogFileMeta], org_now: datetime) -> int:
    """How many daily files back the org keeps, as its listing shows (never more than it
    shows: a lost day taken for a quiet one would be evidence nobody saw). One day for the
    free types of an org without Event Monitoring, 30 with it, once the org is that old."""
    last = decidable_until(org_now)
    oldest = min((f.log_date for f in files), default=last)
    return max(1, (last - oldest).days + 1)


def earliest_held(files: Sequence[EventLogFileMeta], org_now: datetime) -> date:
    """The first day the org still holds logs for: where a first run's history begins."""
    last = decidable_until(org_now)
    kept_from = last - timedelta(days=retention_days(files, org_now) - 1)
    return min([kept_from, *(f.log_date for f in files)])


def gap_note(event_type: str, retention: int) -> str:
    """Why a day's file is gone, in the terms of the org's retention."""
    if retention <= 1:
        return (
            f"the {event_type} file was deleted by Salesforce before any discovery run "
            f"fetched it ({event_type} files are kept 1 day without Event Monitoring): run "
            "discovery daily"
        )
    return (
        f"the {event_type} file was deleted by Salesforce before any discovery run fetched "
        f"it ({event_type} files are kept {retention} days in this org): run discovery at "
        f"least every {retention} days, daily is best"
    )


def decide(
    *,
    event_type: str,
    start: date,
    end: date,
    org_now: datetime,
    ingested_days: set[date],
    listed_days: set[date],
    already_decided: set[date],
    history_began: date | None = None,
    retention: int = 1,
) -> list[DayStatus]:
    """Statuses for the days of [start, end] not decided yet.

    ``listed_days``: days whose file Salesforce lists now; ``retention``: how many days
    back the org keeps files (``retention_days``): a day it still keeps with no file listed
    had no events. ``history_began``: days before it are before history and get no status.
    """
    last = min(end, decidable_until(org_now))
    kept_from = decidable_until(org_now) - timedelta(days=retention - 1)
    earliest_visible = min([kept_from, *listed_days])
    day = max(start, history_began) if history_began is not None else start
    out = []
    while day <= last:
        if day not in already_decided:
            if day in ingested_days:
                out.append(DayStatus(day, event_type, "ingested", ""))
            elif day >= earliest_visible:
                out.append(
                    DayStatus(day, event_type, "empty", "no events that day (no file was written)")
                )
            else:
                out.append(DayStatus(day, event_type, "gap", gap_note(event_type, retention)))
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
    history_began: date | None = None,
) -> list[DayStatus]:
    """What a run records for the window: for every event type listed now (and the free
    ones always), the status of each day not decided by an earlier run.

    ``files``: every file the org lists now; ``ingested_ids``: those of them the store
    has; ``decided``: event type -> days already recorded; ``history_began``: the first
    day the store holds logs for (None on the first run: history begins with the earliest
    day the org still holds, ``earliest_held``)."""
    ingested = [f for f in files if f.file_id in ingested_ids]
    retention = retention_days(files, org_now)
    began = history_began if history_began is not None else earliest_held(files, org_now)
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
            history_began=began,
            retention=retention,
        )
    return out
