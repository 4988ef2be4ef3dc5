"""The Slack emulator through the real slack_sdk WebClient over HTTP.

Response shapes are held to the recorded key sets (java-slack-sdk's MASKED samples: the union
of every key seen in real responses, so an emulated body's keys must be a subset) and the
error codes to Slack's OpenAPI spec.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import warnings
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from emulators.slack import RunningSlack
from tests.emulators.fidelity import recorded
from tests.emulators.slack.conftest import APPROVAL_BLOCKS

BLOCKS = APPROVAL_BLOCKS


def _recorded(name: str) -> dict[str, Any]:
    if not recorded.available():
        pytest.skip("recorded fixtures not available")
    data: dict[str, Any] = recorded.load_json(f"java-slack-sdk/api/{name}.json")
    return data


def _error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


def _code(call: Any) -> str:
    """Slack's error code for a call that must fail."""
    return str(_error(call).response["error"])


def _assert_keys_within(actual: dict[str, Any], recorded_keys: dict[str, Any], where: str) -> None:
    extra = set(actual) - set(recorded_keys)
    assert not extra, f"{where}: keys Slack never sends: {sorted(extra)}"


def test_auth_test_identifies_the_bot(slack: RunningSlack, client: WebClient) -> None:
    resp = client.auth_test()
    assert resp.status_code == 200 and resp["ok"] is True
    assert resp["user_id"] == slack.state.bot.id and resp["bot_id"] == slack.state.bot.bot_id
    assert resp["url"] == "https://loomis-logistics.slack.com/"
    _assert_keys_within(resp.data, _recorded("auth.test"), "auth.test")  # type: ignore[arg-type]


def test_post_message_stores_it_and_echoes_slacks_shape(
    slack: RunningSlack, client: WebClient
) -> None:
    resp = client.chat_postMessage(channel="#handover", text="Approval needed", blocks=BLOCKS)
    channel = slack.state.channel_by_name("handover")
    assert resp["channel"] == channel.id
    assert resp["ts"] == resp["message"]["ts"] and len(resp["ts"].split(".")[1]) == 6
    stored = slack.state.posted("handover")[-1]
    assert (stored.ts, stored.text, stored.user) == (
        resp["ts"],
        "Approval needed",
        slack.state.bot.id,
    )
    # Slack fills in what the sender left out, and echoes it
    assert stored.blocks[0]["block_id"] and stored.blocks[1]["block_id"] == "approval"
    assert stored.blocks[1]["elements"][0]["text"]["emoji"] is True
    spec = _recorded("chat.postMessage")
    _assert_keys_within(resp.data, spec, "chat.postMessage")  # type: ignore[arg-type]
    _assert_keys_within(resp["message"], spec["message"], "chat.postMessage message")
    assert {"bot_id", "app_id", "bot_profile", "blocks", "team"} <= set(resp["message"])


def test_ts_is_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="#handover", text=str(i))["ts"] for i in range(5)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 5


def test_chat_update_replaces_text_and_keeps_blocks_unless_given(
    slack: RunningSlack, client: WebClient
) -> None:
    posted = client.chat_postMessage(channel="#handover", text="Approval needed", blocks=BLOCKS)
    resp = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Approved by Dana")
    assert (resp["channel"], resp["ts"], resp["text"]) == (
        posted["channel"],
        posted["ts"],
        "Approved by Dana",
    )
    spec = _recorded("chat.update")
    _assert_keys_within(resp.data, spec, "chat.update")  # type: ignore[arg-type]
    _assert_keys_within(resp["message"], spec["message"], "chat.update message")
    stored = slack.state.message(posted["channel"], posted["ts"])
    assert stored is not None and stored.text == "Approved by Dana" and len(stored.blocks) == 2
    assert stored.edited and stored.edited["user"] == slack.state.bot.id
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Done", blocks=[])
    assert stored.blocks == []


def test_chat_update_errors(slack: RunningSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="#handover", text="x")
    unknown_ts = lambda: client.chat_update(channel=posted["channel"], ts="1.000001", text="y")  # noqa: E731
    assert _code(unknown_ts) == "message_not_found"
    dana = slack.state.user_by_name("dana.okafor")
    dana_client = WebClient(
        token=slack.state.issue_token(dana.id, ("chat:write",)), base_url=slack.base_url
    )
    hers = dana_client.chat_postMessage(channel="#handover", text="mine")
    assert hers["message"]["user"] == dana.id and "bot_id" not in hers["message"]
    err = _error(lambda: client.chat_update(channel=hers["channel"], ts=hers["ts"], text="edited"))
    assert err.response["error"] == "cant_update_message"


def test_users_info_and_lookup_by_email_have_real_key_sets(
    slack: RunningSlack, client: WebClient
) -> None:
    dana = slack.state.user_by_name("dana.okafor")
    info = client.users_info(user=dana.id)
    assert info["user"]["profile"]["email"] == "dana.okafor@loomis.example"
    assert info["user"]["is_admin"] is True and info["user"]["deleted"] is False
    spec = _recorded("users.info")["user"]
    _assert_keys_within(info["user"], spec, "users.info user")
    _assert_keys_within(info["user"]["profile"], spec["profile"], "users.info profile")
    found = client.users_lookupByEmail(email="DANA.OKAFOR@loomis.example")
    assert found["user"]["id"] == dana.id
    spec = _recorded("users.lookupByEmail")["user"]
    _assert_keys_within(found["user"], spec, "users.lookupByEmail user")
    _assert_keys_within(found["user"]["profile"], spec["profile"], "users.lookupByEmail profile")
    bot = client.users_info(user=slack.state.bot.id, include_locale=True)["user"]
    assert bot["is_bot"] is True and bot["profile"]["bot_id"] == slack.state.bot.bot_id
    assert bot["locale"]


def test_users_errors_and_deactivated_accounts(slack: RunningSlack, client: WebClient) -> None:
    assert _code(lambda: client.users_info(user="U0NOTHERE")) == "user_not_found"
    assert _code(lambda: client.users_lookupByEmail(email="nobody@x.example")) == "users_not_found"
    lee = slack.state.user_by_name("lee.former")
    assert client.users_info(user=lee.id)["user"]["deleted"] is True
    # A deactivated person is not found by email (so never accepted as an approver by email)
    lookup_lee = lambda: client.users_lookupByEmail(email="lee.former@loomis.example")  # noqa: E731
    assert _code(lookup_lee) == "users_not_found"


def test_auth_errors_are_http_200_with_slacks_codes(slack: RunningSlack) -> None:
    bad = WebClient(token="xoxb-0-0-not-a-token", base_url=slack.base_url)
    err = _error(bad.auth_test)
    assert (err.response.status_code, err.response["error"]) == (200, "invalid_auth")
    assert _error(WebClient(base_url=slack.base_url).auth_test).response["error"] == "not_authed"
    token = slack.state.issue_token(slack.state.bot.id, ("chat:write",), prefix="xoxb")
    limited = WebClient(token=token, base_url=slack.base_url)
    err = _error(lambda: limited.users_lookupByEmail(email="sam.ruiz@loomis.example"))
    assert (err.response["error"], err.response["needed"]) == ("missing_scope", "users:read.email")
    slack.state.revoke(token)
    assert _error(limited.auth_test).response["error"] == "token_revoked"
    # api.test needs no token and echoes its arguments, errors included
    assert _error(lambda: bad.api_test(error="my_error")).response.data == {
        "ok": False, "error": "my_error", "args": {"error": "my_error"},
    }  # fmt: skip


def test_channel_rules(slack: RunningSlack, client: WebClient) -> None:
    def post(channel: str) -> Any:
        return lambda: client.chat_postMessage(channel=channel, text="x")

    assert _code(post("#nope")) == "channel_not_found"
    # a private channel the bot is not in does not exist for it
    assert _code(post("#security-private")) == "channel_not_found"
    assert _code(post("#random")) == "not_in_channel"
    random = slack.state.channel_by_name("random")
    assert client.conversations_join(channel=random.id)["channel"]["is_member"] is True
    assert client.chat_postMessage(channel="random", text="now I can")["channel"] == random.id
    info = client.conversations_info(channel=random.id)["channel"]
    _assert_keys_within(info, _recorded("conversations.info")["channel"], "conversations.info")
    random.is_archived = True
    assert _code(post(random.id)) == "is_archived"


def test_message_content_errors(client: WebClient) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # slack_sdk warns about the missing text
        assert _code(lambda: client.chat_postMessage(channel="#handover")) == "no_text"
    too_many = [{"type": "divider"}] * 51
    err = _error(lambda: client.chat_postMessage(channel="#handover", text="x", blocks=too_many))
    assert err.response["error"] == "invalid_blocks"
    assert err.response["errors"] == ["no more than 50 items allowed [json-pointer:/blocks]"]
    assert err.response["response_metadata"]["messages"][0].startswith("[ERROR] ")
    header = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]
    err = _error(lambda: client.chat_postMessage(channel="#handover", text="x", blocks=header))
    assert err.response["errors"] == [
        "must be less than 151 characters [json-pointer:/blocks/0/text/text]"
    ]
    long_text = "x" * 40_001
    assert (
        _code(lambda: client.chat_postMessage(channel="#handover", text=long_text))
        == "msg_too_long"
    )


def test_a_429_with_retry_after_is_retried_by_the_client(slack: RunningSlack) -> None:
    slack.state.faults.rate_limit("chat.postMessage", times=1, retry_after=1)
    plain = WebClient(token=slack.bot_token, base_url=slack.base_url)
    err = _error(lambda: plain.chat_postMessage(channel="#handover", text="x"))
    assert (err.response.status_code, err.response["error"]) == (429, "ratelimited")
    assert err.response.headers["Retry-After"] == "1"
    slack.state.faults.rate_limit("chat.postMessage", times=1, retry_after=1)
    patient = WebClient(
        token=slack.bot_token, base_url=slack.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )  # fmt: skip
    started = time.monotonic()
    assert patient.chat_postMessage(channel="#handover", text="after the wait")["ok"] is True
    assert time.monotonic() - started >= 1.0  # it honoured Retry-After
    statuses = [c.status for c in slack.state.calls if c.method == "chat.postMessage"]
    assert statuses == [429, 429, 200]


def test_raw_wire_format(slack: RunningSlack) -> None:
    """Form posts with the token as a field work; JSON must use the header; errors are 200."""

    def post(
        method: str, data: bytes, ctype: str, auth: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": ctype} | ({"Authorization": f"Bearer {auth}"} if auth else {})
        req = urllib.request.Request(
            slack.base_url + method, data=data, headers=headers, method="POST"
        )
        with urllib.request.urlopen(req) as resp:
            assert resp.headers["Content-Type"].startswith("application/json")
            return resp.status, json.loads(resp.read())

    form = f"token={slack.bot_token}&channel=handover&text=from+a+form".encode()
    status, body = post("chat.postMessage", form, "application/x-www-form-urlencoded")
    assert status == 200 and body["ok"] is True and body["message"]["text"] == "from a form"
    as_json = json.dumps({"token": slack.bot_token, "channel": "handover", "text": "x"}).encode()
    assert (
        post("chat.postMessage", as_json, "application/json; charset=utf-8")[1]["error"]
        == "not_authed"
    )
    status, body = post(
        "chat.postMessage", b"{not json", "application/json; charset=utf-8", slack.bot_token
    )
    assert (status, body) == (200, {"ok": False, "error": "invalid_json"})
    with pytest.raises(urllib.error.HTTPError) as info:
        post("chat.nothing", b"", "application/x-www-form-urlencoded", slack.bot_token)
    assert info.value.code == 404 and json.loads(info.value.read())["error"] == "unknown_method"
    assert not any("token" in c.params for c in slack.state.calls)  # the call log holds no token


def test_permalink_and_dm_by_user_id(slack: RunningSlack, client: WebClient) -> None:
    sam = slack.state.user_by_name("sam.ruiz")
    dm = client.chat_postMessage(channel=sam.id, text="You are an approver for gate 1")
    assert dm["channel"].startswith("D")
    link = client.chat_getPermalink(channel=dm["channel"], message_ts=dm["ts"])["permalink"]
    assert (
        link
        == f"https://loomis-logistics.slack.com/archives/{dm['channel']}/p{dm['ts'].replace('.', '')}"
    )
