"""The discovery flow end to end: the emulator over HTTPS, the real store, Prefect."""

from __future__ import annotations

import json

import sqlalchemy as sa

from handover.usage.decode import client_identity
from tests.flows.loomis import DAYS


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
        app_name = w.app if w.app in apps else client_identity(w.client_name or w.app)
        f = by_pair.get((w.username.lower(), app_name))
        assert f is not None, (
            f"{w.name}: no finding for ({w.username}, {app_name}); got {sorted(by_pair)}"
        )
        assert f["verdict"] == w.ground_truth, (
            f"{w.name}: {f['verdict']} ({f['score']}) {f['reasons']}"
        )
    flagged = {k for k, f in by_pair.items() if f["verdict"] == "integration_under_human"}
    expected = {
        (w.username.lower(), w.app if w.app in apps else client_identity(w.client_name or w.app))
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
