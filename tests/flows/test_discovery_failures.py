"""Discovery under failure: transient Salesforce errors are retried, others fail clearly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from emulators.salesforce.faults import FaultRule
from emulators.salesforce.sessions import Session, expiry, new_access_token
from handover.errors import ConfigError, PermissionDenied
from tests.flows.orgs import small_scenario, start_org

SMALL = Path(__file__).resolve().parents[1] / "emulators" / "scenarios" / "serve.yaml"


@pytest.fixture(scope="module")
def small_org(tmp_path_factory):
    running, info = start_org(small_scenario(), tmp_path_factory.mktemp("small"), 3)
    yield running, info
    running.stop()


@pytest.fixture
def fast_retries(monkeypatch, tmp_path):
    monkeypatch.setenv("HANDOVER_STORE__URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("HANDOVER_SALESFORCE__RETRY_BASE_DELAY_SECONDS", "0.05")


def test_transient_errors_are_retried(small_org, prefect_harness, fast_retries):
    running, info = small_org
    faults = running.emulator.faults
    faults.clear()
    faults.add(FaultRule(kind="503", path="/query", nth=[3]))
    faults.add(
        FaultRule(kind="UNABLE_TO_LOCK_ROW", path="/sobjects/EventLogFile/.*/LogFile", nth=[1])
    )
    faults.add(FaultRule(kind="REQUEST_LIMIT_EXCEEDED", path="/services/data/v59.0/$", nth=[1]))
    try:
        from flows.discovery import discover

        findings = discover(emulator_info=str(info), window_days=3)
    finally:
        fired = {r["kind"]: r["fired"] for r in faults.rules()}
        faults.clear()
    assert fired == {"503": 1, "UNABLE_TO_LOCK_ROW": 1, "REQUEST_LIMIT_EXCEEDED": 1}
    assert any(f["username"] == "ops@serve.test" for f in findings)


def test_missing_permission_fails_at_once_with_what_to_grant(
    small_org, prefect_harness, fast_retries, tmp_path
):
    running, _ = small_org
    org = running.org
    # handover connected as a user who lacks View Setup: a person must fix it, no retry helps.
    profile = org.find_one("Profile", Name="Standard User")
    uid = org.seed_user(
        {
            "Username": "no.setup@serve.test",
            "LastName": "NoSetup",
            "Email": "n@serve.test",
            "Alias": "nosetup",
            "TimeZoneSidKey": "GMT",
            "LocaleSidKey": "en_US",
            "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US",
            "ProfileId": profile["Id"],
        }
    )
    now = org.clock.now()
    token = new_access_token(org.org_id)
    org.sessions[token] = Session(
        token,
        uid,
        now,
        expiry(now) + timedelta(days=1),
        "Remote Access 2.0",
        "127.0.0.1",
        "sk",
        "lk",
    )
    info = dict(running.info(), access_token=token)
    path = tmp_path / "info.json"
    path.write_text(__import__("json").dumps(info))
    from flows.discovery import discover

    with pytest.raises(PermissionDenied) as e:
        discover(emulator_info=str(path), window_days=3)
    assert "View Setup and Configuration" in str(e.value)


def test_bad_configuration_is_one_clear_error(prefect_harness, fast_retries, tmp_path):
    from flows.discovery import discover

    with pytest.raises(ConfigError, match="not found"):
        discover(emulator_info=str(tmp_path / "missing.json"))
