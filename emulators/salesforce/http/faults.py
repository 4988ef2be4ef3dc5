"""Armed faults on the wire, for every endpoint: REST (/services/data), OAuth
(/services/oauth2, the identity URL), SOAP login() and the Metadata API (/services/Soap).

An ASGI middleware asks the injector about each request (the control API under /_emulator
is never faulted) and answers in the format of the endpoint family it hits:

* REST: Salesforce's JSON error arrays with the org's headers (``Fault.response``);
* OAuth: ``{"error", "error_description"}``; SOAP: a SOAP fault with the exceptionCode;
* a 503 is a plain maintenance page everywhere but REST, where Salesforce sends
  ``SERVER_UNAVAILABLE`` JSON (the pages' wording is unverified).

``lost_response`` lets the request through (its write commits, its event is logged) and
replaces the answer: by that family's 503, or by a response that promises a body and then
closes the connection (clients raise a connection error reading it).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import anyio
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..faults import Fault
from .common import Emulator, json_response

Family = Literal["rest", "oauth", "soap"]

# The SOAP exceptionCode / OAuth error and message of each kind that answers instead.
_SOAP = {
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record or 1 records",
    "INVALID_SESSION_ID": "Invalid Session ID found in SessionHeader: Illegal Session",
}
_OAUTH = {  # (status, error, error_description): emulator choices, unverified
    "REQUEST_LIMIT_EXCEEDED": (403, "rate_limit_exceeded", "TotalRequests Limit exceeded."),
    "UNABLE_TO_LOCK_ROW": (500, "server_error", "unable to obtain exclusive access"),
    "INVALID_SESSION_ID": (401, "invalid_token", "Session expired or invalid"),
}
_UNAVAILABLE = b"<html><body><h1>Service Unavailable</h1></body></html>"


def family(path: str) -> Family:
    if path.startswith("/services/oauth2") or path.startswith("/id/"):
        return "oauth"
    if path.startswith("/services/Soap"):
        return "soap"
    return "rest"


def answer(emu: Emulator, fault: Fault, path: str) -> Response | None:
    """What the client gets instead of the endpoint's answer (None: handle the request)."""
    fam = family(path)
    kind = "503" if fault.kind == "lost_response" else fault.kind
    if kind == "slow" or (fault.kind == "lost_response" and fault.lost_as != "503"):
        return None
    if fam == "rest":
        canned = Fault(kind).response()
        assert canned is not None
        return json_response(emu.org, canned[0], canned[1])
    if kind == "503":
        return Response(_UNAVAILABLE, status_code=503, media_type="text/html;charset=UTF-8")
    if fam == "oauth":
        status, error, description = _OAUTH[kind]
        return Response(
            json.dumps({"error": error, "error_description": description}),
            status_code=status,
            media_type="application/json;charset=UTF-8",
        )
    ns = "urn:fault.partner.soap.sforce.com" if "/Soap/u/" in path else ""
    ns_attr = f' xmlns:sf="{ns}"' if ns else ' xmlns:sf="http://soap.sforce.com/2006/04/metadata"'
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        f'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"{ns_attr}><soapenv:Body>'
        f"<soapenv:Fault><faultcode>sf:{kind}</faultcode><faultstring>{kind}: {_SOAP[kind]}"
        f"</faultstring><detail><sf:UnexpectedErrorFault><sf:exceptionCode>{kind}"
        f"</sf:exceptionCode><sf:exceptionMessage>{_SOAP[kind]}</sf:exceptionMessage>"
        "</sf:UnexpectedErrorFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=500, media_type="text/xml; charset=utf-8")


class FaultMiddleware:
    """Applies the emulator's armed fault rules to every request but the control API."""

    def __init__(self, app: ASGIApp, emu: Emulator) -> None:
        self.app = app
        self.emu = emu

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        fault = self.emu.faults.check(scope["method"], path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay_seconds:
            await anyio.sleep(fault.delay_seconds)
        instead = answer(self.emu, fault, path)
        if fault.kind != "lost_response":
            if instead is None:
                await self.app(scope, receive, send)
            else:
                await instead(scope, receive, send)
            return

        async def discard(message: Message) -> None:
            pass  # the handler's answer never reaches the client

        await self.app(scope, receive, discard)
        if instead is not None:
            await instead(scope, receive, send)
            return
        # Headers that promise a body, then the connection closes: uvicorn drops it when the
        # app returns with the response incomplete.
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json;charset=UTF-8"),
            (b"content-length", b"512"),
        ]
        start: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": b"[", "more_body": True})
