"""HTTP in and out for the Slack emulator: the Web API wire format, nothing else.

- ``/api/<method>``, GET or POST (slack_sdk POSTs everything; users.* carry their arguments in
  the query string). Bodies are ``application/x-www-form-urlencoded`` or ``application/json``
  (slack_sdk sends JSON for methods with blocks). The token is the ``Authorization: Bearer``
  header, or a ``token`` form/query field; a JSON body's ``token`` key is not read, as on
  slack.com, so JSON without the header is ``not_authed``.
- Success: HTTP 200 ``{"ok": true, ...}``. API errors: HTTP 200 ``{"ok": false, "error": ...}``.
  Rate limits: HTTP 429 + ``Retry-After``. Unknown methods: HTTP 404 ``unknown_method``.
- ``/actions/<team>/<id>/<secret>``: the ``response_url`` of a click; answers ``ok`` as text.
- ``/__emulator/...``: the emulator's own endpoints (``control.py``), not Slack's.

The rules (who may post where, which errors) are the backend's (``models.Workspace``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import control
from .exceptions import SlackError
from .faults import HttpFault
from .models import SCOPES, SERVED, ApiCall, Workspace

JSON_TYPE = "application/json; charset=utf-8"


class _SlackJSON(JSONResponse):
    media_type = JSON_TYPE


def _token(request: Request, params: dict[str, Any], is_json: bool) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return None if is_json else (params.get("token") or None)


def _parse(request: Request, raw: bytes) -> tuple[dict[str, Any], bool, list[str]]:
    """(params, whether the body was JSON, wire warnings Slack would add)."""
    ctype = request.headers.get("content-type", "").lower()
    params: dict[str, Any] = dict(parse_qsl(request.url.query, keep_blank_values=True))
    warnings: list[str] = []
    if ctype.startswith("application/json"):
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(body, dict):
            raise SlackError("json_not_object")
        if "charset" not in ctype:
            warnings.append("missing_charset")
        body.pop("token", None)
        return params | body, True, warnings
    if ctype.startswith("multipart/"):
        # Only files.* send multipart, and the emulator serves none of them.
        raise SlackError("invalid_form_data")
    if raw:
        try:
            params |= dict(
                parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            )
        except (UnicodeDecodeError, ValueError):
            raise SlackError("invalid_form_data") from None
        if "charset" in ctype:
            warnings.append("superfluous_charset")
    return params, False, warnings


def _with_warnings(body: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    if not warnings:
        return body
    meta = dict(body.get("response_metadata") or {})
    meta["warnings"] = [*meta.get("warnings", []), *warnings]
    first = body.get("warning")
    return body | {
        "warning": ",".join([first, *warnings] if first else warnings),
        "response_metadata": meta,
    }


def build_app(workspace: Workspace) -> Starlette:
    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        raw = await request.body()
        params: dict[str, Any] = {}
        headers = {"X-Slack-Req-Id": secrets.token_hex(16), "Access-Control-Allow-Origin": "*"}
        user: str | None = None
        try:
            params, is_json, warnings = _parse(request, raw)
            if method not in SERVED:
                raise SlackError("unknown_method", status=404, req_method=method)
            with workspace.lock:
                workspace.faults.check(method)
                token = workspace.authorize(method, _token(request, params, is_json))
                if token is not None:
                    user = token.user_id
                    headers["X-OAuth-Scopes"] = ",".join(sorted(token.scopes))
                    headers["X-Accepted-OAuth-Scopes"] = SCOPES.get(method) or ""
                body = getattr(workspace, method.replace(".", "_"))(token, params)
            status, payload = 200, _with_warnings({"ok": True, **body}, warnings)
        except SlackError as exc:
            status, payload = exc.status, exc.body()
            headers |= exc.headers
        except HttpFault as fault:
            _record(workspace, method, params, fault.status, f"http_{fault.status}", user)
            page = f"<html><body><h1>{fault.status}</h1>Slack is having trouble.</body></html>"
            return Response(page, status_code=fault.status, media_type="text/html", headers=headers)
        _record(workspace, method, params, status, payload.get("error"), user)
        return _SlackJSON(payload, status_code=status, headers=headers)

    async def respond(request: Request) -> Response:
        hook = "/".join(request.path_params[k] for k in ("team", "hook", "secret"))
        raw = await request.body()
        try:
            if request.headers.get("content-type", "").startswith("application/json"):
                body = json.loads(raw or b"{}")
            else:  # a form post carries the message JSON in "payload"
                body = json.loads(dict(parse_qsl(raw.decode())).get("payload", "{}"))
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(body, dict):
            return PlainTextResponse("invalid_payload", status_code=400)
        try:
            with workspace.lock:
                workspace.respond(hook, body)
        except SlackError as exc:
            return PlainTextResponse(exc.error, status_code=exc.status)
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/api/{method}", api, methods=["GET", "POST"]),
            Route("/actions/{team}/{hook}/{secret}", respond, methods=["POST"]),
            *control.routes(workspace),
        ]
    )


def _record(
    workspace: Workspace,
    method: str,
    params: dict[str, Any],
    status: int,
    error: Any,
    user: str | None,
) -> None:
    safe = {k: v for k, v in params.items() if k != "token"}  # the call log never holds a token
    with workspace.lock:
        workspace.calls.append(ApiCall(method, safe, status, str(error) if error else None, user))
