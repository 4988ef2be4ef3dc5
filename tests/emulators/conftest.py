"""An emulator running in-process over HTTPS, built from the tiny scenario.

Each test gets a fresh org (logins, revocations and metadata updates change state);
clients reach it through ``emulators.salesforce.client`` and verify TLS against the
emulator's own CA.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.salesforce.loader import WorkloadCredentials
from emulators.salesforce.org import Org
from emulators.salesforce.server import RunningEmulator, prepare, start_in_thread

TINY = Path(__file__).parent / "scenarios" / "tiny.yaml"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[RunningEmulator]:
    running = start_in_thread(prepare(TINY, state_dir=tmp_path / "emulator"))
    try:
        yield running
    finally:
        # Clients still holding idle keep-alive TLS connections (e.g. a session referenced
        # by a caught exception) would make a graceful shutdown wait for their TLS close.
        if running.server is not None:
            running.server.force_exit = True
        running.stop()


@pytest.fixture
def info(emulator: RunningEmulator) -> dict[str, Any]:
    """The emulator's --info dict (instance_url, ca_bundle, access_token, ...)."""
    return emulator.info()


@pytest.fixture
def org(emulator: RunningEmulator) -> Org:
    return emulator.loaded.org


@pytest.fixture
def creds(emulator: RunningEmulator) -> dict[str, WorkloadCredentials]:
    """What each workload's external system holds, by workload name."""
    return emulator.loaded.credentials
