"""History before the scenario starts: N days of logins and API calls, as if the workloads
and the human users had been running all along.

Detection reads LoginHistory, OauthToken and the event log files, all of which look back in
time, so a freshly loaded org must already carry a month of traffic. Every generated call
becomes the CSV rows a live call would (same encoder, through pre-rendered templates: see
``eventlog/templates.py``), every login a LoginHistory row and a Login event, except
refresh-token use, which Salesforce does not log as a login and which only bumps the
OauthToken row.

Days are independent (each has its own random streams), so they are rendered in parallel
processes when there is enough work; the output is the same either way.
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from multiprocessing import get_context
from typing import Protocol

from .clock import SimClock
from .eventlog.events import LoginEvent
from .eventlog.logins import last_ui_login, login_history_row
from .eventlog.store import EventStore
from .eventlog.synth import DayResult, DayTask, UiUserCtx, WorkloadCtx, render_day
from .ids import IdFactory
from .objects import standard_schema
from .scenario import Scenario, UserGroupSpec, Workload

# Above this many calls the two-process pool pays for its start-up (~0.5 s with spawn).
_PARALLEL_MIN_CALLS = 300_000
LOGIN_HISTORY_DAYS = 180  # how far back LoginHistory goes (reference 1.1: six months)


class BackfillTarget(Protocol):
    """What the backfill needs from the org backend."""

    events: EventStore
    clock: SimClock

    def user_by_username(self, username: str) -> dict | None: ...
    def connected_app_by_name(self, name: str) -> dict | None: ...
    def add_login_history(self, rows: list[dict]) -> object: ...
    def note_token_use(
        self, user_id: str, app_name: str, uses: int, last_used: datetime
    ) -> None: ...
    def set_last_login(self, user_id: str, when: datetime) -> None: ...
    def add_api_events(self, rows: list[dict]) -> None: ...


@dataclass
class BackfillReport:
    days: list[date]
    api_calls: int = 0  # calls the workloads made (SOAP login calls not included)
    calls_by_workload: dict[str, int] = field(default_factory=dict)
    logins: int = 0  # LoginHistory rows / Login events
    token_refreshes: int = 0  # refresh-token uses (no LoginHistory row)
    rows_by_type: dict[str, int] = field(default_factory=dict)  # event log rows kept
    compressed_bytes: int = 0
    skipped: list[str] = field(default_factory=list)  # workloads / users not in the org
    workers: int = 1
    seconds: float = 0.0


def group_usernames(group: UserGroupSpec, scenario: Scenario) -> list[str]:
    """The users of a group: ``{prefix}{n:03d}@<domain of the admin username>``, n = 1..count."""
    domain = scenario.org.admin_username.split("@", 1)[1]
    return [f"{group.prefix}{n:03d}@{domain}" for n in range(1, group.count + 1)]


def key_prefixes(scenario: Scenario) -> dict[str, str]:
    out = {obj.name.lower(): obj.key_prefix for obj in standard_schema() if obj.key_prefix}
    out.update({c.name.lower(): c.key_prefix for c in scenario.custom_objects})
    return out


def _workloads(
    target: BackfillTarget, scenario: Scenario, report: BackfillReport
) -> list[WorkloadCtx]:
    prefixes = key_prefixes(scenario)
    out = []
    for w in scenario.workloads:
        user = target.user_by_username(w.username)
        if user is None:
            report.skipped.append(f"workload {w.name}: no user {w.username}")
            continue
        app = target.connected_app_by_name(w.app)
        out.append(
            WorkloadCtx(
                spec=w,
                user_id=user["Id"],
                username=user.get("Username", w.username),
                app_id=app["Id"] if app else None,
                app_name=app["Name"] if app else None,
                prefixes={c.object: prefixes.get(c.object.lower(), "a0X") for c in w.calls},
            )
        )
    return out


def ui_users(target: BackfillTarget, scenario: Scenario, report: BackfillReport) -> list[UiUserCtx]:
    """The scenario's people who sign in to the UI (users and groups), as found in the org."""
    wanted: list[tuple[str, float, list[int] | None]] = [
        (u.username, u.ui_logins_per_day, u.ui_login_hours)
        for u in scenario.users
        if u.ui_logins_per_day > 0 and u.active
    ]
    for group in scenario.user_groups:
        if group.ui_logins_per_day > 0:
            wanted.extend(
                (name, group.ui_logins_per_day, group.ui_login_hours)
                for name in group_usernames(group, scenario)
            )
    out = []
    for username, per_day, hours in wanted:
        user = target.user_by_username(username)
        if user is None:
            report.skipped.append(f"UI user {username}: not in the org")
            continue
        out.append(
            UiUserCtx(
                user_id=user["Id"],
                username=user.get("Username", username),
                per_day=per_day,
                hours=tuple(hours) if hours is not None else None,
            )
        )
    return out


def last_ui_logins(
    target: BackfillTarget, scenario: Scenario, report: BackfillReport
) -> list[LoginEvent]:
    """The users' last UI logins the scenario names (before its start), as LoginHistory
    keeps them: six months back, no further."""
    kept_since = scenario.org.start - timedelta(days=LOGIN_HISTORY_DAYS)
    out = []
    for u in scenario.users:
        if u.last_ui_login is None:
            continue
        user = target.user_by_username(u.username)
        if user is None:
            report.skipped.append(f"last UI login of {u.username}: not in the org")
            continue
        when = u.last_ui_login.astimezone(UTC)
        event = last_ui_login(
            user["Id"], user.get("Username", u.username), when, scenario.org.my_domain
        )
        if when >= kept_since:
            out.append(event)
        else:
            target.set_last_login(user["Id"], when)  # LoginHistory no longer has it
    return out


def _expected_calls(workloads: Iterable[WorkloadCtx], days: int) -> float:
    total = 0.0
    for w in workloads:
        s = w.spec.schedule
        total += s.calls_per_hour * len(set(s.hours)) * days * len(set(s.weekdays)) / 7
    return total


def backfill(
    target: BackfillTarget,
    scenario: Scenario,
    days: int,
    *,
    seed: int = 7,
    workers: int | None = None,
    on_day: Callable[[date, BackfillReport], None] | None = None,
) -> BackfillReport:
    """Generate `days` full UTC days before the clock's current day (today excluded).

    `workers`: processes rendering days in parallel; None picks 2 for big backfills on a
    multi-core machine and 1 otherwise. The result does not depend on it.
    `on_day`: called after each day is absorbed, with the report so far (progress).
    """
    started = _time.perf_counter()
    store = target.events
    now = target.clock.now()
    today = now.date()
    day_list = [today - timedelta(days=i) for i in range(days, 0, -1)]
    report = BackfillReport(days=day_list)
    workloads = _workloads(target, scenario, report)
    people = ui_users(target, scenario, report)
    tasks = [
        DayTask(
            day=d,
            seed=seed,
            org15=store.org15,
            paid=store.event_monitoring,
            # Files of days already past retention would be deleted at once: skip the CSV
            # (LoginHistory and token use are still generated, and identical either way).
            render=store.retained(d, now),
            api_version=store.api_version,
            my_domain=scenario.org.my_domain,
            workloads=workloads,
            ui_users=people,
            real_time=getattr(target, "real_time_events", False),
        )
        for d in day_list
    ]
    if workers is None:
        big = _expected_calls(workloads, days) >= _PARALLEL_MIN_CALLS
        workers = 2 if big and (os.cpu_count() or 1) > 1 and len(tasks) > 1 else 1
    report.workers = workers
    logins: list[LoginEvent] = []
    refreshes: dict[tuple[str, str], tuple[int, datetime]] = {}
    if workers > 1:
        # spawn, not fork: the emulator serves HTTP from threads, and forking a threaded
        # process can copy a held lock into the child.
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            for task, result in zip(tasks, pool.map(render_day, tasks), strict=True):
                _absorb(result, target, store, report, logins, refreshes)
                if on_day is not None:
                    on_day(task.day, report)
    else:
        for task in tasks:
            _absorb(render_day(task), target, store, report, logins, refreshes)
            if on_day is not None:
                on_day(task.day, report)

    logins.extend(last_ui_logins(target, scenario, report))
    logins.sort(key=lambda e: (e.timestamp, e.request_id))
    for event in logins:
        if store.retained(event.timestamp.date(), now):
            store.record_login(event)
            report.rows_by_type["Login"] = report.rows_by_type.get("Login", 0) + 1
    target.add_login_history([login_history_row(e) for e in logins])
    last: dict[str, datetime] = {}
    for event in logins:
        last[event.user_id] = event.timestamp  # sorted: the last one wins
    for user_id, when in last.items():
        target.set_last_login(user_id, when)
    for (user_id, app_name), (uses, last_used) in _uses_before(
        workloads, day_list[0] if day_list else today, now
    ).items():
        target.note_token_use(user_id, app_name, uses, last_used)
    for (user_id, app_name), (uses, last_used) in refreshes.items():
        target.note_token_use(user_id, app_name, uses, last_used)
    report.logins = len(logins)
    report.token_refreshes = sum(uses for uses, _ in refreshes.values())
    report.seconds = _time.perf_counter() - started
    return report


def sessions_per_run_day(spec: Workload) -> int:
    """How many login sessions (refresh-token uses) the workload opens on a day it runs:
    the login slots its active hours touch."""
    s = spec.schedule
    every = min(max(s.login_every_minutes, 1), 1440)
    return len(
        {k for h in set(s.hours) for k in range(h * 60 // every, (h * 60 + 59) // every + 1)}
    )


def _uses_before(
    workloads: list[WorkloadCtx], first_day: date, now: datetime
) -> dict[tuple[str, str], tuple[int, datetime]]:
    """The refresh tokens' use from their grant to the first backfilled day: the schedule
    ran all along, so a token granted 180 days ago has 180 days of uses on it."""
    out: dict[tuple[str, str], tuple[int, datetime]] = {}
    for w in workloads:
        if w.spec.auth != "refresh_token":
            continue
        granted = (now - timedelta(days=w.spec.token_age_days)).date()
        days = [granted + timedelta(days=i) for i in range((first_day - granted).days)]
        runs = sum(1 for d in days if w.spec.schedule.runs_on(d))
        if runs:
            out[(w.user_id, w.app_name or w.spec.app)] = (
                runs * sessions_per_run_day(w.spec),
                datetime.combine(first_day, time(0), UTC) - timedelta(minutes=1),
            )
    return out


def _absorb(
    result: DayResult,
    target: BackfillTarget,
    store: EventStore,
    report: BackfillReport,
    logins: list[LoginEvent],
    refreshes: dict[tuple[str, str], tuple[int, datetime]],
) -> None:
    for event_type, (blob, size, rows) in result.bodies.items():
        store.add_sorted_body(result.day, event_type, blob, size, rows)
        report.rows_by_type[event_type] = report.rows_by_type.get(event_type, 0) + rows
        report.compressed_bytes += len(blob)
    for name, n in result.calls.items():
        report.calls_by_workload[name] = report.calls_by_workload.get(name, 0) + n
        report.api_calls += n
    logins.extend(result.logins)
    if result.api_events:
        target.add_api_events(result.api_events)
    for key, (uses, last_used) in result.refreshes.items():
        prev_uses, prev_last = refreshes.get(key, (0, last_used))
        refreshes[key] = (prev_uses + uses, max(prev_last, last_used))


class MemoryTarget:
    """A minimal BackfillTarget without an org (benchmarks, tests): users and apps are
    created on first lookup, LoginHistory rows and token uses are kept in lists."""

    def __init__(self, events: EventStore, clock: SimClock, ids: IdFactory) -> None:
        self.events = events
        self.clock = clock
        self._ids = ids
        self.users: dict[str, dict] = {}
        self.apps: dict[str, dict] = {}
        self.login_history: list[dict] = []
        self.token_uses: list[tuple[str, str, int, datetime]] = []
        self.last_login: dict[str, datetime] = {}
        self.real_time_events = False  # set to collect ApiEvent rows
        self.api_events: list[dict] = []

    def user_by_username(self, username: str) -> dict | None:
        key = username.lower()
        if key not in self.users:
            self.users[key] = {"Id": self._ids.new("005"), "Username": key}
        return self.users[key]

    def connected_app_by_name(self, name: str) -> dict | None:
        if name not in self.apps:
            self.apps[name] = {"Id": self._ids.new("0H4"), "Name": name}
        return self.apps[name]

    def add_login_history(self, rows: list[dict]) -> None:
        self.login_history.extend(rows)

    def note_token_use(self, user_id: str, app_name: str, uses: int, last_used: datetime) -> None:
        self.token_uses.append((user_id, app_name, uses, last_used))

    def set_last_login(self, user_id: str, when: datetime) -> None:
        self.last_login[user_id] = when

    def add_api_events(self, rows: list[dict]) -> None:
        self.api_events.extend(rows)
