"""The migrate flow end to end, one auth pattern at a time: the Loomis org over HTTPS, the
approvals clicked in the Slack emulator as Loomis' approvers, the real approval service,
the org's clock moved with its workloads running through the verification window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.flows.migration_stage import KENJI, NADIA, SAM, Stage


def through_the_window(stage: Stage, m: Any) -> dict[str, Any]:
    """Move the org's clock past the time the window's logs are due, workloads running;
    the span's summary of each workload."""
    window = m.window()
    return stage.advance_to(datetime.fromisoformat(window["ready_at"]) + timedelta(minutes=10))


def test_client_credentials_run_as_moves_to_the_new_user(migration_env: Stage) -> None:
    stage = migration_env
    plan = stage.plans["WMS Order Fulfilment"]
    assert plan["cutover"]["route"] == "run_as"
    new_user = plan["user"]["username"]
    m = stage.start("WMS Order Fulfilment")
    m.approve("plan")
    m.approve("cutover")
    span = through_the_window(stage, m)
    wms = span["workloads"]["WMS Order Fulfilment"]
    assert set(wms["users"]) == {new_user} and wms["calls_failed"] == 0, wms
    m.approve("decommission", SAM, NADIA)
    m.approve("freeze", KENJI)  # Rosa's account carries the WMS alone
    result = m.finish()
    assert result["outcome"] == "successful", result
    statuses = {s["key"]: s["status"] for s in result["steps"]}
    assert statuses["cutover:run-as:warehouse-management-system"] == "done"
    assert statuses["decommission:freeze"] == "done"
    assert all(s == "done" for s in statuses.values()), statuses
