"""Click a button in a posted message, the way Slack delivers it to an app's Request URL,
and submit a modal the app opened from that click (``view_submission``).

Slack POSTs ``application/x-www-form-urlencoded`` with one field, ``payload``, holding the
``block_actions`` JSON, and signs it: ``X-Slack-Request-Timestamp`` (unix seconds) and
``X-Slack-Signature: v0=hex(HMAC-SHA256(signing_secret, "v0:{ts}:{raw body}"))``. The app
has 3 seconds to answer. The signature is computed here from the definition, not with
slack_sdk, so a receiver verified by slack_sdk's ``SignatureVerifier`` is checked against an
independent implementation.

The payload keys follow Slack's block_actions reference and the recorded key set
(``fixtures/recorded/java-slack-sdk/app-backend/BlockActionPayload.json``); like real
deliveries it escapes ``/`` as ``\\/`` and carries a working ``response_url`` and a
``trigger_id`` the app can exchange once for a modal (views.open) within 3 seconds.
A ``view_submission`` carries the modal as the user filled it in (``view.state.values``,
keyed by block_id then action_id; recorded key set: ``ViewSubmissionPayload.json``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .entities import Message
from .models import Workspace

SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
ACK_TIMEOUT = 3.0  # seconds Slack waits for the app's HTTP 200


@dataclass(frozen=True)
class SignedRequest:
    url: str
    body: bytes
    headers: dict[str, str]
    payload: dict[str, Any]


@dataclass(frozen=True)
class ClickResult:
    status: int  # 0 when no HTTP answer came (refused, or not within ACK_TIMEOUT)
    body: bytes
    headers: dict[str, str]
    payload: dict[str, Any]
    error: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def _find_button(msg: Message, action_id: str, block_id: str | None) -> tuple[str, dict[str, Any]]:
    for block in msg.blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        candidates = list(block.get("elements", [])) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for el in candidates:
            if el.get("type") == "button" and el.get("action_id") == action_id:
                return str(block["block_id"]), el
    have = [
        el.get("action_id")
        for b in msg.blocks
        for el in [*b.get("elements", []), b.get("accessory") or {}]
        if isinstance(el, dict) and el.get("type") == "button"
    ]
    raise LookupError(
        f"no button with action_id {action_id!r} in message {msg.ts}; its buttons: {have}"
    )


def block_actions_payload(
    workspace: Workspace,
    *,
    channel: str,
    ts: str,
    action_id: str,
    user: str,
    block_id: str | None = None,
) -> dict[str, Any]:
    """The payload Slack builds when ``user`` (id or name) clicks button ``action_id``."""
    ws = workspace
    with ws.lock:
        chan = ws.channels.get(channel) or ws.channel_by_name(channel)
        msg = ws.message(chan.id, ts)
        if msg is None:
            raise LookupError(f"no message {ts} in channel {chan.name} ({chan.id})")
        clicker = ws.user_by_name(user)
        if clicker.deleted:
            raise ValueError(f"user {clicker.name} is deactivated and cannot click anything")
        if (chan.is_private or chan.is_im) and clicker.id not in chan.members:
            raise ValueError(f"user {clicker.name} cannot see {chan.name}: not a member")
        found_block, button = _find_button(msg, action_id, block_id)
        now = ws.clock()
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": found_block,
            "text": button["text"],
        }
        for key in ("value", "style", "url"):
            if key in button:
                action[key] = button[key]
        action |= {"type": "button", "action_ts": f"{now:.6f}"}
        container: dict[str, Any] = {"type": "message", "message_ts": msg.ts, "channel_id": chan.id}
        if msg.thread_ts:
            container["thread_ts"] = msg.thread_ts
        container["is_ephemeral"] = False
        bot = ws.users.get(msg.user)
        return {
            "type": "block_actions",
            "user": {
                "id": clicker.id,
                "username": clicker.name,
                "name": clicker.name,
                "team_id": ws.team_id,
            },
            "api_app_id": ws.app_id,
            "token": ws.verification_token,
            "container": container,
            "trigger_id": ws.new_trigger(clicker.id),
            "team": {"id": ws.team_id, "domain": ws.domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": chan.id, "name": chan.name if not chan.is_im else "directmessage"},
            "message": msg.to_api(bot.bot_profile() if bot else None),
            "state": {"values": {}},
            "response_url": ws.new_response_url(chan.id, msg.ts, clicker.id),
            "actions": [action],
        }


def build_click(
    workspace: Workspace,
    request_url: str,
    *,
    channel: str,
    ts: str,
    action_id: str,
    user: str,
    block_id: str | None = None,
    timestamp: int | None = None,
    signing_secret: str | None = None,
) -> SignedRequest:
    """The signed HTTP request of a click, not yet sent. ``timestamp`` and ``signing_secret``
    override the real ones to play a replayed or forged request."""
    payload = block_actions_payload(
        workspace, channel=channel, ts=ts, action_id=action_id, user=user, block_id=block_id
    )
    return signed(
        workspace, request_url, payload, timestamp=timestamp, signing_secret=signing_secret
    )


def signed(
    workspace: Workspace,
    request_url: str,
    payload: dict[str, Any],
    *,
    timestamp: int | None = None,
    signing_secret: str | None = None,
) -> SignedRequest:
    """An interaction payload as Slack POSTs it: form-encoded ``payload=``, signed."""
    # Slack's JSON escapes every "/" (e.g. "https:\/\/hooks.slack.com\/actions\/..."); a
    # receiver that string-matches instead of parsing JSON should find out here.
    body = urlencode({"payload": json.dumps(payload).replace("/", "\\/")}).encode()
    stamp = int(workspace.clock()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": SLACK_USER_AGENT,
        "Accept": "application/json,*/*",
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": signature(signing_secret or workspace.signing_secret, stamp, body),
    }
    return SignedRequest(url=request_url, body=body, headers=headers, payload=payload)


def view_submission_payload(
    workspace: Workspace, *, view_id: str, user: str, text: str | None = None
) -> dict[str, Any]:
    """The payload Slack sends when ``user`` presses the modal's submit button, with
    ``text`` typed into its first plain-text input (the others left empty)."""
    ws = workspace
    with ws.lock:
        view = ws.views.get(view_id)
        if view is None:
            raise LookupError(f"no open view {view_id}")
        if view.closed:
            raise ValueError(f"view {view_id} was closed; nothing to submit")
        submitter = ws.user_by_name(user)
        if submitter.id != view.user_id:
            raise ValueError(f"view {view_id} is open for {view.user_id}, not {submitter.id}")
        values: dict[str, dict[str, Any]] = {}
        typed = False
        for block in view.body.get("blocks", []):
            element = block.get("element") if block.get("type") == "input" else None
            if not isinstance(element, dict) or element.get("type") != "plain_text_input":
                continue
            value = text if (text is not None and not typed) else None
            typed = typed or value is not None
            values[str(block["block_id"])] = {
                str(element.get("action_id", "")): {"type": "plain_text_input", "value": value}
            }
        if text is not None and not typed:
            raise LookupError(f"view {view_id} has no plain-text input to type into")
        return {
            "type": "view_submission",
            "team": {"id": ws.team_id, "domain": ws.domain},
            "user": {
                "id": submitter.id,
                "username": submitter.name,
                "name": submitter.name,
                "team_id": ws.team_id,
            },
            "api_app_id": ws.app_id,
            "token": ws.verification_token,
            "trigger_id": ws.new_trigger(submitter.id),
            "view": view.to_api(state={"values": values}),
            "enterprise": None,
            "is_enterprise_install": False,
        }


def build_view_submission(
    workspace: Workspace,
    request_url: str,
    *,
    view_id: str,
    user: str,
    text: str | None = None,
    timestamp: int | None = None,
    signing_secret: str | None = None,
) -> SignedRequest:
    """The signed HTTP request of a modal submission, not yet sent."""
    payload = view_submission_payload(workspace, view_id=view_id, user=user, text=text)
    return signed(
        workspace, request_url, payload, timestamp=timestamp, signing_secret=signing_secret
    )


def record_submission(workspace: Workspace, view_id: str, result: ClickResult) -> None:
    """What the app answered to a submission decides the modal's fate, as in Slack: an
    ``errors`` response_action keeps it open (showing them), anything else closes it."""
    answer: Any = None
    if result.body:
        try:
            answer = json.loads(result.body)
        except ValueError:
            answer = None
    keeps_open = isinstance(answer, dict) and answer.get("response_action") == "errors"
    with workspace.lock:
        view = workspace.views[view_id]
        view.submissions.append(
            {
                "status": result.status,
                "values": result.payload["view"]["state"]["values"],
                "response": answer,
            }
        )
        view.closed = result.status == 200 and not keeps_open


def send(request: SignedRequest, *, timeout: float = ACK_TIMEOUT) -> ClickResult:
    """POST a (possibly altered) signed request; an HTTP error status is a result, not an error."""
    req = urllib.request.Request(
        request.url, data=request.body, headers=request.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return ClickResult(resp.status, resp.read(), dict(resp.headers), request.payload)
    except urllib.error.HTTPError as exc:
        return ClickResult(exc.code, exc.read(), dict(exc.headers), request.payload)
    except (urllib.error.URLError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        return ClickResult(
            0, b"", {}, request.payload, error=f"no answer from {request.url}: {reason}"
        )


def click(workspace: Workspace, request_url: str, **kwargs: Any) -> ClickResult:
    """Build, sign and deliver a click (see ``build_click`` for the arguments)."""
    return send(build_click(workspace, request_url, **kwargs))
