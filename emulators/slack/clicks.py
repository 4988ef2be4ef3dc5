"""Click a button in a posted message, the way Slack delivers it to an app's Request URL.

Slack POSTs ``application/x-www-form-urlencoded`` with one field, ``payload``, holding the
``block_actions`` JSON, and signs it: ``X-Slack-Request-Timestamp`` (unix seconds) and
``X-Slack-Signature: v0=hex(HMAC-SHA256(signing_secret, "v0:{ts}:{raw body}"))``. The app
has 3 seconds to answer. The signature is computed here from the definition, not with
slack_sdk, so a receiver verified by slack_sdk's ``SignatureVerifier`` is checked against an
independent implementation.

The payload keys follow Slack's block_actions reference and the recorded key set
(``fixtures/recorded/java-slack-sdk/app-backend/BlockActionPayload.json``); like real
deliveries it escapes ``/`` as ``\\/`` and carries a working ``response_url``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
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
            "trigger_id": f"{int(now)}{secrets.randbelow(10**6):06d}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}",
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
