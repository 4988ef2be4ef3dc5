"""An installed handover works outside the checkout: the wheel (built the way pip would,
through the sdist) carries the templates and the store's migrations as package data, and
renders and migrates from wherever it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")

# Run in a fresh interpreter, from an empty directory, with only the unpacked wheel on
# PYTHONPATH ahead of the virtualenv's libraries (the checkout's editable finder comes
# after it, so anything missing from the wheel would fail to load from there).
SCRIPT = """
import sys
from datetime import date
from pathlib import Path

import handover, templates
from handover.models import Evidence, Finding, PlanRefusal
from handover.render import render_discovery_report, render_plan_markdown
from handover.slack.digest import render_digest
from handover.usage import UsageStore

site = Path(sys.argv[1])
for module in (handover, templates):
    assert Path(module.__file__).is_relative_to(site), module.__file__

f = Finding(
    finding_id="f-000000000001", org_id="00D5g0000012345", user_id="0055g00000Ops01",
    username="ops@loomis.example", app_name="NetSuite Sync", app_key="app:x",
    verdict="integration_under_human", score=0.9, reasons=["calls all night"],
    evidence=[Evidence(key="calls", label="Calls", value=24, weight=0.2)],
    window_start=date(2026, 11, 1), window_end=date(2026, 11, 30), is_new=True,
)
coverage = {"window_start": date(2026, 11, 1), "window_end": date(2026, 11, 30),
            "days_in_window": 30, "days_observed": 30, "gaps": [], "gap_days": [],
            "event_types": {"ApiTotalUsage": 30}, "unparsed_types": []}
stats = {"api_calls": 1, "files_listed": 1, "files_ingested": 1, "rows_ingested": 1,
         "login_history_rows": 0, "users": 1, "connected_apps": 1, "app_access": 0,
         "assignments": 0, "oauth_tokens": 0}
report = render_discovery_report(org_name="Loomis", findings=[f], coverage=coverage, stats=stats)
assert "ops@loomis.example" in report, report
refusal = PlanRefusal(status="refused", finding_id=f.finding_id, org_id=f.org_id,
                      app_name=f.app_name, username=f.username, reasons=["a person"],
                      headline="No plan for NetSuite Sync")
assert "No plan for NetSuite Sync" in render_plan_markdown(refusal)
assert render_digest([f], org_name="Loomis", run_url=None).blocks
with UsageStore(f"sqlite:///{Path.cwd() / 'handover.db'}") as store:
    print("rendered; store at revision", store.schema_revision)
"""


@pytest.mark.skipif(UV is None, reason="uv builds the wheel: run `make install` first")
def test_an_installed_handover_renders_and_migrates_outside_the_checkout(tmp_path: Path) -> None:
    assert UV is not None
    dist = tmp_path / "dist"
    subprocess.run(
        [UV, "build", "--quiet", "--out-dir", str(dist), str(ROOT)],
        check=True,
        timeout=240,
    )
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for template in (ROOT / "templates").rglob("*.j2"):
        assert template.relative_to(ROOT).as_posix() in names, template
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOVER_")}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(site)],
        cwd=elsewhere,
        env={**env, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rendered; store at revision 0004" in proc.stdout
