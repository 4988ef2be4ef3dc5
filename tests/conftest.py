"""Shared test setup: no HANDOVER_* variable from the developer's shell leaks into tests,
and Prefect stays offline and local."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@pytest.fixture(autouse=True)
def _clean_handover_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("HANDOVER_"):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole run, shared by tests/flows and tests/approvals
    (start-up costs ~10 s on 2 cores)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
