"""What a real org does with a request before routing: the path's leading slashes, and the
answer to a path or method nothing serves.

jsforce (the Salesforce CLI's client) joins resource paths onto an instance URL stored with
a trailing ``/``, so every request it sends starts ``//services/data/...``; a real org serves
those as if the path had one leading slash. Only the leading run is collapsed: what a real
org does with ``//`` elsewhere in a path is unverified, so the emulator leaves it alone.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..exceptions import SalesforceError, not_found
from .common import Emulator, json_response


class LeadingSlashes:
    """Serve ``//services/...`` as ``/services/...`` (ASGI middleware, outermost)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("//"):
            raw = scope.get("raw_path") or path.encode()
            scope = {
                **scope,
                "path": "/" + path.lstrip("/"),
                "raw_path": b"/" + raw.lstrip(b"/"),
            }
        await self.app(scope, receive, send)


def error_handlers(emu: Emulator) -> dict[int, object]:
    """Starlette exception handlers: an unknown path or a method a resource does not serve
    answers Salesforce's JSON error array with the org's headers, not Starlette's plain text.
    The body for paths outside ``/services`` (a real org's UI domain) is unverified."""

    async def missing(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/services/apexrest/"):
            # No Apex REST class maps the URL (wording as public answers quote it, unverified).
            err = SalesforceError(404, "NOT_FOUND", "Could not find a match for URL")
            return json_response(emu.org, 404, err.body())
        return json_response(emu.org, 404, not_found().body())

    async def wrong_method(request: Request, exc: Exception) -> Response:
        allowed = ""
        if isinstance(exc, HTTPException) and exc.headers:
            allowed = ",".join(sorted(m.strip() for m in exc.headers.get("Allow", "").split(",")))
        err = SalesforceError(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}",
        )
        return json_response(emu.org, 405, err.body(), {"Allow": allowed} if allowed else None)

    return {404: missing, 405: wrong_method}
