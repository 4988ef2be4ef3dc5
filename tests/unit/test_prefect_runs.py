"""Prefect's REST answers read by their body's status, and every httpx exception mapped.

The transport is httpx's own MockTransport answering with the bodies Prefect 3.9's
``POST /flow_runs/{id}/resume`` sends (prefect/server/api/flow_runs.py); the end-to-end
tests in tests/approvals/ resume real runs on a real Prefect server."""

from __future__ import annotations

import json

import httpx
import pytest

from handover.errors import PrefectApiError, TransientPrefectError
from handover.slack.runs import EXCEPTION_MAP, PrefectRuns, translate


def test_every_httpx_exception_is_mapped() -> None:
    classes = {
        getattr(httpx, name)
        for name in httpx.__all__
        if isinstance(getattr(httpx, name), type) and issubclass(getattr(httpx, name), Exception)
    }
    mapped = {c for c, _ in EXCEPTION_MAP}
    assert classes - mapped == set(), "map these in handover/slack/runs.py"


def _runs(status: int, body: object, seen: list[httpx.Request] | None = None) -> PrefectRuns:
    def answer(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, json=body)

    return PrefectRuns(
        "http://prefect.test/api", auth="admin:pw", transport=httpx.MockTransport(answer)
    )


def test_a_reject_is_read_from_the_body_not_the_http_status() -> None:
    seen: list[httpx.Request] = []
    body = {
        "status": "REJECT",
        "state": None,
        "details": {"type": "abort_details", "reason": "Reason: 'maybe' is not one of ['approve']"},
    }
    result = _runs(200, body, seen).resume("7061181e", {"decision": "maybe"})
    assert (result.status, result.accepted) == ("REJECT", False)
    assert "not one of" in (result.reason or "")
    request = seen[0]
    assert request.url.path == "/api/flow_runs/7061181e/resume"
    assert json.loads(request.content) == {"run_input": {"decision": "maybe"}}
    assert request.headers["authorization"] == "Basic YWRtaW46cHc="


@pytest.mark.parametrize(("http", "status"), [(201, "ACCEPT"), (200, "ABORT"), (200, "WAIT")])
def test_statuses(http: int, status: str) -> None:
    result = _runs(http, {"status": status, "details": {}}).resume("r", None)
    assert result.status == status and result.accepted is (status == "ACCEPT")


def test_no_status_is_an_error_not_a_guess() -> None:
    with pytest.raises(PrefectApiError, match="without a status"):
        _runs(200, {"detail": "?"}).resume("r", {})


@pytest.mark.parametrize(
    ("status", "expected", "says"),
    [
        (404, PrefectApiError, "no such flow run"),
        (401, PrefectApiError, "PREFECT_API_AUTH"),
        (503, TransientPrefectError, "HTTP 503"),
        (422, PrefectApiError, "HTTP 422"),
    ],
)
def test_http_errors(status: int, expected: type, says: str) -> None:
    with pytest.raises(PrefectApiError) as info:
        _runs(status, {"detail": "x"}).resume("r", {})
    assert type(info.value) is expected and says in str(info.value)


def test_network_failures_are_transient_and_say_what_to_check() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    runs = PrefectRuns("http://prefect.test/api", transport=httpx.MockTransport(refuse))
    with pytest.raises(TransientPrefectError, match="PREFECT_API_URL"):
        runs.state_type("r")
    assert type(translate(httpx.InvalidURL("x"), what="w")) is PrefectApiError


def test_state_type() -> None:
    assert _runs(200, {"state": {"type": "paused"}}).state_type("r") == "PAUSED"
    assert _runs(200, {"state": None}).state_type("r") is None
