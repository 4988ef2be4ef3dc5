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


@pytest.fixture(scope="module")
def discovered(emulator_info, tmp_path_factory):
    """One `handover discover --json` (its store kept for the plan tests)."""
    env = _env(tmp_path_factory.mktemp("discovered"))
    proc = subprocess.run(
        [str(HANDOVER), "discover", "--emulator", str(emulator_info), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    return proc, env


def test_discover_json_contract(discovered):
    proc, _ = discovered
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Prefect's log lines went to the run, not to the terminal.
    assert "Task run" not in proc.stderr and "| INFO" not in proc.stderr
    assert proc.stderr.startswith("discovery of ")  # the first line: before any login
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


def _plan(emulator_info, env, finding_id):
    return subprocess.run(
        [str(HANDOVER), "plan", "--finding", finding_id, "--emulator", str(emulator_info)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )


def test_an_unknown_finding_is_one_line_before_any_run(emulator_info, discovered):
    proc = _plan(emulator_info, discovered[1], "f-000000000000")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: no finding 'f-000000000000' in the latest discovery runs: run discovery first "
        "(`handover discover`), then give an id `handover findings` lists"
    ]


@pytest.mark.slow  # a second temporary Prefect server (~14 s): `make test-all` and CI run it
def test_a_refused_plan_ends_with_its_reasons_and_no_log_flood(emulator_info, discovered):
    """Three days of history: too little for a plan (exit 3), said in a few lines; a short
    id is accepted."""
    flagged = [f for f in json.loads(discovered[0].stdout) if f["app_name"] == "Nightly Sync"]
    proc = _plan(emulator_info, discovered[1], flagged[0]["finding_id"][:7])
    assert proc.returncode == 3, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith(f"planning {flagged[0]['finding_id']}: ")
    assert any(line.startswith("no plan: ") for line in lines)
    assert "Traceback" not in proc.stderr and "| INFO" not in proc.stderr and len(lines) < 12


def test_a_bad_setting_is_one_line_not_a_traceback(tmp_path):
    env = _env(tmp_path) | {"HANDOVER_APPROVALS__APPROVERS": "U1,["}
    proc = subprocess.run(
        [str(HANDOVER), "status"], capture_output=True, text=True, env=env, timeout=60,
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: bad setting: HANDOVER_APPROVALS__APPROVERS: ")


def test_a_stopped_emulator_is_unreachable_not_transient(tmp_path):
    """The demo's old trap: an info file whose emulator is gone."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    info = tmp_path / "info.json"
    info.write_text(json.dumps({
        "instance_url": f"https://127.0.0.1:{port}", "ca_bundle": str(ca),
        "access_token": "00D!x", "org_name": "Gone",
    }))  # fmt: skip
    proc = subprocess.run(
        [str(HANDOVER), "discover", "--emulator", str(info)],
        capture_output=True, text=True, env=_env(tmp_path), timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    said, line = proc.stderr.strip().splitlines()
    assert said.startswith("discovery of Gone")
    assert line.startswith("error: ") and "unreachable" in line
    assert "transient" not in line and "retrying" not in line


@pytest.mark.slow  # a temporary Prefect server (~14 s): `make test-all` and CI run it
def test_audit_reports_without_a_log_flood(emulator_info, discovered):
    """`handover audit --no-ask`: the review of the dedicated Integration Users discovery
    classified, as text; Prefect's log lines go to the run, not to the terminal."""
    proc = subprocess.run(
        [str(HANDOVER), "audit", "--no-ask", "--emulator", str(emulator_info)],
        capture_output=True,
        text=True,
        env=discovered[1],
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| INFO" not in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout.strip(), proc.stderr[-2000:]
