"""Writing per-day counts: rows that add to what is there, because one day can arrive in
several files (hourly files) or several runs (LoginHistory). Works on SQLite and
PostgreSQL alike (both have INSERT ... ON CONFLICT DO UPDATE)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, case, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from ..store import tables as t

# The aggregate keys live with the tables they are unique on.
from ..store.tables import API_KEY, LOGIN_EVENT_KEY, LOGIN_HISTORY_KEY

__all__ = ["API_KEY", "LOGIN_EVENT_KEY", "LOGIN_HISTORY_KEY"]


def counts_of(agg: Any) -> dict[str, Any]:
    return {
        "calls": agg.calls,
        "first_at": agg.first,
        "last_at": agg.last,
        **dict(zip(t.HOURS, agg.hours, strict=True)),
    }


def _insert(conn: Connection, table: Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def upsert_counts(
    conn: Connection, table: Table, rows: list[dict[str, Any]], key: list[str]
) -> None:
    """Insert per-day count rows, adding to rows already there (hourly files of one day,
    or LoginHistory fetched in several runs): calls and hours add, first/last widen."""
    if not rows:
        return
    stmt = _insert(conn, table)
    ex = stmt.excluded
    least, greatest = (
        (func.least, func.greatest) if conn.dialect.name == "postgresql" else (func.min, func.max)
    )
    sets = {h: table.c[h] + ex[h] for h in ["calls", *t.HOURS]}
    sets["first_at"] = least(table.c.first_at, ex.first_at)
    sets["last_at"] = greatest(table.c.last_at, ex.last_at)
    if "app_name" in table.c:  # keep a known name
        sets["app_name"] = func.coalesce(func.nullif(ex.app_name, ""), table.c.app_name)
    if "example" in table.c:
        sets["example"] = smallest_text(table.c.example, ex.example)
    conn.execute(stmt.on_conflict_do_update(index_elements=key, set_=sets), rows)


def smallest_text(old: Any, new: Any) -> ColumnElement[Any]:
    """The smaller of two texts, "" counting as none: examples come out the same whatever
    order files are ingested in (portable: SQLite's MIN(a, b) is PostgreSQL's LEAST)."""
    return case((old == "", new), (new == "", old), (new < old, new), else_=old)


def upsert_sum(conn: Connection, table: Table, rows: list[dict[str, Any]], column: str) -> None:
    if not rows:
        return
    stmt = _insert(conn, table)
    key = [c.name for c in table.primary_key.columns]
    sets: dict[str, Any] = {column: table.c[column] + stmt.excluded[column]}
    if "example" in table.c:
        sets["example"] = smallest_text(table.c.example, stmt.excluded.example)
    conn.execute(stmt.on_conflict_do_update(index_elements=key, set_=sets), rows)


def soql_value(row: dict[str, Any], path: str) -> Any:
    """A SOQL row value by dotted path: flat keys ("Parent.ProfileId") or the nested
    dicts simple-salesforce returns ({"Parent": {"ProfileId": ...}})."""
    if path in row:
        return row[path]
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
