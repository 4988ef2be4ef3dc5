"""The Salesforce CLI (`sf`, installed by `make sf-cli` into .tools/sf) against the emulator.

The CLI runs in a clean environment: a HOME inside the test's tmp dir (never the user's
~/.sf), telemetry, update checks and release notes off, so it reaches nothing but the
emulator, and the emulator's CA trusted through NODE_EXTRA_CA_CERTS. Without the CLI the
tests skip with a reason; with TEST_SF_CLI_REQUIRED=1 (CI, .ci/run) they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from emulators.salesforce.scenario import load_scenario
from emulators.salesforce.server import RunningEmulator, prepare, start_in_thread

ROOT = Path(__file__).resolve().parents[3]
BIN = ROOT / ".tools" / "sf" / "node_modules" / ".bin"
LOOMIS = ROOT / "emulators" / "scenarios" / "loomis.yaml"
EXTRA_LEADS = 2100  # with Loomis's own, enough for the CLI to page past 2,000 rows
ALIAS = "loomis-emulator"

# Every switch that keeps the CLI from calling home (telemetry, update and version checks,
# release notes) in both spellings the CLI reads; checked with strace: with these the CLI
# connects to the emulator only.
QUIET = {
    "SF_DISABLE_TELEMETRY": "true",
    "SFDX_DISABLE_TELEMETRY": "true",
    "SF_TELEMETRY_DISABLE_ACKNOWLEDGEMENT": "true",
    "SF_AUTOUPDATE_DISABLE": "true",
    "SFDX_AUTOUPDATE_DISABLE": "true",
    "SF_DISABLE_AUTOUPDATE": "true",
    "SFDX_DISABLE_AUTOUPDATE": "true",
    "SF_SKIP_NEW_VERSION_CHECK": "true",
    "SF_HIDE_RELEASE_NOTES": "true",
    "SFDX_HIDE_RELEASE_NOTES": "true",
    "SF_DISABLE_DNS_CHECK": "true",
    "SF_USE_PROGRESS_BAR": "false",
    "NO_COLOR": "1",
    "FORCE_COLOR": "0",
}


@dataclass
class SfResult:
    returncode: int
    stdout: str
    stderr: str
    data: dict[str, Any] = field(default_factory=dict)  # the parsed --json answer

    @property
    def result(self) -> Any:
        return self.data.get("result")


@dataclass
class SfCli:
    """Runs `sf` as a user would, against one emulator, logged in under ``ALIAS``."""

    env: dict[str, str]
    cwd: Path

    def run(self, *args: str, json_out: bool = True, extra_env: dict[str, str] | None = None):
        argv = [str(BIN / "sf"), *args, *(["--json"] if json_out else [])]
        env = {**self.env, **(extra_env or {})}
        proc = subprocess.run(
            argv, cwd=self.cwd, env=env, capture_output=True, text=True, timeout=120
        )
        data: dict[str, Any] = {}
        if json_out:
            try:
                data = json.loads(proc.stdout)
            except ValueError:
                data = {}
        return SfResult(proc.returncode, proc.stdout, proc.stderr, data)

    def ok(self, *args: str, json_out: bool = True) -> SfResult:
        """Run and require success, showing the CLI's own error (never a token) otherwise."""
        res = self.run(*args, json_out=json_out)
        assert res.returncode == 0 and (not json_out or res.data.get("status") == 0), (
            f"sf {' '.join(args)} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}"
        )
        return res


def _installed() -> bool:
    return (BIN / "sf").exists() and (BIN / "node").exists()


@pytest.fixture(scope="session")
def sf_bin() -> Path:
    if not _installed():
        reason = "the Salesforce CLI is not installed: run `make sf-cli` (npm, ~40 s)"
        if os.environ.get("TEST_SF_CLI_REQUIRED"):
            pytest.fail(reason)
        pytest.skip(reason)
    return BIN


@pytest.fixture(scope="module")
def loomis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """Loomis Logistics, plus enough Leads for a query to page."""
    spec = load_scenario(LOOMIS)
    leads = [
        {"LastName": f"Prospect {i:04d}", "Company": f"Lead Co {i:04d}"} for i in range(EXTRA_LEADS)
    ]
    spec = spec.model_copy(update={"data": {**spec.data, "Lead": [*spec.data["Lead"], *leads]}})
    running = start_in_thread(prepare(spec, state_dir=tmp_path_factory.mktemp("loomis")))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def sf(sf_bin: Path, loomis: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> SfCli:
    """The CLI, logged in to the emulator the way the issue's user did it: an access token
    in SF_ACCESS_TOKEN and `sf org login access-token --no-prompt`."""
    home = tmp_path_factory.mktemp("sf-home")
    env = {
        "PATH": f"{sf_bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin",  # Node 22 from .tools first
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "NODE_EXTRA_CA_CERTS": str(loomis.ca_bundle),
        **QUIET,
    }
    cli = SfCli(env=env, cwd=home)
    login = cli.run(
        "org",
        "login",
        "access-token",
        "--instance-url",
        loomis.instance_url,
        "--no-prompt",
        "--alias",
        ALIAS,
        "--set-default",
        extra_env={"SF_ACCESS_TOKEN": loomis.access_token},
    )
    assert login.returncode == 0, f"login failed:\n{login.stdout[-3000:]}\n{login.stderr[-2000:]}"
    assert loomis.access_token not in login.stdout + login.stderr
    return cli
