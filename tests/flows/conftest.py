from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.salesforce.backfill import backfill
from emulators.salesforce.scenario import Scenario, load_scenario
from emulators.salesforce.server import RunningEmulator, prepare, start_in_thread
from tests.flows.loomis import DAYS, LOOMIS, scaled


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole run (start-up costs ~10 s on 2 cores)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def loomis(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Scenario, RunningEmulator, Path]]:
    """The scaled Loomis org with DAYS days of history, served over HTTPS for the session
    (discovery and planning read it; the plan tests add users and permission sets)."""
    scenario = scaled(load_scenario(LOOMIS), 25)
    state = tmp_path_factory.mktemp("loomis")
    running = prepare(scenario, state_dir=state)
    backfill(running.org, scenario, DAYS, workers=1)
    start_in_thread(running)
    info_path = state / "info.json"
    running.write_info(info_path)
    yield scenario, running, info_path
    running.stop()
