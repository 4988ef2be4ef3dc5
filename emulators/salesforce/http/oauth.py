"""OAuth routes: /services/oauth2/{token,authorize,revoke,userinfo} and the identity URL
/id/{orgId}/{userId}. The wire side only; the flows live in ``auth.py``.

Emulator-only: ``GET /services/oauth2/authorize`` has no login page. The user who "logs in
and clicks Allow" is named by the ``X-Emulator-User`` header or the ``emulator_user`` query
parameter; everything else (client_id, redirect_uri, state, the code redirect) is real.
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import auth
from ..exceptions import OAuthError
from ..ids import is_valid_id, to18
from ..sessions import Session
from .common import Emulator, bearer_token, client_ip

_NO_STORE = {
    "Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private",
    "Pragma": "no-cache",
}


def _json(status: int, body: object) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json;charset=UTF-8",
        headers=_NO_STORE,
    )


def _error(err: OAuthError) -> Response:
    return _json(err.status, err.body())


def request_host(request: Request) -> str:
    """The Host header without port, lower-case: which Salesforce host the client meant."""
    host = request.headers.get("host", "")
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].lower() if ":" in host else host.lower()


def instance_url(emu: Emulator, request: Request) -> str:
    """Clients that came through the client adapter (a *.salesforce.com Host) get the My
    Domain; direct clients get the emulator's own URL, which they can reach."""
    host = request_host(request)
    if host == "salesforce.com" or host.endswith(".salesforce.com"):
        return f"https://{emu.org.my_domain}"
    return emu.instance_url


def login_request(request: Request) -> auth.LoginRequest:
    return auth.LoginRequest(
        host=request_host(request),
        source_ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        uri=request.url.path,
    )


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    return (key, secret) if sep else None


async def _form(request: Request) -> dict[str, str]:
    """Query string and url-encoded body (the body wins), without python-multipart."""
    params = dict(request.query_params)
    body = (await request.body()).decode("utf-8", "replace")
    params.update(parse_qsl(body, keep_blank_values=True))
    return params


def routes(emu: Emulator) -> list[Route]:
    org = emu.org

    async def token(request: Request) -> Response:
        form = await _form(request)
        req = login_request(request)
        basic = _basic(request)

        def run() -> Response:
            try:
                session = auth.token(org, form, basic, req)
            except OAuthError as e:
                return _error(e)
            # Only the web-server flow hands out a refresh token here.
            issued = (
                session.refresh_token if form.get("grant_type") == "authorization_code" else None
            )
            return _json(
                200, auth.token_body(org, session, instance_url(emu, request), refresh_token=issued)
            )

        return await run_in_threadpool(run)

    async def authorize(request: Request) -> Response:
        q = await _form(request) if request.method == "POST" else dict(request.query_params)
        username = request.headers.get("x-emulator-user") or q.get("emulator_user") or ""
        redirect_uri = q.get("redirect_uri", "")
        state = q.get("state")
        try:
            if q.get("response_type") != "code":
                raise OAuthError("unsupported_response_type", "response type not supported")
            app = auth.authorize_client(org, q.get("client_id", ""), redirect_uri)
        except OAuthError as e:
            return _error(e)  # nowhere trusted to redirect to: answer directly
        params: dict[str, str]
        try:
            code = await run_in_threadpool(
                auth.authorize, org, app, username, redirect_uri, login_request(request)
            )
            params = {"code": code}
        except OAuthError as e:
            params = {"error": e.error, "error_description": e.description}
        if state is not None:
            params["state"] = state
        sep = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(
            redirect_uri + sep + urlencode(params), status_code=302, headers=_NO_STORE
        )

    async def revoke(request: Request) -> Response:
        form = await _form(request)

        def run() -> Response:
            try:
                auth.revoke(org, form.get("token", ""))
            except OAuthError as e:
                return _error(e)
            return Response(status_code=200, headers=_NO_STORE)

        return await run_in_threadpool(run)

    def _session(request: Request) -> Session | None:
        token_value = (
            bearer_token(request)
            or request.query_params.get("oauth_token")
            or request.query_params.get("access_token")
        )
        if not token_value:
            return None
        session = org.sessions.get(token_value)
        if session is None or not org.session_live(session):
            return None
        user = org.table("User").get(session.user_id)
        return session if user is not None and user.get("IsActive") else None

    async def userinfo(request: Request) -> Response:
        session = _session(request)
        if session is None:
            return PlainTextResponse("Bad_OAuth_Token", status_code=403)  # (unverified)
        return _json(200, auth.userinfo(org, session, instance_url(emu, request)))

    async def identity(request: Request) -> Response:
        session = _session(request)
        if session is None:
            return PlainTextResponse("Bad_OAuth_Token", status_code=403)  # (unverified)
        oid, uid = request.path_params["org_id"], request.path_params["user_id"]
        # A session sees its own identity only. (unverified for admins)
        if (
            not (is_valid_id(oid) and is_valid_id(uid))
            or to18(oid) != org.org_id
            or to18(uid) != session.user_id
        ):
            return PlainTextResponse("Bad_Id", status_code=404)  # (unverified)
        return _json(200, auth.identity(org, session, instance_url(emu, request)))

    return [
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/oauth2/authorize", authorize, methods=["GET", "POST"]),
        Route("/services/oauth2/revoke", revoke, methods=["GET", "POST"]),
        Route("/services/oauth2/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/id/{org_id}/{user_id}", identity, methods=["GET", "POST"]),
    ]
