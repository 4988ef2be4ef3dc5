"""`handover discover` as a user runs it: a subprocess against a running emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.flows.orgs import small_scenario, start_org

HANDOVER = Path(sys.executable).parent / "handover"
SMALL = Path(__file__).resolve().parents[1] / "emulators" / "scenarios" / "serve.yaml"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("HANDOVER_", "PREFECT_API_URL"))
    }
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        HANDOVER_STORE__URL=f"sqlite:///{tmp_path / 'store.db'}",
    )
    return env


@pytest.fixture(scope="module")
def emulator_info(tmp_path_factory):
    running, info = start_org(small_scenario(), tmp_path_factory.mktemp("cli"), 3)
    yield info
    running.stop()


def test_discover_json_contract(emulator_info, tmp_path):
    proc = subprocess.run(
        [str(HANDOVER), "discover", "--emulator", str(emulator_info), "--json"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    findings = json.loads(proc.stdout)
    assert isinstance(findings, list) and findings
    for f in findings:
        assert {
            "finding_id",
            "user_id",
            "username",
            "app_name",
            "verdict",
            "score",
            "evidence",
        } <= set(f)
        assert f["verdict"] in (
            "integration_under_human",
            "dedicated_integration",
            "human_interactive",
            "unclear",
        )
        assert 0.0 <= f["score"] <= 1.0
    assert any(
        f["username"] == "ops@serve.test" and f["app_name"] == "Nightly Sync" for f in findings
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--emulator", "/nonexistent/info.json"], "not found"),
        (["--org", "prod"], "orgs file"),
    ],
)
def test_bad_configuration_is_one_message_not_a_traceback(args, message, tmp_path):
    env = _env(tmp_path)
    env["HANDOVER_SALESFORCE__ORGS_FILE"] = str(tmp_path / "missing-orgs.toml")
    proc = subprocess.run(
        [str(HANDOVER), "discover", *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_rejected_credentials_are_one_message_before_any_flow_runs(emulator_info, tmp_path):
    bad = tmp_path / "info.json"
    bad.write_text(
        json.dumps({**json.loads(Path(emulator_info).read_text()), "access_token": "00D!expired"})
    )
    proc = subprocess.run(
        [str(HANDOVER), "discover", "--emulator", str(bad)],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=120,
    )
    assert proc.returncode == 2
    assert "session expired or is invalid" in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr and "Task run" not in proc.stderr
    assert "00D!expired" not in proc.stderr  # a credential is never echoed
