"""The approval service (`handover approvals serve`): Slack's interactivity requests for
gate messages, at ``POST /slack/actions``.

Order of business, as Slack's own libraries do it: verify the v0 signature over the raw
body and the timestamp (5 minutes; a body seen before is a replay) before reading anything,
with one generic 401 for every failure; then parse; then dispatch by ``action_id`` (or the
dialog's ``callback_id``) to the desk's handlers, which decide; then acknowledge, and run
the follow-ups (dialogs, replies, message updates, resuming the run) after the answer has
gone, so Slack gets it within its 3 seconds. A reaper thread closes expired gates.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from slack_sdk.signature import Clock, SignatureVerifier
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from handover.errors import ConfigError, HandoverError
from handover.settings import Settings

from .client import build_client
from .desk import ApprovalDesk, Click, FollowUp, ReasonSubmitted, RevokeClick
from .gatebook import GateBook
from .gates import REASON_ACTION, REASON_BLOCK, REJECT_CALLBACK, gate_key
from .gateway import SlackGateway
from .reaper import Reaper, ReaperThread
from .revoke_now import REVOKE_ACTION, OrgRevoker, revoke_key
from .runs import PrefectRuns

log = logging.getLogger("handover.approvals")
WINDOW = 300  # seconds: Slack's (and slack_sdk's) limit on a request's age


class _Clock(Clock):
    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now().timestamp()


class ReplayGuard:
    """Refuses a signature seen within the window. In memory: a second service process has
    its own, and the handlers' idempotence (one vote per person, first decision wins) is
    what keeps a replay to another process harmless."""

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, signature: str, now: float) -> bool:
        with self._lock:
            for sig, at in list(self._seen.items()):
                if now - at > 2 * self.window:
                    del self._seen[sig]
            if signature in self._seen:
                return False
            self._seen[signature] = now
            return True


def _payload(raw: bytes) -> dict[str, Any] | None:
    try:
        values = parse_qs(raw.decode("utf-8"), strict_parsing=True).get("payload")
        payload = json.loads(values[0]) if values else None
    except (UnicodeDecodeError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def _click(payload: dict[str, Any], action: dict[str, Any]) -> Click | None:
    key = gate_key(str(action.get("value", "")))
    user = (payload.get("user") or {}).get("id")
    channel = (payload.get("channel") or {}).get("id") or (payload.get("container") or {}).get(
        "channel_id"
    )
    if key is None or not user:
        return None
    return Click(str(user), key[0], key[1], str(channel or ""), payload.get("trigger_id"))


def _revoke_click(payload: dict[str, Any], action: dict[str, Any]) -> RevokeClick | None:
    migration_id = revoke_key(str(action.get("value", "")))
    user = (payload.get("user") or {}).get("id")
    container = payload.get("container") or {}
    channel = (payload.get("channel") or {}).get("id") or container.get("channel_id")
    if migration_id is None or not user:
        return None
    thread = container.get("thread_ts") or container.get("message_ts")
    return RevokeClick(str(user), migration_id, str(channel or ""), thread)


def _reason(payload: dict[str, Any]) -> ReasonSubmitted | None:
    view = payload.get("view") or {}
    key = gate_key(str(view.get("private_metadata", "")))
    user = (payload.get("user") or {}).get("id")
    values = ((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}
    reason = (values.get(REASON_ACTION) or {}).get("value") or ""
    if key is None or not user:
        return None
    return ReasonSubmitted(str(user), key[0], key[1], str(reason))


def _after(follow_ups: list[FollowUp]) -> BackgroundTask:
    def run() -> None:
        for step in follow_ups:
            try:
                step()
            except Exception:  # one failed reply must not stop the resume after it
                log.exception("a follow-up of a Slack action failed")

    return BackgroundTask(run)


def create_app(
    desk: ApprovalDesk,
    *,
    signing_secret: str,
    reaper: Reaper | None = None,
    reaper_interval: float = 30.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
    replays = ReplayGuard()
    unauthorized = PlainTextResponse("invalid request", status_code=401)

    async def actions(request: Request) -> Response:
        raw = await request.body()
        stamp = request.headers.get("x-slack-request-timestamp")
        signature = request.headers.get("x-slack-signature")
        try:
            valid = verifier.is_valid(raw, stamp, signature)
        except ValueError:  # a timestamp that is not a number
            valid = False
        if not valid or not replays.first_time(str(signature), clock().timestamp()):
            log.warning("refused a request to /slack/actions: bad signature, stale or replayed")
            return unauthorized
        payload = _payload(raw)
        if payload is None:
            return PlainTextResponse("no payload", status_code=400)
        kind = payload.get("type")
        if kind == "block_actions":
            action = (payload.get("actions") or [{}])[0]
            if action.get("action_id") == REVOKE_ACTION:
                return await revoke_now(_revoke_click(payload, action))
            handlers = {"gate_approve": desk.on_approve, "gate_extend": desk.on_extend,
                        "gate_reject": desk.on_reject}  # fmt: skip
            handler = handlers.get(str(action.get("action_id")))
            click = _click(payload, action)
            if handler is None or click is None:
                return Response(status_code=200)  # not a gate button: nothing to do
            try:
                follow_ups = await run_in_threadpool(handler, click)
            except HandoverError as exc:  # Slack or the store failed us: nothing was decided
                log.warning(
                    "could not handle %s by %s: %s", action.get("action_id"), click.user_id, exc
                )
                return PlainTextResponse("try again", status_code=503)
            return Response(status_code=200, background=_after(follow_ups))
        if (
            kind == "view_submission"
            and (payload.get("view") or {}).get("callback_id") == REJECT_CALLBACK
        ):
            submitted = _reason(payload)
            if submitted is None:
                return Response(status_code=200)
            try:
                answer, follow_ups = await run_in_threadpool(desk.on_reason, submitted)
            except HandoverError as exc:
                log.warning("could not record the rejection by %s: %s", submitted.user_id, exc)
                return PlainTextResponse("try again", status_code=503)
            if answer is not None:
                return JSONResponse(answer, background=_after(follow_ups))
            return Response(status_code=200, background=_after(follow_ups))
        return Response(status_code=200)

    async def revoke_now(click: RevokeClick | None) -> Response:
        if click is None:
            return Response(status_code=200)
        try:
            follow_ups = await run_in_threadpool(desk.on_revoke_now, click)
        except HandoverError as exc:  # Slack, the store or the ledger failed us: nothing done
            log.warning("could not handle Revoke now by %s: %s", click.user_id, exc)
            return PlainTextResponse("try again", status_code=503)
        return Response(status_code=200, background=_after(follow_ups))

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = ReaperThread(reaper, reaper_interval) if reaper is not None else None
        if loop is not None:
            loop.start()
        try:
            yield
        finally:
            if loop is not None:
                loop.stop()

    return Starlette(
        routes=[
            Route("/slack/actions", actions, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def check_settings(settings: Settings) -> None:
    """Refuse to start a service that could not do its job, with what to set."""
    a = settings.approvals
    missing = []
    if a.signing_secret is None:
        missing.append("HANDOVER_APPROVALS__SIGNING_SECRET (the Slack app's signing secret)")
    if a.token_key is None:
        missing.append("HANDOVER_APPROVALS__TOKEN_KEY (shared with the flows)")
    if not a.approvers and not a.approver_group:
        missing.append("HANDOVER_APPROVALS__APPROVERS or HANDOVER_APPROVALS__APPROVER_GROUP")
    if settings.slack.token is None:
        missing.append("HANDOVER_SLACK__TOKEN (the bot token)")
    if missing:
        raise ConfigError("the approval service needs " + "; ".join(missing))


def build_service(
    settings: Settings, book: GateBook, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Starlette:
    """The service from settings (the entry point's job) over ``book``."""
    check_settings(settings)
    a = settings.approvals
    assert a.signing_secret is not None and a.token_key is not None
    runs = PrefectRuns(
        a.prefect_api_url,
        auth=a.prefect_api_auth.get_secret_value() if a.prefect_api_auth else None,
    )
    desk = ApprovalDesk(
        book,
        SlackGateway(build_client(settings.slack)),
        runs,
        a,
        token_key=a.token_key.get_secret_value().encode(),
        clock=clock,
        revoker=OrgRevoker(settings.store.url, settings.salesforce),
    )
    return create_app(
        desk,
        signing_secret=a.signing_secret.get_secret_value(),
        reaper=Reaper(desk, book, runs, clock),
        reaper_interval=a.reaper_interval_seconds,
        clock=clock,
    )


@dataclass
class RunningService:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def actions_url(self) -> str:
        return f"{self.url}/slack/actions"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_in_thread(app: Starlette, *, host: str = "127.0.0.1", port: int = 0) -> RunningService:
    """Serve ``app`` on a free port in a background thread (tests, the demo)."""
    if not port:
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"approvals-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the approval service did not start on {host}:{port}")
        time.sleep(0.02)
    return RunningService(url=f"http://{host}:{port}", server=server, thread=thread)


def serve(settings: Settings, *, port: int | None = None) -> None:
    """Run the service in the foreground until Ctrl-C or SIGTERM (uvicorn handles both),
    over the gate book in the handover store. Raises ConfigError before anything starts
    when a setting it needs is missing."""
    from handover.store.engine import Database
    from handover.store.gates import SqlGateBook

    check_settings(settings)
    store = Database(settings.store.url)  # opened and migrated: the gate book's tables
    app = build_service(settings, SqlGateBook(store.engine))
    uvicorn.run(
        app,
        host=settings.approvals.host,
        port=port or settings.approvals.port,
        log_level="info",
        access_log=False,  # request lines are noise here; decisions are logged by the desk
    )
