"""The migration's gates and its ways of ending early, end to end: a rejection at each gate
leaves the org as it was (a provisioned user can only be deactivated), an unanswered gate
expires cleanly, a resume through the Prefect API with made-up input changes nothing, a
failed verification rolls back, a run that died is continued by a re-run with the same
migration id, and a dry run lists every write without making one."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from prefect.blocks.system import Secret

from emulators.salesforce.faults import FaultRule
from handover.errors import ConfigError, MigrationError, TransientSalesforceError
from tests.flows.migration_stage import NADIA, SAM, Stage, eventually, thread_of
from tests.flows.test_migration import through_the_window
from tests.migration.orgstate import snapshot

Snapshot = dict[str, list[tuple[Any, ...]]]


def org_state(stage: Stage) -> Snapshot:
    return snapshot(stage.admin())


def without_user(state: Snapshot, username: str) -> Snapshot:
    """The org but a (deactivated) Integration User: Salesforce cannot delete users."""
    return {**state, "User": [u for u in state["User"] if u[0] != username]}


def assert_as_before(stage: Stage, before: Snapshot, workload: str) -> None:
    """The org as ``before``; an Integration User the migration created stays, inactive
    (one an earlier migration made is as it was)."""
    after = org_state(stage)
    username = stage.plans[workload]["user"]["username"]
    if any(u[0] == username for u in before["User"]):
        assert after == before
        return
    left = [u for u in after["User"] if u[0] == username]
    assert all(u[1] == "False" for u in left), left  # never left active
    assert without_user(after, username) == without_user(before, username)


def test_a_made_up_resume_is_ignored_and_a_rejected_plan_writes_nothing(
    migration_env: Stage,
) -> None:
    stage = migration_env
    before = org_state(stage)
    m = stage.start("Tableau Pipeline Extract")
    record = m.gate("plan")
    made_up = {
        "decision": "approve", "approvers": [SAM], "reason": None,
        "decided_at": "2026-11-02T14:05:00+00:00", "token": "hv1." + "0" * 64,
    }  # fmt: skip
    assert stage.desk.runs.resume(record.flow_run_id, made_up).status == "ACCEPT"
    note = eventually(
        lambda: [
            t for t in thread_of(stage, m.migration_id) if "without a valid approval" in t["text"]
        ],
        what="a note in the thread",
    )
    assert "does not match" in json.dumps(note[-1]["blocks"])
    m.gate("plan")  # waiting again, under the next key
    assert m.facts()["attempts"] == {"plan": 2} and "decisions" not in m.facts()
    m.reject("plan", "Tableau moves to the new BI stack next month")
    result = m.finish()
    assert result["outcome"] == "rejected" and result["steps"] == []
    status = m.status()
    assert status is not None and "Tableau moves to the new BI stack" in (
        status.outcome_reason or ""
    )
    assert stage.desk.runs.state_type(record.flow_run_id) == "COMPLETED"
    assert org_state(stage) == before


def test_a_rejected_cutover_rolls_the_provisioned_user_back(migration_env: Stage) -> None:
    stage = migration_env
    before = org_state(stage)
    m = stage.start("Tableau Pipeline Extract")
    m.approve("plan")
    m.reject("cutover", "the finance close is this week")
    result = m.finish()
    assert result["outcome"] == "rejected"
    statuses = {s["key"]: s["status"] for s in result["steps"]}
    assert statuses["provision:user"] == "rolled_back"
    assert not any(k.startswith("cutover:") for k in statuses)
    assert_as_before(stage, before, "Tableau Pipeline Extract")


def test_the_operator_sink_waits_for_a_person_and_a_cancel_rolls_back(
    migration_env: Stage,
) -> None:
    stage = migration_env
    before = org_state(stage)
    m = stage.start("Tableau Pipeline Extract", sink="operator")
    m.approve("plan")
    m.approve("cutover")
    record = m.gate("operator")
    block = f"handover-{m.migration_id}-credentials"
    handed = Secret.load(block).get()
    assert handed["username"] == stage.plans["Tableau Pipeline Extract"]["user"]["username"]
    assert len(handed["password"]) >= 20  # the operator takes it from the block
    assert block in json.dumps(thread_of(stage, m.migration_id))  # told where to look
    assert handed["password"] not in json.dumps(stage.messages())
    m.reject("operator", "the Tableau admin is away", who=SAM)
    result = m.finish()
    assert result["outcome"] == "rejected"
    with pytest.raises(ValueError):
        Secret.load(block)  # the credentials it handed over are gone with the rollback
    assert stage.desk.runs.state_type(record.flow_run_id) == "COMPLETED"
    assert_as_before(stage, before, "Tableau Pipeline Extract")


def test_an_unanswered_gate_expires_cleanly(migration_env: Stage) -> None:
    stage = migration_env
    before = org_state(stage)
    m = stage.start("Tableau Pipeline Extract")
    record = m.gate("plan")
    stage.clock.offset = timedelta(hours=stage.desk.settings.gate_ttl_hours)
    try:
        result = m.finish()  # the reaper expired the gate: the run ends, cleanly
    finally:
        stage.clock.offset = timedelta(0)
    assert result["outcome"] == "expired"
    assert stage.desk.runs.state_type(record.flow_run_id) == "COMPLETED"  # not Crashed/Failed
    final = thread_of(stage, m.migration_id)[0]["updates"][-1]
    assert final["text"].startswith("Expired · Plan")
    assert org_state(stage) == before


def test_a_failed_verification_rolls_back_to_the_org_as_it_was(migration_env: Stage) -> None:
    stage = migration_env
    workload = "Tableau Pipeline Extract"
    before = org_state(stage)
    m = stage.start(workload)
    m.approve("plan")
    m.gate("cutover")
    # Someone deletes a permission of the new set before the cutover is verified.
    admin = stage.admin()
    ps = stage.plans[workload]["permission_set"]["name"]
    row = admin.query(
        f"SELECT Id FROM ObjectPermissions WHERE Parent.Name = '{ps}' AND SobjectType = 'Account'"
    )["records"][0]
    admin.ObjectPermissions.delete(row["Id"])
    m.approve("cutover")
    error = m.failure()
    assert isinstance(
        error, MigrationError
    ) and "lacks 1 planned permission(s): Read Account" in str(error)
    status = m.status()
    assert status is not None and status.outcome == "failed"
    with pytest.raises(ValueError):
        Secret.load(f"handover-{m.migration_id}-credentials")  # the handed-over credentials
    assert_as_before(stage, before, workload)
    alert = thread_of(stage, m.migration_id)[-1]
    assert alert["text"].startswith("Verification failed, rolled back")
    assert "lacks" in json.dumps(alert["blocks"])


def test_a_run_that_died_is_continued_by_a_rerun(
    migration_env: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The permission set is created, but its answer is lost and the run dies on it (no
    retries). The same migration id run again asks nothing it was told, finds the set,
    creates no second one, and its rejected cutover leaves the org as it was."""
    stage = migration_env
    workload = "Tableau Pipeline Extract"
    before = org_state(stage)
    monkeypatch.setenv("HANDOVER_SALESFORCE__RETRIES", "0")
    stage.org.emulator.faults.add(
        FaultRule(kind="lost_response", path="/sobjects/PermissionSet/?$", method="POST",
                  max_count=1)
    )  # fmt: skip
    first = stage.start(workload)
    first.approve("plan")
    assert isinstance(first.failure(), TransientSalesforceError)
    stage.org.emulator.faults.clear()
    entry = stage.ledger.port(first.migration_id).get("provision:permission-set")
    assert entry is not None and entry.status == "failed"
    # Continued with another credential sink, its rollback would not know where to look.
    other = stage.start(workload, migration_id=first.migration_id, sink="operator").failure()
    assert isinstance(other, MigrationError) and "continue it with the same sink" in str(other)
    again = stage.start(workload, migration_id=first.migration_id)
    again.gate("cutover")  # the plan gate was decided: not asked again
    admin = stage.admin()
    ps = stage.plans[workload]["permission_set"]["name"]
    assert admin.query(f"SELECT COUNT() FROM PermissionSet WHERE Name = '{ps}'")["totalSize"] == 1
    again.reject("cutover", "checking the crash first")
    assert again.finish()["outcome"] == "rejected"
    assert_as_before(stage, before, workload)


def test_a_dry_run_lists_every_write_and_makes_none(
    migration_env: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = migration_env
    for key in ("HANDOVER_SLACK__TOKEN", "HANDOVER_APPROVALS__TOKEN_KEY"):
        monkeypatch.delenv(key)  # a dry run asks nothing: it needs no Slack
    before = org_state(stage)
    m = stage.start("Tableau Pipeline Extract", dry_run=True)
    result = m.finish()
    assert result["outcome"] == "successful"
    writes = result["steps"]
    assert all(set(w) == {"action", "object", "target", "before", "after"} for w in writes)
    kinds = [(w["action"], w["object"]) for w in writes]
    assert kinds[0] == ("create", "User") and ("set_password", "User") in kinds
    creds = next(w for w in writes if w["object"] == "Credentials")
    assert creds["after"]["password"] == "<new password>"
    assert org_state(stage) == before
    status = m.status()
    assert status is not None and status.dry_run


def test_a_migration_that_cannot_ask_refuses_to_start(
    migration_env: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = migration_env
    monkeypatch.delenv("HANDOVER_SLACK__TOKEN")
    m = stage.start("Tableau Pipeline Extract")
    error = m.failure()
    assert isinstance(error, ConfigError) and "HANDOVER_SLACK__TOKEN" in str(error)
    assert m.status() is None  # nothing opened


def test_a_refresh_token_plan_is_refused_until_its_route_is_named(migration_env: Stage) -> None:
    stage = migration_env
    plan = stage.plans["HubSpot Marketing Sync"]
    assert plan["cutover"]["route"] == "blocked"
    error = stage.start("HubSpot Marketing Sync").failure()
    assert isinstance(error, MigrationError)
    assert "cannot consent" in str(error) and "--route jwt_bearer | client_credentials" in str(
        error
    )

    from flows.plan import plan as make_plan

    routed = make_plan(plan["finding_id"], emulator_info=str(stage.info_path), route="jwt_bearer")
    assert (routed["cutover"]["route"], routed["cutover"]["chosen_route"]) == (
        "username", "jwt_bearer",
    )  # fmt: skip
    result = stage.start("HubSpot Marketing Sync", plan_hash=routed["hash"], dry_run=True).finish()
    creds = next(w for w in result["steps"] if w["object"] == "Credentials")
    assert creds["after"] == {"username": routed["user"]["username"]}


def test_one_open_migration_per_integration(migration_env: Stage) -> None:
    stage = migration_env
    first = stage.start("Tableau Pipeline Extract")
    first.gate("plan")
    second = stage.start("Tableau Pipeline Extract")
    error = second.failure()
    assert isinstance(error, MigrationError)
    assert f"already has an open migration: {first.migration_id}, waiting at the plan gate" in str(
        error
    )
    first.reject("plan", "one at a time")
    assert first.finish()["outcome"] == "rejected"


# Last in the last file on the shared org: it leaves Tableau migrated (the tests before it
# roll Tableau back or reject it, and expect to find it under Marcus).
def test_extending_an_inconclusive_window_finds_the_daily_run(
    migration_env: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tableau runs at 06:00: cut over at 00:30, a two-hour window (03:00-05:00, after the
    two settling hours) sees nothing; "Extend" judges 03:00-07:00, which holds the run."""
    stage = migration_env
    monkeypatch.setenv("HANDOVER_VERIFY__WINDOW_HOURS", "2")
    workload = "Tableau Pipeline Extract"
    now = stage.org_now()
    half_past_midnight = now.replace(hour=0, minute=30, second=0, microsecond=0)
    stage.advance_to(half_past_midnight + timedelta(days=1 if now >= half_past_midnight else 0))
    creds = stage.credentials_file(workload)
    m = stage.start(workload, sink="file", sink_target=str(creds))
    m.approve("plan")
    m.approve("cutover")
    first = m.window()
    assert (first["start"][11:16], first["end"][11:16]) == ("03:00", "05:00"), first
    through_the_window(stage, m)
    m.extend("inconclusive")
    record = m.gate("inconclusive")
    blocks = json.dumps(next(x for x in stage.messages()["messages"] if x["ts"] == record.ts))
    assert "Extended" in blocks and "gate_extend" not in blocks  # decided: no buttons left
    longer = m.wait_for(
        lambda mig: (w := mig.facts().get("window")) and w != first and w, "the longer window"
    )
    assert (longer["start"], longer["end"][11:16]) == (first["start"], "07:00"), longer
    through_the_window(stage, m)  # the 06:00 run, as the new user, is in the longer window
    m.approve("decommission", SAM, NADIA)
    result = m.finish()
    assert result["outcome"] == "successful", result
    facts = m.facts()
    assert facts["extensions"] == 1 and facts["verification"]["outcome"] == "successful"
    assert m.book.get(m.migration_id, "inconclusive-2") is None  # traffic: no second ask
