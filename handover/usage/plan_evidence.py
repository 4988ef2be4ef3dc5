"""The usage store read for one finding's plan: which operations the (user, app) pair made
on which objects, which fields its queries read, on which days, and which days of the
window the store can vouch for. Read-only; the planner (handover/plan.py) decides.

Counting follows the profiles (profiles.py): a day's calls come from ApiTotalUsage when it
was ingested, else from the paid files, never both (they log the same calls twice). Only
successful calls are evidence: a call that failed justifies no permission.

What the calls did takes the most detailed source of each day, never the least: Bulk API
requests in ApiTotalUsage say that a job ran, not which operation it ran, while Event
Monitoring's BulkApi (one row per batch) and BulkApi2 (one per job) logs say it, per object.
So a day's Bulk calls come from those logs when they were ingested (see _evidence_rows).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select

from ..models import FieldEvidence, OperationEvidence
from ..store import tables as t
from .coverage_records import API_EVENT_TYPES, api_sources_by_day, history_began, read_coverage

PLAN_OPERATIONS = ("query", "retrieve", "create", "update", "upsert", "delete")
# Operations that need no object permission (the session itself, the schema, limits).
NEUTRAL_OPERATIONS = frozenset({"login", "logout", "userinfo", "describe", "limits", "other"})
_FREE = "ApiTotalUsage"
# Bulk API family (naming.family_of) -> the log that names each job's operation and object.
_BULK_DETAIL = {"Bulk": "BulkApi", "Bulk2": "BulkApi2"}
_NO_APP = "none"  # the app key of calls logged with neither app nor client (models.app_key_of)


def entity_names(entity: str) -> list[str]:
    """The objects of ENTITY_NAME, which ApiTotalUsage types as a Set: a collection call
    on two objects names both ("Account,Contact"), and each needs the permission."""
    cleaned = entity.strip().strip("[]")
    return sorted({e.strip().strip("'\"") for e in cleaned.split(",")} - {""})


def is_success(status: str) -> bool:
    """HTTP codes below 400 (ApiTotalUsage, RestApi), "success" (the SOAP API and Bulk
    files). "unknown" is not success: a call nobody can vouch for justifies nothing."""
    if status == "success":
        return True
    return status.isdigit() and int(status) < 400


@dataclass(frozen=True)
class EvidenceCoverage:
    """The days of a window the store can speak for, as the planner needs them.

    ``start`` / ``end`` are the requested window clipped to the store's history (days
    before history began were never ours to see; a last day a run could not decide yet
    is not known either). Every other day is observed (API logs ingested or known empty),
    a reported gap, or unrecorded (no API record at all)."""

    start: date
    end: date
    days_observed: list[date]
    gap_days: list[date]
    unrecorded_days: list[date]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def evidence_coverage(conn: Connection, org: str, start: date, end: date) -> EvidenceCoverage:
    c = t.coverage.c
    first = history_began(conn, org)
    last = conn.execute(select(func.max(c.day)).where(c.org_id == org)).scalar()
    if first is not None and last is not None:
        start, end = max(start, first), min(end, last)
    if first is None or end < start:
        return EvidenceCoverage(start, max(start, end), [], [], [])
    cov = read_coverage(conn, org, start, end)
    observed = set(cov.days_observed)
    gaps = {g.day for g in cov.gaps if g.event_type in API_EVENT_TYPES} - observed
    # A day with only Login records (or nothing) carries no API evidence: unrecorded.
    unrecorded = [d for d in _days(start, end) if d not in observed and d not in gaps]
    return EvidenceCoverage(start, end, sorted(observed), sorted(gaps), unrecorded)


def _pair_rows(
    conn: Connection, org: str, user: str, app_key: str, start: date, end: date, *cols: Any
) -> list[Any]:
    """The pair's API aggregate rows of the window, each day from one source only."""
    a = t.api_daily.c
    sources = api_sources_by_day(conn, org, start, end)
    query = select(a.day, a.event_type, *cols).where(
        a.org_id == org, a.user_id == user, a.app_key == app_key, a.day >= start, a.day <= end
    )
    return [
        row[2:]
        for row in conn.execute(query)
        if (sources.get(row[0]) == "free") == (row[1] == _FREE)
    ]


def _from_source(sources: dict[date, str], day: date, event_type: str) -> bool:
    return (sources.get(day) == "free") == (event_type == _FREE)


def _ingested(conn: Connection, org: str, start: date, end: date, types: list[str]) -> set[Any]:
    c = t.coverage.c
    query = select(c.day, c.event_type).where(
        c.org_id == org, c.day >= start, c.day <= end, c.event_type.in_(types),
        c.status == "ingested",
    )  # fmt: skip
    return {(day, event_type) for day, event_type in conn.execute(query)}


def _evidence_rows(
    conn: Connection, org: str, user: str, app_key: str, start: date, end: date, *cols: Any
) -> list[Any]:
    """The pair's API aggregate rows as evidence of what it did, each day from its most
    detailed source.

    A day reads ApiTotalUsage or the paid files as ``_pair_rows`` does, except for its Bulk
    API calls of a family (1.0, 2.0) whose detailed log (BulkApi, BulkApi2) was ingested:
    those come from that log. The detailed logs name no app, so the user's jobs there are
    the pair's only when the pair was the user's only app running that family's jobs that
    day (by the day's other source) and the log has jobs of the user at all; otherwise the
    day keeps the free log's Bulk calls, of unknown kind, rather than guess."""
    a = t.api_daily.c
    sources = api_sources_by_day(conn, org, start, end)
    detail_types = list(_BULK_DETAIL.values())
    ingested = _ingested(conn, org, start, end, detail_types)
    query = select(a.day, a.event_type, a.app_key, a.api_family, *cols).where(
        a.org_id == org, a.user_id == user, a.day >= start, a.day <= end,
        or_(a.app_key == app_key, a.api_family.in_(list(_BULK_DETAIL))),
    )  # fmt: skip
    rows = conn.execute(query).all()
    runners: dict[tuple[date, str], set[str]] = {}  # apps running the family's jobs that day
    logged: set[tuple[date, str]] = set()  # the detailed log has jobs of the user that day
    for day, event_type, key, family, *_ in rows:
        if family not in _BULK_DETAIL:
            continue
        if event_type in detail_types:
            if key in (app_key, _NO_APP):
                logged.add((day, family))
        elif _from_source(sources, day, event_type):
            runners.setdefault((day, family), set()).add(key)

    def detailed(day: date, family: str) -> bool:
        return (
            (day, _BULK_DETAIL[family]) in ingested
            and (day, family) in logged
            and runners.get((day, family)) == {app_key}
        )

    out = []
    for day, event_type, key, family, *values in rows:
        if family in _BULK_DETAIL and detailed(day, family):
            take = event_type == _BULK_DETAIL[family] and key in (app_key, _NO_APP)
        else:
            take = (
                key == app_key
                and event_type not in detail_types
                and _from_source(sources, day, event_type)
            )
        if take:
            out.append(values)
    return out


def _busiest(examples: Counter[str]) -> str:
    """The example with the most calls behind it; ties: the first in text order."""
    ranked = sorted(examples.items(), key=lambda kv: (kv[0] == "", -kv[1], kv[0]))
    return ranked[0][0] if ranked else ""


def operation_evidence(
    conn: Connection, org: str, user: str, app_key: str, start: date, end: date
) -> list[OperationEvidence]:
    """Per (object, operation): successful calls, first and last seen, an example."""
    a = t.api_daily.c
    rows = _evidence_rows(
        conn, org, user, app_key, start, end,
        a.entity, a.operation, a.status, a.calls, a.first_at, a.last_at, a.example,
    )  # fmt: skip
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for entities, operation, status, calls, first, last, example in rows:
        if operation not in PLAN_OPERATIONS or not is_success(status) or not calls:
            continue
        for entity in entity_names(entities):
            g = groups.setdefault(
                (entity, operation), {"count": 0, "first": first, "last": last, "ex": Counter()}
            )
            g["count"] += calls
            g["first"], g["last"] = min(g["first"], first), max(g["last"], last)
            g["ex"][example] += calls
    return [
        OperationEvidence.model_validate(
            {
                "object": entity,
                "operation": operation,
                "count": g["count"],
                "first_seen": g["first"],
                "last_seen": g["last"],
                "example": _busiest(g["ex"]),
            }
        )
        for (entity, operation), g in sorted(groups.items())
    ]


def denied_operations(
    conn: Connection, org: str, user: str, app_key: str, start: date, end: date
) -> list[tuple[str, str, str, int]]:
    """Calls on objects that failed, per (object, operation, status): (object, operation,
    status, calls). The audit judges which statuses are denials."""
    a = t.api_daily.c
    rows = _evidence_rows(
        conn, org, user, app_key, start, end, a.entity, a.operation, a.status, a.calls
    )
    out: Counter[tuple[str, str, str]] = Counter()
    for entities, operation, status, calls in rows:
        if operation not in PLAN_OPERATIONS or is_success(status) or not calls:
            continue
        for entity in entity_names(entities):
            out[(entity, operation, status)] += calls
    return [(e, o, s, n) for (e, o, s), n in sorted(out.items())]


def other_operations(
    conn: Connection, org: str, user: str, app_key: str, start: date, end: date
) -> dict[str, int]:
    """Successful calls the planner cannot turn into object permissions ("search",
    "Account.undelete", "Account.bulk", "apex", ...): "object.operation" (or the
    operation) -> calls. "bulk" is a Bulk API job whose operation no ingested log says;
    "other" on a named object (a composite request, ...) is kept too: on a data object,
    what handover cannot name it cannot plan (planning/kinds.py)."""
    a = t.api_daily.c
    rows = _evidence_rows(
        conn, org, user, app_key, start, end, a.entity, a.operation, a.status, a.calls
    )
    out: Counter[str] = Counter()
    for entities, operation, status, calls in rows:
        names = entity_names(entities)
        if operation in PLAN_OPERATIONS and names:
            continue
        if operation in NEUTRAL_OPERATIONS and not (operation == "other" and names):
            continue
        if is_success(status):
            for key in [f"{e}.{operation}" for e in names] or [operation]:
                out[key] += calls
    return dict(sorted(out.items()))


def calls_by_day(
    conn: Connection, org: str, user: str, app_key: str, start: date, end: date
) -> dict[date, int]:
    """Every call of the pair per day (any status): when the integration ran."""
    a = t.api_daily.c
    out: Counter[date] = Counter()
    for day, calls in _pair_rows(conn, org, user, app_key, start, end, a.day, a.calls):
        out[day] += calls
    return dict(sorted(out.items()))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


def field_evidence(
    conn: Connection, org: str, user: str, app_key: str, start: date, end: date
) -> list[FieldEvidence]:
    """Per (field, access) from query texts: "Object.Field", calls, first and last day
    (midnight UTC: the store keeps fields per day), an example query, and the logs the
    query texts came from (the SOAP API file "API", Real-Time Event Monitoring's
    "ApiEvent")."""
    f = t.field_usage.c
    query = select(f.entity, f.field, f.access, f.day, f.count, f.example, f.event_type).where(
        f.org_id == org, f.user_id == user, f.app_key == app_key, f.day >= start, f.day <= end
    )
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for entity, name, access, day, count, example, source in conn.execute(query):
        g = groups.setdefault(
            (entity, name, access),
            {"count": 0, "first": day, "last": day, "ex": Counter(), "src": set()},
        )
        g["count"] += count
        g["first"], g["last"] = min(g["first"], day), max(g["last"], day)
        g["ex"][example] += count
        g["src"].add(source)
    return [
        FieldEvidence.model_validate(
            {
                "field": f"{entity}.{name}",
                "access": access,
                "count": g["count"],
                "first_seen": _midnight(g["first"]),
                "last_seen": _midnight(g["last"]),
                "example": _busiest(g["ex"]),
                "sources": sorted(g["src"]),
            }
        )
        for (entity, name, access), g in sorted(groups.items())
        if g["count"] > 0
    ]


def field_evidence_available(conn: Connection, org: str, start: date, end: date) -> bool:
    """Whether any file of the window carried query text, i.e. whether the logs could have
    listed fields at all (the Event Monitoring API file has a QUERY column; ApiTotalUsage
    and RestApi do not)."""
    i = t.ingested_files.c
    query = select(i.file_id).where(
        i.org_id == org, i.field_lists.is_(True), i.log_date >= start, i.log_date <= end
    )
    return conn.execute(query.limit(1)).first() is not None
