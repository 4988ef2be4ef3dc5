"""The workload runner against a live emulator over HTTPS: every Loomis workload logs in
with its own flow and succeeds; taking a permission away makes it fail with the real
error; a rewritten credential source is picked up by the next run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce

from emulators.salesforce import client, server
from emulators.salesforce.faults import FaultRule
from emulators.salesforce.scenario import Scenario, load_scenario
from emulators.salesforce.workloads import credential_file, run_workload
from emulators.salesforce.workloads.__main__ import main

LOOMIS = Path(__file__).resolve().parents[2] / "emulators" / "scenarios" / "loomis.yaml"
SHIPPING = "Shipping Label Service"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(LOOMIS)


@pytest.fixture(scope="module")
def running(
    scenario: Scenario, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[server.RunningEmulator]:
    emu = server.start_in_thread(
        server.prepare(scenario, state_dir=tmp_path_factory.mktemp("loomis"))
    )
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def info(running: server.RunningEmulator) -> dict[str, Any]:
    return running.info()


@pytest.fixture(scope="module")
def admin(info: dict[str, Any]) -> Salesforce:
    return client.connect(info)


def _names(scenario: Scenario) -> list[str]:
    return [w.name for w in scenario.workloads]


@pytest.mark.parametrize("name", _names(load_scenario(LOOMIS)))
def test_every_workload_runs_clean(info: dict[str, Any], scenario: Scenario, name: str) -> None:
    w = next(w for w in scenario.workloads if w.name == name)
    result = run_workload(info, scenario, name, calls=len(w.calls) + 4)
    assert result.login_error is None, result.summary()
    assert result.ok, result.summary()
    assert result.username == w.username
    # The first pass makes every call of the mix once.
    done = {(o.object, o.operation) for o in result.outcomes if o.ok and not o.lookup}
    assert {(c.object, c.operation) for c in w.calls} <= done, result.summary()


def test_logins_carry_the_workloads_source_ip_and_client(
    running: server.RunningEmulator, info: dict[str, Any], scenario: Scenario
) -> None:
    for name in ("Nightly Data Loader Batch", "MuleSoft NetSuite Sync"):
        w = next(w for w in scenario.workloads if w.name == name)
        result = run_workload(info, scenario, name, calls=2)
        assert result.ok, result.summary()
        user = running.org.user_by_username(w.username)
        assert user is not None
        rows = running.org.find("LoginHistory", UserId=user["Id"])
        assert rows and {r["SourceIp"] for r in rows} <= set(w.source_ips)
        assert result.source_ip in {r["SourceIp"] for r in rows}
        expected_app = w.client_name if w.auth == "soap_login" else w.app
        assert expected_app in {r["Application"] for r in rows}


def _permission_row(admin: Salesforce, permission_set: str, sobject: str) -> dict[str, Any]:
    ps = admin.query(f"SELECT Id FROM PermissionSet WHERE Name = '{permission_set}'")["records"][0]
    rows = admin.query(
        f"SELECT Id, ParentId, SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, PermissionsDelete FROM ObjectPermissions WHERE ParentId = '{ps['Id']}' AND SobjectType = '{sobject}'"
    )["records"]
    assert len(rows) == 1
    return dict(rows[0])


def test_removing_an_object_permission_fails_the_call_with_the_real_error(
    info: dict[str, Any], scenario: Scenario, admin: Salesforce
) -> None:
    row = _permission_row(admin, "Shipping_Label_Service", "OrderItem")
    admin.ObjectPermissions.delete(row["Id"])
    try:
        result = run_workload(info, scenario, SHIPPING, calls=6)
        failed = [f for f in result.failures if f.object == "OrderItem"]
        assert failed, result.summary()
        assert {f.error_code for f in failed} == {"INVALID_TYPE"}
        assert all(f.status == 400 and "OrderItem" in (f.message or "") for f in failed)
        # The rest of the mix still works: only the missing grant fails.
        assert not [f for f in result.failures if f.object != "OrderItem"], result.summary()
    finally:
        restored = {
            k: row[k]
            for k in (
                "ParentId",
                "SobjectType",
                "PermissionsRead",
                "PermissionsCreate",
                "PermissionsEdit",
                "PermissionsDelete",
            )
        }
        admin.ObjectPermissions.create(restored)
    assert run_workload(info, scenario, SHIPPING, calls=6).ok


def test_removing_edit_fails_the_update_but_not_the_reads(
    info: dict[str, Any], scenario: Scenario, admin: Salesforce
) -> None:
    row = _permission_row(admin, "Shipping_Label_Service", "Order")
    admin.ObjectPermissions.update(row["Id"], {"PermissionsEdit": False})
    try:
        result = run_workload(info, scenario, SHIPPING, calls=6)
        assert [f.operation for f in result.failures] and {
            f.operation for f in result.failures
        } == {"update"}, result.summary()
        assert {(f.status, f.error_code) for f in result.failures} == {
            (403, "INSUFFICIENT_ACCESS_OR_READONLY")
        }
    finally:
        admin.ObjectPermissions.update(row["Id"], {"PermissionsEdit": True})
    assert run_workload(info, scenario, SHIPPING, calls=6).ok


def test_each_run_reads_the_credential_source_afresh(
    info: dict[str, Any], scenario: Scenario
) -> None:
    """A cutover rewrites the credential source; the next run must log in as it says."""
    path = credential_file(Path(info["credentials_dir"]), "Freight Rates Sync")
    original = path.read_text()
    creds = json.loads(original)
    # Someone the app does not pre-authorize: the real JWT refusal, no exception.
    path.write_text(json.dumps({**creds, "username": "jessica.tran@loomis-logistics.com"}))
    try:
        result = run_workload(info, scenario, "Freight Rates Sync", calls=3)
        assert result.username == "jessica.tran@loomis-logistics.com"
        assert result.login_error is not None and not result.outcomes
        assert (result.login_error.error_code, result.login_error.message) == (
            "invalid_app_access",
            "user is not admin approved to access this app",
        )
    finally:
        path.write_text(original)
    assert run_workload(info, scenario, "Freight Rates Sync", calls=3).ok


def test_cli_prints_a_summary_without_secrets(
    running: server.RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info_file = tmp_path / "emulator.json"
    running.write_info(info_file)
    code = main(
        [
            "--info",
            str(info_file),
            "--scenario",
            str(LOOMIS),
            "--workload",
            "Tableau Pipeline Extract",
            "--workload",
            "HubSpot Marketing Sync",
            "--calls",
            "3",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Tableau Pipeline Extract: 3 calls as marcus.lee@loomis-logistics.com" in out
    for name in ("Tableau Pipeline Extract", "HubSpot Marketing Sync"):
        creds = json.loads(credential_file(running.state_dir / "credentials", name).read_text())
        for key in (
            "password",
            "security_token",
            "consumer_secret",
            "refresh_token",
            "private_key_pem",
        ):
            if creds.get(key):
                assert creds[key] not in out, f"{key} printed"
    assert running.access_token not in out


@pytest.mark.parametrize("name", ["HubSpot Marketing Sync", "Nightly Data Loader Batch"])
def test_an_expired_session_is_renewed_like_the_real_client_does(
    running: server.RunningEmulator, info: dict[str, Any], scenario: Scenario, name: str
) -> None:
    """Sessions the runner fetched itself (refresh token, SOAP login) are renewed once on
    INVALID_SESSION_ID; simple-salesforce does that for its own login flows."""
    running.emulator.faults.add(FaultRule(kind="INVALID_SESSION_ID", path="/query", nth=[1]))
    try:
        result = run_workload(info, scenario, name, calls=3)
        assert result.ok, result.summary()
        assert running.emulator.faults.rules()[0]["fired"] == 1
    finally:
        running.emulator.faults.clear()


def test_the_live_clock_runs_loomis_clean(
    running: server.RunningEmulator, scenario: Scenario
) -> None:
    """Three hours of the demo org's schedules, live: every run logs in as its workload's
    user and every call succeeds (the backfilled days' story goes on unchanged)."""
    assert running.emulator.run_workloads is not None
    summary = running.emulator.run_workloads(3 * 3600)
    ran = {name: s for name, s in summary["workloads"].items() if s["runs"]}
    assert len(ran) >= 4, summary
    users = {w.name: w.username for w in scenario.workloads}
    for name, s in ran.items():
        assert (s["runs_failed"], s["calls_failed"], s["error_codes"]) == (0, 0, {}), (name, s)
        assert set(s["users"]) == {users[name]} and s["calls_ok"] > 0, (name, s)
