"""ApiEvent rows (Real-Time Event Monitoring, read with SOQL) -> the fields each pair's
queries read, per day. Pure: the store adds the transaction and the bookkeeping.

ApiEvent records every API query with its text, REST and SOAP alike, so REST reads get
exact fields where the event log files give none (RestApi has no query text; only the SOAP
API file has). Which app made a query: ConnectedAppId (15 characters) when the event has
it, which it lacks when the session's token already existed (reference 2.6), then the
Application name matched against the org's connected apps, then the API client: the same
keys the event log files give (``model.app_key_of``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .. import ids
from ..datetimes import parse_sf_datetime
from .model import FieldKey, app_key_of
from .parse import MAX_EXAMPLE
from .soql import blank_literals, soql_fields

EVENT_TYPE = "ApiEvent"


def file_id(day: date) -> str:
    """The ingested-file id a day of ApiEvent is recorded under: it is read per UTC day, as
    a daily log file is, so a day is read once and a re-run adds nothing."""
    return f"ApiEvent{day:%Y%m%d}"


@dataclass
class ApiEventDay:
    """What one day of ApiEvent adds: field reads per (day, user, app key, object, field,
    access), with an example query each."""

    rows: int = 0
    unparsed_queries: int = 0
    fields: dict[FieldKey, int] = field(default_factory=dict)
    examples: dict[FieldKey, str] = field(default_factory=dict)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_EXAMPLE else text[: MAX_EXAMPLE - 1] + "…"


def _app_key(row: Mapping[str, Any], app_ids: Mapping[str, str]) -> str:
    app = str(row.get("ConnectedAppId") or "")
    if ids.is_valid_id(app):
        return app_key_of(ids.to18(app), "")
    named = app_ids.get(str(row.get("Application") or "").lower())
    if named:
        return app_key_of(named, "")
    return app_key_of("", str(row.get("Client") or ""))


def aggregate_api_events(
    rows: Iterable[Mapping[str, Any]], app_ids: Mapping[str, str]
) -> ApiEventDay:
    """``rows``: ApiEvent rows (EventDate, UserId, Query, ConnectedAppId, Application,
    Client); ``app_ids``: connected app name (lower case) -> 18-character id."""
    out = ApiEventDay()
    parsed: dict[str, tuple[str, list[str]] | None] = {}
    for row in rows:
        out.rows += 1
        when = parse_sf_datetime(row.get("EventDate"))
        user = str(row.get("UserId") or "")
        query = str(row.get("Query") or "")
        if when is None or not ids.is_valid_id(user) or not query:
            continue
        if query not in parsed:
            parsed[query] = soql_fields(query)
        fields = parsed[query]
        if fields is None:
            out.unparsed_queries += 1
            continue
        obj, names = fields
        app, example = _app_key(row, app_ids), _clip(blank_literals(query))
        for name in names:
            key = (when.date(), ids.to18(user), app, obj, name, "read")
            out.fields[key] = out.fields.get(key, 0) + 1
            known = out.examples.get(key)
            if known is None or example < known:
                out.examples[key] = example
    return out
