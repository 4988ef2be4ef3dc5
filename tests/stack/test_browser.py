"""The Prefect UI of `handover up --emulators` in a real browser, as a newcomer would use it:
Debian's chromium driven by Playwright for Python through its executable path (a browser
download is not possible here), against the stack's server.

It runs discovery and two plans, takes one migration to its end (the gates clicked in the
Slack emulator) and leaves another at its first gate, then opens: the latest discovery run
and its findings artifact, the migration paused at its gate and its plan artifact, the final
report of the finished migration. Every page is kept as a screenshot under
.test-output/browser/ (CI keeps it); the assertions are on the text a person sees.

Marked slow (`make test-all`, CI). Without chromium or Playwright it skips, unless
TEST_BROWSER_REQUIRED is set (CI: `make chromium` installs it), where it fails."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from handover.cli.autopilot import Autopilot
from tests.flows.loomis import DAYS
from tests.stack.conftest import StackUnderTest, bring_up, eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[2] / ".test-output" / "browser"
# Flags that keep Chromium offline and quiet here (no sandbox: CI runs as root).
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WMS = ("Warehouse Management System", "rosa.delgado@loomis-logistics.com")
MULESOFT = ("MuleSoft NetSuite Connector", "dana.reyes@loomis-logistics.com")


def _browser_or_skip() -> None:
    missing = []
    if not CHROMIUM.exists():
        missing.append("chromium (`make chromium`: Debian's package)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright for Python (`make install`)")
    if missing:
        reason = "no browser test without " + " and ".join(missing)
        if os.environ.get("TEST_BROWSER_REQUIRED"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A stack where discovery ran, one migration ended and another waits at a gate."""
    _browser_or_skip()
    # INFO, as a person's stack logs: the runs' pages show their log lines.
    for stack in bring_up(tmp_path_factory.mktemp("ui-project"), PREFECT_LOGGING_LEVEL="INFO"):
        yield _tell_the_story(stack)


def _tell_the_story(stack: StackUnderTest) -> dict[str, Any]:
    from emulators.salesforce.workloads import credential_file

    info = stack.record.salesforce_info
    assert info is not None
    found = stack.json("discover", "--emulator", info, "--window-days", str(DAYS))
    by_pair = {(f["app_name"], f["username"]): f["finding_id"] for f in found}
    for pair in (WMS, MULESOFT):
        assert (
            stack.json("plan", "--finding", by_pair[pair], "--emulator", info)["status"] == "ready"
        )
    done = stack.json("migrate", "--finding", by_pair[WMS], "--no-follow")
    creds = credential_file(
        Path(stack.info("salesforce")["credentials_dir"]), "MuleSoft NetSuite Sync"
    )
    waiting = stack.json(
        "migrate", "--finding", by_pair[MULESOFT], "--no-follow",
        "--sink", "file", "--sink-target", str(creds),
    )  # fmt: skip
    pilot = Autopilot(stack.record)
    try:  # only the WMS migration's gates are clicked
        ended = pilot.drive([done["migration_id"]], timeout=900)
    finally:
        pilot.close()
    assert ended[done["migration_id"]].outcome == "successful"
    eventually(
        lambda: _status(stack, waiting["migration_id"]).get("waiting_at") == "plan",
        timeout=300, what="the MuleSoft migration to wait at its plan gate", every=2,
    )  # fmt: skip
    return {
        "stack": stack, "ui": stack.record.ui_url, "mulesoft": by_pair[MULESOFT],
        "done": done, "waiting": waiting,
    }  # fmt: skip


def _status(stack: StackUnderTest, migration_id: str) -> dict[str, Any]:
    return next((s for s in stack.json("status") if s["migration_id"] == migration_id), {})


@pytest.fixture(scope="module")
def page(story: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    profile = tempfile.mkdtemp(prefix="handover-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1000},
        )  # fmt: skip
        try:
            yield context.new_page()
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def _open(page: Any, url: str, shot: str, *texts: str) -> str:
    """Open ``url``, wait until every one of ``texts`` shows, keep a screenshot; the page's
    visible text."""
    page.goto(url)
    for text in texts:
        page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=60_000)
    page.screenshot(path=str(OUTPUT / shot), full_page=True)
    return str(page.inner_text("body"))


def _latest_artifact(ui: str, key: str) -> dict[str, Any]:
    found = httpx.post(
        f"{ui}/api/artifacts/filter",
        json={"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1},
        timeout=30,
    ).json()
    assert found, f"no artifact {key!r}"
    return dict(found[0])


def _latest_run(ui: str, flow: str) -> dict[str, Any]:
    """The flow's latest completed run (the daily schedule's runs wait, not started)."""
    body = {
        "flows": {"name": {"any_": [flow]}},
        "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
        "sort": "START_TIME_DESC",
        "limit": 1,
    }
    runs = httpx.post(f"{ui}/api/flow_runs/filter", json=body, timeout=30).json()
    return dict(runs[0])


def test_the_latest_discovery_run_and_its_findings(story: dict[str, Any], page: Any) -> None:
    ui = story["ui"]
    page.goto(f"{ui}/runs")
    # As a person finds it: the run's name in the list, a link to its page.
    page.get_by_role("link", name="discover-loomis-logistics").first.click()
    page.wait_for_url("**/runs/flow-run/**", timeout=60_000)
    page.get_by_text("Task Runs", exact=True).first.wait_for(state="visible", timeout=60_000)
    text = str(page.inner_text("body"))
    assert "discover-loomis-logistics" in text and "Completed" in text
    assert page.url.endswith(_latest_run(ui, "discover")["id"])
    page.screenshot(path=str(OUTPUT / "01-discovery-run.png"), full_page=True)
    page.get_by_text("Artifacts", exact=True).last.click()  # the run's Artifacts tab
    page.get_by_text("Discovery findings for Loomis Logistics").first.wait_for(
        state="visible", timeout=60_000
    )
    page.screenshot(path=str(OUTPUT / "02-discovery-run-artifacts.png"), full_page=True)
    artifact = _latest_artifact(ui, "discovery-findings")
    assert artifact["flow_run_id"] == _latest_run(ui, "discover")["id"]
    text = _open(
        page, f"{ui}/artifacts/artifact/{artifact['id']}", "03-findings-artifact.png",
        "Discovery findings for Loomis Logistics", "MuleSoft NetSuite Connector",
        "dana.reyes@loomis-logistics.com",  # a cell of the table itself
    )  # fmt: skip
    assert "dana.reyes@loomis-logistics.com" in text and "Warehouse Management System" in text


def test_a_migration_paused_at_its_gate_and_its_plan(story: dict[str, Any], page: Any) -> None:
    ui, waiting = story["ui"], story["waiting"]
    text = _open(
        page, waiting["ui_url"], "04-migration-at-gate.png",
        "migrate-mulesoft-netsuite-connector", "Suspended", "Beginning flow run",
    )  # fmt: skip
    assert "Task Runs" in text
    artifact = _latest_artifact(ui, f"access-plan-{story['mulesoft']}")
    text = _open(
        page, f"{ui}/artifacts/artifact/{artifact['id']}", "05-plan-artifact.png",
        "MuleSoft NetSuite Connector", "What changes", "Provenance",  # the body's headings
    )  # fmt: skip
    assert re.search(r"[Pp]ermission set", text) and "dana.reyes@loomis-logistics.com" in text


def test_the_final_report_of_a_finished_migration(story: dict[str, Any], page: Any) -> None:
    ui, done = story["ui"], story["done"]
    text = _open(
        page, done["ui_url"], "06-migration-done.png",
        "migrate-warehouse-management-system", "Completed", "Beginning flow run",
    )  # fmt: skip
    artifact = _latest_artifact(ui, f"migration-{done['migration_id']}")
    text = _open(
        page, f"{ui}/artifacts/artifact/{artifact['id']}", "07-migration-report.png",
        done["migration_id"], "Warehouse Management System",
        "What changed", "Approvals", "Verification: ",  # the report's own headings
    )  # fmt: skip
    assert "successful" in text.lower()
    assert len(list(OUTPUT.glob("*.png"))) == 7
