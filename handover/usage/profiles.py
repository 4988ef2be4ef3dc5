"""Store -> UsageProfile: one per (user, app or client) pair with API traffic in a window,
with everything detection weighs: cadence (hours, weekdays, days active), operations,
source IPs, the logins through the same app, token grants, the user's own browser logins,
and whether the user is pre-authorized for the app. Read-only.

Each kind of evidence is read over the history the store holds of it: the API event logs
over the window, the logins over the login window (LoginHistory reaches back months, so a
first run already holds them), the user's last UI login over all of it, the refresh
tokens with their own dates."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, literal, select

from ..models import HANDOVER_CLIENT, AppRef, TokenGrant, UsageProfile, UserInfo
from ..signals import login_kind
from ..store import tables as t
from .coverage_records import api_sources_by_day
from .decode import client_identity
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


@dataclass(frozen=True)
class _Logins:
    """Login rows of the login window, and the history behind them."""

    rows: list[Any]  # (user, application, type, sub type, status, day, calls, last_at, *hours)
    since: date | None  # the first day of login history the store holds
    days_covered: int  # days of the login window that history holds
    last_ui: dict[str, datetime]  # user -> latest successful interactive login, all history


def _login_history(conn: Connection, org: str, since: date, end: date) -> _Logins:
    """Login rows of [since, end] as far as the store holds them. LoginHistory is read with
    a cursor, so its days are continuous from the first run's six months on. Without any
    (an org whose LoginHistory could not be read), the Login event files: they have no
    application name, still tell browser logins apart, and count only on the days they
    were ingested (a day without a file is no evidence of no login)."""
    h = t.login_history_daily.c
    began: date | None = conn.execute(select(func.min(h.day)).where(h.org_id == org)).scalar()
    app: Any = h.application
    if began is not None:
        lo = max(since, began)
        covered = max((end - lo).days + 1, 0)
    else:
        h, app, c = t.login_events_daily.c, literal(""), t.coverage.c
        held = select(c.day).where(
            c.org_id == org, c.event_type == "Login", c.status != "gap", c.day <= end
        )
        days = list(conn.execute(held).scalars())
        began, covered, lo = min(days, default=None), sum(1 for d in days if d >= since), since
    cols = [h.user_id, app, h.login_type, h.login_sub_type, h.status, h.day, h.calls,
            h.last_at, *[h[x] for x in t.HOURS]]  # fmt: skip
    rows = conn.execute(select(*cols).where(h.org_id == org, h.day >= lo, h.day <= end)).all()
    ui = (
        select(h.user_id, h.login_type, h.login_sub_type, func.max(h.last_at))
        .where(h.org_id == org, h.status == "Success", h.day <= end)
        .group_by(h.user_id, h.login_type, h.login_sub_type)
    )
    last_ui: dict[str, datetime] = {}
    for user, ltype, sub, last in conn.execute(ui):
        interactive = login_kind(f"{ltype}|{sub}") == "interactive"
        if interactive and (user not in last_ui or last > last_ui[user]):
            last_ui[user] = last
    return _Logins(list(rows), began, covered, last_ui)


def _tokens(conn: Connection, org: str) -> list[Any]:
    o = t.oauth_tokens.c
    query = select(o.user_id, o.app_id, o.app_name, o.use_count, o.last_used, o.created)
    return list(conn.execute(query.where(o.org_id == org)).all())


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
    conn: Connection,
    org_label: str,
    org: str,
    start: date,
    end: date,
    cov: Coverage,
    *,
    login_window_days: int = 180,
    own_user_id: str | None = None,
) -> list[UsageProfile]:
    pairs = _traffic(conn, org, start, end)
    if not pairs:
        return []
    users, app_names = _users(conn, org), _app_names(conn, org)
    logins = _login_history(conn, org, end - timedelta(days=login_window_days - 1), end)
    tokens = _tokens(conn, org)
    logins_of: dict[str, list[Any]] = defaultdict(list)  # months of rows: read once per user
    for row in logins.rows:
        logins_of[row[0]].append(row)
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
        clients = {client_identity(c).lower() for c in p.clients if c}
        names = {app.name.lower(), *clients} - {""}
        by_label: Counter[str] = Counter()
        days: dict[str, set[date]] = defaultdict(set)
        hours: dict[str, list[int]] = {}
        ui = 0
        for _u, application, ltype, sub, status, day, n, _last, *hour_counts in logins_of[user_id]:
            if client_identity(application).lower() in names:
                label = f"{ltype}|{sub}"
                by_label[label] += n
                days[label].add(day)
                counts = hours.setdefault(label, [0] * 24)
                for h, c in enumerate(hour_counts):
                    counts[h] += c
            if (
                day >= start
                and status == "Success"
                and login_kind(f"{ltype}|{sub}") == "interactive"
            ):
                ui += n
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
                login_days={k: sorted(v) for k, v in sorted(days.items())},
                login_hours=dict(sorted(hours.items())),
                login_history_since=logins.since,
                login_days_covered=logins.days_covered,
                token_grants=_token_grants(tokens, user_id, app),
                user_ui_logins=ui,
                user_last_ui_login=logins.last_ui.get(user_id),
                preauthorized=pre,
                is_handover=bool(own_user_id)
                and user_id == own_user_id
                and clients == {HANDOVER_CLIENT},
            )
        )
    return out


def _token_grants(tokens: list[Any], user_id: str, app: AppRef) -> list[TokenGrant]:
    """The user's refresh-token grants of this app (by application id, or by name when
    AppMenuItem.ApplicationId is empty), each with its own UseCount and dates. A client
    name is no connected app's label: a pair without an app gets no token by guesswork."""
    if app.connected_app_id is None:
        return []
    out = []
    for u, app_id, name, count, last_used, created in tokens:
        if u != user_id:
            continue
        same = app_id == app.connected_app_id or (
            not app_id and name and name.lower() == app.name.lower()
        )
        if same:
            out.append(TokenGrant(use_count=count or 0, created=created, last_used=last_used))
    return sorted(out, key=lambda g: (g.created is None, g.created, g.use_count))
