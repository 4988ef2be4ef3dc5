"""Bulk API workloads in the emulator's event logs: what ApiTotalUsage records of Bulk API
1.0 and 2.0 requests, and, with Event Monitoring, the BulkApi rows (one per batch) and
BulkApi2 events (one per job state change) that name each job's operation and object."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from pathlib import Path

from emulators.salesforce.backfill import MemoryTarget, backfill
from emulators.salesforce.clock import SimClock
from emulators.salesforce.eventlog.columns import COLUMNS
from emulators.salesforce.eventlog.store import EventStore
from emulators.salesforce.ids import IdFactory
from emulators.salesforce.scenario import Scenario, load_scenario
from handover.usage import parse_event_log

BULK = Path(__file__).parent / "scenarios" / "bulk.yaml"
DAY = date(2026, 11, 1)  # the backfill's last day before the scenario starts
OPERATION_TYPE = {"query": "query", "create": "insert", "update": "update", "upsert": "upsert",
                  "delete": "delete"}  # fmt: skip


def _files(event_monitoring: bool) -> tuple[Scenario, dict[str, bytes], list[dict]]:
    """One backfilled day: (scenario, event type -> CSV, EventLogFile rows)."""
    sc = load_scenario(BULK)
    sc = sc.model_copy(
        update={"org": sc.org.model_copy(update={"event_monitoring": event_monitoring})}
    )
    ids = IdFactory(5)
    store = EventStore(org_id=ids.new("00D"), event_monitoring=event_monitoring,
                       retention_days=sc.retention_days, ids=ids)  # fmt: skip
    target = MemoryTarget(store, SimClock(sc.org.start), ids)
    backfill(target, sc, 1, seed=3, workers=1)
    listed = [f for f in store.published_files(target.clock.now()) if f["LogDate"].date() == DAY]
    return sc, {f["EventType"]: store.content(f["Id"]) or b"" for f in listed}, listed


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_with_event_monitoring_the_bulk_logs_name_each_jobs_operation() -> None:
    sc, files, listed = _files(True)
    assert {"ApiTotalUsage", "BulkApi", "BulkApi2"} <= set(files)
    v1, v2 = (next(w for w in sc.workloads if w.api_family == f) for f in ("Bulk", "Bulk2"))
    wanted = {w.name: {(OPERATION_TYPE[c.operation], c.object) for c in w.calls} for w in (v1, v2)}

    batches = _rows(files["BulkApi"])
    assert {(r["OPERATION_TYPE"], r["ENTITY_TYPE"]) for r in batches} == wanted[v1.name]
    assert {r["SUCCESS"] for r in batches} == {"1"} and all(
        r["BATCH_ID"].startswith("751") for r in batches
    )

    events = _rows(files["BulkApi2"])
    assert {(r["OPERATION_TYPE"], r["ENTITY_TYPE"]) for r in events} == wanted[v2.name]
    assert {r["JOB_STATUS"] for r in events} == {"UploadComplete", "InProgress", "JobComplete"}
    jobs = {r["JOB_ID"] for r in events}
    assert all(len(j) == 15 and j.startswith("750") for j in jobs)
    assert len(jobs) < len(events)  # several state changes per job
    header = {f["EventType"]: f["LogFileFieldNames"] for f in listed}
    assert header["BulkApi2"] == ",".join(COLUMNS["BulkApi2"])
    assert files["BulkApi2"].decode().splitlines()[0] == ",".join(
        f'"{c}"' for c in COLUMNS["BulkApi2"]
    )

    # handover reads them: every job of the day is one call, whatever its state changes.
    parsed = parse_event_log("BulkApi2", DAY, files["BulkApi2"])
    assert parsed.missing_columns == [] and parsed.bad_rows == 0
    assert sum(a.calls for a in parsed.api.values()) == len(jobs)
    assert {(a.entity, a.operation) for a in parsed.api.values()} == {
        (c.object, c.operation) for c in v2.calls
    }


def test_api_total_usage_records_bulk_requests_without_their_operation() -> None:
    _, files, _ = _files(False)
    assert "BulkApi" not in files and "BulkApi2" not in files  # Event Monitoring only
    usage = _rows(files["ApiTotalUsage"])
    by_user = Counter((r["USER_NAME"], r["API_FAMILY"], r["HTTP_METHOD"]) for r in usage)
    assert {k for k in by_user if k[0] == "ops@bulk.test"} == {("ops@bulk.test", "Bulk", "POST")}
    # Bulk API 2.0: REST paths under /jobs (ingest uploads; query jobs are created by POST).
    v2 = [r for r in usage if r["USER_NAME"] == "dana@bulk.test"]
    assert {(r["API_FAMILY"], r["HTTP_METHOD"]) for r in v2} == {("REST", "PUT"), ("REST", "POST")}
    assert all("/jobs/" in r["API_RESOURCE"] for r in v2)
    parsed = parse_event_log("ApiTotalUsage", DAY, files["ApiTotalUsage"])
    kinds = {(a.api_family, a.entity, a.operation) for a in parsed.api.values()}
    assert kinds == {
        ("Bulk", "Account", "bulk"), ("Bulk", "Contact", "bulk"),
        ("Bulk2", "Opportunity", "query"), ("Bulk2", "Opportunity", "bulk"),
        ("Bulk2", "Account", "bulk"), ("Bulk2", "Lead", "bulk"),
    }  # fmt: skip
