"""`make demo`: the story against the bundled emulators, told step by step.

1. Start the Loomis Logistics org emulator (HTTPS) and the Slack emulator.
2. Backfill 30 days of its integrations' history (event logs, LoginHistory, token use).
3. Show what the org holds, through simple-salesforce.
4. Run the discovery flow (Prefect): ingest, classify, report, Slack digest.
5. Show the findings with their evidence, and what reached Slack.
6. Run the plan flow for the MuleSoft NetSuite Sync: the least-privilege Integration User.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "emulators" / "scenarios" / "loomis.yaml"


def run(scenario_path: Path = SCENARIO, days: int = 30, state_dir: Path | None = None) -> None:
    from emulators.salesforce.backfill import backfill
    from emulators.salesforce.client import connect, session_for
    from emulators.salesforce.scenario import load_scenario
    from emulators.salesforce.server import prepare, start_in_thread
    from emulators.slack.server import start_in_thread as start_slack

    console = Console()
    state = state_dir or ROOT / ".handover" / "demo"
    shutil.rmtree(state, ignore_errors=True)  # every demo tells the story from the start
    scenario = load_scenario(scenario_path)
    console.rule(f"[bold]handover demo: {scenario.org.name}")
    console.print(
        f"1. Starting the org emulator for [bold]{scenario.org.name}[/bold] ({scenario_path.name}) over HTTPS, and the Slack emulator"
    )
    running = prepare(scenario, state_dir=state / "org")
    slack = start_slack()
    started = time.perf_counter()
    report = backfill(running.org, scenario, days)
    console.print(
        f"2. Backfilled {days} days of history in {time.perf_counter() - started:.1f} s: "
        f"{report.api_calls:,} API calls, {report.logins:,} logins, {report.token_refreshes:,} token refreshes"
    )
    start_in_thread(running)
    info = running.info()
    info_path = state / "info.json"
    running.write_info(info_path)
    try:
        sf = connect(info)
        console.print(
            f"3. What the org holds, read with simple-salesforce from {info['instance_url']} (TLS verified against the emulator's CA)\n"
        )
        _users_by_license(console, sf)
        _connected_apps(console, sf)
        _api_calls_yesterday(console, sf, session_for(info), info)
        console.print("\n4. Running the [bold]discover[/bold] flow (Prefect) against the org…")
        findings = _discover(state, info_path, slack, days)
        _findings(console, findings)
        _reasons(console, findings)
        _evidence(console, findings, "MuleSoft")
        _slack(console, slack)
        _plan(console, findings, info_path, "MuleSoft")
        console.print(
            f"\nThe full report is the [bold]discovery-report[/bold] artifact in the Prefect UI (PREFECT_HOME={os.environ.get('PREFECT_HOME', '~/.prefect')})."
        )
    finally:
        running.stop()
        slack.stop()


def _discover(state: Path, info_path: Path, slack: Any, days: int) -> list[dict[str, Any]]:
    # The demo is an entry point: it configures handover through its environment, as a
    # deployment would, then runs the flow exactly as the schedule does.
    os.environ["HANDOVER_STORE__URL"] = f"sqlite:///{state / 'handover.db'}"
    os.environ["HANDOVER_SLACK__TOKEN"] = slack.bot_token
    os.environ["HANDOVER_SLACK__CHANNEL"] = "#handover"
    os.environ["HANDOVER_SLACK__BASE_URL"] = slack.base_url
    from flows.discovery import discover

    started = time.perf_counter()
    findings = discover(emulator_info=str(info_path), window_days=days)
    Console().print(f"   done in {time.perf_counter() - started:.0f} s")
    return findings


def _plan(
    console: Console, findings: list[dict[str, Any]], info_path: Path, app_prefix: str
) -> None:
    import asyncio

    from flows.plan import plan
    from tasks.plan import plan_artifact_key

    chosen = next(
        (
            f
            for f in findings
            if f["app_name"].startswith(app_prefix) and f["verdict"] == "integration_under_human"
        ),
        None,
    )
    if chosen is None:
        return
    console.rule(
        f"6. The least-privilege plan for {chosen['app_name']} (finding {chosen['finding_id']})"
    )
    result = plan(finding_id=chosen["finding_id"], emulator_info=str(info_path))
    markdown = asyncio.run(_latest_artifact(plan_artifact_key(chosen["finding_id"])))
    if markdown:
        console.print(Markdown(markdown))
    console.print(
        f"\nPlan status: [bold]{result['status']}[/bold] · hash {result.get('hash', '')[:16]} · `handover plan --finding {chosen['finding_id']} --emulator {info_path} --json` prints it as JSON."
    )


async def _latest_artifact(key: str) -> str | None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return str(found[0].data) if found else None


def _users_by_license(console: Console, sf: Any) -> None:
    rows = sf.query(
        "SELECT Profile.UserLicense.Name, COUNT(Id) n FROM User WHERE IsActive = true GROUP BY Profile.UserLicense.Name"
    )["records"]
    table = Table(title="Active users by licence")
    table.add_column("Licence")
    table.add_column("Users", justify="right")
    for r in rows:
        table.add_row(r["Name"], str(r["n"]))
    console.print(table)


def _connected_apps(console: Console, sf: Any) -> None:
    apps = sf.query(
        "SELECT Id, Name, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication ORDER BY Name"
    )["records"]
    tokens = Counter(
        r["AppName"] for r in sf.query_all("SELECT AppName, UserId FROM OauthToken")["records"]
    )
    table = Table(title="Connected apps")
    table.add_column("App")
    table.add_column("Id")
    table.add_column("Admin pre-authorized")
    table.add_column("Refresh tokens", justify="right")
    for a in apps:
        table.add_row(
            a["Name"],
            a["Id"],
            "yes" if a["OptionsAllowAdminApprovedUsersOnly"] else "no",
            str(tokens.get(a["Name"], 0)),
        )
    console.print(table)


def _api_calls_yesterday(console: Console, sf: Any, session: Any, info: dict) -> None:
    files = sf.query(
        "SELECT Id, LogDate, LogFileLength FROM EventLogFile WHERE EventType = 'ApiTotalUsage' ORDER BY LogDate DESC LIMIT 1"
    )["records"]
    if not files:
        console.print("(no ApiTotalUsage file yet)")
        return
    f = files[0]
    resp = session.get(
        info["instance_url"]
        + f"/services/data/v{info['api_version']}/sobjects/EventLogFile/{f['Id']}/LogFile",
        headers={"Authorization": f"Bearer {info['access_token']}"},
    )
    resp.raise_for_status()
    reader = csv.reader(io.StringIO(resp.text))
    header = next(reader)
    user, app, client = (
        header.index("USER_NAME"),
        header.index("CONNECTED_APP_NAME"),
        header.index("CLIENT_NAME"),
    )
    counts: Counter[tuple[str, str]] = Counter(
        (row[user], row[app] or row[client] or "(no app)") for row in reader
    )
    table = Table(
        title=f"API calls per user per app on {f['LogDate'][:10]} (ApiTotalUsage, {f['LogFileLength'] / 1e6:.0f} MB)"
    )
    table.add_column("User")
    table.add_column("App or client")
    table.add_column("Calls", justify="right")
    for (u, a), n in counts.most_common():
        table.add_row(u, a, f"{n:,}")
    console.print(table)


def _findings(console: Console, findings: list[dict[str, Any]]) -> None:
    from .tables import findings_table

    console.print(findings_table(findings, title="5. Discovery findings"))


def _reasons(console: Console, findings: list[dict[str, Any]]) -> None:
    for f in findings:
        if f["verdict"] != "integration_under_human":
            continue
        console.print(
            f"\n[bold red]{f['app_name']}[/] as [bold]{f['username']}[/] — score {f['score']:.2f}, finding {f['finding_id']}"
        )
        for reason in f["reasons"]:
            console.print(f"  • {reason}")


def _evidence(console: Console, findings: list[dict[str, Any]], app_prefix: str) -> None:
    chosen = next((f for f in findings if f["app_name"].startswith(app_prefix)), None)
    if chosen is None:
        return
    table = Table(
        title=f"Evidence: {chosen['app_name']} as {chosen['username']} (score {chosen['score']:.2f})"
    )
    table.add_column("Signal")
    table.add_column("What it means")
    table.add_column("Weight", justify="right")
    for e in chosen["evidence"].values():
        table.add_row(e["label"], e["detail"], f"{e['weight']:+.2f}")
    console.print(table)


def _slack(console: Console, slack: Any) -> None:
    messages = slack.workspace.posted("#handover")
    if not messages:
        console.print("Slack: nothing posted.")
        return
    console.print("\nSlack #handover received the digest of new findings:")
    console.print(Markdown("\n".join("> " + line for line in messages[-1].text.splitlines())))
