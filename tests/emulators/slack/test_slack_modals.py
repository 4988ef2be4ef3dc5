"""Modals, ephemeral replies and user groups through the real slack_sdk WebClient."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulators.slack import RunningSlack, build_click
from tests.emulators.fidelity import recorded
from tests.emulators.slack.conftest import APPROVAL_BLOCKS

REASON_VIEW: dict[str, Any] = {
    "type": "modal",
    "callback_id": "gate_reject_reason",
    "private_metadata": '{"gate": "cutover"}',
    "title": {"type": "plain_text", "text": "Reject the cutover"},
    "submit": {"type": "plain_text", "text": "Reject"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Why?"},
            "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True},
        }
    ],
}


def _code(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return str(info.value.response["error"])


def _trigger(slack: RunningSlack, client: WebClient, user: str = "dana.okafor") -> str:
    posted = client.chat_postMessage(channel="#handover", text="gate", blocks=APPROVAL_BLOCKS)
    click = build_click(
        slack.state, "http://127.0.0.1:9/", channel=posted["channel"], ts=posted["ts"],
        action_id="reject", user=user,
    )  # fmt: skip
    return str(click.payload["trigger_id"])


def test_a_click_trigger_opens_one_modal(slack: RunningSlack, client: WebClient) -> None:
    trigger = _trigger(slack, client)
    view = client.views_open(trigger_id=trigger, view=REASON_VIEW)["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "gate_reject_reason"
    assert view["blocks"][0]["element"]["action_id"] == "reason" and view["hash"]
    assert slack.state.views[view["id"]].user_id == slack.state.user_by_name("dana.okafor").id
    assert _code(lambda: client.views_open(trigger_id=trigger, view=REASON_VIEW)) == (
        "exchanged_trigger_id"
    )
    assert _code(lambda: client.views_open(trigger_id="1.2.3", view=REASON_VIEW)) == (
        "invalid_trigger_id"
    )
    late = _trigger(slack, client)
    slack.state.triggers[late].issued_at -= 3.5  # Slack's triggers live 3 seconds
    assert _code(lambda: client.views_open(trigger_id=late, view=REASON_VIEW)) == (
        "expired_trigger_id"
    )


def test_a_broken_modal_is_invalid_arguments(slack: RunningSlack, client: WebClient) -> None:
    view = REASON_VIEW | {"title": {"type": "plain_text", "text": "A title far too long for it"}}
    with pytest.raises(SlackApiError) as info:
        client.views_open(trigger_id=_trigger(slack, client), view=view)
    assert info.value.response["error"] == "invalid_arguments"
    assert info.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    no_submit = {k: v for k, v in REASON_VIEW.items() if k != "submit"}
    assert _code(lambda: client.views_open(trigger_id=_trigger(slack, client), view=no_submit)) == (
        "invalid_arguments"
    )


def test_views_update(slack: RunningSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id=_trigger(slack, client), view=REASON_VIEW)["view"]
    thanks = REASON_VIEW | {
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Done"}}]
    }
    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=thanks)["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
    assert slack.state.views[view["id"]].updates[-1]["view"]["blocks"][0]["text"]["text"] == "Done"
    stale = lambda: client.views_update(view_id=view["id"], hash=view["hash"], view=thanks)  # noqa: E731
    assert _code(stale) == "hash_conflict"
    assert _code(lambda: client.views_update(view_id="V0NOTHERE", view=thanks)) == "not_found"


def test_ephemeral_replies(slack: RunningSlack, client: WebClient) -> None:
    sam = slack.state.user_by_name("sam.ruiz")
    resp = client.chat_postEphemeral(channel="#handover", user=sam.id, text="Not an approver")
    assert set(resp.data) == {"ok", "message_ts"}  # type: ignore[arg-type]
    note = slack.state.ephemeral[-1]
    assert (note.user, note.text, note.ts) == (sam.id, "Not an approver", resp["message_ts"])
    assert slack.state.posted("handover") == []  # never in the channel's history
    outsider = slack.state.add_user("outsider", email="o@loomis.example")
    in_channel = lambda: client.chat_postEphemeral(channel="#handover", user=outsider.id, text="x")  # noqa: E731
    assert _code(in_channel) == "user_not_in_channel"
    assert _code(lambda: client.chat_postEphemeral(channel="#nope", user=sam.id, text="x")) == (
        "channel_not_found"
    )
    if recorded.available():
        spec = recorded.load_json("java-slack-sdk/api/chat.postEphemeral.json")
        assert set(resp.data) <= set(spec)  # type: ignore[arg-type]


def test_usergroup_members(slack: RunningSlack, client: WebClient) -> None:
    group = slack.state.usergroup_by_handle("handover-approvers")
    assert group is not None
    members = client.usergroups_users_list(usergroup=group.id)["users"]
    assert members == [slack.state.user_by_name("dana.okafor").id]
    assert _code(lambda: client.usergroups_users_list(usergroup="S0NOTHERE")) == "no_such_subteam"
    group.disabled = True
    assert _code(lambda: client.usergroups_users_list(usergroup=group.id)) == "no_such_subteam"
    assert client.usergroups_users_list(usergroup=group.id, include_disabled=True)["users"]
    narrow = WebClient(
        token=slack.state.issue_token(slack.state.bot.id, ("chat:write",), prefix="xoxb"),
        base_url=slack.base_url,
    )
    assert _code(lambda: narrow.usergroups_users_list(usergroup=group.id)) == "missing_scope"
