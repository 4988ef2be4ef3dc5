"""Which days the store has: every (day, event type) a run saw is recorded as ingested,
empty (no events that day) or gap (the file was due but had already expired: a missed
run). Reports show the gaps; nothing is silently ignored.

History begins with the first day the store holds logs for (ingested or known empty):
days before it are before history, neither observed nor gaps. Earlier releases recorded
the days before a first run as gaps; those records are read as before history too."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from ..store import tables as t
from .model import COVERAGE_STATUSES, Coverage, CoverageGap

# Days whose API traffic can be profiled: the free file, else the paid ones (same calls).
API_EVENT_TYPES = ("ApiTotalUsage", "RestApi", "API", "BulkApi", "BulkApi2")
# The event log files whose days make handover's history (ApiEvent, read with SOQL for
# field lists, does not: a day of it alone holds no API traffic to profile).
HISTORY_TYPES = (*API_EVENT_TYPES, "Login")


def upsert_coverage(
    conn: Connection,
    org: str,
    day: date,
    event_type: str,
    status: str,
    note: str,
    now: datetime,
) -> None:
    if status not in COVERAGE_STATUSES:
        raise ValueError(f"coverage status must be one of {COVERAGE_STATUSES}, not {status!r}")
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(t.coverage).values(
        org_id=org, day=day, event_type=event_type, status=status, note=note, recorded_at=now
    )
    c = t.coverage.c
    sets = {
        "status": stmt.excluded.status,
        "note": stmt.excluded.note,
        "recorded_at": stmt.excluded.recorded_at,
    }
    # An ingested day stays ingested: a later "gap" for it would be a contradiction.
    where = (c.status != "ingested") | (stmt.excluded.status == "ingested")
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["org_id", "day", "event_type"], set_=sets, where=where
        )
    )


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def history_began(conn: Connection, org: str) -> date | None:
    """The first day the store holds logs for (ingested or known empty); None before the
    first run. A gap is never the first record: nothing was lost before history began."""
    c = t.coverage.c
    query = select(func.min(c.day)).where(
        c.org_id == org, c.status != "gap", c.event_type.in_(HISTORY_TYPES)
    )
    value: date | None = conn.execute(query).scalar()
    return value


def read_coverage(conn: Connection, org: str, start: date, end: date) -> Coverage:
    c = t.coverage.c
    first_ever = history_began(conn, org)
    # No history yet: nothing to read.
    start_read = max(start, first_ever) if first_ever is not None else end + timedelta(days=1)
    rows = conn.execute(
        select(c.day, c.event_type, c.status, c.note)
        .where(c.org_id == org, c.day >= start_read, c.day <= end)
        .order_by(c.day, c.event_type)
    ).all()
    observed: set[date] = set()
    recorded: set[date] = set()
    gaps: list[CoverageGap] = []
    types: dict[str, int] = {}
    records: dict[str, dict[date, str]] = {}
    for day, event_type, status, note in rows:
        if event_type in HISTORY_TYPES:
            recorded.add(day)
        records.setdefault(event_type, {})[day] = status
        if status == "gap":
            gaps.append(CoverageGap(day, event_type, note or "log file expired before ingestion"))
            continue
        if event_type in API_EVENT_TYPES:
            observed.add(day)
        if status == "ingested":
            types[event_type] = types.get(event_type, 0) + 1
    # Days since history began with no record at all: a run that never got as far as
    # recording (a crash, a paused schedule). Days before it are before history.
    unrecorded = [
        d
        for d in _days(start, end)
        if first_ever is not None and first_ever <= d and d not in recorded
    ]
    f = t.ingested_files.c
    unknown = conn.execute(
        select(f.event_type)
        .where(f.org_id == org, f.status == "unknown_type", f.log_date >= start, f.log_date <= end)
        .distinct()
    ).scalars()
    return Coverage(
        start=start,
        end=end,
        days_observed=sorted(observed),
        gaps=gaps,
        event_types=types,
        unrecorded_days=unrecorded,
        unparsed_types=sorted(unknown),
        records=records,
        history_began=first_ever,
    )


def api_sources_by_day(conn: Connection, org: str, start: date, end: date) -> dict[date, str]:
    """For each day, which API event types to read: ApiTotalUsage when it was ingested
    (it records every call), else the paid files (they record the same calls again, so
    reading both would count twice)."""
    c = t.coverage.c
    free = set(
        conn.execute(
            select(c.day).where(
                c.org_id == org,
                c.day >= start,
                c.day <= end,
                c.event_type == "ApiTotalUsage",
                c.status == "ingested",
            )
        ).scalars()
    )
    return {d: "free" if d in free else "paid" for d in _days(start, end)}
