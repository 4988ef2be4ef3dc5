"""Salesforce's datetimes: every form the APIs and the logs use reads as the same UTC
instant, and anything unreadable reads as None (one behaviour for every caller); where a
read cannot do without the value, the gateway says which record and field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from handover.datetimes import parse_sf_datetime, soql_datetime
from handover.errors import SalesforceGatewayError
from handover.salesforce.gateway import _required_datetime

NINE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-01T09:00:00.000+0000",  # REST and SOQL
        "2026-11-01T09:00:00.000Z",
        "2026-11-01T09:00:00Z",
        "2026-11-01T09:00:00+00:00",
        "2026-11-01T10:00:00.000+0100",
        "2026-11-01T04:00:00.000-0500",
        " 2026-11-01T09:00:00.000+0000 ",
        "2026-11-01T09:00:00",  # naive: Salesforce means UTC
        datetime(2026, 11, 1, 9, 0),
        datetime(2026, 11, 1, 10, 0, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_every_form_is_the_same_utc_instant(value: object) -> None:
    parsed = parse_sf_datetime(value)
    assert parsed == NINE and parsed.tzinfo == UTC


@pytest.mark.parametrize("value", [None, "", "nope", "2026-13-01T09:00:00Z", "09:00", 17])
def test_missing_or_unreadable_is_none(value: object) -> None:
    assert parse_sf_datetime(value) is None


def test_soql_literals_round_trip() -> None:
    at = datetime(2026, 11, 1, 10, 0, 5, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert soql_datetime(at) == "2026-11-01T09:00:05.123Z"
    assert parse_sf_datetime(soql_datetime(at)) == datetime(2026, 11, 1, 9, 0, 5, 123000, UTC)


def test_a_value_a_read_needs_names_the_record_when_unreadable() -> None:
    row = {"Id": "0AT5g00000ELF01", "LogDate": "2026-11-01T00:00:00.000+0000"}
    assert _required_datetime(row, "LogDate", "EventLogFile") == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(SalesforceGatewayError, match=r"EventLogFile 0AT5g00000ELF01 .*LogDate"):
        _required_datetime({**row, "LogDate": "yesterday"}, "LogDate", "EventLogFile")
