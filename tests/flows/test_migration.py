"""The migrate flow end to end, one auth pattern at a time: the Loomis org over HTTPS, the
approvals clicked in the Slack emulator as Loomis' approvers, the real approval service,
the org's clock moved with its workloads running through the verification window."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.flows.migration_stage import (
    KENJI,
    KEY,
    NADIA,
    SAM,
    Stage,
    artifact,
    run_logs,
    thread_of,
)
from tests.migration.orgstate import snapshot


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
    rosa = stage.admin().query(
        "SELECT IsFrozen FROM UserLogin WHERE UserId IN "
        "(SELECT Id FROM User WHERE Username = 'rosa.delgado@loomis-logistics.com')"
    )["records"]
    assert [r["IsFrozen"] for r in rosa] == [True]
    # The thread: every gate's message in its final state, then the outcome.
    thread = thread_of(stage, m.migration_id)
    gates = [(x["updates"] or [x])[-1]["text"].split(" of ")[0] for x in thread[:-1]]
    assert gates == [
        f"Approved · {g}" for g in ("Plan", "Cutover", "Decommission", "Freezing the account")
    ]
    assert thread[-1]["text"] == "Migration successful: Warehouse Management System"
    # The report: who approved what, the verification's figures, the writes.
    report = artifact(f"migration-{m.migration_id}")
    assert "| Outcome | **Successful**" in report
    assert f"| decommission | Approved | {SAM}, {NADIA} |" in report
    assert "## Verification: successful" in report and "| new-identity | ✓ |" in report
    assert "| cutover | update ConnectedApp | Warehouse Management System | done |" in report
    assert result["ui_url"] and result["ui_url"].startswith("http")


def test_jwt_bearer_gets_its_new_username_through_the_file_sink(migration_env: Stage) -> None:
    stage = migration_env
    plan = stage.plans["MuleSoft NetSuite Sync"]
    assert plan["cutover"]["route"] == "username"
    new_user, creds = plan["user"]["username"], stage.credentials_file("MuleSoft NetSuite Sync")
    before = json.loads(creds.read_text())
    m = stage.start("MuleSoft NetSuite Sync", sink="file", sink_target=str(creds))
    m.approve("plan")
    m.approve("cutover")
    m.window()
    after = json.loads(creds.read_text())
    # The new username in place, every other key as it was, readable by its owner only.
    assert after == {**before, "username": new_user}
    assert creds.stat().st_mode & 0o777 == 0o600
    span = through_the_window(stage, m)
    mule = span["workloads"]["MuleSoft NetSuite Sync"]
    assert set(mule["users"]) == {new_user} and mule["calls_failed"] == 0, mule
    assert mule["calls_ok"] > 1000
    m.approve("decommission", SAM, KENJI)
    result = m.finish()
    assert result["outcome"] == "successful", result
    keys = {s["key"]: s["status"] for s in result["steps"]}
    removed = [k for k in keys if k.startswith("decommission:app-access:")]
    assert len(removed) == 1 and keys[removed[0]] == "done"  # MuleSoft_Integration_Access
    assert "decommission:freeze" not in keys  # Dana still works in her account
    # The replaced credentials and anything generated were kept only until the end.
    assert not any(stage.secrets_dir.glob(f"{m.migration_id}-*"))


def test_soap_login_gets_a_new_password_through_the_file_sink(
    migration_env: Stage, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every line the run logs, also where Prefect's own level is WARNING (`make test`): the
    # captured logs and the ones the server keeps are searched for secrets below.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="prefect")
    monkeypatch.setenv("HANDOVER_VERIFY__WINDOW_HOURS", "24")  # the batch runs at 01:00
    stage = migration_env
    plan = stage.plans["Nightly Data Loader Batch"]
    assert plan["cutover"]["route"] == "password"
    new_user, creds = plan["user"]["username"], stage.credentials_file("Nightly Data Loader Batch")
    before = json.loads(creds.read_text())
    m = stage.start("Nightly Data Loader Batch", sink="file", sink_target=str(creds))
    m.approve("plan")
    m.approve("cutover")
    m.window()
    after = json.loads(creds.read_text())
    assert (after["username"], after["security_token"]) == (new_user, "")
    assert after["password"] != before["password"] and len(after["password"]) >= 20
    assert {
        k: v for k, v in after.items() if k not in ("username", "password", "security_token")
    } == {k: v for k, v in before.items() if k not in ("username", "password", "security_token")}
    span = through_the_window(stage, m)
    batch = span["workloads"]["Nightly Data Loader Batch"]
    assert set(batch["users"]) == {new_user} and batch["calls_failed"] == 0, batch
    m.approve("decommission", NADIA, KENJI)
    result = m.finish()
    assert result["outcome"] == "successful", result
    # No secret the run handled is anywhere but the external system's file.
    secrets = {
        "the new password": after["password"],
        "the human's password": before["password"],
        "the human's security token": before["security_token"],
        "the approval token key": KEY,
        "the Slack bot token": stage.slack.bot_token,
        "the Slack signing secret": stage.slack.signing_secret,
        "the org session": stage.org.info()["access_token"],
    }
    # Logs reach the server in batches: wait for the run's last line.
    shipped = run_logs(result["flow_run_id"], until=f"migration {m.migration_id}: successful")
    places = {
        "the flow's result": json.dumps(result),
        "the captured logs": caplog.text,
        "the Prefect run's logs": "\n".join(shipped),
        "the report": artifact(f"migration-{m.migration_id}"),
        "Slack": json.dumps(stage.messages()),
        "the store": store_dump(stage.store_url),
    }
    assert "Verification: successful" in places["the report"]
    # Each place was really read: each names the new user.
    assert [p for p, text in places.items() if new_user not in text] == []
    found = [(s, p) for s, v in secrets.items() for p, text in places.items() if v in text]
    assert not found, found


def store_dump(url: str) -> str:
    """Every row of every table of the store, as text."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"')
        )


def test_the_window_wait_is_handed_to_the_reaper_and_a_declined_decommission_keeps_the_human(
    migration_env: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow watches the org's clock for a second only, then records a wake-up and waits
    without polling the org; the approval service's reaper wakes it once the window's logs
    are due. A rejected decommission then writes nothing more: the integration stays on the
    new user, and the human keeps their access."""
    stage = migration_env
    monkeypatch.setenv("HANDOVER_VERIFY__POLL_SECONDS", "1")
    workload = "Freight Rates Sync"
    creds = stage.credentials_file(workload)
    m = stage.start(workload, sink="file", sink_target=str(creds))
    m.approve("plan")
    m.approve("cutover")
    book = m.book
    far = datetime.now(UTC) + timedelta(days=365)
    (wake,) = m.wait_for(lambda _: book.due_wakes(far), "a wake-up recorded")
    assert wake.migration_id == m.migration_id
    status = m.status()
    assert status is not None and (status.step, status.waiting_at) == ("verify", None)
    through_the_window(stage, m)
    assert book.due_wakes(far) == [wake]  # the org's clock alone wakes nobody
    stage.clock.offset = wake.wake_at - datetime.now(UTC) + timedelta(seconds=1)
    try:
        m.wait_for(lambda _: not book.due_wakes(far), "the reaper took the wake-up")
    finally:
        stage.clock.offset = timedelta(0)
    m.reject("decommission", "Greg's script gets rewritten first")
    result = m.finish()
    assert result["outcome"] == "rejected", result
    assert not any(s["step"] == "decommission" for s in result["steps"])
    assert json.loads(creds.read_text())["username"] == stage.plans[workload]["user"]["username"]


def test_no_traffic_in_the_window_asks_a_person(
    migration_env: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tableau runs once a day at 06:00: a two-hour window away from that hour sees nothing
    of it, so verification is inconclusive and a person decides; "roll back" undoes it all."""
    stage = migration_env
    monkeypatch.setenv("HANDOVER_VERIFY__WINDOW_HOURS", "2")
    workload = "Tableau Pipeline Extract"
    if stage.org_now().hour in (2, 3, 4):  # the window (2-3 hours on) would hold 06:00
        stage.advance(3 * 3600)
    before = snapshot(stage.admin())
    m = stage.start(workload)
    m.approve("plan")
    m.approve("cutover")
    through_the_window(stage, m)
    record = m.gate("inconclusive")
    assert "made no calls in the verification window" in json.dumps(
        next(x for x in stage.messages()["messages"] if x["ts"] == record.ts)["blocks"]
    )
    m.reject("inconclusive", "rather verify over a full day", who=KENJI)
    result = m.finish()
    assert result["outcome"] == "rolled_back", result
    after = snapshot(stage.admin())
    username = stage.plans[workload]["user"]["username"]
    assert {k: [r for r in v if r[0] != username] for k, v in after.items()} == {
        k: [r for r in v if r[0] != username] for k, v in before.items()
    }
