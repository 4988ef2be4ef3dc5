"""Store -> UsageProfile: one per (user, app or client) pair with API traffic in a window,
with everything detection weighs: cadence (hours, weekdays, days active), operations,
source IPs, the logins through the same app, token use, the user's own browser logins,
and whether the user is pre-authorized for the app. Read-only."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from ..models import AppRef, UsageProfile, UserInfo
from ..store import tables as t
from .coverage_records import api_sources_by_day
from .model import Coverage

_FREE = "ApiTotalUsage"


@dataclass
class _Pair:
    app_id: str = ""
    names: Counter[str] = field(default_factory=Counter)
    clients: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    by_day: Counter[date] = field(default_factory=Counter)
    hours: list[int] = field(default_factory=lambda: [0] * 24)
    weekdays: list[int] = field(default_factory=lambda: [0] * 7)
    families: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    ips: Counter[str] = field(default_factory=Counter)


def _wanted(sources: dict[date, str], day: date, event_type: str) -> bool:
    return (sources.get(day) == "free") == (event_type == _FREE)


def _traffic(conn: Connection, org: str, start: date, end: date) -> dict[tuple[str, str], _Pair]:
    sources = api_sources_by_day(conn, org, start, end)
    a = t.api_daily.c
    cols = [
        a.day,
        a.event_type,
        a.user_id,
        a.app_key,
        a.app_id,
        a.app_name,
        a.client_name,
        a.api_family,
        a.entity,
        a.operation,
        a.status,
        a.calls,
        *[a[h] for h in t.HOURS],
    ]
    pairs: dict[tuple[str, str], _Pair] = defaultdict(_Pair)
    query = select(*cols).where(a.org_id == org, a.day >= start, a.day <= end)
    for row in conn.execute(query):
        day, event_type, user, key, app_id, name, client, fam, entity, op, status, n = row[:12]
        if not _wanted(sources, day, event_type):
            continue
        p = pairs[(user, key)]
        p.app_id = p.app_id or app_id
        p.names[name] += n if name else 0
        p.clients[client] += n if client else 0
        p.calls += n
        p.by_day[day] += n
        p.weekdays[day.weekday()] += n
        for h, c in enumerate(row[12:]):
            p.hours[h] += c
        p.families[fam] += n
        p.operations[f"{entity}.{op}" if entity else op] += n
        p.statuses[status] += n
    i = t.api_source_ips.c
    ips = select(i.day, i.event_type, i.user_id, i.app_key, i.ip, i.calls).where(
        i.org_id == org, i.day >= start, i.day <= end
    )
    for day, event_type, user, key, ip, n in conn.execute(ips):
        if _wanted(sources, day, event_type) and (user, key) in pairs:
            pairs[(user, key)].ips[ip] += n
    return pairs


def _users(conn: Connection, org: str) -> dict[str, UserInfo]:
    u = t.users.c
    out = {}
    for r in conn.execute(select(t.users).where(u.org_id == org)).mappings():
        out[r["user_id"]] = UserInfo(
            user_id=r["user_id"],
            username=r["username"],
            name=r["name"],
            email=r["email"],
            license=r["license"],
            profile=r["profile"],
            is_active=r["is_active"],
            last_login=r["last_login"],
            title=r["title"],
            department=r["department"],
        )
    return out


def _app_names(conn: Connection, org: str) -> dict[str, str]:
    c = t.connected_apps.c
    return {a: n for a, n in conn.execute(select(c.app_id, c.name).where(c.org_id == org))}


def _logins(conn: Connection, org: str, start: date, end: date) -> list[Any]:
    h = t.login_history_daily.c
    query = select(
        h.user_id, h.application, h.login_type, h.login_sub_type, h.status, h.calls, h.last_at
    )
    rows = conn.execute(query.where(h.org_id == org, h.day >= start, h.day <= end)).all()
    if rows:
        return list(rows)
    # No LoginHistory ingested for the window: the Login event file has no application
    # name, but still tells browser logins apart.
    e = t.login_events_daily.c
    query = select(
        e.user_id, e.login_type, e.login_type, e.login_sub_type, e.status, e.calls, e.last_at
    )
    rows = conn.execute(query.where(e.org_id == org, e.day >= start, e.day <= end)).all()
    return [(u, "", lt, sub, st, n, last) for u, _, lt, sub, st, n, last in rows]


def _tokens(conn: Connection, org: str) -> list[Any]:
    o = t.oauth_tokens.c
    return list(
        conn.execute(
            select(o.user_id, o.app_id, o.app_name, o.use_count, o.last_used).where(o.org_id == org)
        ).all()
    )


def _preauth(conn: Connection, org: str) -> tuple[dict[str, bool], set[tuple[str, str]]]:
    """(app -> admin-approved-only, {(user, app)} reachable through SetupEntityAccess)."""
    c, x, s = t.connected_apps.c, t.app_access.c, t.assignments.c
    policy = dict(
        conn.execute(select(c.app_id, c.admin_approved_only).where(c.org_id == org)).all()
    )
    reach = select(s.assignee_id, x.app_id).join_from(
        t.assignments, t.app_access, (x.parent_id == s.permission_set_id) & (x.org_id == s.org_id)
    )
    return policy, {(u, a) for u, a in conn.execute(reach.where(s.org_id == org))}


def build_profiles(
    conn: Connection, org_label: str, org: str, start: date, end: date, cov: Coverage
) -> list[UsageProfile]:
    pairs = _traffic(conn, org, start, end)
    if not pairs:
        return []
    users, app_names = _users(conn, org), _app_names(conn, org)
    logins, tokens = _logins(conn, org, start, end), _tokens(conn, org)
    policy, reach = _preauth(conn, org)
    has_access_data = bool(policy) or bool(reach)
    out = []
    for (user_id, key), p in sorted(pairs.items()):
        if key.startswith("app:"):
            app_id = key[4:]
            top = p.names.most_common(1)
            name = app_names.get(app_id) or (top[0][0] if top and top[0][1] else app_id)
            app = AppRef.for_app(app_id, name)
        else:
            app = AppRef.for_client(key[7:] if key.startswith("client:") else None)
        names = {app.name.lower(), *(c.lower() for c in p.clients if c)} - {""}
        by_label: Counter[str] = Counter()
        ui, last_ui = 0, None
        for u, application, ltype, sub, status, n, last in logins:
            if u != user_id:
                continue
            if application.lower() in names:
                by_label[f"{ltype}|{sub}"] += n
            if ltype == "Application" and status == "Success":
                ui += n
                last_ui = last if last_ui is None or last > last_ui else last_ui
        use, last_used = _token_use(tokens, user_id, app)
        pre: bool | None = None
        if app.connected_app_id and has_access_data:
            allowed = (user_id, app.connected_app_id) in reach
            pre = allowed and policy.get(app.connected_app_id, True)
        user = users.get(user_id) or UserInfo(user_id=user_id, username=user_id)
        out.append(
            UsageProfile(
                org_id=org_label,
                user=user,
                app=app,
                window_start=start,
                window_end=end,
                days_observed=len(cov.days_observed),
                gap_days=cov.gap_days,
                days_active=sum(1 for n in p.by_day.values() if n),
                total_calls=p.calls,
                calls_by_day=dict(sorted(p.by_day.items())),
                hour_counts=p.hours,
                weekday_counts=p.weekdays,
                api_families=dict(p.families),
                operations=dict(p.operations.most_common()),
                status_codes=dict(p.statuses),
                source_ips=dict(p.ips.most_common()),
                logins=dict(by_label),
                token_use_count=use,
                token_last_used=last_used,
                user_ui_logins=ui,
                user_last_ui_login=last_ui,
                preauthorized=pre,
            )
        )
    return out


def _token_use(tokens: list[Any], user_id: str, app: AppRef) -> tuple[int | None, datetime | None]:
    """UseCount summed over the user's refresh-token grants of this app (by application id,
    or by name when AppMenuItem.ApplicationId is empty); None when there are none."""
    use, last, found = 0, None, False
    for u, app_id, name, count, last_used in tokens:
        if u != user_id:
            continue
        same = (app.connected_app_id and app_id == app.connected_app_id) or (
            not app_id and name and name.lower() == app.name.lower()
        )
        if not same:
            continue
        found = True
        use += count or 0
        if last_used is not None and (last is None or last_used > last):
            last = last_used
    return (use, last) if found else (None, None)
