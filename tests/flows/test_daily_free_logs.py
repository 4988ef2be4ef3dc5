"""Discovery scheduled daily on a free-logs org, as a new user meets it: the emulator's
clock runs the workloads through every simulated day, and discovery and planning run every
morning at 06:30.

The first run holds one day of API logs but months of LoginHistory and the tokens' own
dates: it flags the clear cases and says what is thin. The days before it are before
history, not gaps, so the plan can be ready after two weeks, on the very date the first
refusal named. handover's own calls (next day's logs) are shown as handover.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from emulators.salesforce.scenario import Scenario, load_scenario
from handover.usage.decode import client_identity
from tests.flows.orgs import start_org

FREE_LOGS = Path(__file__).resolve().parents[1] / "emulators" / "scenarios" / "freelogs.yaml"
HISTORY_DAYS = 60  # LoginHistory and token use before the first run (free files: 1 day)
MORNINGS = 15  # the first run and fourteen more
_ON_OR_AFTER = re.compile(r"plan again on or after (\d{4}-\d{2}-\d{2})")


@pytest.fixture(scope="module")
def free_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scenario, Path]]:
    scenario = load_scenario(FREE_LOGS)
    running, info = start_org(scenario, tmp_path_factory.mktemp("freelogs"), HISTORY_DAYS)
    yield scenario, info
    running.stop()


def next_morning(info: dict[str, Any]) -> dict[str, Any]:
    """A day of the org with its workloads running, up to the next morning's 06:30."""
    resp = requests.post(
        f"{info['instance_url']}/_emulator/clock",
        json={"seconds": 86_400, "run_workloads": True},
        headers={"X-Emulator-Control": info["control_token"]},
        verify=info["ca_bundle"],
        timeout=300,
    )
    assert resp.status_code == 200, resp.text
    summary: dict[str, Any] = resp.json()
    assert not any(w["runs_failed"] for w in summary["workloads"].values()), summary
    return summary


def by_workload(scenario: Scenario, findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The finding of each workload that had traffic in the window."""
    apps = {a.name for a in scenario.connected_apps}
    pairs = {(f["username"], f["app_name"]): f for f in findings}
    out = {}
    for w in scenario.workloads:
        app = w.app if w.app in apps else client_identity(w.client_name or "")
        if (w.username, app) in pairs:
            out[w.name] = pairs[(w.username, app)]
    return out


# Slow (~25 s: fifteen simulated mornings): `make test-all` and CI run it.
@pytest.mark.slow
def test_discovery_every_morning_on_a_free_logs_org(
    free_org: tuple[Scenario, Path], prefect_harness: None, monkeypatch, tmp_path
) -> None:
    scenario, info_path = free_org
    info = json.loads(info_path.read_text())
    monkeypatch.setenv("HANDOVER_STORE__URL", f"sqlite:///{tmp_path / 'store.db'}")
    from flows.discovery import discover
    from flows.plan import plan

    # ------------------------------------------------------------ the first morning
    first = by_workload(scenario, discover(emulator_info=str(info_path)))
    today = date.fromisoformat(first["Order Sync"]["window"]["end"]) + timedelta(days=1)
    # Months of LoginHistory make the clear cases clear at once: a JWT login every two hours
    # from one server; a script on a leaver's account; a nightly stored-password login.
    for name in ("Order Sync", "Rates Sync", "Data Loader Nightly"):
        assert first[name]["verdict"] == "integration_under_human", first[name]["reasons"]
        assert any(r.startswith("Only 1 day of API logs") for r in first[name]["reasons"])
    assert "Rafa on the phone" not in first  # yesterday was a Sunday
    alive = first["Rates Sync"]["evidence"]["kept_alive"]
    assert alive["value"] is True and "login history the store holds" in alive["detail"]

    order = first["Order Sync"]
    refused = plan(finding_id=order["finding_id"], emulator_info=str(info_path))
    assert refused["status"] == "insufficient_evidence"
    (ready_on,) = {
        date.fromisoformat(d) for r in refused["reasons"] for d in _ON_OR_AFTER.findall(r)
    }
    assert ready_on == today + timedelta(days=13)  # history began yesterday: 14 days

    # ------------------------------------------------------------ every morning after
    findings: dict[str, dict[str, Any]] = first
    for morning in range(1, MORNINGS):
        next_morning(info)
        day = today + timedelta(days=morning)
        found = discover(emulator_info=str(info_path))
        findings = by_workload(scenario, found)
        assert all(
            f["verdict"] != "integration_under_human"
            for f in found
            if f["username"] == info["admin_username"]
        )
        if day in (ready_on - timedelta(days=1), ready_on):
            result = plan(
                finding_id=findings["Order Sync"]["finding_id"], emulator_info=str(info_path)
            )
            if day < ready_on:
                assert result["status"] == "insufficient_evidence", result
            else:
                assert result["status"] == "ready", result.get("reasons")

        if morning == 1:
            # The phone's refresh token was used for 300 days: its rate comes from its own
            # dates, not from the one day of logs the store has of it.
            phone = findings["Rafa on the phone"]
            assert phone["verdict"] != "integration_under_human", phone["reasons"]
            token = phone["evidence"]["token_uses"]["detail"]
            assert re.search(r"about [1-2] a day\.$", token), token

    # Two weeks on: every workload's verdict is right, no day is a gap, and handover's own
    # calls of each morning are shown as handover.
    for w in scenario.workloads:
        assert findings[w.name]["verdict"] == w.ground_truth, (w.name, findings[w.name]["reasons"])
    mine = [f for f in found if f["verdict"] == "handover"]
    assert [(f["username"], f["app_name"]) for f in mine] == [(info["admin_username"], "handover")]
    coverage = findings["Order Sync"]["evidence"]["coverage"]["detail"]
    assert coverage.startswith(f"{MORNINGS} days of API logs (none missed)")
