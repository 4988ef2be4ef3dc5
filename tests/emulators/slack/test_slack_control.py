"""The emulator's control endpoints over HTTP: the message log with its update history, and
clicks delivered to an app, including the Reject-with-a-reason modal round trip."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from emulators.slack import RunningSlack
from tests.emulators.fidelity import recorded
from tests.emulators.slack.conftest import APPROVAL_BLOCKS
from tests.emulators.slack.test_slack_modals import REASON_VIEW


class App:
    """An app's Request URL: verifies, records, and opens the reason modal on "reject"
    before answering (so the emulator must serve views.open while a click is in flight)."""

    def __init__(self, slack: RunningSlack) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.answer_submission: dict[str, Any] | None = None
        client = WebClient(token=slack.bot_token, base_url=slack.base_url)
        verifier = SignatureVerifier(slack.signing_secret)
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not verifier.is_valid_request(body, dict(self.headers.items())):
                    self._answer(401, b"")
                    return
                payload = json.loads(parse_qs(body.decode())["payload"][0])
                app.payloads.append(payload)
                if (
                    payload["type"] == "block_actions"
                    and payload["actions"][0]["action_id"] == "reject"
                ):
                    client.views_open(trigger_id=payload["trigger_id"], view=REASON_VIEW)
                if payload["type"] == "view_submission" and app.answer_submission is not None:
                    self._answer(200, json.dumps(app.answer_submission).encode())
                    return
                self._answer(200, b'{"seen": true}')

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/actions"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def app(slack: RunningSlack) -> Iterator[App]:
    running = App(slack)
    slack.state.actions_url = running.url
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()


def _post(client: WebClient) -> Any:
    return client.chat_postMessage(
        channel="#handover", text="Approval needed", blocks=APPROVAL_BLOCKS
    )


def test_messages_show_every_update_in_order(slack: RunningSlack, client: WebClient) -> None:
    root = _post(client)
    reply = client.chat_postMessage(channel="#handover", text="in the thread", thread_ts=root["ts"])
    client.chat_update(channel=root["channel"], ts=root["ts"], text="1 of 2 approvals")
    client.chat_update(channel=root["channel"], ts=root["ts"], text="Approved", blocks=[])
    seen = httpx.get(f"{slack.url}/__emulator/messages").json()
    first, second = seen["messages"]
    assert (first["ts"], first["channel_name"], first["thread_ts"]) == (
        root["ts"],
        "handover",
        None,
    )
    assert second["thread_ts"] == root["ts"] and second["ts"] == reply["ts"]
    assert first["text"] == "Approved" and first["blocks"] == []
    assert [u["text"] for u in first["updates"]] == ["1 of 2 approvals", "Approved"]
    assert len(first["updates"][0]["blocks"]) == 2 and first["updates"][1]["blocks"] == []
    assert seen["ephemeral"] == [] and seen["views"] == []


def test_click_delivers_a_signed_click_and_answers_with_the_apps_reply(
    slack: RunningSlack, client: WebClient, app: App
) -> None:
    posted = _post(client)
    dana = slack.state.user_by_name("dana.okafor")
    answer = httpx.post(
        f"{slack.url}/__emulator/click",
        json={"ts": posted["ts"], "action_id": "approve", "user_id": dana.id},
    ).json()
    assert answer == {"status": 200, "body": '{"seen": true}', "error": None}
    payload = app.payloads[-1]
    assert payload["user"]["id"] == dana.id and payload["actions"][0]["value"] == "gate-1"
    assert payload["trigger_id"] in slack.state.triggers and payload["response_url"]


def test_click_with_a_reason_submits_the_modal_the_app_opened(
    slack: RunningSlack, client: WebClient, app: App
) -> None:
    posted = _post(client)
    sam = slack.state.user_by_name("sam.ruiz")
    answer = httpx.post(
        f"{slack.url}/__emulator/click",
        json={"ts": posted["ts"], "action_id": "reject", "user_id": sam.id,
              "reason": "Not during month-end close"},
        timeout=10,
    ).json()  # fmt: skip
    assert answer["status"] == 200 and answer["view_submission"]["status"] == 200
    submitted = app.payloads[-1]
    assert submitted["type"] == "view_submission" and submitted["user"]["id"] == sam.id
    assert submitted["view"]["callback_id"] == "gate_reject_reason"
    assert submitted["view"]["private_metadata"] == '{"gate": "cutover"}'
    assert submitted["view"]["state"]["values"] == {
        "reason": {"reason": {"type": "plain_text_input", "value": "Not during month-end close"}}
    }
    views = httpx.get(f"{slack.url}/__emulator/messages").json()["views"]
    assert views[0]["closed"] is True and views[0]["submissions"][0]["status"] == 200
    if recorded.available():
        spec = recorded.load_json("java-slack-sdk/app-backend/ViewSubmissionPayload.json")
        assert set(submitted) <= set(spec)
        # The masked sample leaves out the view's blocks; real submissions carry them.
        assert set(submitted["view"]) <= set(spec["view"]) | {"blocks"}


def test_a_submission_answered_with_errors_keeps_the_modal_open(
    slack: RunningSlack, client: WebClient, app: App
) -> None:
    app.answer_submission = {"response_action": "errors", "errors": {"reason": "Say why"}}
    posted = _post(client)
    answer = httpx.post(
        f"{slack.url}/__emulator/click",
        json={"ts": posted["ts"], "action_id": "reject", "user_id": "sam.ruiz", "reason": " "},
        timeout=10,
    ).json()
    assert json.loads(answer["view_submission"]["body"])["response_action"] == "errors"
    view = next(iter(slack.state.views.values()))
    assert view.closed is False and view.submissions[0]["response"]["errors"] == {
        "reason": "Say why"
    }


def test_a_reason_without_a_modal_says_so(slack: RunningSlack, client: WebClient, app: App) -> None:
    posted = _post(client)
    answer = httpx.post(
        f"{slack.url}/__emulator/click",
        json={"ts": posted["ts"], "action_id": "approve", "user_id": "sam.ruiz", "reason": "x"},
        timeout=10,
    ).json()
    assert answer["status"] == 200 and answer["view_submission"] is None
    assert "no modal" in answer["error"]


def test_click_refusals(slack: RunningSlack, client: WebClient) -> None:
    posted = _post(client)
    click = f"{slack.url}/__emulator/click"
    good = {"ts": posted["ts"], "action_id": "approve", "user_id": "dana.okafor"}
    no_url = httpx.post(click, json=good)
    assert no_url.status_code == 409 and "--actions-url" in no_url.json()["error"]
    slack.state.actions_url = "http://127.0.0.1:9/slack/actions"
    assert httpx.post(click, json=good | {"ts": "1.000001"}).status_code == 404
    missing = httpx.post(click, json={"ts": posted["ts"]})
    assert missing.status_code == 400 and "user_id" in missing.json()["error"]
    assert httpx.post(click, json=good | {"action_id": "maybe"}).status_code == 404
    deactivated = httpx.post(click, json=good | {"user_id": "lee.former"})
    assert deactivated.status_code == 400 and "deactivated" in deactivated.json()["error"]
    nobody_home = httpx.post(click, json=good, timeout=10).json()
    assert nobody_home["status"] == 0 and "no answer" in nobody_home["error"]
