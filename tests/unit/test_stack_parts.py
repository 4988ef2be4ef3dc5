"""The pieces of `handover up` / `migrate` that need no process: where the store is for
every process, the approval-token key, up.json, the migrate request and its exit codes."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handover.cli import migrate as m
from handover.cli.stack import StackPaths, UpRecord, absolute_store_url, token_key
from handover.errors import ConfigError, StackError
from handover.models.migration import MigrationStatus
from handover.settings import Settings


def test_the_store_is_one_file_for_every_process(tmp_path: Path) -> None:
    # The worker's flows run in the code's directory: a relative path would be another file.
    assert absolute_store_url("sqlite:///.handover/handover.db", tmp_path) == (
        f"sqlite:///{tmp_path.resolve()}/.handover/handover.db"
    )
    assert absolute_store_url("sqlite:////abs/h.db", tmp_path) == "sqlite:////abs/h.db"
    pg = "postgresql://handover:pw@db:5432/handover"
    assert absolute_store_url(pg, tmp_path) == pg
    with pytest.raises(StackError, match="every process can open"):
        absolute_store_url("sqlite:///:memory:", tmp_path)


def test_the_approval_token_key_is_made_once_and_private(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path / ".handover")
    key = token_key(paths)
    assert len(key) == 64 and token_key(paths) == key
    assert stat.S_IMODE(paths.token_key.stat().st_mode) == 0o600
    paths.token_key.chmod(0o644)
    assert token_key(paths) == key and stat.S_IMODE(paths.token_key.stat().st_mode) == 0o600


def test_paths_follow_the_project_and_the_setting(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HANDOVER_STACK__STATE_DIR", "run/state")
    paths = StackPaths.of(Settings(), tmp_path)
    assert paths.up_json == tmp_path.resolve() / "run" / "state" / "up.json"
    assert paths.log("worker") == tmp_path.resolve() / "run" / "state" / "logs" / "worker.log"


def test_up_json_lists_the_worker_first_to_stop() -> None:
    record = UpRecord(
        prefect_api_url="http://127.0.0.1:4200/api",
        ui_url="http://127.0.0.1:4200",
        approvals_url="http://127.0.0.1:8787/slack/actions",
        store_url="sqlite:////p/.handover/handover.db",
        project="/p",
        started_at=datetime.now(UTC),
        pids={"prefect-server": 10, "approvals": 11, "worker": 12},
        logs={"worker": "/p/.handover/logs/worker.log"},
    )
    again = UpRecord.model_validate_json(record.model_dump_json())
    assert [p.part for p in again.processes()] == ["worker", "approvals", "prefect-server"]
    assert "token" not in record.model_dump_json().lower()


def test_a_migrate_request_refuses_what_cannot_work() -> None:
    with pytest.raises(ConfigError, match="either --org or --emulator"):
        m.Request("f-1", org="prod", emulator_info="/i.json").check()
    with pytest.raises(ConfigError, match="prefect-secret, file, operator"):
        m.Request("f-1", sink="vault").check()
    with pytest.raises(ConfigError, match="jwt_bearer, client_credentials"):
        m.Request("f-1", route="refresh_token").check()
    with pytest.raises(ConfigError, match="needs --sink"):
        m.Request("f-1", sink_target="/x.json").check()
    request = m.Request("f-1", emulator_info="/i.json", dry_run=True)
    request.check()
    migration_id = m.new_id(request)
    assert migration_id.startswith("m-") and len(migration_id) == 14
    assert migration_id != m.new_id(request)
    assert request.parameters(migration_id) == {
        "finding_id": "f-1", "plan_hash": None, "org": None, "emulator_info": "/i.json",
        "dry_run": True, "migration_id": migration_id, "sink": None, "sink_target": None,
        "route": None,
    }  # fmt: skip


def _view(state_type: str, outcome: str | None, *, dry_run: bool = False) -> m.View:
    now = datetime.now(UTC)
    status = MigrationStatus(
        migration_id="m-0123456789ab", finding_id="f-1", org_id="00D", app_name="App",
        human_username="dana@x.com", plan_hash="ab" * 32, outcome=outcome, dry_run=dry_run,
        created_at=now, updated_at=now,
    )  # fmt: skip
    return m.View("m-0123456789ab", "run", "http://ui/runs/flow-run/run", state_type.title(),
                  state_type, None, status)  # fmt: skip


@pytest.mark.parametrize(
    ("state_type", "outcome", "dry_run", "code"),
    [
        ("COMPLETED", "successful", False, 0),
        ("COMPLETED", None, True, 0),
        ("COMPLETED", "rejected", False, 3),
        ("COMPLETED", "expired", False, 3),
        ("FAILED", "rolled_back", False, 3),
        ("FAILED", "failed", False, 3),
        ("CRASHED", None, False, 4),
        ("CANCELLED", None, False, 4),
    ],
)
def test_exit_codes(state_type: str, outcome: str | None, dry_run: bool, code: int) -> None:
    assert m.exit_code(_view(state_type, outcome, dry_run=dry_run)) == code


def test_a_view_reads_as_one_line() -> None:
    view = _view("PAUSED", None)
    assert view.line() == "m-0123456789ab: run Paused" and not view.ended
    assert _view("COMPLETED", "successful").ended


def test_the_demo_reads_a_gate_message_as_slack_shows_it() -> None:
    """The demo and the autopilot read the real gate template: its title, what changes,
    its buttons, and the migration and gate its Approve button names."""
    from handover.cli.demo_org import gate_lines
    from handover.cli.emulated import _buttons
    from handover.slack.gates import render_gate
    from tests.unit.test_gate_templates import WHO, decided, record

    message = render_gate(record("cutover"), [], who=WHO).model_dump()
    lines = gate_lines(message)
    assert "Cutover" in lines[0] and "MuleSoft NetSuite Sync" in lines[0]
    assert any("Create user svc.mulesoft@loomis-logistics.com" in line for line in lines)
    assert lines[-1].startswith("[") and "Reject" in lines[-1]
    assert _buttons(message) == {("m-0123456789ab", "cutover")}
    approved = render_gate(record("cutover", **decided("approve")), [], who=WHO).model_dump()
    assert _buttons(approved) == set()  # decided: nothing left to click
