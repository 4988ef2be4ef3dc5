"""LoginHistory rows (SOQL) -> per-day aggregates by user, application, login type, sub
type, status and API type, with hour-of-day counts. Pure: the store adds the cursor and
the transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from .. import ids
from ..datetimes import parse_sf_datetime
from .model import HourCounts

LoginHistoryKey = tuple[date, str, str, str, str, str, str]


def aggregate_login_history(
    rows: Iterable[dict[str, Any]], cursor: datetime | None
) -> tuple[list[tuple[dict[str, Any], HourCounts]], int, datetime | None]:
    """(aggregates keyed by column values, rows taken, newest LoginTime taken). Rows at or
    before ``cursor`` were taken by an earlier run and are skipped."""
    aggs: dict[LoginHistoryKey, HourCounts] = {}
    taken, newest = 0, cursor
    for row in rows:
        when = parse_sf_datetime(row.get("LoginTime"))
        user = str(row.get("UserId") or "")
        if when is None or not ids.is_valid_id(user) or (cursor is not None and when <= cursor):
            continue
        key = (
            when.date(),
            ids.to18(user),
            str(row.get("Application") or ""),
            str(row.get("LoginType") or ""),
            str(row.get("LoginSubType") or ""),
            str(row.get("Status") or ""),
            str(row.get("ApiType") or ""),
        )
        agg = aggs.get(key)
        if agg is None:
            agg = aggs[key] = HourCounts()
        agg.add(1, when.hour, when, when)
        taken += 1
        newest = when if newest is None or when > newest else newest
    names = ("day", "user_id", "application", "login_type", "login_sub_type", "status", "api_type")
    out = [(dict(zip(names, key, strict=True)), agg) for key, agg in aggs.items()]
    return out, taken, (newest if taken else None)
