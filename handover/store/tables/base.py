"""What every table of the store shares: one ``MetaData`` (the migrations' target, and
the schema test's yardstick), the UTC datetime column type, and required text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Dialect, MetaData, String, TypeDecorator

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out. SQLite has no time zones, so it stores naive UTC
    (ISO text, which also orders correctly for MIN/MAX); PostgreSQL stores timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def required_text(name: str, length: int = 255, *, index: bool = False) -> Column[str]:
    """A NOT NULL text column: "" stands for none, so the column can sit in a unique key."""
    return Column(name, String(length), nullable=False, index=index)
