"""Rich tables for the terminal (the CLI's human output)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from ..models.migration import MigrationStatus
    from .migrate import View
    from .stack import StackPaths, UpRecord

_STYLE = {
    "integration_under_human": "bold red",
    "unclear": "yellow",
    "dedicated_integration": "green",
    "human_interactive": "cyan",
    "handover": "dim",
}


# Short verdicts: the table must fit 80 columns with every id whole.
_VERDICT_SHORT = {
    "integration_under_human": "under a human",
    "dedicated_integration": "dedicated",
    "human_interactive": "human",
    "unclear": "unclear",
    "handover": "handover",
}
_STATE_STYLE = {
    "new": "bold",
    "planned": "cyan",
    "migrating": "magenta",
    "migrated": "green",
    "dismissed": "dim",
}


def findings_table(
    findings: list[dict[str, Any]],
    title: str = "Discovery findings",
    *,
    reasons: bool = False,
    states: dict[str, str] | None = None,
) -> Table:
    """One row per finding; ids are never cut (a person copies them into the next
    command), the rest folds to fit the terminal. With ``reasons``, the finding's first
    reason under its row."""
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_lines=reasons,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("Finding", no_wrap=True, min_width=14)
    if states is not None:
        table.add_column("State", no_wrap=True)
    table.add_column("Verdict · score", no_wrap=True)
    table.add_column("User · app or client", overflow="fold", ratio=1)
    table.add_column("Calls", justify="right", no_wrap=True)
    for f in findings:
        who = f"{f['username']}\n[bold]{f['app_name']}[/]"
        if reasons and f.get("reasons"):
            who += f"\n[dim]{f['reasons'][0]}[/]"
        row = [f["finding_id"]]
        if states is not None:
            state = states.get(f["finding_id"], "new")
            row.append(f"[{_STATE_STYLE.get(state, '')}]{state}[/]")
        row += [
            f"[{_STYLE[f['verdict']]}]{_VERDICT_SHORT.get(f['verdict'], f['verdict'])}[/]"
            f"\n[dim]{f['score']:.2f}[/]",
            who,
            f"{f['total_calls']:,}",
        ]
        table.add_row(*row)
    return table


def stack_summary(record: UpRecord, paths: StackPaths) -> Group:
    """What `handover up` started, where, and what to run next."""
    table = Table(title="handover is up", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Prefect UI", record.ui_url)
    table.add_row("Prefect API", record.prefect_api_url)
    table.add_row("approval service", record.approvals_url)
    if record.salesforce_info:
        table.add_row("Salesforce emulator", _here(record.salesforce_info))
    if record.slack_info:
        table.add_row("Slack emulator", _here(record.slack_info))
    table.add_row("store", _no_password(record.store_url))
    table.add_row("Prefect database", record.prefect_database)
    workers = [p for p in record.pids if p == "worker" or p.startswith("worker-")]
    if len(workers) > 1:
        table.add_row("workers", f"{len(workers)} on the pool")
    table.add_row("logs", _here(str(paths.logs)) + "/")
    emulator = f" --emulator {_here(record.salesforce_info)}" if record.salesforce_info else ""
    steps = [
        f"handover discover{emulator}",
        f"handover plan --finding <finding id>{emulator}",
        "handover migrate --finding <finding id>",
        "handover status",
        "handover down",
    ]
    return Group(table, Text("Next:"), *(Text(f"  {step}", style="cyan") for step in steps))


def _no_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _here(path: str) -> str:
    """A path relative to the working directory when it is under it (shorter to type)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


_OUTCOME_STYLE = {
    "successful": "bold green",
    "failed": "bold red",
    "rolled_back": "bold yellow",
    "rejected": "yellow",
    "expired": "yellow",
}


def _when(at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone()
    ago = datetime.now(UTC) - at
    minutes = int(ago.total_seconds() // 60)
    age = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
    return f"{local:%H:%M:%S} ({age} ago)"


def migration_panel(view: View) -> Panel:
    """The live display of one migration: run state, step, gate and since when, UI link."""
    s = view.status
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    if s is not None:
        grid.add_row("integration", f"{s.app_name} (as {s.human_username})")
        grid.add_row("plan", s.plan_hash[:16])
    grid.add_row("run", f"{view.state}")
    grid.add_row("step", (s.step or "") if s is not None else "starting …")
    if s is not None and s.waiting_at:
        grid.add_row(
            "waiting at",
            Text(f"gate {s.waiting_at} since {_when(s.waiting_since)}: decide in Slack", "cyan"),
        )
    if s is not None and s.outcome:
        grid.add_row("outcome", Text(s.outcome, _OUTCOME_STYLE.get(s.outcome, "")))
    grid.add_row("Prefect UI", view.run_url)
    title = f"migration {view.migration_id}" + (" (dry run)" if s is not None and s.dry_run else "")
    return Panel(grid, title=title, title_align="left")


def migration_outcome(view: View, outcome: dict[str, Any]) -> Group:
    """The end of `handover migrate`: the outcome, its reason, and the ledger's writes."""
    parts: list[Any] = [migration_panel(view)]
    if outcome.get("outcome_reason"):
        parts.append(Text(f"reason: {outcome['outcome_reason']}"))
    elif view.ended and view.message and view.state_type != "COMPLETED":
        parts.append(Text(f"Prefect: {view.message}"))
    steps = outcome.get("steps") or []
    if steps:
        table = Table(title="Writes (dry run: would make)" if outcome.get("dry_run") else "Writes")
        for col in ("Action", "Object", "Target", "Status"):
            table.add_column(col)
        for step in steps:
            table.add_row(
                str(step.get("action", "")),
                str(step.get("object", "")),
                str(step.get("target", "")),
                str(step.get("status", "dry run")),
            )
        parts.append(table)
    return Group(*parts)


def migrations_table(migrations: list[MigrationStatus], *, ui_url: str | None = None) -> Table:
    table = Table(title="Migrations", title_justify="left")
    table.add_column("Migration", no_wrap=True, min_width=14)  # ids are copied: never cut
    for col in ("Integration", "Step", "Waiting at", "Outcome"):
        table.add_column(col, overflow="fold")
    for m in migrations:
        waiting = f"{m.waiting_at} since {_when(m.waiting_since)}" if m.waiting_at else ""
        outcome = "dry run" if m.dry_run else (m.outcome or "open")
        table.add_row(
            f"{m.migration_id}\n[dim]{m.finding_id}[/]",
            f"{m.app_name}\n[dim]as {m.human_username}[/]",
            m.step or "",
            waiting,
            f"[{_OUTCOME_STYLE.get(m.outcome or '', 'cyan')}]{outcome}[/]",
        )
    if not migrations:
        table.caption = "none yet: `handover migrate --finding ID` starts one"
    elif ui_url:
        table.caption = f"their runs: {ui_url}/runs"
    return table
