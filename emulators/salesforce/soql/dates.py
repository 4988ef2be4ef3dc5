"""SOQL date literals (TODAY, LAST_N_DAYS:n, THIS_MONTH, ...) and date/time wire formats.

Each relative literal denotes a half-open range of whole days ``[start, end)`` counted in UTC
days from the simulated clock. Against a datetime field the range covers whole UTC days, so
``LoginTime >= LAST_N_DAYS:30`` means "since midnight 30 days ago", as in Salesforce. Weeks
start on Sunday (the en_US locale) and fiscal periods are calendar periods (the default
fiscal year starts in January).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

_UNIT_OF = {"DAY": "day", "WEEK": "week", "MONTH": "month", "QUARTER": "quarter", "YEAR": "year"}

_THIS_LAST_NEXT = re.compile(
    r"(THIS|LAST|NEXT)_(?:FISCAL_(?=QUARTER|YEAR))?(WEEK|MONTH|QUARTER|YEAR)"
)
_LAST_NEXT_N = re.compile(
    r"(LAST|NEXT)_N_(?:FISCAL_(?=QUARTERS|YEARS))?(DAY|WEEK|MONTH|QUARTER|YEAR)S"
)
_N_AGO = re.compile(r"N_(?:FISCAL_(?=QUARTERS|YEARS))?(DAY|WEEK|MONTH|QUARTER|YEAR)S_AGO")
_FIXED = {
    "YESTERDAY": ("ago", "day", 1),
    "TODAY": ("this", "day", 0),
    "TOMORROW": ("next", "day", 0),
}
_NINETY = {"LAST_90_DAYS": "last_n", "NEXT_90_DAYS": "next_n"}


def _classify(name: str) -> tuple[str, str, int | None] | None:
    """(kind, unit, fixed n) for a literal name; n None means the query supplies it."""
    if name in _FIXED:
        return _FIXED[name]
    if name in _NINETY:
        return (_NINETY[name], "day", 90)
    if m := _THIS_LAST_NEXT.fullmatch(name):
        return (m.group(1).lower(), _UNIT_OF[m.group(2)], 0)
    if m := _LAST_NEXT_N.fullmatch(name):
        return (m.group(1).lower() + "_n", _UNIT_OF[m.group(2)], None)
    if m := _N_AGO.fullmatch(name):
        return ("ago", _UNIT_OF[m.group(1)], None)
    return None


def is_relative(name: str) -> bool:
    return _classify(name.upper()) is not None


def takes_n(name: str) -> bool:
    """Whether the literal needs ``:n`` (LAST_N_DAYS:30)."""
    kind = _classify(name.upper())
    return kind is not None and kind[2] is None


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _period_start(unit: str, today: date) -> date:
    if unit == "day":
        return today
    if unit == "week":
        return today - timedelta(days=(today.weekday() + 1) % 7)  # back to Sunday
    if unit == "month":
        return today.replace(day=1)
    if unit == "quarter":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return date(today.year, 1, 1)


def _shift(unit: str, start: date, k: int) -> date:
    if unit == "day":
        return start + timedelta(days=k)
    if unit == "week":
        return start + timedelta(days=7 * k)
    return _add_months(start, k * {"month": 1, "quarter": 3, "year": 12}[unit])


def relative_range(name: str, n: int | None, today: date) -> tuple[date, date]:
    """The days ``[start, end)`` a relative date literal covers, given today's UTC date."""
    spec = _classify(name.upper())
    if spec is None:
        raise ValueError(f"not a date literal: {name}")
    kind, unit, fixed = spec
    count = fixed if fixed is not None else (n or 0)
    current = _period_start(unit, today)
    if kind == "this":
        return current, _shift(unit, current, 1)
    if kind == "last":
        return _shift(unit, current, -1), current
    if kind == "next":
        return _shift(unit, current, 1), _shift(unit, current, 2)
    if kind == "ago":
        start = _shift(unit, current, -count)
        return start, _shift(unit, start, 1)
    if kind == "last_n":
        # LAST_N_DAYS includes today ("LAST_N_DAYS:1 includes yesterday and today"); the
        # longer units cover the n whole periods before the current one.
        end = _shift(unit, current, 1) if unit == "day" else current
        return _shift(unit, current, -count), end
    start = _shift(unit, current, 1)
    return start, _shift(unit, start, count)


def day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def parse_datetime(text: str) -> datetime:
    """A SOQL datetime literal -> aware UTC datetime (ValueError when invalid)."""
    m = _DATETIME.fullmatch(text)
    if not m:
        raise ValueError(text)
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    value = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    zone = (m.group(8) or "Z").upper()
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value


def format_datetime(value: datetime) -> str:
    """The REST form: ``2024-05-01T13:04:05.000+0000`` (always UTC, milliseconds)."""
    offset = value.utcoffset()
    if offset:
        value = value.astimezone(UTC)
    # An f-string is several times faster than strftime, which matters for 10k-row pages.
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}.{value.microsecond // 1000:03d}+0000"
    )
