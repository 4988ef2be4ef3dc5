"""What people see of a discovery run: the Prefect artifacts and the Slack digest."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from emulators.slack.server import start_in_thread as start_slack
from tests.flows.orgs import small_scenario, start_org

SMALL = Path(__file__).resolve().parents[1] / "emulators" / "scenarios" / "serve.yaml"


DAYS = 14


def _start(tmp_path_factory, name: str, *, event_monitoring: bool, days: int):
    return start_org(
        small_scenario(event_monitoring=event_monitoring), tmp_path_factory.mktemp(name), days
    )


@pytest.fixture(scope="module")
def org_and_slack(tmp_path_factory):
    running, info = _start(tmp_path_factory, "report", event_monitoring=True, days=DAYS)
    slack = start_slack()
    yield info, slack
    running.stop()
    slack.stop()


async def _artifacts(key: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async with get_client() as client:
        return await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
        )


def test_report_artifacts_and_digest_of_new_findings_only(
    org_and_slack, prefect_harness, monkeypatch, tmp_path
):
    info, slack = org_and_slack
    monkeypatch.setenv("HANDOVER_STORE__URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("HANDOVER_SLACK__TOKEN", slack.bot_token)
    monkeypatch.setenv("HANDOVER_SLACK__CHANNEL", "#handover")
    monkeypatch.setenv("HANDOVER_SLACK__BASE_URL", slack.base_url)
    from flows.discovery import discover

    findings = discover(emulator_info=str(info), window_days=DAYS)
    flagged = [f for f in findings if f["verdict"] == "integration_under_human"]
    assert flagged, findings

    reports = asyncio.run(_artifacts("discovery-report"))
    tables = asyncio.run(_artifacts("discovery-findings"))
    assert reports and tables
    markdown = reports[0].data
    assert "## Coverage" in markdown and "Salesforce API calls spent by this run" in markdown
    assert flagged[0]["username"] in markdown and "| Evidence | Value | What it means |" in markdown
    assert f"Days observed | {DAYS} of {DAYS}" in markdown

    posted = slack.workspace.posted("#handover")
    assert len(posted) == 1 and flagged[0]["username"] in str(posted[0].blocks)
    # The digest links to the run that found them, as Prefect's runtime names it.
    assert f"/flow-runs/flow-run/{reports[0].flow_run_id}|Open the Prefect run>" in str(
        posted[0].blocks
    )

    # The next run finds nothing new: no second digest.
    discover(emulator_info=str(info), window_days=DAYS)
    assert len(slack.workspace.posted("#handover")) == 1


def test_before_history_is_no_gap_and_a_missed_run_is_one(
    tmp_path_factory, prefect_harness, monkeypatch, tmp_path
):
    """A plain Enterprise org keeps its free logs one day. On a first run the earlier days
    of the window are before history, not gaps; a morning without a run afterwards is a
    gap, shown in the report with the retention that lost it and what to do."""
    running, info = _start(tmp_path_factory, "gaps", event_monitoring=False, days=5)
    try:
        monkeypatch.setenv("HANDOVER_STORE__URL", f"sqlite:///{tmp_path / 'store.db'}")
        from flows.discovery import discover

        discover(emulator_info=str(info), window_days=5)
        markdown = asyncio.run(_artifacts("discovery-report"))[0].data
        assert "Days observed | 1 of 5" in markdown
        assert "Coverage gaps | none" in markdown and "| ApiTotalUsage |" not in markdown
        assert "| History began |" in markdown and "before history, not gaps" in markdown

        # Two days on with the workloads running, one morning without discovery.
        advance(json.loads(info.read_text()), 2 * 86_400)
        discover(emulator_info=str(info), window_days=5)
        markdown = asyncio.run(_artifacts("discovery-report"))[0].data
        assert "Days observed | 2 of 5" in markdown
        assert "Coverage gaps | **1 days**" in markdown
        assert markdown.count("| ApiTotalUsage |") == 1
        assert "kept 1 day without Event Monitoring): run discovery daily" in markdown
    finally:
        running.stop()


def advance(info: dict[str, Any], seconds: int) -> None:
    """The org's clock moves on with its workloads running (the emulator's control API)."""
    resp = requests.post(
        f"{info['instance_url']}/_emulator/clock",
        json={"seconds": seconds, "run_workloads": True},
        headers={"X-Emulator-Control": info["control_token"]},
        verify=info["ca_bundle"],
        timeout=300,
    )
    assert resp.status_code == 200, resp.text
