"""Emulated orgs for the flow tests: a scenario, N backfilled days, served over HTTPS."""

from __future__ import annotations

from pathlib import Path

from emulators.salesforce.backfill import backfill
from emulators.salesforce.scenario import Scenario, load_scenario
from emulators.salesforce.server import RunningEmulator, prepare, start_in_thread

SMALL = Path(__file__).resolve().parents[1] / "emulators" / "scenarios" / "serve.yaml"


def small_scenario(*, event_monitoring: bool = False) -> Scenario:
    """Two users and one nightly integration. With Event Monitoring the org keeps 30 days
    of logs; without, only yesterday's."""
    scenario = load_scenario(SMALL)
    return scenario.model_copy(
        update={"org": scenario.org.model_copy(update={"event_monitoring": event_monitoring})}
    )


def start_org(scenario: Scenario, state: Path, days: int) -> tuple[RunningEmulator, Path]:
    """Backfill ``days`` days, serve, and write the --info file; the caller stops it."""
    running = prepare(scenario, state_dir=state)
    backfill(running.org, scenario, days, workers=1)
    start_in_thread(running)
    info = state / "info.json"
    running.write_info(info)
    return running, info
