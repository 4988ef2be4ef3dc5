"""The discovery flow end to end: the emulator over HTTPS, the real store, Prefect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from emulators.salesforce.backfill import backfill
from emulators.salesforce.scenario import load_scenario
from emulators.salesforce.server import prepare, start_in_thread

LOOMIS = Path(__file__).resolve().parents[2] / "emulators" / "scenarios" / "loomis.yaml"
DAYS = 14


def scaled(scenario, factor: float):
    """Loomis with every workload's volume divided, so a test ingests in seconds."""
    workloads = [
        w.model_copy(
            update={
                "schedule": w.schedule.model_copy(
                    update={"calls_per_hour": max(2.0, w.schedule.calls_per_hour / factor)}
                )
            }
        )
        for w in scenario.workloads
    ]
    return scenario.model_copy(update={"workloads": workloads})


@pytest.fixture(scope="module")
def loomis(tmp_path_factory):
    scenario = scaled(load_scenario(LOOMIS), 25)
    state = tmp_path_factory.mktemp("loomis")
    running = prepare(scenario, state_dir=state)
    backfill(running.org, scenario, DAYS, workers=1)
    start_in_thread(running)
    info_path = state / "info.json"
    running.write_info(info_path)
    yield scenario, running, info_path
    running.stop()


def _store_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as c:
        return {
            t: c.execute(sa.select(sa.func.count()).select_from(meta.tables[t])).scalar_one()
            for t in meta.tables
            if t not in ("discovery_runs", "findings", "alembic_version")
        }


def test_discovery_finds_every_true_positive_and_nothing_else(
    loomis, prefect_harness, tmp_path, monkeypatch
):
    scenario, _running, info_path = loomis
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("HANDOVER_STORE__URL", store_url)
    from flows.discovery import discover

    findings = discover(emulator_info=str(info_path), window_days=DAYS)
    json.dumps(findings)  # the --json contract is JSON-serialisable
    by_pair = {(f["username"], f["app_name"]): f for f in findings}
    assert len(by_pair) == len(findings), "each (user, app) pair appears once"
    for f in findings:
        assert {
            "finding_id",
            "user_id",
            "username",
            "app_name",
            "verdict",
            "score",
            "evidence",
        } <= set(f)
    apps = {a.name: a for a in scenario.connected_apps}
    for w in scenario.workloads:
        app_name = w.app if w.app in apps else (w.client_name or w.app)
        f = by_pair.get((w.username.lower(), app_name))
        assert f is not None, (
            f"{w.name}: no finding for ({w.username}, {app_name}); got {sorted(by_pair)}"
        )
        assert f["verdict"] == w.ground_truth, (
            f"{w.name}: {f['verdict']} ({f['score']}) {f['reasons']}"
        )
    flagged = {k for k, f in by_pair.items() if f["verdict"] == "integration_under_human"}
    expected = {
        (w.username.lower(), w.app if w.app in apps else (w.client_name or w.app))
        for w in scenario.workloads
        if w.ground_truth == "integration_under_human"
    }
    assert flagged == expected
    assert all(f["is_new"] for f in findings)

    # A second run on the same day adds nothing to the store and reports nothing new.
    before = _store_counts(store_url)
    again = discover(emulator_info=str(info_path), window_days=DAYS)
    assert _store_counts(store_url) == before
    assert [f["finding_id"] for f in again] == [f["finding_id"] for f in findings]
    assert not any(f["is_new"] for f in again)
