"""Routes of the emulated org. REST under /services/data, OAuth under /services/oauth2,
SOAP under /services/Soap, and an emulator-only control API under /_emulator (token-guarded)."""

from __future__ import annotations

import hmac
import re
from datetime import timedelta

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..exceptions import not_found
from ..faults import FaultRule
from . import oauth, rest, soap
from .common import SUPPORTED_VERSIONS, Emulator, json_response
from .faults import FaultMiddleware
from .paths import LeadingSlashes, error_handlers

_VERSION = re.compile(r"^v(\d{2}\.\d)$")


def _version(emu: Emulator, raw: str) -> str | None:
    m = _VERSION.match(raw)
    if not m or m.group(1) not in SUPPORTED_VERSIONS:
        return None
    return m.group(1)


def build_app(emu: Emulator) -> Starlette:
    async def versions(request: Request) -> Response:
        return rest.versions(emu, request)

    async def data(request: Request) -> Response:
        """Dispatch /services/data/vNN.N/... (trailing slashes accepted, as simple-salesforce sends them)."""
        version = _version(emu, request.path_params["version"])
        if version is None:
            return json_response(emu.org, 404, not_found().body())
        rest_path = request.path_params.get("rest", "")
        parts = [p for p in rest_path.split("/") if p]
        raw = await request.body()
        method = request.method

        def dispatch() -> Response:
            if not parts:
                return rest.resources(emu, request, version)
            head = parts[0]
            if head == "limits" and len(parts) == 1:
                return rest.limits(emu, request, version)
            if head == "limits" and parts[1:] == ["recordCount"]:
                return rest.record_count(emu, request, version)
            if head in ("query", "queryAll") and len(parts) == 1 and method == "GET":
                return rest.query(emu, request, version, include_deleted=head == "queryAll")
            if head in ("query", "queryAll") and len(parts) == 2 and method == "GET":
                return rest.query_more(emu, request, version, parts[1])
            if head == "sobjects":
                if len(parts) == 1:
                    return rest.describe_global(emu, request, version)
                name = parts[1]
                if len(parts) == 2:
                    return (
                        rest.create(emu, request, version, name, raw)
                        if method == "POST"
                        else rest.sobject_basic(emu, request, version, name)
                    )
                if len(parts) == 3 and parts[2] == "describe":
                    return rest.sobject_describe(emu, request, version, name)
                if len(parts) == 3:
                    return rest.record(emu, request, version, name, parts[2], raw)
                if len(parts) == 4:
                    return rest.record_sub(emu, request, version, name, parts[2], parts[3], raw)
            if head == "composite" and len(parts) == 2 and parts[1] == "sobjects":
                return rest.collections(emu, request, version, raw)
            if (
                head == "composite"
                and len(parts) == 4
                and parts[1] == "sobjects"
                and method == "PATCH"
            ):
                return rest.collections_upsert(emu, request, version, parts[2], parts[3], raw)
            extra = getattr(emu, "extra_data_routes", None)
            if extra is not None:
                resp = extra(emu, request, version, parts, raw)
                if resp is not None:
                    return resp
            return json_response(emu.org, 404, not_found().body())

        return await run_in_threadpool(dispatch)

    def _control_ok(request: Request) -> bool:
        return hmac.compare_digest(request.headers.get("x-emulator-control", ""), emu.control_token)

    async def control(request: Request) -> Response:
        """Emulator-only: advance the clock, arm faults, read state. Not a Salesforce API."""
        if not _control_ok(request):
            return JSONResponse(
                {
                    "error": "forbidden: send the control token from the --info file in X-Emulator-Control"
                },
                status_code=403,
            )
        what = request.path_params["what"]
        if what == "clock":
            if request.method == "POST":
                return await _clock(request)
            return JSONResponse({"now": emu.org.clock.now().isoformat()})
        if what == "faults":
            if request.method == "POST":
                emu.faults.add(FaultRule.model_validate(await request.json()))
            elif request.method == "DELETE":
                emu.faults.clear()
            return JSONResponse({"rules": emu.faults.rules()})
        if what == "usage":
            used, total = emu.org.api_usage()
            return JSONResponse({"used": used, "limit": total})
        return JSONResponse({"error": f"unknown control resource {what}"}, status_code=404)

    async def _clock(request: Request) -> Response:
        """Advance the clock by ``seconds``; with ``run_workloads`` the workloads run their
        schedules over the span (live.py) and the answer is the span's summary."""
        try:
            body = await request.json()
            seconds = float(body.get("seconds", 0)) if isinstance(body, dict) else -1.0
        except (ValueError, TypeError):
            seconds = -1.0
        if not seconds >= 0:  # also refuses NaN
            return JSONResponse(
                {"error": 'send {"seconds": N} with N >= 0 (the clock only moves forward)'},
                status_code=400,
            )
        if not body.get("run_workloads"):
            emu.org.clock.advance(timedelta(seconds=seconds))
            return JSONResponse({"now": emu.org.clock.now().isoformat()})
        if emu.run_workloads is None:
            return JSONResponse(
                {"error": "this emulator has no scenario workloads to run"}, status_code=409
            )
        return JSONResponse(await run_in_threadpool(emu.run_workloads, seconds))

    routes = [
        Route("/services/data", versions, methods=["GET"]),
        Route("/services/data/", versions, methods=["GET"]),
        Route("/services/data/{version}", data, methods=["GET"]),
        Route("/services/data/{version}/", data, methods=["GET"]),
        Route(
            "/services/data/{version}/{rest:path}",
            data,
            methods=["GET", "POST", "PATCH", "DELETE", "PUT"],
        ),
        Route("/_emulator/{what}", control, methods=["GET", "POST", "DELETE"]),
        *oauth.routes(emu),
        *soap.routes(emu),
    ]
    for extra in getattr(emu, "extra_routes", []):
        routes.append(extra)
    return Starlette(
        routes=routes,
        # Outermost first: fault rules and routes see the path a real org would serve.
        middleware=[Middleware(LeadingSlashes), Middleware(FaultMiddleware, emu=emu)],
        exception_handlers=error_handlers(emu),  # type: ignore[arg-type]
    )
