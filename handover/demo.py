"""`make demo`: the whole story against the bundled emulator, told step by step.

At this stage: start the Loomis Logistics org, backfill 30 days of its integrations'
history, then show through simple-salesforce what the org holds — users by licence,
connected apps, and API calls per user per app read from the event log files.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

SCENARIO = Path(__file__).resolve().parent.parent / "emulators" / "scenarios" / "loomis.yaml"


def run(scenario_path: Path = SCENARIO, days: int = 30, state_dir: Path | None = None) -> None:
    from emulators.salesforce.backfill import backfill
    from emulators.salesforce.client import connect, session_for
    from emulators.salesforce.scenario import load_scenario
    from emulators.salesforce.server import prepare, start_in_thread

    console = Console()
    scenario = load_scenario(scenario_path)
    console.rule(f"[bold]handover demo: {scenario.org.name}")
    console.print(
        f"1. Starting the org emulator for [bold]{scenario.org.name}[/bold] ({scenario_path.name}) over HTTPS"
    )
    running = prepare(scenario, state_dir=state_dir or Path(".handover/demo"))
    started = time.perf_counter()
    report = backfill(running.org, scenario, days)
    console.print(
        f"2. Backfilled {days} days of history in {time.perf_counter() - started:.1f} s: {report}"
    )
    start_in_thread(running)
    info = running.info()
    try:
        sf = connect(info)
        console.print(
            f"3. Connected with simple-salesforce to {info['instance_url']} (trusting the emulator's CA {Path(info['ca_bundle']).name})\n"
        )
        _users_by_license(console, sf)
        _connected_apps(console, sf)
        _api_calls(console, sf, session_for(info), info)
    finally:
        running.stop()


def _users_by_license(console: Console, sf) -> None:
    rows = sf.query(
        "SELECT Profile.UserLicense.Name, COUNT(Id) n FROM User WHERE IsActive = true GROUP BY Profile.UserLicense.Name"
    )["records"]
    table = Table(title="Active users by licence")
    table.add_column("Licence")
    table.add_column("Users", justify="right")
    for r in rows:
        table.add_row(r["Name"], str(r["n"]))
    console.print(table)


def _connected_apps(console: Console, sf) -> None:
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


def _api_calls(console: Console, sf, session, info: dict) -> None:
    files = sf.query_all(
        "SELECT Id, LogDate, LogFileLength FROM EventLogFile WHERE EventType = 'ApiTotalUsage' ORDER BY LogDate"
    )["records"]
    counts: Counter[tuple[str, str]] = Counter()
    total_bytes = 0
    for f in files:
        resp = session.get(
            info["instance_url"]
            + f"/services/data/v{info['api_version']}/sobjects/EventLogFile/{f['Id']}/LogFile",
            headers={"Authorization": f"Bearer {info['access_token']}"},
        )
        resp.raise_for_status()
        total_bytes += len(resp.content)
        for row in csv.DictReader(io.StringIO(resp.text)):
            counts[
                (row["USER_NAME"], row["CONNECTED_APP_NAME"] or row["CLIENT_NAME"] or "(no app)")
            ] += 1
    table = Table(
        title=f"API calls per user per app ({len(files)} daily ApiTotalUsage files, {total_bytes / 1e6:.0f} MB)"
    )
    table.add_column("User")
    table.add_column("App or client")
    table.add_column("Calls", justify="right")
    for (user, app), n in counts.most_common():
        table.add_row(user, app, f"{n:,}")
    console.print(table)
