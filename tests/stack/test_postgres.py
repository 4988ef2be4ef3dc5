"""The stack past SQLite: `handover up --emulators` with the Prefect server and the handover
store on a real PostgreSQL (TEST_POSTGRES_URL, which .ci/postgres.sh provides) and two
workers. Two migrations of different integrations run at once, one on each worker; a
second migration of an integration already being migrated is refused; a discovery of the
same org run in the middle of them changes nothing they rely on.

Marked slow (`make test-all`, CI). Without TEST_POSTGRES_URL it skips, unless
TEST_POSTGRES_REQUIRED is set (CI), where it fails."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from handover.cli.autopilot import Autopilot
from tests.flows.loomis import DAYS
from tests.stack.conftest import HANDOVER, StackUnderTest, bring_up, eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
PG_URL = os.environ.get("TEST_POSTGRES_URL")
WMS = ("Warehouse Management System", "rosa.delgado@loomis-logistics.com")
MULESOFT = ("MuleSoft NetSuite Connector", "dana.reyes@loomis-logistics.com")


def _fresh_database(name: str) -> str:
    """An empty database ``name`` on the test server; its URL (psycopg driver)."""
    import psycopg

    assert PG_URL
    admin = make_url(PG_URL).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def databases() -> tuple[str, str]:
    if not PG_URL:
        reason = "no PostgreSQL: set TEST_POSTGRES_URL (bash .ci/postgres.sh prints one)"
        if os.environ.get("TEST_POSTGRES_REQUIRED"):
            pytest.fail(reason)
        pytest.skip(reason)
    store = _fresh_database("handover_stack_store")
    prefect = make_url(_fresh_database("handover_stack_prefect"))
    return store, prefect.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def pg_stack(
    tmp_path_factory: pytest.TempPathFactory, databases: tuple[str, str]
) -> Iterator[StackUnderTest]:
    store, prefect = databases
    yield from bring_up(
        tmp_path_factory.mktemp("pg-project"),
        HANDOVER_STORE__URL=store,
        HANDOVER_STACK__PREFECT_DATABASE_URL=prefect,
        HANDOVER_STACK__WORKERS="2",
        # One run at a time per worker: two runs started together go one to each.
        HANDOVER_STACK__WORKER_LIMIT="1",
    )


@pytest.fixture
def store_env(pg_stack: StackUnderTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process opens the store (the autopilot reads the ledger) with the password
    up.json leaves out."""
    monkeypatch.setenv("HANDOVER_STORE__URL", pg_stack.env["HANDOVER_STORE__URL"])


def test_the_stack_runs_on_postgresql_with_two_workers(
    pg_stack: StackUnderTest, databases: tuple[str, str]
) -> None:
    import psycopg

    record = pg_stack.record
    assert {"worker", "worker-2"} <= set(record.alive_parts())
    assert record.prefect_database.startswith("postgresql+asyncpg://handover:***@")
    assert record.store_url.startswith("postgresql://handover:***@")
    # No password in up.json or any log.
    written = [pg_stack.paths.up_json.read_text()] + [
        Path(p).read_text() for p in record.logs.values()
    ]
    assert not [text for text in written if ":handover@" in text]
    store, prefect = databases
    prefect_plain = make_url(prefect).set(drivername="postgresql")
    with psycopg.connect(prefect_plain.render_as_string(hide_password=False)) as conn:
        pools = conn.execute("SELECT name FROM work_pool").fetchall()
        assert ("handover",) in pools  # the Prefect server's own tables are here
    with psycopg.connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM migrations").fetchone() == (0,)


@pytest.mark.usefixtures("store_env")
def test_two_migrations_at_once_a_refused_third_and_a_discovery_between(
    pg_stack: StackUnderTest,
) -> None:
    from emulators.salesforce.workloads import credential_file

    info = pg_stack.record.salesforce_info
    assert info is not None
    found = pg_stack.json("discover", "--emulator", info, "--window-days", str(DAYS))
    by_pair = {(f["app_name"], f["username"]): f for f in found}
    wms, mule = by_pair[WMS]["finding_id"], by_pair[MULESOFT]["finding_id"]
    for finding_id in (wms, mule):
        plan = pg_stack.json("plan", "--finding", finding_id, "--emulator", info)
        assert plan["status"] == "ready", plan.get("blockers")
    creds = credential_file(
        Path(pg_stack.info("salesforce")["credentials_dir"]), "MuleSoft NetSuite Sync"
    )

    # Both started at once, neither followed: one run on each worker.
    to_file = ["--sink", "file", "--sink-target", str(creds)]
    started = [
        pg_stack.json("migrate", "--finding", wms, "--no-follow"),
        pg_stack.json("migrate", "--finding", mule, "--no-follow", *to_file),
    ]
    ids = [s["migration_id"] for s in started]
    eventually(
        lambda: {s["migration_id"] for s in _open(pg_stack)} >= set(ids),
        timeout=300, what="both migrations to be open at once", every=2,
    )  # fmt: skip

    # The same integration again, while its migration is open: refused by the ledger.
    again = pg_stack.handover("migrate", "--finding", wms, timeout=300, check=False)
    assert again.returncode == 2, again.stderr[-2000:]
    assert "already has an open migration" in " ".join(again.stderr.split())

    # Discovery of the same org meanwhile: the same findings, the migrations untouched.
    between = pg_stack.json("discover", "--emulator", info, "--window-days", str(DAYS))
    assert {f["finding_id"] for f in between} == {f["finding_id"] for f in found}
    assert {s["migration_id"] for s in _open(pg_stack)} >= set(ids)

    pilot = Autopilot(pg_stack.record)
    try:
        ended = pilot.drive(ids, timeout=1200)
    finally:
        pilot.close()
    assert {m: ended[m].outcome for m in ids} == dict.fromkeys(ids, "successful")
    statuses = {s["migration_id"]: s for s in pg_stack.json("status")}
    assert all(statuses[m]["outcome"] == "successful" for m in ids)
    # Both workers took part: Prefect records which worker submitted each run (a migration
    # is submitted again at every gate it passes).
    submitted = _submissions(pg_stack.record.prefect_api_url)
    ours = {w for w, run in submitted if run in {s["flow_run_id"] for s in started}}
    assert len(ours) == 2, (
        f"the migrations' runs were submitted by {sorted(ours)} only: {submitted}"
    )


def _submissions(api_url: str) -> list[tuple[str, str]]:
    """(worker name, flow run id) of every `prefect.worker.submitted-flow-run` event."""
    import httpx

    body = {"filter": {"event": {"name": ["prefect.worker.submitted-flow-run"]}}, "limit": 50}
    events = httpx.post(f"{api_url}/events/filter", json=body, timeout=30).json()["events"]
    out = []
    for e in events:
        worker = e["resource"].get("prefect.resource.name", e["resource"]["prefect.resource.id"])
        for related in e.get("related", []):
            rid = related["prefect.resource.id"]
            if rid.startswith("prefect.flow-run."):
                out.append((worker, rid.removeprefix("prefect.flow-run.")))
    return out


def _open(stack: StackUnderTest) -> list[dict[str, Any]]:
    return [s for s in stack.json("status") if s["outcome"] is None]


def test_status_reads_the_postgresql_store_without_the_password_in_up_json(
    pg_stack: StackUnderTest,
) -> None:
    env = {k: v for k, v in pg_stack.env.items() if k != "HANDOVER_STORE__URL"}
    proc = subprocess.run(
        [str(HANDOVER), "status", "--json"], cwd=pg_stack.project, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # Without the password the store cannot be opened: one line saying so, exit 2.
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "HANDOVER_STORE__URL" in proc.stderr
    with_password = pg_stack.handover("status", "--json")
    assert isinstance(json.loads(with_password.stdout), list)
