"""`handover audit`: the access review of every dedicated Integration User, on demand (the
`audit` deployment runs it weekly). It runs the `audit` flow from this shell; proposals go
through Slack gates when approvals are configured, and are only reported otherwise."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from .app import _preflight, app, console


@app.command("audit")
def audit_cmd(
    org: str | None = typer.Option(None, "--org", help="Org name from the orgs file."),
    emulator: Path | None = typer.Option(
        None, "--emulator", help="Connect with an emulator's --info file instead."
    ),
    ask: bool = typer.Option(
        True, "--ask/--no-ask", help="Ask at a Slack gate for each proposal (when configured)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the review as JSON."),
    verbose: bool = typer.Option(
        False, "--verbose", help="Show Prefect's log lines here too (they always go to the run)."
    ),
) -> None:
    """Review every dedicated Integration User: what it holds, what it used and was denied,
    and the proposal (removals on enough evidence, additions for denied calls, risks)."""
    from handover.errors import HandoverError

    if as_json:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from rich.console import Console

    from flows.audit import audit

    from .local_runs import ui_url
    from .runview import watching

    try:
        _preflight(org, emulator)
        with watching(Console(stderr=True), "audit", ui_url=ui_url(), verbose=verbose):
            result = audit(
                org=org, emulator_info=str(emulator) if emulator else None, ask_approval=ask
            )
    except HandoverError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    for user in result["users"]:
        outcome = result["outcomes"].get(user["user_id"], "no change proposed")
        apps = ", ".join(user["apps"]) or "made by handover, not yet seen by discovery"
        typer.echo(f"{user['username']} ({apps}): {outcome}")
        for change in user["changes"]:
            verb = "remove" if change["kind"] == "remove" else "add"
            typer.echo(f"  {verb} {', '.join(change['flags'])} on {change['object']}: "
                       f"{change['reason']}")  # fmt: skip
        for risk in user["risks"]:
            typer.echo(f"  risk ({risk['level']}): {risk['permission']} in {risk['where']}")
    if not result["users"]:
        typer.echo("no dedicated Integration User found: run discovery first (`handover discover`)")
