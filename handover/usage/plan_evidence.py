"""The usage store read for one finding's plan: which operations the (user, app) pair made
on which objects, which fields its queries read, on which days, and which days of the
window the store can vouch for. Read-only; the planner (handover/plan.py) decides.

Counting follows the profiles (profiles.py): a day's calls come from ApiTotalUsage when it
was ingested, else from the paid files, never both (they log the same calls twice). Only
successful calls are evidence: a call that failed justifies no permission.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ..models import FieldEvidence, OperationEvidence
from ..store import tables as t
from .coverage_records import API_EVENT_TYPES, api_sources_by_day, read_coverage

PLAN_OPERATIONS = ("query", "retrieve", "create", "update", "upsert", "delete")
# Operations that need no object permission (the session itself, the schema, limits).
NEUTRAL_OPERATIONS = frozenset({"login", "logout", "userinfo", "describe", "limits", "other"})
_FREE = "ApiTotalUsage"


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
    before its first record were never ours to see; a last day a run could not decide yet
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
    first, last = conn.execute(
        select(func.min(c.day), func.max(c.day)).where(c.org_id == org)
    ).one()
    if first is not None:
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


def _busiest(examples: Counter[str]) -> str:
    """The example with the most calls behind it; ties: the first in text order."""
    ranked = sorted(examples.items(), key=lambda kv: (kv[0] == "", -kv[1], kv[0]))
    return ranked[0][0] if ranked else ""


def operation_evidence(
    conn: Connection, org: str, user: str, app_key: str, start: date, end: date
) -> list[OperationEvidence]:
    """Per (object, operation): successful calls, first and last seen, an example."""
    a = t.api_daily.c
    rows = _pair_rows(
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


def other_operations(
    conn: Connection, org: str, user: str, app_key: str, start: date, end: date
) -> dict[str, int]:
    """Successful calls the planner cannot turn into object permissions ("search",
    "Account.undelete", "apex", ...): "object.operation" (or the operation) -> calls."""
    a = t.api_daily.c
    rows = _pair_rows(
        conn, org, user, app_key, start, end, a.entity, a.operation, a.status, a.calls
    )
    out: Counter[str] = Counter()
    for entities, operation, status, calls in rows:
        names = entity_names(entities)
        if (operation in PLAN_OPERATIONS and names) or operation in NEUTRAL_OPERATIONS:
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
    (midnight UTC: the store keeps fields per day), an example query."""
    f = t.field_usage.c
    query = select(f.entity, f.field, f.access, f.day, f.count, f.example).where(
        f.org_id == org, f.user_id == user, f.app_key == app_key, f.day >= start, f.day <= end
    )
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for entity, name, access, day, count, example in conn.execute(query):
        g = groups.setdefault(
            (entity, name, access), {"count": 0, "first": day, "last": day, "ex": Counter()}
        )
        g["count"] += count
        g["first"], g["last"] = min(g["first"], day), max(g["last"], day)
        g["ex"][example] += count
    return [
        FieldEvidence.model_validate(
            {
                "field": f"{entity}.{name}",
                "access": access,
                "count": g["count"],
                "first_seen": _midnight(g["first"]),
                "last_seen": _midnight(g["last"]),
                "example": _busiest(g["ex"]),
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
