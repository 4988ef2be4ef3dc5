"""Prefect's REST API, the two calls the approval service makes: resume a paused flow run
with its gate's input, and read a run's state. Plain httpx: nothing in handover/ outside the
CLI imports prefect, and the service must not need a Prefect profile to run.

Prefect answers a resume with HTTP 200 or 201 whatever happened; the body's ``status`` says
what did: ACCEPT (resumed), REJECT (the input failed the run's schema, or the pause timed
out: the run stays as it is), ABORT (the run is not paused), WAIT. ``resume`` reports that
status, never the HTTP one. httpx's exceptions become handover errors here, from one table;
tests/unit/test_prefect_runs.py fails when httpx gains one that is not mapped.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from handover.errors import PrefectApiError, TransientPrefectError

ResumeStatus = Literal["ACCEPT", "REJECT", "ABORT", "WAIT"]
TERMINAL_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})
DEFAULT_TIMEOUT = 15.0

# httpx exception class -> handover class, every class named (most specific first), so a
# new one in httpx fails tests/unit/test_prefect_runs.py instead of being guessed at.
_T, _P = TransientPrefectError, PrefectApiError
EXCEPTION_MAP: list[tuple[type[Exception], type[PrefectApiError]]] = [
    (httpx.ConnectTimeout, _T),
    (httpx.ReadTimeout, _T),
    (httpx.WriteTimeout, _T),
    (httpx.PoolTimeout, _T),
    (httpx.TimeoutException, _T),
    (httpx.ConnectError, _T),  # the server is not up (yet)
    (httpx.ReadError, _T),
    (httpx.WriteError, _T),
    (httpx.CloseError, _T),
    (httpx.NetworkError, _T),
    (httpx.RemoteProtocolError, _T),  # the server hung up mid-answer
    (httpx.ProxyError, _T),
    (httpx.LocalProtocolError, _P),
    (httpx.ProtocolError, _P),
    (httpx.UnsupportedProtocol, _P),  # prefect_api_url without http(s)://
    (httpx.TransportError, _T),
    (httpx.DecodingError, _P),
    (httpx.TooManyRedirects, _P),
    (httpx.HTTPStatusError, _P),  # answered by status in translate()
    (httpx.RequestError, _P),
    (httpx.HTTPError, _P),
    (httpx.InvalidURL, _P),
    (httpx.CookieConflict, _P),
    (httpx.StreamClosed, _P),
    (httpx.StreamConsumed, _P),
    (httpx.RequestNotRead, _P),
    (httpx.ResponseNotRead, _P),
    (httpx.StreamError, _P),
]
HINT = "check HANDOVER_APPROVALS__PREFECT_API_URL (the flows' PREFECT_API_URL) and that the server is up"


def translate(exc: Exception, *, what: str) -> PrefectApiError:
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status in (401, 403):
            return PrefectApiError(
                f"{what}: Prefect refused the credentials (HTTP {status}); set "
                "HANDOVER_APPROVALS__PREFECT_API_AUTH to the server's auth string",
                status=status,
            )
        if status == 404:
            return PrefectApiError(
                f"{what}: Prefect has no such flow run (HTTP 404)", status=status
            )
        cls = TransientPrefectError if status >= 500 or status == 429 else PrefectApiError
        return cls(
            f"{what}: Prefect answered HTTP {status}: {exc.response.text[:300]}", status=status
        )
    for httpx_cls, ours in EXCEPTION_MAP:
        if isinstance(exc, httpx_cls):
            transient = " (transient; retried later)" if ours is TransientPrefectError else ""
            return ours(f"{what}: {type(exc).__name__}: {exc}{transient}; {HINT}")
    return PrefectApiError(f"{what}: {type(exc).__name__}: {exc}; {HINT}")


@contextmanager
def translated(what: str) -> Iterator[None]:
    try:
        yield
    except PrefectApiError:
        raise
    except httpx.HTTPError as exc:
        raise translate(exc, what=what) from exc
    except (httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError) as exc:
        raise translate(exc, what=what) from exc


@dataclass(frozen=True)
class ResumeResult:
    status: ResumeStatus
    reason: str | None  # Prefect's words when it did not resume

    @property
    def accepted(self) -> bool:
        return self.status == "ACCEPT"


class PrefectRuns:
    def __init__(
        self,
        api_url: str,
        *,
        auth: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        self._http = httpx.Client(
            base_url=api_url.rstrip("/") + "/",
            headers=headers,
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def resume(self, flow_run_id: str, run_input: dict[str, Any] | None) -> ResumeResult:
        what = f"resuming flow run {flow_run_id}"
        with translated(what):
            response = self._http.post(
                f"flow_runs/{flow_run_id}/resume",
                json={"run_input": run_input} if run_input is not None else {},
            )
            response.raise_for_status()
            body = response.json()
        status = str(body.get("status", "")).upper() if isinstance(body, dict) else ""
        if status not in ("ACCEPT", "REJECT", "ABORT", "WAIT"):
            raise PrefectApiError(f"{what}: Prefect answered without a status: {str(body)[:300]}")
        details = body.get("details") or {}
        reason = details.get("reason") if isinstance(details, dict) else None
        return ResumeResult(status=status, reason=str(reason) if reason else None)  # type: ignore[arg-type]

    def state_type(self, flow_run_id: str) -> str | None:
        """The run's state type (PAUSED, RUNNING, COMPLETED, ...), None if it has none."""
        with translated(f"reading flow run {flow_run_id}"):
            response = self._http.get(f"flow_runs/{flow_run_id}")
            response.raise_for_status()
            body = response.json()
        state = body.get("state") if isinstance(body, dict) else None
        return str(state["type"]).upper() if isinstance(state, dict) and state.get("type") else None
