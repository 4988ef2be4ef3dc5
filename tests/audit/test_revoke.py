"""The emergency revoke and the rotation after it, as an admin runs them (`handover
revoke`, in-process) against the emulated org over HTTPS, with the org's workloads
running live before and after: revoked grants fail with Salesforce's real error, and the
rotated integration logs in again with its new credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emulators.salesforce.client import session_for
from emulators.salesforce.server import RunningEmulator
from emulators.salesforce.workloads.credentials import login
from emulators.salesforce.workloads.results import LoginFailed
from handover.cli.app import app
from handover.store.ledger import Ledger
from tests.audit.orgs import CAMPAIGN, PRINTER, SVC, advance, credentials, scenario
from tests.flows.orgs import start_org


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningEmulator, Path]]:
    running, info = start_org(scenario(), tmp_path_factory.mktemp("revoke-org"), 2)
    yield running, info
    running.stop()


def handover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.chdir(tmp_path)  # no stack of this checkout is taken for the test's
    monkeypatch.setenv("HANDOVER_STORE__URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("HANDOVER_CUTOVER__SECRETS_DIR", str(tmp_path / "secrets"))
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_revoke_app_leaves_no_users_token_working_and_rotation_brings_the_integration_back(
    org: tuple[RunningEmulator, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, info = org
    before = advance(running, 2)
    assert all(before[w]["runs"] and not before[w]["runs_failed"] for w in (*CAMPAIGN, PRINTER))

    # Three people's refresh tokens of one app: all revoked in one command.
    done = handover(tmp_path, monkeypatch, "revoke", "--app", "Campaign Sync",
                    "--emulator", str(info), "--json")  # fmt: skip
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)["revoke"]
    assert report["tokens_revoked"] == 3
    assert sorted(u["username"] for u in report["users"]) == [
        "ana@audit.test", "leo@audit.test", "mia@audit.test"
    ]  # fmt: skip
    after = advance(running, 2)
    for w in CAMPAIGN:  # the external systems' next refresh fails as Salesforce answers it
        assert after[w]["runs"] and after[w]["runs_failed"] == after[w]["runs"], after[w]
        assert set(after[w]["error_codes"]) == {"invalid_grant"}, after[w]
    assert after[PRINTER]["runs_failed"] == 0  # another app: untouched

    # Recorded: the ledger holds each revocation under the revoke's id, and status lists it.
    with Ledger(f"sqlite:///{tmp_path / 'store.db'}") as ledger:
        steps = ledger.steps(report["revoke_id"])
        status = ledger.migration(report["revoke_id"])
    assert [s.status for s in steps] == ["done"] * 3
    assert all(s.key.startswith("revoke:token:") for s in steps)
    assert status is not None and status.outcome == "successful"

    # A refresh-token integration cannot be rotated by handover: a person must consent.
    refused = handover(tmp_path, monkeypatch, "revoke", "--app", "Campaign Sync", "--rotate",
                       "--emulator", str(info))  # fmt: skip
    assert refused.exit_code == 2 and "authorize the app again" in refused.output

    # The JWT integration: sessions ended, frozen, then rotated through its credential file.
    creds = credentials(running, PRINTER)
    leaked = json.loads(creds.read_text())
    done = handover(tmp_path, monkeypatch, "revoke", "--app", PRINTER, "--freeze", "--rotate",
                    "--sink", "file", "--sink-target", str(creds), "--emulator", str(info),
                    "--json")  # fmt: skip
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert [u["frozen"] for u in out["revoke"]["users"]] == [True]
    assert out["rotation"]["kinds"] == ["certificate"] and out["rotation"]["unfrozen"]
    fresh = json.loads(creds.read_text())
    assert fresh["private_key_pem"] != leaked["private_key_pem"]
    assert {k: v for k, v in fresh.items() if k != "private_key_pem"} == {
        k: v for k, v in leaked.items() if k != "private_key_pem"
    }
    assert creds.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" not in done.output  # secrets are never printed
    # The leaked key is dead: the app checks assertions against the new certificate.
    with pytest.raises(LoginFailed) as refused_login:
        login(running.info(), leaked, session_for(running.info()))
    assert refused_login.value.code == "invalid_grant"

    back = advance(running, 2)
    assert back[PRINTER]["runs"] and back[PRINTER]["runs_failed"] == 0, back[PRINTER]
    assert set(back[PRINTER]["users"]) == {SVC}
    from handover.rotation import check_back
    from handover.salesforce import SalesforceGateway
    from handover.salesforce.connection import from_emulator_info
    from handover.salesforce.connection import login as sf_login

    gateway = SalesforceGateway(sf_login(from_emulator_info(info), api_version="59.0", timeout=30))
    with Ledger(f"sqlite:///{tmp_path / 'store.db'}") as ledger:
        verdict = check_back(gateway, ledger, out["revoke"]["revoke_id"])
        keys = [s.key for s in ledger.steps(out["revoke"]["revoke_id"])]
    assert verdict.back, verdict.reasons
    assert "1 logins refused since the rotation (1 Failed: Signature Invalid)" in verdict.reasons[1]
    assert keys[-3:] == ["rotate:certificate", "rotate:credentials", keys[-1]]
    assert keys[-1].startswith("rotate:unfreeze:")
    assert not any((tmp_path / "secrets").glob("r-*"))  # the kept secrets are dropped
