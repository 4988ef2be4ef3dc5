"""Plain data of the usage store: what callers pass in, what parsing produces, what the
store reports back. Aggregates are mutable while a file is being folded, then written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from ..errors import StoreError
from .decode import client_identity

CoverageStatus = Literal["ingested", "gap", "empty"]
COVERAGE_STATUSES: tuple[CoverageStatus, ...] = ("ingested", "gap", "empty")


# The store's error under the name usage callers have always caught.
UsageStoreError = StoreError


class EventLogFormatError(UsageStoreError, ValueError):
    """An event log file is not the CSV we expect (no header, no USER_ID, ...)."""


@dataclass(frozen=True)
class IngestResult:
    file_id: str
    event_type: str
    log_date: date
    already_ingested: bool = False  # nothing was written: the file was ingested before
    unknown_type: bool = False  # recorded, but no parser for this event type
    rows: int = 0  # CSV records aggregated
    bad_rows: int = 0  # records skipped: unreadable timestamp or user id
    aggregates: int = 0  # per-day aggregate rows written (API calls or logins)
    source_ips: int = 0
    field_rows: int = 0
    unparsed_queries: int = 0  # QUERY values whose SOQL could not be read (per call)
    missing_columns: tuple[str, ...] = ()  # expected columns absent from this file
    days: tuple[date, ...] = ()  # days the rows fell on


@dataclass(frozen=True)
class CoverageGap:
    day: date
    event_type: str  # "(any)" for a day with no record at all
    note: str  # why the logs are missing

    @property
    def reason(self) -> str:
        return self.note


@dataclass(frozen=True)
class Coverage:
    """Which days of a window have usage data, and which were lost."""

    start: date
    end: date
    days_observed: list[date]  # days whose API logs were ingested or known empty
    gaps: list[CoverageGap]  # every (day, type) recorded as a gap, with why
    event_types: dict[str, int]  # event type -> days ingested in the window
    unrecorded_days: list[date] = field(default_factory=list)  # no record at all
    unparsed_types: list[str] = field(default_factory=list)  # ingested, but no parser
    # event type -> day -> "ingested" | "gap" | "empty", as recorded
    records: dict[str, dict[date, str]] = field(default_factory=dict)
    # The first day the store holds logs for: days before it are before history.
    history_began: date | None = None

    @property
    def gap_days(self) -> list[date]:
        return sorted({g.day for g in self.gaps} | set(self.unrecorded_days))

    def decided_days(self, event_type: str) -> set[date]:
        """Days already recorded for this type (a run need not decide them again)."""
        return set(self.records.get(event_type, {}))

    def as_dict(self) -> dict[str, Any]:
        """The report's view: window, days observed, every gap with its note."""
        unrecorded = [
            {"day": d, "event_type": "(any)", "note": "no discovery run recorded this day"}
            for d in self.unrecorded_days
        ]
        return {
            "window_start": self.start,
            "window_end": self.end,
            "history_began": self.history_began,
            "days_in_window": (self.end - self.start).days + 1,
            "days_observed": len(self.days_observed),
            "gaps": [
                {"day": g.day, "event_type": g.event_type, "note": g.note} for g in self.gaps
            ] + unrecorded,
            "gap_days": self.gap_days,
            "event_types": dict(self.event_types),
            "unparsed_types": list(self.unparsed_types),
        }  # fmt: skip


def app_key_of(app_id18: str, client_name: str) -> str:
    """Same keys as ``AppRef.for_app`` / ``AppRef.for_client``; a client without its
    version (``decode.client_identity``)."""
    if app_id18:
        return f"app:{app_id18}"
    return f"client:{client_identity(client_name)}" if client_name else "none"


def _hours() -> list[int]:
    return [0] * 24


class Counts:
    """Calls, first/last instant and per-hour counts (UTC) of one aggregate row."""

    calls: int
    first: datetime | None
    last: datetime | None
    hours: list[int]

    def add(self, n: int, hour: int, first: datetime, last: datetime) -> None:
        self.calls += n
        self.hours[hour] += n
        if self.first is None or first < self.first:
            self.first = first
        if self.last is None or last > self.last:
            self.last = last

    def merge(self, n: int, first: datetime, last: datetime, hours: Sequence[int]) -> None:
        """Add a row already counted per hour."""
        self.calls += n
        for h, count in enumerate(hours):
            self.hours[h] += count
        if self.first is None or first < self.first:
            self.first = first
        if self.last is None or last > self.last:
            self.last = last


@dataclass
class HourCounts(Counts):
    """Counts alone (LoginHistory aggregates carry their key separately)."""

    calls: int = 0
    first: datetime | None = None
    last: datetime | None = None
    hours: list[int] = field(default_factory=_hours)


@dataclass
class ApiAgg(Counts):
    """Calls of one day by (user, app or client, family, entity, operation, status)."""

    day: date
    user_id: str
    app_key: str
    client_name: str
    api_family: str
    entity: str
    operation: str
    status: str
    app_id: str = ""
    app_name: str = ""
    example: str = ""  # one request as logged ("POST /v59.0/sobjects/Order")
    calls: int = 0
    first: datetime | None = None
    last: datetime | None = None
    hours: list[int] = field(default_factory=_hours)

    def add_example(self, example: str) -> None:
        """Keep the smallest example in text order: the same rows give the same example
        whatever order they arrive in (files, chunks), so plans hash the same."""
        if example and (not self.example or example < self.example):
            self.example = example


@dataclass
class LoginAgg(Counts):
    """Logins of one day (Login event file) by user, type, sub type, status, API type."""

    day: date
    user_id: str
    login_type: str
    login_sub_type: str
    status: str
    api_type: str
    calls: int = 0
    first: datetime | None = None
    last: datetime | None = None
    hours: list[int] = field(default_factory=_hours)


ApiKey = tuple[date, str, str, str, str, str, str, str]
LoginKey = tuple[date, str, str, str, str, str]
IpKey = tuple[date, str, str, str]  # day, user, app key, ip
FieldKey = tuple[date, str, str, str, str, str]  # day, user, app key, entity, field, access


@dataclass
class ParseResult:
    """Everything one file adds to the store, keyed the way the store's tables are."""

    event_type: str
    api: dict[ApiKey, ApiAgg] = field(default_factory=dict)
    logins: dict[LoginKey, LoginAgg] = field(default_factory=dict)
    ips: dict[IpKey, int] = field(default_factory=dict)  # calls per source IP
    fields: dict[FieldKey, int] = field(default_factory=dict)  # queries reading a field
    field_examples: dict[FieldKey, str] = field(default_factory=dict)  # one such query
    field_lists: bool = False  # the file had query text (a QUERY column)
    rows: int = 0
    bad_rows: int = 0
    unparsed_queries: int = 0
    unknown_type: bool = False
    missing_columns: list[str] = field(default_factory=list)
    days: list[date] = field(default_factory=list)
