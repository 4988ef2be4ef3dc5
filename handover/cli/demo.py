"""`make demo`: the whole story on `handover up --emulators`, told step by step.

1. The stack starts: the Loomis Logistics org emulator (backfilled), the Slack emulator,
   a Prefect server with its UI, a worker, the approval service.
2. What the org holds, through simple-salesforce.
3. Discovery (the `discover` flow): the integrations running under human accounts.
4. The least-privilege plan for the MuleSoft NetSuite Sync.
5. The migration (`migrate`, a run of the deployment on the worker): its gates posted in
   Slack and approved by Loomis' approvers, provisioning, the cutover while the sync keeps
   writing Orders (the org's clock moved through the verification window), verification,
   the decommission of Dana's old path, the final report.
6. A second migration whose verification fails (a permission deleted behind its back):
   it rolls back, and the org is as it was.
7. The weekly audit finds a planted unused grant; the proposal is approved in Slack and
   applied (``demo_audit.py``).
8. A leaked key: "Revoke now" on the first migration's Slack thread, the rotation, and the
   integration back on its new key.

The stack stays up at the end, for `handover status`, the Prefect UI and more.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from handover.settings import Settings

from . import demo_audit, demo_org
from .autopilot import Autopilot, Event, Plan
from .record import store_url
from .stack import CODE_ROOT, StackPaths, UpRecord, down, running, up

SCENARIO = CODE_ROOT / "emulators" / "scenarios" / "loomis.yaml"
HANDED_OVER = ("MuleSoft NetSuite Sync", "MuleSoft NetSuite Connector")  # workload, app
ROLLED_BACK = "Warehouse Management System"  # its verification will fail
# The demo's pace: the reaper wakes a migration whose window ended within seconds, and
# the flow keeps watching the org's clock while the demo moves it.
DEMO_ENV = {
    "HANDOVER_APPROVALS__REAPER_INTERVAL_SECONDS": "2",
    "HANDOVER_STACK__WORKER_QUERY_SECONDS": "1",
    "HANDOVER_VERIFY__POLL_SECONDS": "300",
}


def run(scenario_path: Path = SCENARIO, days: int = 30) -> None:
    from handover.settings import Settings

    console = Console()
    for key, value in DEMO_ENV.items():
        os.environ.setdefault(key, value)
    settings = Settings()
    paths = StackPaths.of(settings)
    console.rule("[bold]handover demo: Loomis Logistics")
    record = _fresh_stack(console, settings, paths, scenario_path, days)
    info = Path(record.salesforce_info or "")
    with _on(record):
        sf = demo_org.admin(info)
        console.print("\n2. What the org holds, read with simple-salesforce over HTTPS\n")
        demo_org.users_by_license(console, sf)
        demo_org.connected_apps(console, sf)
        console.print("\n3. The [bold]discover[/bold] flow reads 30 days of logs …")
        findings = _discover(record, info, days)
        demo_org.findings(console, findings)
        _digest(console, record)
        finding = _finding(findings, HANDED_OVER[1])
        console.rule(f"4. The least-privilege plan for {finding['app_name']}")
        plan = _plan(console, finding, info)
        console.rule(f"5. Migrating {finding['app_name']} off {finding['username']}")
        handed_over = _hand_over(console, record, sf, finding, plan)
        wms = _finding(findings, ROLLED_BACK)
        console.rule(f"6. {wms['app_name']}: a verification that fails, and the rollback")
        _roll_back(console, record, sf, wms, info)
        demo_audit.run(console, record, paths, sf, info, handed_over, HANDED_OVER[0])
    _next(console, record, info, wms)


def _fresh_stack(
    console: Console, settings: Any, paths: StackPaths, scenario: Path, days: int
) -> UpRecord:
    """Every demo tells the story from the start: its own stack, a fresh org and store
    (Prefect keeps its history)."""
    if running(paths) is not None:
        console.print("A stack is up here: the demo stops it and starts its own.")
        down(paths, say=console.print)
    # The store is reset only where the demo keeps it: a SQLite file under .handover/.
    if settings.store.url.startswith("sqlite:///"):
        store = Path(settings.store.url.removeprefix("sqlite:///")).resolve()
        if store.is_relative_to(paths.state):
            for stale in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
                stale.unlink(missing_ok=True)
    shutil.rmtree(paths.emulator_state, ignore_errors=True)
    shutil.rmtree(paths.state / "secrets", ignore_errors=True)
    console.print(
        f"1. [bold]handover up --emulators[/bold]: the org emulator ({scenario.name}, "
        f"{days} days of history), the Slack emulator, a Prefect server, a worker and the "
        "approval service, each in the background (logs: .handover/logs/)"
    )
    started = time.monotonic()
    record = up(
        settings, paths, emulators=True, scenario=scenario, backfill_days=days,
        say=lambda line: console.print(f"   {line}", markup=False, highlight=False),
    )  # fmt: skip
    console.print(
        f"   up in {time.monotonic() - started:.0f} s · Prefect UI: [link]{record.ui_url}[/link]"
    )
    return record


def _on(record: UpRecord) -> AbstractContextManager[Any]:
    """Flows the demo runs itself (discovery, plan) report to the stack's server and
    write to its store, as if run from the shell beside it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from .runview import quiet_prefect_console

    quiet_prefect_console()  # their log lines go to the runs (the UI), not over the story
    os.environ["HANDOVER_STORE__URL"] = store_url(record, Settings())
    slack = demo_org.read_json(Path(record.slack_info or ""))
    os.environ["HANDOVER_SLACK__TOKEN"] = slack["bot_token"]
    os.environ["HANDOVER_SLACK__BASE_URL"] = slack["base_url"]
    os.environ["HANDOVER_SLACK__CHANNEL"] = "#handover"
    return temporary_settings({PREFECT_API_URL: record.prefect_api_url})


def _discover(record: UpRecord, info: Path, days: int) -> list[dict[str, Any]]:
    from flows.discovery import discover

    started = time.perf_counter()
    findings = discover(emulator_info=str(info), window_days=days)
    Console().print(f"   done in {time.perf_counter() - started:.0f} s")
    return findings


def _finding(findings: list[dict[str, Any]], app_name: str) -> dict[str, Any]:
    return next(
        f
        for f in findings
        if f["app_name"] == app_name and f["verdict"] == "integration_under_human"
    )


def _digest(console: Console, record: UpRecord) -> None:
    from .emulated import Emulated

    emulated = Emulated(record)
    try:
        posted = emulated.messages()
    finally:
        emulated.close()
    if posted:
        console.print("\nSlack #handover received the digest of new findings:")
        text = posted[-1]["text"]
        console.print(Markdown("\n".join("> " + line for line in text.splitlines()[:12])))


def _plan(console: Console, finding: dict[str, Any], info: Path) -> dict[str, Any]:
    from flows.plan import plan

    result = plan(finding_id=finding["finding_id"], emulator_info=str(info))
    markdown = demo_org.latest_artifact(f"access-plan-{finding['finding_id']}")
    if markdown:
        console.print(Markdown(markdown))
    console.print(
        f"Plan status: [bold]{result['status']}[/bold] · hash {result.get('hash', '')[:16]} · "
        f"cutover: {(result.get('cutover') or {}).get('route')}"
    )
    return result


def _start(record: UpRecord, finding_id: str, **extra: Any) -> tuple[str, str]:
    from . import migrate as m

    where = m.Target(
        record.prefect_api_url,
        record.ui_url,
        store_url(record, Settings()),
        record.salesforce_info,
    )
    request = m.Request(finding_id, emulator_info=record.salesforce_info, **extra)
    migration_id = m.new_id(request)
    run = m.start(where, request.parameters(migration_id))
    return migration_id, f"{record.ui_url}/runs/flow-run/{run.id}"


def _hand_over(
    console: Console, record: UpRecord, sf: Any, finding: dict[str, Any], plan: dict[str, Any]
) -> str:
    from emulators.salesforce.workloads import credential_file

    org = demo_org.read_json(Path(record.salesforce_info or ""))
    creds = credential_file(Path(org["credentials_dir"]), HANDED_OVER[0])
    before = demo_org.human_access(sf, finding)
    before["Their JWT login through the app"] = demo_org.old_path(org, creds, finding["username"])
    migration_id, url = _start(record, finding["finding_id"], sink="file", sink_target=str(creds))
    console.print(
        f"`handover migrate --finding {finding['finding_id']} --sink file --sink-target "
        f"{_here(creds)}` → migration [bold]{migration_id}[/bold]\n   run: [link]{url}[/link]\n"
        f"   The new credentials go to the file the MuleSoft runtime reads ({creds.name}).\n"
    )
    pilot = Autopilot(record, on_event=_teller(console, record, HANDED_OVER[0]))
    try:
        status = pilot.drive([migration_id], timeout=1200)[migration_id]
    finally:
        pilot.close()
    console.print(f"\nOutcome: [bold green]{status.outcome}[/] · {status.outcome_reason}")
    after = demo_org.human_access(sf, finding)
    after["Their JWT login through the app"] = demo_org.old_path(org, creds, finding["username"])
    demo_org.compare(console, f"{finding['username']} through {finding['app_name']}", before, after)
    report = demo_org.latest_artifact(f"migration-{migration_id}")
    if report:
        console.rule(f"The migration report: artifact migration-{migration_id} in the Prefect UI")
        console.print(Markdown(demo_org.head(report, stop="## What changed")))
        console.print(
            "[dim]… what changed, write by write, the verification figures and the org diff: in the UI[/]"
        )
    console.print(f"The run in the Prefect UI: [link]{url}[/link]")
    return migration_id


def _roll_back(
    console: Console, record: UpRecord, sf: Any, finding: dict[str, Any], info: Path
) -> None:
    from flows.plan import plan

    saved = plan(finding_id=finding["finding_id"], emulator_info=str(info))
    before = demo_org.snapshot(sf)
    migration_id, url = _start(record, finding["finding_id"])
    console.print(f"migration [bold]{migration_id}[/bold] · run: [link]{url}[/link]")
    permission_set = saved["permission_set"]["name"]

    def plant() -> None:
        removed = demo_org.delete_one_object_permission(sf, permission_set)
        console.print(
            f"   [red]Planted a missing permission[/red]: {removed} deleted from "
            f"{permission_set} behind the migration's back"
        )

    pilot = Autopilot(record, on_event=_teller(console, record, None))
    try:
        status = pilot.drive(
            [migration_id], plans={migration_id: Plan(before={"cutover": plant})}, timeout=900
        )[migration_id]
    finally:
        pilot.close()
    console.print(f"\nOutcome: [bold yellow]{status.outcome}[/] · {status.outcome_reason}")
    after = demo_org.snapshot(sf)
    demo_org.compare(console, "the org's records a migration touches", before, after)


def _teller(console: Console, record: UpRecord, workload: str | None) -> Any:
    """Tell each thing the autopilot does: the gate message as Slack shows it, who
    clicked, the span the clock moved and how the workload fared."""
    from emulators.slack.scenario import load_slack_users

    _, users = load_slack_users(Path(record.scenario or ""))
    names = {u.id: u.name for u in users or []}

    def tell(event: Event) -> None:
        if event.kind == "gate" and event.message is not None:
            for i, line in enumerate(demo_org.gate_lines(event.message)):
                console.print(
                    ("[bold cyan]Slack[/] " if i == 0 else "      ") + line, highlight=False
                )
        elif event.kind == "decided":
            who = ", ".join(names.get(u, u) for u in event.who)
            console.print(f"      [green]✓ approved[/] by {who} (clicked in the Slack emulator)")
        elif event.kind == "clock" and event.summary is not None:
            _span(console, event.summary, workload)

    return tell


def _span(console: Console, summary: dict[str, Any], workload: str | None) -> None:
    hours = summary["seconds"] / 3600
    console.print(
        f"\n[bold]The org's clock moves {hours:.0f} h[/] ({summary['started'][:16]} → "
        f"{summary['now'][:16]} UTC), every workload running live "
        f"({summary['wall_seconds']:.0f} s)"
    )
    table = Table(title="Per workload over the span")
    for col in ("Workload", "Runs", "Logged in as", "Calls ok", "Failed"):
        table.add_column(col, justify="right" if col in ("Runs", "Calls ok", "Failed") else "left")
    for name, w in summary["workloads"].items():
        if workload is not None and name != workload and not w.get("calls_failed"):
            continue
        table.add_row(
            f"[bold]{name}[/]" if name == workload else name,
            str(w["runs"]),
            ", ".join(w["users"]),
            f"{w['calls_ok']:,}",
            f"[{'red' if w['calls_failed'] else 'green'}]{w['calls_failed']:,}[/]",
        )
    console.print(table)


def _next(console: Console, record: UpRecord, info: Path, finding: dict[str, Any]) -> None:
    console.rule("The stack is still up")
    console.print(f"Prefect UI (runs, the migration reports, plans): [link]{record.ui_url}[/link]")
    exe = _handover_command()
    for command in (
        f"{exe} findings",
        f"{exe} status",
        f"{exe} plan --finding {finding['finding_id']} --emulator {_here(info)}",
        f"{exe} audit --no-ask --emulator {_here(info)}",
        f"{exe} down",
    ):
        console.print(f"  [cyan]{command}[/]", highlight=False, soft_wrap=True)  # copyable


def _handover_command() -> str:
    """How to call handover from this shell: `handover` when it is on the PATH (an
    activated venv), else its path in the venv `make demo` installed it into."""
    beside = Path(sys.executable).parent / "handover"
    found = shutil.which("handover")
    if found and Path(found).resolve() == beside.resolve():
        return "handover"
    return _here(beside)


def _here(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
