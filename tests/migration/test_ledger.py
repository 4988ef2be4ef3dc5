"""The store's ledger: a migration opened once (a re-run finds it), one open migration per
integration and per human (refused across processes), the LedgerPort contract the apply
protocol relies on (crash and re-run included), and the read API `handover status` uses."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handover.errors import MigrationError
from handover.migration.actions import provision_actions
from handover.migration.apply import apply_actions
from handover.migration.rollback import apply_rollback
from handover.models.migration import ProvisionFacts
from handover.store import tables as t
from handover.store.engine import open_engine
from handover.store.ledger import Ledger, Opening, check_migration_id, new_migration_id
from tests.migration.fakes import Crash, FakeOrg
from tests.migration.plans import make_plan

ORG = "00D000000000001AAA"
DANA = "005000000000001AAA"
PRIYA = "005000000000002AAA"
FACTS = ProvisionFacts(profile_id="00e000000000001AAA", permission_set_license_id="0PL0000000001")
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def opening(migration_id: str, **more: Any) -> Opening:
    fields: dict[str, Any] = {
        "migration_id": migration_id,
        "finding_id": "f-1a2b3c4d5e6f",
        "org_id": ORG,
        "app_key": "app:0H4000000000001AAA",
        "app_name": "MuleSoft NetSuite Connector",
        "human_user_id": DANA,
        "human_username": "dana.reyes@loomis-logistics.com",
        "plan_hash": "ab" * 32,
    }
    return Opening(**(fields | more))


PG_URL = os.environ.get("TEST_POSTGRES_URL")


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql", marks=pytest.mark.skipif(not PG_URL, reason="no TEST_POSTGRES_URL")
        ),
    ]
)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "postgresql":
        assert PG_URL
        engine = open_engine(PG_URL)
        with engine.begin() as conn:  # a throw-away database, emptied per test
            t.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS usage_schema_version")
        engine.dispose()
    url = PG_URL if request.param == "postgresql" else f"sqlite:///{tmp_path}/handover.db"
    assert url
    with Ledger(url) as opened:
        yield opened


def test_ids_look_alike_and_never_repeat() -> None:
    made = {new_migration_id("ab" * 32, T0) for _ in range(50)}
    assert len(made) == 50 and all(check_migration_id(m) for m in made)
    with pytest.raises(MigrationError, match="m-1a2b3c4d5e6f"):
        check_migration_id("M-NOT-AN-ID")


def test_a_migration_is_opened_once_and_a_rerun_finds_it(ledger: Ledger) -> None:
    first = ledger.open(opening("m-000000000001", flow_run_id="run-1"))
    assert (first.step, first.outcome, first.waiting_at) == ("plan", None, None)
    again = ledger.open(opening("m-000000000001", flow_run_id="run-2"))
    assert again.migration_id == first.migration_id and again.flow_run_id == "run-2"
    assert again.created_at == first.created_at
    with pytest.raises(MigrationError, match="applies plan abababababab"):
        ledger.open(opening("m-000000000001", plan_hash="cd" * 32))


def test_one_open_migration_per_integration_and_per_human(ledger: Ledger) -> None:
    ledger.open(opening("m-000000000001"))
    ledger.waiting("m-000000000001", "cutover", T0)
    with pytest.raises(MigrationError) as same_app:
        ledger.open(opening("m-000000000002", human_user_id=PRIYA, human_username="priya"))
    assert "MuleSoft NetSuite Connector already has an open migration: m-000000000001" in str(
        same_app.value
    )
    assert "waiting at the cutover gate" in str(same_app.value)
    with pytest.raises(MigrationError, match="account is already being migrated off"):
        ledger.open(opening("m-000000000003", app_key="app:0H4000000000009AAA", app_name="X"))
    assert ledger.migration("m-000000000002") is None  # nothing half-opened
    # A dry run takes no lock; a closed migration releases its locks.
    ledger.open(opening("m-000000000004", dry_run=True))
    ledger.finish("m-000000000001", "rejected", "not now")
    assert ledger.open_migration_for(ORG, app_key="app:0H4000000000001AAA") is None
    opened = ledger.open(opening("m-000000000005"))
    assert ledger.open_migration_for(ORG, human_user_id=DANA) == opened


def _open_in_a_process(url: str, migration_id: str, start: Any, results: Any, **more: Any) -> None:
    with Ledger(url) as mine:
        start.wait()
        try:
            mine.open(opening(migration_id, **more))
            results.put(("opened", migration_id))
        except MigrationError as exc:
            results.put(("refused", str(exc)))


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql", marks=pytest.mark.skipif(not PG_URL, reason="no TEST_POSTGRES_URL")
        ),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store every process of a test opens by URL."""
    if request.param == "postgresql":
        assert PG_URL
        engine = open_engine(PG_URL)
        with engine.begin() as conn:
            t.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS usage_schema_version")
        engine.dispose()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path}/handover.db"
    Ledger(url).close()  # migrate once, before the race
    return url


@pytest.mark.parametrize(
    ("second", "refusal"),
    [
        ({}, "already has an open migration"),  # the same integration
        (  # another integration of the same human account
            {"app_key": "app:0H4000000000009AAA", "app_name": "Other Sync"},
            "account is already being migrated off",
        ),
    ],
)
def test_two_processes_opening_at_once(store_url: str, second: dict, refusal: str) -> None:
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_open_in_a_process, args=(store_url, "m-000000000001", start, results)),
        ctx.Process(
            target=_open_in_a_process,
            args=(store_url, "m-000000000002", start, results),
            kwargs=second,
        ),
    ]
    for proc in procs:
        proc.start()
    start.set()
    got = sorted(results.get(timeout=60) for _ in procs)
    for proc in procs:
        proc.join(30)
    assert [kind for kind, _ in got] == ["opened", "refused"]
    assert refusal in got[1][1]
    with Ledger(store_url) as ledger:  # the refused one left nothing behind
        assert len([m for m in ledger.migrations() if m.open]) == 1


def test_closing_keeps_the_first_outcome(ledger: Ledger) -> None:
    ledger.open(opening("m-000000000001"))
    closed = ledger.finish("m-000000000001", "failed", "verification failed: rolled back")
    assert (closed.outcome, closed.step, closed.waiting_at) == ("failed", "done", None)
    again = ledger.finish("m-000000000001", "successful")
    assert (again.outcome, again.outcome_reason) == ("failed", "verification failed: rolled back")


def test_facts_merge_and_hold_json(ledger: Ledger) -> None:
    ledger.open(opening("m-000000000001"))
    ledger.remember("m-000000000001", attempts={"plan": 2})
    merged = ledger.remember("m-000000000001", cutover_at="2026-11-02T10:00:00+00:00")
    assert merged == {"attempts": {"plan": 2}, "cutover_at": "2026-11-02T10:00:00+00:00"}
    assert ledger.facts("m-000000000001") == merged


def test_status_json_is_the_cli_contract(ledger: Ledger) -> None:
    ledger.open(opening("m-000000000001", flow_run_id="run-1"))
    ledger.waiting("m-000000000001", "decommission", T0)
    (status,) = ledger.migrations()
    assert status.status_json() == {
        "migration_id": "m-000000000001",
        "finding_id": "f-1a2b3c4d5e6f",
        "flow_run_id": "run-1",
        "step": "decommission",
        "waiting_at": "decommission",
        "waiting_since": "2026-11-02T09:00:00+00:00",
        "outcome": None,
    }


def test_the_store_ledger_keeps_the_apply_protocol(ledger: Ledger) -> None:
    """A crash between claim and write, then a re-run: the same end state, no duplicate;
    entries keep the order they were first written in; rollback replays them in reverse."""
    ledger.open(opening("m-000000000001"))
    port = ledger.port("m-000000000001")
    acts = provision_actions(make_plan(apps=[("0H4000000000001AAA", "ERP Sync")]), FACTS)
    org = FakeOrg(faults={"provision:permission-set": "crash-before"})
    with pytest.raises(Crash):
        apply_actions(acts, port, org, dry_run=False, clock=lambda: T0)
    assert [e.status for e in port.entries()] == ["done", "done", "claimed"]
    done = apply_actions(acts, port, org, dry_run=False, clock=lambda: T0 + timedelta(seconds=1))
    assert all(e.status == "done" for e in done)
    assert [e.key for e in ledger.steps("m-000000000001")] == [a.key for a in acts]
    assert len(org.rows("User")) == len(org.rows("PermissionSet")) == 1
    again = ledger.port("m-000000000001").get("provision:user")
    assert again is not None and again.before is None and again.ours
    apply_rollback(port, org, clock=lambda: T0 + timedelta(seconds=2))
    assert org.rows("PermissionSet") == [] and org.rows("User")[0]["IsActive"] is False
    statuses = {e.key: e.status for e in ledger.steps("m-000000000001")}
    assert statuses["provision:user"] == "rolled_back"
    assert statuses["rollback:provision:user"] == "done"
