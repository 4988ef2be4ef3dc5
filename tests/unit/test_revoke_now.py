""" "Revoke now": the button on a handed-over migration's last message, what the thread is
told after a click (counts, never a token), and who may press it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handover.models.revoke import RevokedUser, RevokeOrder, RevokeReport
from handover.slack.notices import render_notice
from handover.slack.revoke_now import render_revoked, revoke_key, revoke_value
from handover.slack.rules import Clicker, may_revoke
from tests.blockkit import assert_slack_accepts

T = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)


def notice(outcome: str) -> list[dict[str, object]]:
    message = render_notice(
        "finished", migration_id="m-1a2b3c4d5e6f", app_name="ERP *Sync*",
        human="jane.doe@tiny.example.com", new_user="svc-erp@tiny.example.com",
        outcome=outcome, reason=None, reasons=[], run_url=None,
    )  # fmt: skip
    assert_slack_accepts(message.blocks, message.text)
    return message.blocks


def buttons(blocks: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]  # type: ignore[attr-defined]


def test_a_handed_over_migration_ends_on_revoke_now_with_a_confirm_dialog() -> None:
    (button,) = buttons(notice("successful"))
    assert button["action_id"] == "revoke_now" and button["style"] == "danger"
    assert revoke_key(str(button["value"])) == "m-1a2b3c4d5e6f"
    confirm = button["confirm"]
    assert "is revoked at once" in confirm["text"]["text"]  # type: ignore[index]
    assert confirm["confirm"]["text"] == "Revoke now"  # type: ignore[index]


@pytest.mark.parametrize("outcome", ["failed", "rolled_back", "rejected", "expired"])
def test_no_revoke_button_where_the_app_was_not_handed_over(outcome: str) -> None:
    assert buttons(notice(outcome)) == []


def test_a_gate_value_is_not_a_revoke_and_a_revoke_value_is_not_a_gate() -> None:
    from handover.slack.gates import gate_key

    assert revoke_key('{"migration_id": "m-1", "gate": "plan"}') is None
    assert revoke_key("not json") is None
    assert gate_key(revoke_value("m-1")) is None


def test_the_thread_is_told_the_counts_and_never_a_token() -> None:
    report = RevokeReport(
        revoke_id="r-0123456789ab", org_id="00D000000000001AAA",
        order=RevokeOrder(app="ERP Sync", requested_by="U0LOOMIS02"),
        users=[RevokedUser(user_id=f"005{i:015d}", username=f"u{i}@x.example", tokens=2,
                           sessions=1) for i in range(25)],
        tokens_revoked=50, sessions_ended=25, started_at=T, seconds=1.234,
        notes=["a leaked JWT key still logs in: rotate it"],
    )  # fmt: skip
    message = render_revoked(
        migration_id="m-1a2b3c4d5e6f", app_name="ERP Sync", clicker="U0LOOMIS02", report=report
    )
    assert_slack_accepts(message.blocks, message.text)
    text = " ".join(str(b) for b in message.blocks)
    assert "50 tokens revoked, 25 sessions ended" in text and "<@U0LOOMIS02>" in text
    assert "…and 5 more users" in text and "r-0123456789ab" in text and "--rotate" in text
    failed = render_revoked(
        migration_id="m-1a2b3c4d5e6f", app_name="ERP Sync", clicker="U0LOOMIS02",
        error="the org refused the login: INVALID_SESSION_ID",
    )  # fmt: skip
    assert_slack_accepts(failed.blocks, failed.text)
    assert 'handover revoke --app "ERP Sync"' in str(failed.blocks)


def test_an_active_approver_may_revoke_alone_anyone_else_may_not() -> None:
    def who(**more: object) -> Clicker:
        return Clicker(**{"id": "U1", "email": "a@x.example", "deleted": False,
                          "is_bot": False, "allowed": True, **more})  # type: ignore[arg-type]  # fmt: skip

    assert may_revoke(who()) is None
    assert may_revoke(who(email=None)) is None  # no email needed: nobody approves their own
    refused = may_revoke(who(allowed=False))
    assert refused is not None and refused.code == "not_approver"
    refused = may_revoke(who(is_bot=True))
    assert refused is not None and refused.code == "inactive"
