from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.salesforce.scenario import Scenario, load_scenario
from emulators.salesforce.server import RunningEmulator
from tests.flows.loomis import DAYS, LOOMIS, scaled
from tests.flows.orgs import start_org


@pytest.fixture(scope="session")
def loomis(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Scenario, RunningEmulator, Path]]:
    """The scaled Loomis org with DAYS days of history, served over HTTPS for the session
    (discovery and planning read it; the plan tests add users and permission sets)."""
    scenario = scaled(load_scenario(LOOMIS), 25)
    running, info_path = start_org(scenario, tmp_path_factory.mktemp("loomis"), DAYS)
    yield scenario, running, info_path
    running.stop()
