"""The org's clock moving on with its workloads running: what ``POST /_emulator/clock
{"seconds": N, "run_workloads": true}`` does, fast enough for a demo (a Loomis day in a few
seconds).

Over the span every workload follows its schedule, the same per-day plan the backfill draws
(``eventlog.synth.plan_day``, same seed), as its external system would:

* a **run** is one login slot of the workload (``login_every_minutes``) with calls in the
  span. It reads the workload's credential file as it is now and logs in for real over
  HTTPS (the real flow: LoginHistory row, Login event, LastLoginDate, OauthToken use, or the
  real refusal), then makes each call of its mix once through simple-salesforce (the real
  access checks and errors). A cutover therefore shows at the next run: a rewritten
  credential file, a re-pointed client-credentials Run-As user, a revoked token;
* the rest of the run's calls are written as event-log rows (ApiTotalUsage, and the paid
  types with Event Monitoring) for the user who actually logged in and the session's app,
  each with the outcome (status, error) of the live call of the same object and operation,
  and they count against the daily API limit (beyond it they are dropped, as
  ``REQUEST_LIMIT_EXCEEDED``);
* a run whose login is refused makes no calls: the refusal is all that is recorded;
* the humans' UI logins of the span are recorded too, refused while the user is frozen
  or inactive.

A slot that began before the span logs in again at the span's start. The clock ends at the
end of the span; the daily event-log files of the days that completed appear as after a
backfill (the next morning, 02:00-04:00 UTC). Limits: docs/emulator-fidelity.md.
"""

from __future__ import annotations

import threading
import time as _time
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import requests
from simple_salesforce import Salesforce

from . import client
from .backfill import BackfillReport, key_prefixes, ui_users
from .eventlog.events import LoginEvent, new_key, new_request_id
from .eventlog.logins import ui_logins
from .eventlog.synth import (
    CallResult,
    DayTask,
    Session,
    WorkloadCtx,
    outcome_key,
    plan_day,
    render_run,
)
from .org import Org
from .scenario import Scenario, Workload
from .workloads.results import WorkloadResult
from .workloads.runner import run_workload

DAY_MS = 86_400_000
BACKFILL_SEED = 7  # backfill()'s default: the live schedule continues the same plan


@dataclass(frozen=True)
class ScheduledRun:
    at: datetime  # when it logs in
    workload: Workload
    day: date
    calls: list[int]  # ms of the day of its calls in the span, sorted


@dataclass
class WorkloadSummary:
    runs: int = 0
    runs_failed: int = 0  # logins refused
    calls_ok: int = 0
    calls_failed: int = 0
    error_codes: Counter[str] = field(default_factory=Counter)
    users: dict[str, dict[str, int]] = field(default_factory=dict)  # who logged in

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "runs_failed": self.runs_failed,
            "users": self.users,
            "calls_ok": self.calls_ok,
            "calls_failed": self.calls_failed,
            "error_codes": dict(sorted(self.error_codes.items())),
        }

    def add_user(self, username: str, ok: int, failed: int) -> None:
        u = self.users.setdefault(username, {"runs": 0, "calls_ok": 0, "calls_failed": 0})
        u["runs"] += 1
        u["calls_ok"] += ok
        u["calls_failed"] += failed


def scheduled_runs(
    scenario: Scenario, start: datetime, end: datetime, seed: int = BACKFILL_SEED
) -> list[ScheduledRun]:
    """Every workload's runs with calls in [start, end), in time order."""
    runs: list[ScheduledRun] = []
    day = start.astimezone(UTC).date()
    while (day0 := datetime.combine(day, time(0), UTC)) < end:
        lo = max(0, int((start - day0).total_seconds() * 1000))
        hi = min(DAY_MS, int((end - day0).total_seconds() * 1000))
        task = DayTask(day, seed, "", False, False, "", "", [], [])
        for w in scenario.workloads:
            ms, sessions, _ = plan_day(WorkloadCtx(w, "", "", None, None, {}), task)
            slot_ms = min(max(w.schedule.login_every_minutes, 1), 1440) * 60_000
            by_slot: dict[int, list[int]] = {}
            for m in ms:
                if lo <= m < hi:
                    by_slot.setdefault(m // slot_ms, []).append(m)
            for slot, calls in by_slot.items():
                login = max(sessions[slot].login_ms, lo)
                runs.append(ScheduledRun(day0 + timedelta(milliseconds=login), w, day, calls))
        day += timedelta(days=1)
    return sorted(runs, key=lambda r: (r.at, r.workload.name))


class LiveClock:
    """Advances an org's clock with the scenario's workloads running (one span at a time)."""

    def __init__(
        self, org: Org, scenario: Scenario, info: dict[str, Any], *, seed: int = BACKFILL_SEED
    ) -> None:
        self.org = org
        self.scenario = scenario
        self.info = info
        self.seed = seed
        self.prefixes = key_prefixes(scenario)
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> dict[str, Any]:
        """Run the span [now, now + seconds) and return its summary (JSON-ready)."""
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward: seconds must be >= 0")
        with self._lock:
            wall = _time.perf_counter()
            start = self.org.clock.now()
            end = start + timedelta(seconds=seconds)
            summary = {w.name: WorkloadSummary() for w in self.scenario.workloads}
            timeline: list[ScheduledRun | LoginEvent] = [
                *scheduled_runs(self.scenario, start, end, self.seed),
                *self._ui_logins(start, end),
            ]
            timeline.sort(key=_instant)
            ui = 0
            # One HTTPS session per workload for the span: its runs reuse the connections.
            http = {w.name: client.session_for(self.info) for w in self.scenario.workloads}
            try:
                for item in timeline:
                    self._advance_to(_instant(item))
                    if isinstance(item, LoginEvent):
                        self._ui_login(item)
                        ui += 1
                    else:
                        name = item.workload.name
                        self._run(item, summary[name], http[name])
            finally:
                for session in http.values():
                    session.close()
            self._advance_to(end)
            return {
                "started": start.isoformat(),
                "now": self.org.clock.now().isoformat(),
                "seconds": seconds,
                "workloads": {name: s.as_dict() for name, s in summary.items()},
                "ui_logins": ui,
                "event_log_files": self.org.events.files_created(start, self.org.clock.now()),
                "wall_seconds": round(_time.perf_counter() - wall, 2),
            }

    # ------------------------------------------------------------------ one run

    def _run(self, run: ScheduledRun, summary: WorkloadSummary, http: requests.Session) -> None:
        w = run.workload
        sessions: list[str] = []

        def on_login(sf: Salesforce) -> None:
            sessions.append(sf.session_id)

        result = run_workload(
            self.info,
            self.scenario,
            w.name,
            calls=len(w.calls),
            seed=zlib.crc32(f"{w.name}|{run.at.isoformat()}".encode()),
            on_login=on_login,
            session=http,
        )
        summary.runs += 1
        session = self.org.sessions.get(sessions[0]) if sessions else None
        if result.login_error is not None or session is None:
            summary.runs_failed += 1
            code = result.login_error.error_code if result.login_error else None
            summary.error_codes[code or "LOGIN_FAILED"] += 1
            return
        user = self.org.table("User")[session.user_id]
        ok, failed = _count_live(result, summary)
        made = sum(1 for o in result.outcomes if not o.skipped)
        rest = run.calls[min(made, len(run.calls)) :]
        allowed = self.org.api_counter.consume_up_to(run.day, session.app_name, len(rest))
        if allowed < len(rest):
            dropped = len(rest) - allowed
            failed += dropped
            summary.error_codes["REQUEST_LIMIT_EXCEEDED"] += dropped
        outcomes = _outcomes(result)
        ctx = WorkloadCtx(
            w,
            user["Id"],
            user["Username"],
            session.app_id,
            session.app_name,
            {c.object: self.prefixes.get(c.object.lower(), "a0X") for c in w.calls},
            outcomes,
        )
        day0 = datetime.combine(run.day, time(0), UTC)
        login_ms = int((run.at - day0).total_seconds() * 1000)
        synth_session = Session(
            login_ms,
            session.login_key,
            session.session_key,
            result.source_ip,
            new_key()[:5],
            new_request_id(run.at),
        )
        task = DayTask(
            run.day,
            self.seed,
            self.org.events.org15,
            self.org.events.event_monitoring,
            True,
            self.org.events.api_version,
            self.org.my_domain,
            [],
            [],
        )
        api_events: list[dict[str, object]] = []
        records, counts = render_run(
            ctx,
            task,
            rest[:allowed],
            synth_session,
            tag=f"{self.seed}|{w.name}|{run.at}",
            api_events=api_events if self.org.real_time_events else None,
        )
        for event_type, rows in records.items():
            self.org.events.add_records(run.day, event_type, rows)
        self.org.add_api_events(api_events)
        for call, n in counts:
            r = outcomes[outcome_key(call)]
            if r.ok:
                ok += n
            else:
                failed += n
                summary.error_codes[r.code or f"HTTP_{r.status}"] += n
        summary.calls_ok += ok
        summary.calls_failed += failed
        summary.add_user(user["Username"], ok, failed)

    # ------------------------------------------------------------------ people

    def _ui_logins(self, start: datetime, end: datetime) -> list[LoginEvent]:
        people = ui_users(self.org, self.scenario, BackfillReport(days=[]))
        out: list[LoginEvent] = []
        day = start.date()
        while datetime.combine(day, time(0), UTC) < end:
            task = DayTask(day, self.seed, "", False, False, "", self.org.my_domain, [], [])
            for person in people:
                out += [e for e in ui_logins(person, task) if start <= e.timestamp < end]
            day += timedelta(days=1)
        return out

    def _ui_login(self, event: LoginEvent) -> None:
        user = self.org.table("User").get(event.user_id) or {}
        if not user.get("IsActive"):
            event = replace(event, status="User is inactive")
        elif self.org.user_login(event.user_id).get("IsFrozen"):
            event = replace(event, status="User is frozen")
        self.org.record_login(event)

    def _advance_to(self, instant: datetime) -> None:
        if instant > self.org.clock.now():
            self.org.clock.set(instant)


def _instant(item: ScheduledRun | LoginEvent) -> datetime:
    return item.timestamp if isinstance(item, LoginEvent) else item.at


def _outcomes(result: WorkloadResult) -> dict[tuple[str, str], CallResult]:
    """The live outcome of each kind of call the run made (the first one counts)."""
    out: dict[tuple[str, str], CallResult] = {}
    for o in result.outcomes:
        if o.lookup or o.skipped:
            continue
        key = (o.object.lower(), o.operation)
        if key not in out:
            out[key] = CallResult(o.ok, o.status or 0, o.error_code, o.message)
    return out


def _count_live(result: WorkloadResult, summary: WorkloadSummary) -> tuple[int, int]:
    """The run's real calls (lookups included): ok and failed, with their error codes."""
    ok = failed = 0
    for o in result.outcomes:
        if o.skipped:
            continue
        if o.ok:
            ok += 1
        else:
            failed += 1
            summary.error_codes[o.error_code or "ERROR"] += 1
    return ok, failed
