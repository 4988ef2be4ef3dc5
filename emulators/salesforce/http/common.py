"""What every REST call shares: authentication, the daily limit, the Sforce-Limit-Info
header, error bodies, and recording the call as event-log rows (faults are applied before,
to every endpoint, by ``http/faults.py``)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..eventlog.events import ApiCall
from ..exceptions import SalesforceError, invalid_session, request_limit_exceeded
from ..faults import FaultInjector
from ..org import CallContext, MultipleMatches, Org

SUPPORTED_VERSIONS = [f"{v}.0" for v in range(31, 67)]


@dataclass
class Outcome:
    """What a handler returns: status, JSON body (None for 204), and what to log."""

    status: int
    body: Any = None
    entity: str | None = None
    operation: str = "other"
    query: str | None = None
    rows: int = 0
    raw: bytes | None = None  # non-JSON bodies (event log CSV)
    media_type: str = "application/json;charset=UTF-8"


@dataclass
class Emulator:
    """The org plus what the HTTP layer needs around it."""

    org: Org
    faults: FaultInjector
    control_token: str
    port: int = 0
    # Advances the clock with the scenario's workloads running (live.LiveClock.advance);
    # None when the emulator has no scenario workloads to run.
    run_workloads: Callable[[float], dict[str, Any]] | None = None

    @property
    def instance_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def new_request_id() -> str:
    return secrets.token_urlsafe(16)[:22]


def limit_header(org: Org) -> str:
    used, total = org.api_usage()
    return f"api-usage={used}/{total}"


def org_headers(org: Org) -> dict[str, str]:
    """Headers on every REST response. ``Date`` is the org's simulated clock, as a real
    org's Date header is its own time: clients use it as "now" for the org."""
    return {
        "Sforce-Limit-Info": limit_header(org),
        "Date": formatdate(org.clock.now().timestamp(), usegmt=True),
    }


def json_response(
    org: Org, status: int, body: Any, extra: dict[str, str] | None = None
) -> Response:
    headers = org_headers(org)
    if extra:
        headers.update(extra)
    if status == 204 or (body is None and status < 300):
        return Response(status_code=status, headers=headers)
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json;charset=UTF-8",
        headers=headers,
    )


def error_response(org: Org, err: SalesforceError) -> Response:
    if isinstance(err, MultipleMatches):
        return json_response(org, 300, err.urls)
    return json_response(org, err.status, err.body())


def client_ip(request: Request) -> str:
    # Workloads simulate their real source addresses with this emulator-only header.
    return request.headers.get("x-emulator-client-ip") or (
        request.client.host if request.client else "127.0.0.1"
    )


def client_name(request: Request) -> str | None:
    options = request.headers.get("sforce-call-options", "")
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "client" and value:
            return value.strip()
    return None


def bearer_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token:
        return token.strip()
    return None


def run_rest(
    emu: Emulator,
    request: Request,
    version: str,
    handler: Callable[[CallContext], Outcome],
    *,
    entity: str | None = None,
    operation: str = "other",
) -> Response:
    """Authenticate, count, run, answer and record one REST call."""
    org = emu.org
    started = time.perf_counter()
    token = bearer_token(request)
    try:
        if token is None:
            raise invalid_session()
        session = org.authenticate(token)
    except SalesforceError as e:
        return error_response(org, e)
    ctx_kw = {
        "client_ip": client_ip(request),
        "user_agent": request.headers.get("user-agent", ""),
        "client_name": client_name(request),
    }
    try:
        ctx = org.context(session, **ctx_kw)
        ctx.api_version = version
        if not org.api_counter.try_consume(org.clock.now().date(), session.app_name):
            raise request_limit_exceeded()
        outcome = handler(ctx)
        response = (
            Response(
                outcome.raw,
                status_code=outcome.status,
                media_type=outcome.media_type,
                headers=org_headers(org),
            )
            if outcome.raw is not None
            else json_response(org, outcome.status, outcome.body)
        )
        status, query, rows, exc = outcome.status, outcome.query, outcome.rows, None
        entity = outcome.entity or entity
        operation = outcome.operation if outcome.operation != "other" else operation
    except SalesforceError as e:
        response = error_response(org, e)
        status, query, rows, exc = e.status, None, 0, e.message
        if e.status == 403 and e.error_code in ("REQUEST_LIMIT_EXCEEDED", "API_DISABLED_FOR_ORG"):
            return response
    path = request.url.path
    api_resource = path[len("/services/data") :] if path.startswith("/services/data") else path
    org.record_call(
        ApiCall(
            timestamp=org.clock.now(),
            request_id=new_request_id(),
            user_id=session.user_id,
            username=ctx.user["Username"],
            session_key=session.session_key,
            login_key=session.login_key,
            # Emulator-only: the workload runner names the API a call stands for (in_family).
            api_family=request.headers.get("x-emulator-api-family", "REST"),
            api_version=version,
            api_resource=api_resource,
            http_method=request.method,
            uri=path,
            entity_name=entity,
            operation=operation,
            status_code=status,
            client_ip=ctx_kw["client_ip"] or "",
            # CLIENT_NAME "includes values passed via the Sforce-Call-Options header": a
            # call without one is logged with none, whoever made it.
            client_name=ctx_kw["client_name"],
            connected_app_id=session.app_id,
            connected_app_name=session.app_name,
            user_agent=ctx_kw["user_agent"] or "",
            counts_against_limit=True,
            query=query,
            rows_processed=rows,
            run_time_ms=int((time.perf_counter() - started) * 1000),
            exception_message=exc,
        )
    )
    return response


def parse_json_body(raw: bytes) -> Any:
    if not raw:
        raise SalesforceError(
            400, "JSON_PARSER_ERROR", "The request body is either invalid or incomplete."
        )
    try:
        return json.loads(raw)
    except ValueError as e:
        raise SalesforceError(
            400,
            "JSON_PARSER_ERROR",
            f"Unexpected character: was expecting a JSON value at [line:1, column:{getattr(e, 'colno', 1)}]",
        ) from None


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
