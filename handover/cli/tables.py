"""Rich tables for the terminal (the CLI's human output)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..render import VERDICT_LABELS

if TYPE_CHECKING:
    from .stack import StackPaths, UpRecord

_STYLE = {
    "integration_under_human": "bold red",
    "unclear": "yellow",
    "dedicated_integration": "green",
    "human_interactive": "cyan",
}


def findings_table(
    findings: list[dict[str, Any]], title: str = "Discovery findings", *, reasons: bool = False
) -> Table:
    table = Table(title=title, show_lines=False)
    columns = [
        ("Finding", "left"),
        ("Verdict", "left"),
        ("Score", "right"),
        ("User", "left"),
        ("App or client", "left"),
        ("Calls", "right"),
    ]
    if reasons:
        columns.append(("Why", "left"))
    for col, just in columns:
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for f in findings:
        row = [
            f["finding_id"],
            f"[{_STYLE[f['verdict']]}]{VERDICT_LABELS[f['verdict']]}[/]",
            f"{f['score']:.2f}",
            f["username"],
            f["app_name"],
            f"{f['total_calls']:,}",
        ]
        if reasons:
            row.append("; ".join(f.get("reasons", [])[:2]))
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
    table.add_row("store", record.store_url)
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


def _here(path: str) -> str:
    """A path relative to the working directory when it is under it (shorter to type)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path
