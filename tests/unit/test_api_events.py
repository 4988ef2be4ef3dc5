"""ApiEvent (Real-Time Event Monitoring): REST and SOAP queries with their text, read per
day with SOQL, give REST reads exact fields; the plan says which log each object's fields
came from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from handover.ids import to18
from handover.usage import UsageStore
from handover.usage.apievents import aggregate_api_events
from tests.unit.test_plan import fe, make_inputs, op, plan_of
from tests.unit.test_usage_store import APP, HUMAN, ORG, atu_csv, meta, sync_call

DAY = date(2026, 11, 2)


def event(query: str, **over: str) -> dict[str, str]:
    row = {"EventDate": "2026-11-02T01:00:00.000+0000", "UserId": HUMAN, "Query": query,
           "ConnectedAppId": APP, "Application": "NetSuite Sync", "Client": ""}  # fmt: skip
    row.update(over)
    return row


def test_fields_per_pair_with_the_app_found_by_id_name_or_client() -> None:
    rows = [
        event("SELECT Id, Name FROM Account WHERE Name = 'Pier 9'"),
        # No ConnectedAppId (the session's token already existed): found by the app's name.
        event("SELECT Industry FROM Account", ConnectedAppId="", Application="NetSuite Sync"),
        event(
            "SELECT Email FROM Contact",
            ConnectedAppId="",
            Application="N/A",
            Client="DataLoaderBatch/60.0.0",
        ),
        event("SELEC nonsense"),
        event("SELECT Id FROM Lead", UserId="not-an-id"),
    ]
    day = aggregate_api_events(rows, {"netsuite sync": to18(APP)})
    app, user = f"app:{to18(APP)}", to18(HUMAN)
    assert day.fields == {
        (DAY, user, app, "Account", "Id", "read"): 1,
        (DAY, user, app, "Account", "Name", "read"): 1,
        (DAY, user, app, "Account", "Industry", "read"): 1,
        (DAY, user, "client:DataLoaderBatch", "Contact", "Email", "read"): 1,
    }
    assert day.rows == 5 and day.unparsed_queries == 1
    # Examples blank their literals, as the event-log ones do.
    assert day.examples[(DAY, user, app, "Account", "Name", "read")] == (
        "SELECT Id, Name FROM Account WHERE Name = '?'"
    )


@pytest.fixture
def store(tmp_path: Path):
    with UsageStore(f"sqlite:///{tmp_path / 'store.db'}") as s:
        yield s


def test_a_day_of_api_events_is_read_once_and_says_where_fields_came_from(store) -> None:
    store.ingest_event_log(ORG, meta(DAY), atu_csv([sync_call(DAY, 1)]))
    store.snapshot_connected_apps(ORG, [{"Id": to18(APP), "Name": "NetSuite Sync"}])
    rows = [event("SELECT Id, Name FROM Account"), event("SELECT Name FROM Account")]
    assert store.ingest_api_events(ORG, DAY, rows).rows == 2
    assert store.ingest_api_events(ORG, DAY, rows).already_ingested
    assert store.is_api_event_day_ingested(ORG, DAY)
    key = f"app:{to18(APP)}"
    fields = {
        f.field: (f.count, f.sources) for f in store.field_evidence(ORG, HUMAN, key, DAY, DAY)
    }
    assert fields == {"Account.Id": (1, ["ApiEvent"]), "Account.Name": (2, ["ApiEvent"])}
    assert store.field_evidence_available(ORG, DAY, DAY)
    # ApiEvent days make no history of their own: it began with the event log files.
    store.ingest_api_events(ORG, date(2026, 10, 1), [])
    assert store.history_began(ORG) == DAY


def test_the_plan_names_the_log_each_objects_fields_came_from() -> None:
    fields = [fe("Account.Industry").model_copy(update={"sources": ["ApiEvent"]})]
    plan = plan_of(make_inputs([op("Account", "query")], fields=fields))
    (cov,) = plan.field_coverage
    assert (cov.reads, cov.read_sources) == ("observed", ["ApiEvent"])
    # Without sources (plans made before they were recorded) nothing changes in the JSON,
    # so a saved plan's hash holds.
    bare = plan_of(make_inputs([op("Account", "query")], fields=[fe("Account.Industry")]))
    dumped = bare.model_dump(mode="json")
    assert "read_sources" not in dumped["field_coverage"][0]
    assert "sources" not in dumped["field_usage"][0]
