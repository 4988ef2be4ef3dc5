from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole run (start-up costs ~10 s on 2 cores)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
