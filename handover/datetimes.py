"""Salesforce's datetimes, read and written in one place.

The REST API and SOQL give "2026-11-01T09:00:00.000+0000"; other sources say "...Z" or
"...+00:00"; simple-salesforce passes them through as text. Unreadable or missing values
read as None: every caller decides what a missing time means for it (a row skipped, a
field left empty, or an error that names the record).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_sf_datetime(value: Any) -> datetime | None:
    """A Salesforce datetime -> aware UTC; None for None, "" or anything unreadable. A
    naive datetime is taken as UTC (what Salesforce means by one)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]  # +0000 -> +00:00 (fromisoformat on 3.11)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def soql_datetime(value: datetime) -> str:
    """A datetime as a SOQL literal: UTC, milliseconds, "Z"."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )
