"""Signed button clicks: the emulator delivers ``block_actions`` to an app's Request URL as
Slack does, and slack_sdk's own ``SignatureVerifier`` is the judge of the signature."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from emulators.slack import RunningSlack, build_click, click
from emulators.slack.clicks import send
from tests.emulators.fidelity import recorded
from tests.emulators.slack.conftest import APPROVAL_BLOCKS


def _keys_within(actual: dict[str, Any], recorded_keys: dict[str, Any], where: str) -> None:
    extra = set(actual) - set(recorded_keys)
    assert not extra, f"{where}: keys Slack never sends: {sorted(extra)}"


class Receiver:
    """An app's Request URL on loopback: records what Slack delivered, answers 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((body, dict(self.headers.items())))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/actions"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    try:
        yield rec
    finally:
        rec.server.shutdown()
        rec.server.server_close()


def _approval(client: WebClient) -> Any:
    return client.chat_postMessage(
        channel="#handover", text="Approval needed", blocks=APPROVAL_BLOCKS
    )


def test_a_click_is_delivered_signed_and_slack_sdk_accepts_it(
    slack: RunningSlack, client: WebClient, receiver: Receiver
) -> None:
    posted = _approval(client)
    result = click(slack.state, receiver.url, channel=posted["channel"], ts=posted["ts"],
                   action_id="approve", user="dana.okafor")  # fmt: skip
    assert result.status == 200 and result.error is None
    body, headers = receiver.requests[-1]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    verifier = SignatureVerifier(slack.signing_secret)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace(b"approve", b"reject"), headers)
    assert not SignatureVerifier("another-apps-secret").is_valid_request(body, headers)

    raw = parse_qs(body.decode())["payload"][0]
    assert "\\/" in raw  # Slack escapes "/" in its JSON
    payload = json.loads(raw)
    dana = slack.state.user_by_name("dana.okafor")
    assert payload["type"] == "block_actions" and payload["user"]["id"] == dana.id
    assert payload["container"] == {"type": "message", "message_ts": posted["ts"],
                                    "channel_id": posted["channel"], "is_ephemeral": False}  # fmt: skip
    action = payload["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["style"]) == (
        "approve", "approval", "gate-1", "primary",
    )  # fmt: skip
    assert (
        payload["message"]["ts"] == posted["ts"]
        and payload["message"]["blocks"][1]["block_id"] == "approval"
    )
    if not recorded.available():
        pytest.skip("recorded fixtures not available")
    spec = recorded.load_json("java-slack-sdk/app-backend/BlockActionPayload.json")
    _keys_within(payload, spec, "block_actions payload")
    _keys_within(action, spec["actions"][0], "block_actions action")
    _keys_within(payload["container"], spec["container"], "block_actions container")
    _keys_within(payload["message"], spec["message"], "block_actions message")


def test_a_replayed_click_is_too_old_for_the_verifier(
    slack: RunningSlack, client: WebClient, receiver: Receiver
) -> None:
    posted = _approval(client)
    stale = build_click(slack.state, receiver.url, channel=posted["channel"], ts=posted["ts"],
                        action_id="reject", user="sam.ruiz", timestamp=int(time.time()) - 400)  # fmt: skip
    assert send(stale).status == 200
    body, headers = receiver.requests[-1]
    assert not SignatureVerifier(slack.signing_secret).is_valid_request(body, headers)


def test_click_refusals(slack: RunningSlack, client: WebClient) -> None:
    posted = _approval(client)
    where = {"channel": posted["channel"], "ts": posted["ts"]}
    with pytest.raises(LookupError, match="its buttons: \\['approve', 'reject'\\]"):
        build_click(
            slack.state, "http://127.0.0.1:9/", action_id="maybe", user="dana.okafor", **where
        )
    with pytest.raises(ValueError, match="deactivated"):
        build_click(
            slack.state, "http://127.0.0.1:9/", action_id="approve", user="lee.former", **where
        )


def test_no_answer_from_the_app_is_a_result(slack: RunningSlack, client: WebClient) -> None:
    posted = _approval(client)
    result = click(slack.state, "http://127.0.0.1:9/nothing-listens", channel=posted["channel"],
                   ts=posted["ts"], action_id="approve", user="dana.okafor")  # fmt: skip
    assert result.status == 0 and result.error and "nothing-listens" in result.error


def test_response_url_replaces_the_message(
    slack: RunningSlack, client: WebClient, receiver: Receiver
) -> None:
    posted = _approval(client)
    result = click(slack.state, receiver.url, channel=posted["channel"], ts=posted["ts"],
                   action_id="approve", user="dana.okafor")  # fmt: skip
    response_url = result.payload["response_url"]
    assert response_url.startswith(slack.url + "/actions/")
    reply = json.dumps({"replace_original": True, "text": "Approved by <@dana>"}).encode()
    req = urllib.request.Request(
        response_url, data=reply, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req) as resp:
        assert resp.read() == b"ok"
    stored = slack.state.message(posted["channel"], posted["ts"])
    assert stored is not None and stored.text == "Approved by <@dana>" and stored.blocks == []
