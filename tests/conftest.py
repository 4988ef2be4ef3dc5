"""Shared test setup: no HANDOVER_* variable from the developer's shell leaks into tests,
and Prefect stays offline and local."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def _postgres_per_worker() -> None:
    """Under pytest-xdist (`make test`) each worker gets a database of its own next to
    TEST_POSTGRES_URL's: the PostgreSQL tests empty theirs before they start. Runs before
    the test modules read the variable."""
    url, worker = os.environ.get("TEST_POSTGRES_URL"), os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    mine = f"{parts.path.lstrip('/')}_{worker}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (mine,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(mine)))
    except psycopg.Error as exc:
        raise pytest.UsageError(
            f"cannot create the test worker's database {mine} next to TEST_POSTGRES_URL's "
            f"({type(exc).__name__}): grant its role CREATEDB, or run the tests in one "
            "process (pytest -p no:xdist)"
        ) from None
    os.environ["TEST_POSTGRES_URL"] = urlunsplit(parts._replace(path=f"/{mine}"))


_postgres_per_worker()


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
