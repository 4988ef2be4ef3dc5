"""The gate "Done when" of issue 8: approvals and rejections reach the paused run with a
token it verifies; every refusal leaves the gate open and says why in Slack; a resume that
did not come from the service is ignored; the reaper ends a gate nobody decided."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import httpx

from emulators.slack.clicks import block_actions_payload, build_click, send, signed
from handover.slack import gates
from handover.slack.gatebook import GateRecord, Wake
from handover.slack.runs import PrefectRuns
from tests.approvals import standin
from tests.approvals.conftest import DANA, PRIYA, SAM, GateRun, Loop, eventually

OpenGate = Callable[..., GateRun]


def test_approve_resumes_the_run_with_a_token_it_verifies(loop: Loop, open_gate: OpenGate) -> None:
    run = open_gate("cutover")
    record = run.record
    assert run.message()["text"].startswith("Approval needed · Cutover")
    answer = loop.click(record.ts, "gate_approve", SAM)
    assert answer["status"] == 200
    result = run.finish()
    assert result == {"decision": "approve", "approvers": [SAM], "reason": None, "attempts": 1}
    assert loop.book.get(run.migration_id, run.gate).delivery == "accepted"  # type: ignore[union-attr]
    final = eventually(lambda: run.message()["updates"], what="message updated")[-1]
    assert final["text"].startswith("Approved · Cutover")
    assert not any(b["type"] == "actions" for b in final["blocks"])
    assert f"*Approved* by <@{SAM}>" in str(final["blocks"])


def test_reject_asks_for_a_reason_and_the_run_gets_it(loop: Loop, open_gate: OpenGate) -> None:
    run = open_gate("plan")
    answer = loop.click(run.record.ts, "gate_reject", PRIYA, reason="Wait until after month-end")
    assert answer["status"] == 200 and answer["view_submission"]["status"] == 200
    result = run.finish()
    assert (result["decision"], result["approvers"], result["reason"]) == (
        "reject", [PRIYA], "Wait until after month-end",
    )  # fmt: skip
    final = eventually(lambda: run.message()["updates"], what="message updated")[-1]
    assert final["text"].startswith("Rejected · Plan")
    assert ">Wait until after month-end" in str(final["blocks"])
    view = loop.messages()["views"][0]
    assert view["closed"] and view["callback_id"] == "gate_reject_reason"


def test_a_reject_without_a_reason_keeps_the_dialog_open(loop: Loop, open_gate: OpenGate) -> None:
    run = open_gate("plan")
    answer = loop.click(run.record.ts, "gate_reject", PRIYA, reason="  ")
    body = json.loads(answer["view_submission"]["body"])
    assert body == {
        "response_action": "errors",
        "errors": {"reason": "A rejection needs a reason of a few words."},
    }
    assert loop.messages()["views"][0]["closed"] is False
    assert not run.record.decided and run.state() == "PAUSED"


def test_forged_stale_and_replayed_requests_are_refused(loop: Loop, open_gate: OpenGate) -> None:
    run = open_gate("cutover")
    record, ws = run.record, loop.slack.state
    where = {"channel": record.channel, "ts": record.ts, "action_id": "gate_approve", "user": SAM}
    forged = send(
        build_click(ws, loop.service.actions_url, signing_secret="not-the-secret", **where)
    )
    stale = send(
        build_click(ws, loop.service.actions_url, timestamp=int(ws.clock()) - 360, **where)
    )
    assert (forged.status, forged.text) == (401, "invalid request")
    assert (stale.status, stale.text) == (401, "invalid request")  # 6 minutes old
    assert not loop.book.votes(run.migration_id, run.gate) and not run.record.decided
    assert run.message()["updates"] == [] and run.state() == "PAUSED"  # nothing changed

    genuine = build_click(ws, loop.service.actions_url, **where)
    assert send(genuine).status == 200
    assert run.finish()["approvers"] == [SAM]
    replayed = send(genuine)  # the same signed body again, within the 5 minutes
    assert replayed.status == 401
    assert len(loop.book.votes(run.migration_id, run.gate)) == 1


def test_a_non_approver_is_refused_and_told_why(loop: Loop, open_gate: OpenGate) -> None:
    run = open_gate("cutover")
    assert loop.click(run.record.ts, "gate_approve", DANA)["status"] == 200
    reply = eventually(lambda: run.ephemeral_for(DANA), what="a reply to Dana")
    assert "You are not an approver" in reply[-1]
    note = eventually(lambda: run.message()["updates"], what="a note on the message")[-1]
    assert f"<@{DANA}>'s click was refused: not an approver." in str(note["blocks"])
    assert any(b["type"] == "actions" for b in note["blocks"])  # still open
    assert not loop.book.votes(run.migration_id, run.gate) and run.state() == "PAUSED"
    loop.click(run.record.ts, "gate_approve", PRIYA)  # a member of the approvers' group
    assert run.finish()["approvers"] == [PRIYA]


def test_self_approval_is_refused(loop: Loop, open_gate: OpenGate) -> None:
    # Priya is an approver, but this migration moves an integration off her own account.
    run = open_gate("cutover", human_email="Priya.Natarajan@loomis-logistics.com")
    loop.click(run.record.ts, "gate_approve", PRIYA)
    reply = eventually(lambda: run.ephemeral_for(PRIYA), what="a reply to Priya")
    assert "own account" in reply[-1]
    assert not run.record.decided and run.state() == "PAUSED"
    eventually(lambda: run.message()["updates"], what="a note")
    assert "their own account" in str(run.message()["blocks"])
    loop.click(run.record.ts, "gate_approve", SAM)
    assert run.finish()["approvers"] == [SAM]


def test_the_decommission_gate_needs_two_different_approvers(
    loop: Loop, open_gate: OpenGate
) -> None:
    run = open_gate("decommission")
    ts = run.record.ts
    loop.click(ts, "gate_approve", SAM)
    reply = eventually(lambda: run.ephemeral_for(SAM), what="a reply to Sam")
    assert "Your approval is recorded" in reply[-1] and "1 more approval" in reply[-1]
    shown = eventually(lambda: run.message()["updates"], what="progress")[-1]
    assert f"*Approvals:* 1 of 2 — <@{SAM}>" in str(shown["blocks"])
    assert not run.record.decided and run.state() == "PAUSED"

    loop.click(ts, "gate_approve", SAM)  # the same person again
    assert eventually(lambda: len(run.ephemeral_for(SAM)) == 2, what="second reply")
    assert "You already approved" in run.ephemeral_for(SAM)[-1]
    assert not run.record.decided and run.state() == "PAUSED"

    loop.click(ts, "gate_approve", PRIYA)
    assert run.finish()["approvers"] == [SAM, PRIYA]
    final = eventually(
        lambda: [u for u in run.message()["updates"] if u["text"].startswith("Approved")],
        what="final state",
    )[-1]
    assert f"<@{SAM}> and <@{PRIYA}>" in str(final["blocks"])


def test_a_second_click_after_the_decision_changes_nothing(loop: Loop, open_gate: OpenGate) -> None:
    run = open_gate("cutover")
    record, ws, url = run.record, loop.slack.state, loop.service.actions_url
    # Both saw the open message and clicked at about the same time; Sam's arrived first.
    sams = build_click(
        ws, url, channel=record.channel, ts=record.ts, action_id="gate_approve", user=SAM
    )
    priyas = build_click(
        ws, url, channel=record.channel, ts=record.ts, action_id="gate_approve", user=PRIYA
    )
    assert send(sams).status == 200
    assert run.finish()["approvers"] == [SAM]
    assert send(priyas).status == 200
    reply = eventually(lambda: run.ephemeral_for(PRIYA), what="a reply to Priya")
    assert reply[-1].startswith(f"Already decided by <@{SAM}> at <!date^")
    outcome = run.record.outcome
    assert outcome is not None and outcome.approvers == [SAM] and run.record.delivery == "accepted"
    assert "came after the decision and changed nothing" in str(run.message()["blocks"])
    # Once decided the message has no buttons left to click.
    late = httpx.post(f"{loop.slack.url}/__emulator/click",
                      json={"ts": record.ts, "action_id": "gate_reject", "user_id": PRIYA})  # fmt: skip
    assert late.status_code == 404 and "its buttons: []" in late.text


def test_a_made_up_resume_is_ignored_and_the_gate_waits(loop: Loop, open_gate: OpenGate) -> None:
    run = open_gate("cutover")
    record = run.record
    made_up = {
        "decision": "approve", "approvers": [SAM], "reason": None,
        "decided_at": "2026-11-02T14:05:00+00:00", "token": "hv1." + "0" * 64,
    }  # fmt: skip
    assert loop.runs.resume(record.flow_run_id, made_up).status == "ACCEPT"  # Prefect takes it
    thread = eventually(
        lambda: [m for m in loop.messages()["messages"] if m["thread_ts"] == record.ts],
        what="a note in the thread",
    )
    assert "without a valid approval" in thread[-1]["text"]
    assert "does not match" in str(thread[-1]["blocks"])
    eventually(lambda: run.state() == "PAUSED", what="paused again")
    assert not run.record.decided  # the service never decided anything
    assert "A resume from outside Slack was ignored" in str(run.message()["blocks"])
    loop.click(record.ts, "gate_approve", SAM)
    result = run.finish()
    assert (result["decision"], result["attempts"]) == ("approve", 2)


def test_the_reaper_ends_a_gate_nobody_decided_as_expired(loop: Loop, open_gate: OpenGate) -> None:
    run = open_gate("cutover")
    record = run.record
    assert loop.reaper.tick() == {"expired": 0, "redelivered": 0, "woken": 0}
    late = build_click(loop.slack.state, loop.service.actions_url, channel=record.channel,
                       ts=record.ts, action_id="gate_approve", user=SAM)  # fmt: skip
    loop.clock.offset = timedelta(hours=loop.settings.gate_ttl_hours)
    assert loop.reaper.tick()["expired"] == 1
    result = run.finish()
    assert (result["decision"], result["approvers"]) == ("expired", [])
    final = run.message()["updates"][-1]
    assert final["text"].startswith("Expired · Cutover") and "*Expired*" in str(final["blocks"])
    assert send(late).status == 200  # clicked just before the message changed
    reply = eventually(lambda: run.ephemeral_for(SAM), what="a reply to a late click")
    assert "Already decided" in reply[-1]
    assert loop.reaper.tick()["expired"] == 0


def test_a_decision_prefect_could_not_take_is_delivered_by_the_reaper(
    loop: Loop, open_gate: OpenGate
) -> None:
    run = open_gate("cutover")
    working = loop.desk.runs
    loop.desk.runs = PrefectRuns("http://127.0.0.1:9/api")  # Prefect unreachable for a moment
    try:
        loop.click(run.record.ts, "gate_approve", SAM)
        eventually(lambda: run.record.decided, what="decided")
        assert run.state() == "PAUSED" and run.record.delivery is None
    finally:
        loop.desk.runs = working
    assert loop.reaper.tick()["redelivered"] == 0  # a fresh decision is its click's to deliver
    loop.clock.offset = timedelta(seconds=30)
    assert loop.reaper.tick()["redelivered"] == 1
    assert run.finish()["approvers"] == [SAM]
    assert run.record.delivery == "accepted"


def test_the_reaper_wakes_a_migration_whose_window_ended(loop: Loop) -> None:
    import threading

    from prefect import flow, pause_flow_run
    from prefect.runtime import flow_run

    @flow(name="verification-window-stand-in", persist_result=False)
    def waits_for_its_window(migration_id: str, hours: int) -> str:
        wake_at = loop.clock() + timedelta(hours=hours)
        loop.book.set_wake(
            Wake(migration_id=migration_id, flow_run_id=str(flow_run.id), wake_at=wake_at)
        )
        pause_flow_run(timeout=600, poll_interval=1, key="verification-window")
        return "verifying"

    done: list[str] = []
    thread = threading.Thread(target=lambda: done.append(waits_for_its_window("m-0000000000aa", 6)))
    thread.start()
    wake = eventually(
        lambda: loop.book.due_wakes(loop.clock() + timedelta(days=1)), what="wake set"
    )[0]
    eventually(lambda: loop.runs.state_type(wake.flow_run_id) == "PAUSED", what="paused")
    assert loop.reaper.tick()["woken"] == 0  # the window is still open
    loop.clock.offset = timedelta(hours=6)
    assert loop.reaper.tick()["woken"] == 1
    thread.join(60)
    assert done == ["verifying"] and loop.book.due_wakes(loop.clock() + timedelta(days=1)) == []


def test_when_slack_cannot_say_who_clicked_nothing_is_decided(loop: Loop) -> None:
    record = open_gate_directly(loop)
    loop.slack.state.faults.error("users.info", "fatal_error", times=None)
    answer = loop.click(record.ts, "gate_approve", SAM)
    assert (answer["status"], answer["body"]) == (503, "try again")
    assert loop.book.votes(record.migration_id, record.gate) == []
    assert not loop.book.get(record.migration_id, record.gate).decided  # type: ignore[union-attr]


def open_gate_directly(loop: Loop) -> GateRecord:
    """A gate opened as the flow would, for tests that never resume a run."""
    return gates.open_gate(
        loop.book, loop.desk.slack, loop.settings, migration_id="m-0000000000bb", gate="plan",
        flow_run_id="00000000-0000-4000-8000-000000000000", plan_hash="cd" * 32,
        channel="#handover", human_email="dana.reyes@loomis-logistics.com",
        message=standin.MESSAGE, now=loop.clock(),
    )  # fmt: skip


def test_extend_where_the_gate_offers_none_changes_nothing(loop: Loop, open_gate: OpenGate) -> None:
    run = open_gate("cutover")
    record, ws, url = run.record, loop.slack.state, loop.service.actions_url
    # Not a button the message has: a click made up outside Slack's UI, correctly signed.
    payload = block_actions_payload(
        ws, channel=record.channel, ts=record.ts, action_id="gate_approve", user=SAM
    )
    payload["actions"][0]["action_id"] = "gate_extend"
    assert send(signed(ws, url, payload)).status == 200
    reply = eventually(lambda: run.ephemeral_for(SAM), what="a reply to Sam")
    assert reply[-1] == "This gate does not offer that choice; nothing changed."
    assert run.record.outcome is None
