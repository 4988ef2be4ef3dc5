"""Every gate template, rendered with fixture data in every state, held to Block Kit's limits
by handover's one checker and, independently, by slack_sdk's Block Kit models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from handover.blockkit import block_kit_problems, view_problems
from handover.settings import ApprovalsSettings
from handover.slack.digest import RenderedMessage
from handover.slack.gatebook import GATES, GateDecision, GateMessage, GateRecord, Vote
from handover.slack.gates import (
    button_value,
    gate_key,
    render_gate,
    render_ignored_resume,
    render_refusal,
    render_reject_dialog,
    who_may_approve,
)
from handover.slack.rules import Refusal

NOW = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)
SECRET = "xoxb-111-222-NOT-FOR-SLACK"
MESSAGE = GateMessage(
    app_name="MuleSoft NetSuite Sync",
    human="dana.reyes@loomis-logistics.com",
    headline="+1 Integration User svc.mulesoft, permission set HO_MuleSoft_0042: Order (Read, Create, Edit)",
    changes=["Create user svc.mulesoft@loomis-logistics.com", "Permission set HO_MuleSoft_0042"],
    new_user="svc.mulesoft@loomis-logistics.com",
    evidence_window="2026-10-01 … 2026-10-30, 30 days observed",
    run_url="http://127.0.0.1:4200/runs/flow-run/7061181e",
)
WHO = who_may_approve(ApprovalsSettings(approvers=["U0LOOMIS01"], approver_group="S0APPROVE1"))


def record(gate: str = "cutover", **changes: Any) -> GateRecord:
    base = GateRecord(
        migration_id="m-0123456789ab",
        gate=gate,  # type: ignore[arg-type]
        flow_run_id="7061181e-0000-4000-8000-000000000001",
        plan_hash="ab" * 32,
        channel="C0HANDOVER",
        ts="1700000000.000100",
        opened_at=NOW,
        expires_at=NOW + timedelta(hours=24),
        human_email="dana.reyes@loomis-logistics.com",
        required_approvals=2 if gate == "decommission" else 1,
        message=MESSAGE,
    )
    return base.model_copy(update=changes)


def decided(decision: str, **more: Any) -> dict[str, Any]:
    approvers = [] if decision == "expired" else ["U0LOOMIS01"]
    return {
        "outcome": GateDecision(
            decision=decision,  # type: ignore[arg-type]
            approvers=more.pop("approvers", approvers),
            reason=more.pop("reason", None),
            decided_at=NOW + timedelta(hours=1),
        ),
        **more,
    }


def assert_slack_accepts(message: RenderedMessage) -> None:
    assert message.text.strip()
    assert block_kit_problems(message.blocks, text=message.text) == []
    for raw in message.blocks:
        block = Block.parse(raw)
        assert block is not None, f"slack_sdk does not know block {raw}"
        block.validate_json()  # slack_sdk's own limits: an independent reading
    assert SECRET not in json.dumps(message.model_dump())


def texts(message: RenderedMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


STATES: list[dict[str, Any]] = [
    {},
    decided("approve"),
    decided("reject", reason="Month-end close: not this week.\nTry on the 5th."),
    decided("expired"),
    decided("approve", delivery="run_ended"),
    decided(
        "approve", delivery="refused", delivery_detail="Validation failed for field 'decision'"
    ),
    {"notes": [f"<@U0X{i}>'s click was refused: not an approver." for i in range(5)]},
]


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("state", range(len(STATES)))
def test_every_gate_in_every_state_is_valid_block_kit(gate: str, state: int) -> None:
    message = render_gate(record(gate, **STATES[state]), [], who=WHO)
    assert_slack_accepts(message)


@pytest.mark.parametrize("gate", GATES)
def test_an_open_gate_shows_what_changes_and_asks(gate: str) -> None:
    r = record(gate)
    message = render_gate(r, [], who=WHO)
    text = texts(message)
    for shown in (MESSAGE.headline, "Create user svc.mulesoft", "`abababababab`",
                  "2026-10-01 … 2026-10-30", "<@U0LOOMIS01> or <!subteam^S0APPROVE1>",
                  f"<!date^{int((NOW + timedelta(hours=24)).timestamp())}^",
                  "Migration `m-0123456789ab`", "|Prefect run>"):  # fmt: skip
        assert shown in text, shown
    actions = next(b for b in message.blocks if b["type"] == "actions")
    approve, *extend, reject = actions["elements"]
    offered = gate in ("inconclusive", "inconclusive-2")
    assert [e["action_id"] for e in extend] == (["gate_extend"] if offered else [])
    assert (approve["action_id"], approve["style"]) == ("gate_approve", "primary")
    assert (reject["action_id"], reject["style"]) == ("gate_reject", "danger")
    assert json.loads(approve["value"]) == {"migration_id": "m-0123456789ab", "gate": gate}
    assert approve["value"] == reject["value"] == button_value(r)
    assert message.text.endswith(MESSAGE.headline)
    assert message.blocks[0]["text"]["text"].endswith(" · MuleSoft NetSuite Sync")


def test_the_two_person_gate_counts_approvals() -> None:
    r = record("decommission")
    first = render_gate(r, [], who=WHO)
    assert "*Approvals:* 0 of 2" in texts(first) and "Two different approvers" in texts(first)
    vote = Vote(user_id="U0LOOMIS01", at=NOW + timedelta(minutes=5))
    second = render_gate(r, [vote], who=WHO)
    assert_slack_accepts(second)
    shown = texts(second)
    assert "*Approvals:* 1 of 2 — <@U0LOOMIS01> <!date^" in shown
    assert "1 more approval needed, from someone else." in shown
    assert any(b["type"] == "actions" for b in second.blocks)  # still open


def test_decided_gates_lose_their_buttons_and_say_who_when_and_why() -> None:
    both = decided("approve", approvers=["U0LOOMIS01", "U0LOOMIS02"])
    approved = render_gate(record("decommission", **both), [], who=WHO)
    assert not any(b["type"] == "actions" for b in approved.blocks)
    assert approved.blocks[0]["text"]["text"] == "Approved · Decommission · MuleSoft NetSuite Sync"
    assert "*Approved* by <@U0LOOMIS01> and <@U0LOOMIS02>, <!date^" in texts(approved)
    assert approved.text == "Approved · Decommission of MuleSoft NetSuite Sync: 2 approvers"

    reason = "Month-end close: <!channel> not this week.\nTry on the 5th."
    rejected = render_gate(record("cutover", **decided("reject", reason=reason)), [], who=WHO)
    shown = texts(rejected)
    assert "*Rejected* by <@U0LOOMIS01>" in shown
    assert "\\n>Month-end close: &lt;!channel&gt; not this week.\\n>Try on the 5th." in shown
    assert "The integration keeps running as before" in shown

    expired = render_gate(record("plan", **decided("expired")), [], who=WHO)
    assert "*Expired* <!date^" in texts(expired) and "Nothing was written to the org" in texts(
        expired
    )
    assert expired.blocks[0]["text"]["text"].startswith("Expired · ")

    ended = render_gate(record("cutover", **decided("approve", delivery="run_ended")), [], who=WHO)
    assert "had already ended" in texts(ended)


def test_org_data_is_escaped_and_long_values_clipped() -> None:
    hostile = MESSAGE.model_copy(update={
        "app_name": "Sync <!here> & Co " + "A" * 300,
        "headline": "x" * 2000,
        "changes": ["<@U999> gets Modify All"] + ["c" * 900] * 14,
        "human": "a>b@loomis.example",
    })  # fmt: skip
    message = render_gate(record("cutover", message=hostile), [], who=WHO)
    assert_slack_accepts(message)
    shown = json.dumps(message.blocks[1:], ensure_ascii=False)  # the mrkdwn after the header
    assert "&lt;!here&gt; &amp; Co" in shown and "<!here>" not in shown
    assert message.blocks[0]["text"]["text"].startswith("Approval needed · Cutover · Sync <!here>")
    assert "&lt;@U999&gt;" in shown and "a&gt;b@loomis.example" in shown
    assert "…and 5 more in the Prefect run" in shown
    assert message.blocks[0]["text"]["text"].endswith("…")


def test_the_reject_dialog_asks_for_a_reason() -> None:
    view = render_reject_dialog(record("cutover"))
    assert view_problems(view) == []
    View(**view).validate_json()
    assert view["callback_id"] == "gate_reject_reason"
    assert gate_key(view["private_metadata"]) == ("m-0123456789ab", "cutover")
    reason = next(b for b in view["blocks"] if b["type"] == "input")
    assert (reason["block_id"], reason["element"]["action_id"]) == ("reason", "reason")
    assert view["title"]["text"] == "Reject: cutover"
    long = render_reject_dialog(record("decommission"))
    assert len(long["title"]["text"]) <= 24


@pytest.mark.parametrize(
    "refusal",
    [
        Refusal("unknown_gate"),
        Refusal("already_decided", by=["U0LOOMIS01"], at=NOW),
        Refusal("expired", at=NOW),
        Refusal("not_approver"),
        Refusal("inactive"),
        Refusal("self_approval"),
        Refusal("no_email"),
        Refusal("already_voted"),
        Refusal("reason_required"),
    ],
)
def test_every_refusal_is_worded(refusal: Refusal) -> None:
    reply, note = render_refusal(refusal, clicker="U0LOOMIS03", record=record(), needed=1)
    assert reply.strip() and note.startswith("<@U0LOOMIS03>")
    assert "changed nothing" in reply or "nothing changed" in reply or refusal.code in (
        "inactive", "self_approval", "already_voted", "reason_required",
    )  # fmt: skip


def test_already_decided_names_who_and_when() -> None:
    reply, _ = render_refusal(
        Refusal("already_decided", by=["U0LOOMIS01"], at=NOW), clicker="U2", record=record()
    )
    assert reply.startswith("Already decided by <@U0LOOMIS01> at <!date^")


def test_an_ignored_resume_is_said_in_the_thread() -> None:
    message, note = render_ignored_resume(record(), "the approval token does not match <x>")
    assert_slack_accepts(message)
    assert "without a valid approval" in texts(message) and "&lt;x&gt;" in texts(message)
    assert note.startswith("A resume from outside Slack was ignored")


def test_gate_key_reads_only_what_the_buttons_carry() -> None:
    assert gate_key('{"migration_id": "m-1", "gate": "plan"}') == ("m-1", "plan")
    for bad in ("", "nope", "[]", '{"migration_id": "m-1"}', '{"migration_id": 1, "gate": "x"}'):
        assert gate_key(bad) is None


def test_the_last_inconclusive_gate_offers_no_more_extension() -> None:
    def choices(gate: str) -> list[str]:
        message = render_gate(record(gate), [], who=WHO)
        assert_slack_accepts(message)
        actions = next(b for b in message.blocks if b["type"] == "actions")
        return [e["action_id"] for e in actions["elements"]]

    extend = ["gate_approve", "gate_extend", "gate_reject"]
    assert choices("inconclusive") == choices("inconclusive-2") == extend
    assert choices("inconclusive-3") == ["gate_approve", "gate_reject"]
    extended = record("inconclusive").model_copy(
        update={
            "outcome": GateDecision(decision="extend", approvers=["U0LOOMIS01"], decided_at=NOW)
        }
    )
    shown = texts(render_gate(extended, [], who=WHO))
    assert "*Extended* by <@U0LOOMIS01>" in shown and "longer window" in shown


def test_the_audit_proposal_shows_removals_additions_risks_evidence_and_its_hash() -> None:
    from handover.audit.changes import change_lines, risk_lines
    from handover.models.audit import Change, Risk

    def change(kind: str, obj: str) -> Change:
        return Change(kind=kind, permission_set_id="0PS000000000001AAA",  # type: ignore[arg-type]
                      permission_set="Label_Printer_Access", object=obj,
                      flags=["read", "create", "edit"], reason="x" * 400)  # fmt: skip

    changes = [change("remove", f"Obj{i}__c") for i in range(12)] + [change("add", "Contact")]
    risks = [Risk(permission=f"View All on Obj{i}__c", where="Label_Printer_Access",
                  level="medium", reason="every record") for i in range(9)]  # fmt: skip
    risks.append(Risk(permission="Modify All Data", where="profile Admin", level="high",
                      reason="every record of every object"))  # fmt: skip
    message = MESSAGE.model_copy(
        update={"changes": change_lines(changes), "flagged": risk_lines(risks),
                "evidence_window": "Label Printer: 2026-10-26 … 2026-11-03, 7 days observed"}
    )  # fmt: skip
    for state in STATES:
        assert_slack_accepts(render_gate(record("audit", message=message, **state), [], who=WHO))
    blocks = render_gate(record("audit", message=message), [], who=WHO).blocks
    text = "\n".join(
        [b["text"]["text"] for b in blocks if "text" in b]
        + [f["text"] for b in blocks for f in b.get("fields", [])]
    )
    assert "*Remove* — granted, never used over the window\n• Read, Create, Edit on Obj0__c" in text
    assert "…and 4 more in the audit report" in text
    assert "*Add* — calls it made and was denied\n• Read, Create, Edit on Contact" in text
    assert "*Broad grants flagged*" in text and "• High: Modify All Data (profile Admin)" in text
    assert "*Proposal hash*\n`abababababab`" in text and "2026-10-26 … 2026-11-03" in text
    assert "Remove Read" not in text  # the verb is the section's, not repeated per line
