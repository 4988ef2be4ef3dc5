"""REST reads get exact fields where the org has Real-Time Event Monitoring: discovery reads
ApiEvent (every API query with its text) day by day, and the plan grants the fields the
queries read, saying they came from ApiEvent. Without it, REST reads have no field list
(RestApi carries no query text) and the plan falls back to the object's fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce

from emulators.salesforce.client import connect
from tests.flows.orgs import small_scenario, start_org

DAYS = 4  # and plans that need as few days (HANDOVER_PLAN__MIN_DAYS_OBSERVED): kept short


def _org(tmp: Path, *, real_time: bool) -> tuple[Any, Path]:
    scenario = small_scenario(event_monitoring=True)
    org = scenario.org.model_copy(update={"real_time_event_monitoring": real_time})
    return start_org(scenario.model_copy(update={"org": org}), tmp, DAYS)


@pytest.fixture(scope="module")
def orgs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[bool, Path]]:
    with_rt, info_rt = _org(tmp_path_factory.mktemp("rtem"), real_time=True)
    without, info = _org(tmp_path_factory.mktemp("em"), real_time=False)
    yield {True: info_rt, False: info}
    with_rt.stop()
    without.stop()


def _plan(info: Path, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> dict[str, Any]:
    monkeypatch.setenv("HANDOVER_STORE__URL", f"sqlite:///{tmp / 'store.db'}")
    monkeypatch.setenv("HANDOVER_PLAN__MIN_DAYS_OBSERVED", str(DAYS - 1))
    from flows.discovery import discover
    from flows.plan import plan

    (sync,) = [f for f in discover(emulator_info=str(info)) if f["app_name"] == "Nightly Sync"]
    return dict(plan(sync["finding_id"], emulator_info=str(info)))


def test_api_event_is_queryable_only_with_real_time_event_monitoring(orgs) -> None:
    for real_time, info_path in orgs.items():
        info = json.loads(info_path.read_text())
        sf: Salesforce = connect(info)
        if real_time:
            rows = sf.query("SELECT EventDate, Query, Username FROM ApiEvent LIMIT 5")["records"]
            assert rows and all(r["Query"].startswith("SELECT Id, Name FROM Account") for r in rows)
        else:
            with pytest.raises(Exception, match="INVALID_TYPE"):
                sf.query("SELECT EventDate FROM ApiEvent LIMIT 1")


def test_rest_reads_get_their_fields_from_api_event(
    orgs, prefect_harness, monkeypatch, tmp_path
) -> None:
    plan = _plan(orgs[True], monkeypatch, tmp_path)
    assert plan["status"] == "ready", plan.get("reasons")
    (account,) = [c for c in plan["field_coverage"] if c["object"] == "Account"]
    assert account["reads"] == "observed" and account["read_sources"] == ["ApiEvent"]
    reads = {f["field"] for f in plan["field_usage"] if f["access"] == "read"}
    assert reads == {"Account.Id", "Account.Name"}
    assert all(f["sources"] == ["ApiEvent"] for f in plan["field_usage"])


def test_without_it_rest_reads_fall_back_to_the_objects_fields(
    orgs, prefect_harness, monkeypatch, tmp_path
) -> None:
    plan = _plan(orgs[False], monkeypatch, tmp_path)
    assert plan["status"] == "ready", plan.get("reasons")
    (account,) = [c for c in plan["field_coverage"] if c["object"] == "Account"]
    assert account["reads"] == "object_level" and "read_sources" not in account
