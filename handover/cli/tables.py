"""Rich tables for the terminal (the CLI's human output)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..render import VERDICT_LABELS

_STYLE = {
    "integration_under_human": "bold red",
    "unclear": "yellow",
    "dedicated_integration": "green",
    "human_interactive": "cyan",
    "handover": "dim",
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
