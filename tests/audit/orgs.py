"""The audit and revoke tests' org (scenario.yaml): a dedicated Integration User on JWT
bearer holding an unused grant and making a denied call, and one app three people
authorized with refresh tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emulators.salesforce.scenario import Scenario, load_scenario
from emulators.salesforce.server import RunningEmulator
from emulators.salesforce.workloads import credential_file

SCENARIO = Path(__file__).resolve().parent / "scenario.yaml"
CAMPAIGN = ("Campaign Sync Mia", "Campaign Sync Leo", "Campaign Sync Ana")
PRINTER = "Label Printer"
SVC = "svc-labels@audit.test"


def scenario() -> Scenario:
    return load_scenario(SCENARIO)


def advance(running: RunningEmulator, hours: float) -> dict[str, dict[str, Any]]:
    """Move the org's clock with every workload running live; per workload its summary."""
    assert running.emulator.run_workloads is not None
    found: dict[str, dict[str, Any]] = running.emulator.run_workloads(hours * 3600)["workloads"]
    return found


def credentials(running: RunningEmulator, workload: str) -> Path:
    return credential_file(Path(running.info()["credentials_dir"]), workload)


def read_credentials(running: RunningEmulator, workload: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(credentials(running, workload).read_text())
    return data
