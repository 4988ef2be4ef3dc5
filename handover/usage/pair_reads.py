"""Reads of one (user, app) pair that the migration needs from the usage store: how the
pair logs in (the plan's cutover section), its traffic over a verification window, and
what else the user's account does (decommission eligibility). Read-only.

Traffic follows the profiles' counting (profiles.py): a day's calls come from
ApiTotalUsage when it was ingested, else from the paid files, never both. A verification
window is cut at whole hours: the per-day aggregates keep 24 hour-of-day counts, so the
calls of the hours inside the window are exact and nothing outside it is counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, func, select

from ..store import tables as t
from .coverage_records import api_sources_by_day
from .decode import application_key
from .plan_evidence import PLAN_OPERATIONS, entity_names, is_success

_FREE = "ApiTotalUsage"


@dataclass(frozen=True)
class LoginKinds:
    """How a pair logged in over a window: successful logins by "LoginType|LoginSubType"
    label, and its OAuth refresh-token grants (rows and their UseCount)."""

    logins: dict[str, int]
    token_rows: int
    token_uses: int | None


@dataclass(frozen=True)
class WindowTraffic:
    """A pair's calls in a window: successful ones per "Object.operation", every call per
    status code (HTTP codes; the SOAP file's success as 200)."""

    operations: dict[str, int] = field(default_factory=dict)
    status_codes: dict[str, int] = field(default_factory=dict)
    # The successful calls per "Object.operation", day (ISO) and UTC hour of that day.
    by_hour: dict[str, dict[str, list[int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountActivity:
    """What a user's account did over a window besides one app: interactive logins and
    calls through other apps or clients."""

    ui_logins: int
    last_ui_login: datetime | None
    other_apps: dict[str, int]


def login_kinds(
    conn: Connection,
    org: str,
    user: str,
    app_names: list[str],
    app_id: str | None,
    start: date,
    end: date,
) -> LoginKinds:
    h = t.login_history_daily.c
    names = {application_key(n) for n in app_names if n}
    rows = conn.execute(
        select(h.application, h.login_type, h.login_sub_type, func.sum(h.calls))
        .where(
            h.org_id == org,
            h.user_id == user,
            h.day >= start,
            h.day <= end,
            h.status == "Success",
        )
        .group_by(h.application, h.login_type, h.login_sub_type)
    ).all()
    logins: Counter[str] = Counter()
    for application, login_type, sub_type, n in rows:
        if application_key(application) in names:
            logins[f"{login_type}|{sub_type}"] += int(n)
    o = t.oauth_tokens.c
    tokens = conn.execute(
        select(o.app_id, o.app_name, o.use_count).where(o.org_id == org, o.user_id == user)
    ).all()
    mine = [
        use
        for token_app, token_name, use in tokens
        if (app_id and token_app == app_id)
        or (not token_app and application_key(token_name) in names)
    ]
    uses = sum(u or 0 for u in mine) if mine else None
    return LoginKinds(logins=dict(sorted(logins.items())), token_rows=len(mine), token_uses=uses)


def _hour_starts(day: date) -> list[datetime]:
    midnight = datetime.combine(day, time(0), UTC)
    return [midnight + timedelta(hours=h) for h in range(24)]


def window_traffic(
    conn: Connection, org: str, user: str, app_key: str, start: datetime, end: datetime
) -> WindowTraffic:
    """The pair's calls in the whole hours of [start, end)."""
    a = t.api_daily.c
    first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).date()
    sources = api_sources_by_day(conn, org, first, last)
    rows = conn.execute(
        select(
            a.day, a.event_type, a.entity, a.operation, a.status, *[a[h] for h in t.HOURS]
        ).where(
            a.org_id == org,
            a.user_id == user,
            a.app_key == app_key,
            a.day >= first,
            a.day <= last,
        )
    ).all()
    operations: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    by_hour: dict[str, dict[str, list[int]]] = {}
    for day, event_type, entities, operation, status, *hours in rows:
        if (sources.get(day) == "free") != (event_type == _FREE):
            continue
        inside = [
            n if start <= at and at < end else 0
            for at, n in zip(_hour_starts(day), hours, strict=True)
        ]
        calls = sum(inside)
        if not calls:
            continue
        statuses["200" if status == "success" else status] += calls
        if operation in PLAN_OPERATIONS and is_success(status):
            for entity in entity_names(entities):
                op = f"{entity}.{operation}"
                operations[op] += calls
                counts = by_hour.setdefault(op, {}).setdefault(day.isoformat(), [0] * 24)
                for h, n in enumerate(inside):
                    counts[h] += n
    return WindowTraffic(dict(sorted(operations.items())), dict(sorted(statuses.items())), by_hour)


def account_activity(
    conn: Connection, org: str, user: str, app_key: str, start: date, end: date
) -> AccountActivity:
    h = t.login_history_daily.c
    ui = conn.execute(
        select(func.sum(h.calls), func.max(h.last_at)).where(
            h.org_id == org,
            h.user_id == user,
            h.day >= start,
            h.day <= end,
            h.login_type == "Application",
            h.status == "Success",
        )
    ).one()
    a = t.api_daily.c
    sources = api_sources_by_day(conn, org, start, end)
    rows = conn.execute(
        select(a.day, a.event_type, a.app_key, a.app_name, a.client_name, a.calls).where(
            a.org_id == org, a.user_id == user, a.day >= start, a.day <= end, a.app_key != app_key
        )
    ).all()
    other: Counter[str] = Counter()
    for day, event_type, key, app_name, client, calls in rows:
        if (sources.get(day) == "free") == (event_type == _FREE):
            other[app_name or client or key] += calls
    return AccountActivity(
        ui_logins=int(ui[0] or 0),
        last_ui_login=ui[1],
        other_apps={k: v for k, v in sorted(other.items()) if v},
    )
