"""Is the evidence enough to plan from? Days observed, gaps, and the integration's cadence.

A plan drawn from too little history is a smaller plan, and a smaller plan breaks the
integration the day it does what it does only weekly or at month-end. So the answer is
never a smaller plan but "insufficient evidence" and what is missing:

* at least ``min_days_observed`` days of ingested logs;
* every day of the window accounted for: ingested, or a reported gap (at most
  ``max_gap_days``); a day with no ingestion record at all is an unreported gap;
* at least ``min_cycles`` full cycles of the cadence since the integration was first seen.

The cadence comes from the days with calls. Its cycle is what must repeat before we can
believe we have seen everything the integration does:

* daily: calls on at least ``daily_active_share`` of observed days; the cycle is the longest
  pause between active days (1 for every day, 3 for weekdays only);
* weekly: the longest pause is 5 to ``weekly_max_interval`` days; the cycle is 7 days or
  that pause, whichever is longer;
* month-end: every active day lies within ``month_end_days`` of a month's turn; the cycle
  is 28 days, and each month's turn with calls counts as one run;
* irregular: anything else; the cycle is the longest pause;
* unknown: calls on one day only, nothing repeats yet.

Cycles observed = min(runs, days observed since the first run // cycle): both seeing it
run twice and covering two cycles' worth of days are needed, so a weekly job seen on day 1
and day 8 of a 10-day window has 1 cycle, not 2.

The window is the finding's, clipped to the store's history: days before the first
discovery run are before history, neither observed nor gaps (usage/coverage_records.py).
When a rule refuses, it says on which date planning again will pass it, if discovery keeps
running daily: a day's logs are ingested by the discovery run of the next morning, so a
rule that needs the logs of day D passes on D + 1 (``plan_date``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from ..models import Cadence, EvidenceWindow, PlanInputs
from ..settings import PlanSettings
from .kinds import unknown_operations

MONTH_CYCLE_DAYS = 28  # the shortest month: two month-ends are never closer


@dataclass(frozen=True)
class CadenceReading:
    cadence: Cadence
    period_days: int | None
    cycles: int
    runs: int


def _month_turn(day: date, k: int) -> tuple[int, int] | None:
    """The (year, month) whose end ``day`` is near, or None when it is mid-month."""
    last = calendar.monthrange(day.year, day.month)[1]
    if day.day > last - k:
        return day.year, day.month
    if day.day <= k:
        prev = day.replace(day=1) - timedelta(days=1)
        return prev.year, prev.month
    return None


def read_cadence(
    active: list[date], observed_since_first: int, days_observed: int, settings: PlanSettings
) -> CadenceReading:
    """The cadence of ``active`` (sorted days with calls) and the full cycles observed."""
    if not active:
        return CadenceReading("none", None, 0, 0)
    if len(active) == 1:
        return CadenceReading("unknown", None, 1, 1)
    longest = max((b - a).days for a, b in pairwise(active))
    turns = {_month_turn(d, settings.month_end_days) for d in active}
    cadence: Cadence
    if len(active) / max(days_observed, 1) >= settings.daily_active_share:
        cadence, period, runs = "daily", longest, len(active)
    elif None not in turns:
        cadence, period, runs = "month_end", MONTH_CYCLE_DAYS, len(turns)
    elif 5 <= longest <= settings.weekly_max_interval:
        cadence, period, runs = "weekly", max(7, longest), len(active)
    else:
        cadence, period, runs = "irregular", longest, len(active)
    return CadenceReading(cadence, period, min(runs, observed_since_first // period), runs)


def assess_evidence(inputs: PlanInputs, settings: PlanSettings) -> tuple[EvidenceWindow, list[str]]:
    """The evidence window as the plan shows it, and why it is insufficient (empty: it is not)."""
    start, end = inputs.window_start, inputs.window_end
    days_in_window = (end - start).days + 1
    gaps = sorted({d for d in inputs.gap_days if start <= d <= end})
    unrecorded = sorted({d for d in inputs.unrecorded_days if start <= d <= end} - set(gaps))
    lost = set(gaps) | set(unrecorded)
    in_window = {
        d: n for d, n in inputs.calls_by_day.items() if start <= d <= end and d not in lost
    }
    active = sorted(d for d, n in in_window.items() if n > 0)
    since_first = (
        (end - active[0]).days + 1 - sum(1 for d in lost if d > active[0]) if active else 0
    )
    reading = read_cadence(active, since_first, inputs.days_observed, settings)
    window = EvidenceWindow(
        start=start,
        end=end,
        days_in_window=max(days_in_window, 0),
        days_observed=inputs.days_observed,
        gap_days=gaps,
        unrecorded_days=unrecorded,
        cadence=reading.cadence,
        period_days=reading.period_days,
        cycles=reading.cycles,
        cycles_needed=settings.min_cycles,
        active_days=len(active),
        first_active=active[0] if active else None,
        last_active=active[-1] if active else None,
        total_calls=sum(in_window.values()),
    )
    return window, _insufficiencies(inputs, window, reading, settings)


def plan_date(last_log_day: date) -> date:
    """The first date a plan can see the logs of ``last_log_day``: the discovery run of the
    next morning ingests them (free logs are written overnight)."""
    return last_log_day + timedelta(days=1)


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _dates(days: list[date], limit: int = 5) -> str:
    shown = ", ".join(d.isoformat() for d in days[:limit])
    return shown + (f" and {len(days) - limit} more" if len(days) > limit else "")


_CADENCE_WORDS = {
    "daily": "daily",
    "weekly": "weekly",
    "month_end": "at month-end",
    "irregular": "irregularly",
}


def _insufficiencies(
    inputs: PlanInputs, w: EvidenceWindow, reading: CadenceReading, settings: PlanSettings
) -> list[str]:
    reasons: list[str] = []
    if w.end < w.start:
        return [
            f"The evidence window ends ({w.end}) before it starts ({w.start}): a bug in the caller."
        ]
    if w.days_observed < settings.min_days_observed:
        more = settings.min_days_observed - w.days_observed
        reasons.append(
            f"Only {_days(w.days_observed)} of logs observed; a plan needs at least "
            f"{settings.min_days_observed}. Keep daily discovery running and plan again on or "
            f"after {plan_date(w.end + timedelta(days=more))}."
        )
    unaccounted = w.days_in_window - w.days_observed - len(w.gap_days) - len(w.unrecorded_days)
    if w.unrecorded_days or unaccounted > 0:
        missing = len(w.unrecorded_days) + max(unaccounted, 0)
        listed = f" ({_dates(w.unrecorded_days)})" if w.unrecorded_days else ""
        reasons.append(
            f"{_days(missing)} of the window{listed} {'has' if missing == 1 else 'have'} no "
            "ingestion record: nobody knows what happened on them. Ingest those days if the "
            "org still holds their logs, or record them as gaps, then plan again."
        )
    elif unaccounted < 0:
        reasons.append(
            f"The window has {_days(w.days_in_window)} but {w.days_observed} observed and "
            f"{len(w.gap_days)} gap days were reported: the usage store's coverage is "
            "inconsistent. Rebuild it before planning."
        )
    if len(w.gap_days) > settings.max_gap_days:
        # The window slides a day each morning: the oldest gaps leave it one by one.
        leaving = w.gap_days[len(w.gap_days) - settings.max_gap_days - 1]
        length = (inputs.finding.window_end - inputs.finding.window_start).days + 1
        reasons.append(
            f"The logs of {_days(len(w.gap_days))} are lost ({_dates(w.gap_days)}); a plan "
            f"tolerates {settings.max_gap_days}. The integration may have done something only "
            "on those days: plan again once the window has moved past them, on or after "
            f"{plan_date(leaving + timedelta(days=length))}."
        )
    # Operations of unknown kind are observed too: they block the plan rather than void it.
    if not inputs.operations and not unknown_operations(inputs.other_operations):
        reasons.append(
            "No operation on any object was observed for this user and app: there is nothing "
            "to plan from. Check that the API event logs of the window were ingested."
        )
    if reading.cadence == "none":
        reasons.append(
            "No API call by this user and app falls in the evidence window: plan from a "
            "window in which the integration ran."
        )
    elif reading.cadence == "unknown":
        reasons.append(
            f"The integration was seen on one day only ({w.first_active}): its cadence cannot "
            f"be told and nothing it does has repeated. A plan needs {settings.min_cycles} full "
            "cycles; plan again after it has run on more days."
        )
    elif reading.cycles < settings.min_cycles:
        assert reading.period_days is not None and w.first_active is not None
        covered = w.first_active + timedelta(days=settings.min_cycles * reading.period_days - 1)
        when = (
            f"plan again on or after {plan_date(covered)}"
            if covered > w.end
            else "plan again after its next run"
        )
        reasons.append(
            f"The integration runs {_CADENCE_WORDS[reading.cadence]} (a cycle of "
            f"{_days(reading.period_days)}); since it was first seen on {w.first_active} the logs "
            f"cover {reading.cycles} full cycle{'' if reading.cycles == 1 else 's'} and a plan "
            f"needs {settings.min_cycles}, so that everything it does once a cycle has been "
            f"seen. Keep discovery running and {when}."
        )
    return reasons
