"""The emulator's own endpoints (``/__emulator/...``): what tests and the demo use to look
inside the workspace and to play a person clicking.

- ``GET /__emulator/messages``: every message (channel, ts, thread_ts, text, blocks, and its
  ``updates``: each chat.update in order), the ephemeral messages and the opened modals.
- ``POST /__emulator/click {"ts", "action_id", "user_id", "reason"?}``: deliver the signed
  ``block_actions`` of that button to the app's actions URL (``--actions-url``) and answer
  ``{"status", "body", "error"}`` with what the app answered. With ``reason``, when the app
  opened a modal with the click's trigger_id (within the trigger's 3 seconds), the reason is
  typed into the modal's first plain-text input and the ``view_submission`` delivered too;
  its result is the answer's ``view_submission``.

A click is delivered from a worker thread: the app may call back into the emulator
(views.open, chat.update) before it answers, and the event loop must be free to serve it.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .clicks import ClickResult, build_click, build_view_submission, record_submission, send
from .entities import View
from .models import Workspace
from .views import TRIGGER_LIFETIME

POLL = 0.05  # seconds between looks for the modal an app opens after acking a click


def snapshot(ws: Workspace) -> dict[str, Any]:
    with ws.lock:
        names = {c.id: c.name for c in ws.channels.values()}
        messages = [
            {
                "channel": m.channel,
                "channel_name": names.get(m.channel),
                "ts": m.ts,
                "thread_ts": m.thread_ts,
                "user": m.user,
                "text": m.text,
                "blocks": [dict(b) for b in m.blocks],
                "updates": [dict(u) for u in m.updates],
            }
            for m in ws.messages
        ]
        ephemeral = [asdict(e) for e in ws.ephemeral]
        views = [
            {
                "id": v.id,
                "user": v.user_id,
                "trigger_id": v.trigger_id,
                "callback_id": v.body.get("callback_id", ""),
                "private_metadata": v.body.get("private_metadata", ""),
                "view": dict(v.body),
                "closed": v.closed,
                "updates": list(v.updates),
                "submissions": list(v.submissions),
            }
            for v in ws.views.values()
        ]
    return {"messages": messages, "ephemeral": ephemeral, "views": views}


def _result(result: ClickResult) -> dict[str, Any]:
    return {"status": result.status, "body": result.text, "error": result.error}


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _view_for(ws: Workspace, trigger_id: str) -> View | None:
    with ws.lock:
        return ws.view_by_trigger(trigger_id)


def routes(ws: Workspace) -> list[Route]:
    async def messages(request: Request) -> Response:
        return JSONResponse(snapshot(ws))

    async def click(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _problem(400, "the body must be JSON: {ts, action_id, user_id, reason?}")
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) and body[k] for k in ("ts", "action_id", "user_id")
        ):
            return _problem(400, "ts, action_id and user_id are required strings")
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            return _problem(400, "reason must be a string")
        if not ws.actions_url:
            return _problem(409, "no actions URL: start the emulator with --actions-url URL")
        url = ws.actions_url
        with ws.lock:
            msg = ws.message_by_ts(body["ts"])
        if msg is None:
            return _problem(404, f"no message with ts {body['ts']}")
        try:
            signed = build_click(
                ws,
                url,
                channel=msg.channel,
                ts=msg.ts,
                action_id=body["action_id"],
                user=body["user_id"],
            )
        except LookupError as exc:
            return _problem(404, str(exc))
        except ValueError as exc:
            return _problem(400, str(exc))
        first = await anyio.to_thread.run_sync(send, signed)
        answer = _result(first)
        if reason is None:
            return JSONResponse(answer)
        trigger = signed.payload["trigger_id"]
        deadline = time.monotonic() + TRIGGER_LIFETIME
        view = _view_for(ws, trigger)
        while view is None and time.monotonic() < deadline:
            await anyio.sleep(POLL)
            view = _view_for(ws, trigger)
        if view is None:
            answer["view_submission"] = None
            answer["error"] = "the app opened no modal with the click's trigger_id (views.open)"
            return JSONResponse(answer)
        try:
            submission = build_view_submission(
                ws, url, view_id=view.id, user=body["user_id"], text=reason
            )
        except (LookupError, ValueError) as exc:
            return _problem(409, str(exc))
        second = await anyio.to_thread.run_sync(send, submission)
        record_submission(ws, view.id, second)
        answer["view_submission"] = _result(second)
        return JSONResponse(answer)

    return [
        Route("/__emulator/messages", messages, methods=["GET"]),
        Route("/__emulator/click", click, methods=["POST"]),
    ]
