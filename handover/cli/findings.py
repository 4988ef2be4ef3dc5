"""`handover findings` and `handover dismiss`: the latest findings and where each stands
(new, planned, migrating, migrated, dismissed), from the store alone (no org, no Prefect:
an answer in about a second). Registered on the CLI's `app`."""

from __future__ import annotations

import getpass
import json
from typing import Any

import typer
from rich.console import Console

from handover.errors import HandoverError

from .app import app
from .local_runs import fail, say


def _store_url() -> str:
    from handover.settings import Settings

    return Settings().store.url


def finding_rows(url: str) -> list[dict[str, Any]]:
    """The latest findings as JSON, each with its ``state`` and what it rests on: the
    latest plan's hash, the latest migration, the dismissal."""
    from handover.detect import finding_json
    from handover.lifecycle import finding_state
    from handover.store.finding_book import FindingBook
    from handover.store.ledger import Ledger
    from handover.store.plans import PlanStore

    with FindingBook(url) as book, PlanStore(url) as plans, Ledger(url) as ledger:
        latest = book.latest()
        dismissed = book.dismissed()
        migrations = ledger.migrations()  # the newest first
        rows = []
        for f in latest:
            plan = plans.latest(f.org_id, f.finding_id)
            mine = [m for m in migrations if m.finding_id == f.finding_id]
            d = dismissed.get(f.finding_id)
            row: dict[str, Any] = finding_json(f) | {
                "state": finding_state(
                    planned=plan is not None, migrations=mine, dismissed=d is not None
                ),
                "plan_hash": plan.hash if plan is not None else None,
                "migration_id": mine[0].migration_id if mine else None,
                "dismissed": None
                if d is None
                else {"reason": d.reason, "by": d.dismissed_by, "at": d.dismissed_at.isoformat()},
            }
            rows.append(row)
    flagged_first = {"integration_under_human": 0, "unclear": 1}
    rows.sort(
        key=lambda r: (flagged_first.get(str(r["verdict"]), 2), -float(r["score"]), r["finding_id"])
    )
    return rows


@app.command("findings")
def findings_cmd(
    as_json: bool = typer.Option(
        False,
        "--json",
        help='A JSON list: each finding as `handover discover --json` prints it, with "state", '
        '"plan_hash", "migration_id" and "dismissed" ({"reason", "by", "at"} or null).',
    ),
    state: str | None = typer.Option(
        None, "--state", help="Only these: new, planned, migrating, migrated or dismissed."
    ),
) -> None:
    """The latest discovery run's findings and where each stands: new (nothing done yet),
    planned, migrating, migrated, dismissed. Reads the store only.

    Exit codes: 0 listed (also when there are none); 2 a store that cannot be opened or a
    bad option."""
    from handover.lifecycle import STATES

    if state is not None and state not in STATES:
        fail(ValueError(f"--state must be one of {', '.join(STATES)}, not {state!r}"))
    try:
        rows = finding_rows(_store_url())
    except HandoverError as e:
        fail(e)
    if state is not None:
        rows = [r for r in rows if r["state"] == state]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    from .tables import findings_table

    states = {r["finding_id"]: r["state"] for r in rows}
    table = findings_table(rows, title="Findings (latest discovery)", states=states)
    if not rows:
        table.caption = "none: `handover discover` finds them"
    Console().print(table)
    if rows:
        say(
            "plan one: handover plan --finding ID · set one aside: handover dismiss ID --reason TEXT"
        )


@app.command("dismiss")
def dismiss_cmd(
    finding_id: str = typer.Argument(
        ..., help="The finding (f-...; a unique start of one will do), from `handover findings`."
    ),
    reason: str = typer.Option(
        "", "--reason", help="Why it needs no migration: the next person reads it."
    ),
    undo: bool = typer.Option(False, "--undo", help="Take a dismissal back."),
) -> None:
    """Set a finding aside: `handover findings` shows it dismissed (with the reason) and
    the discovery digest stops mentioning it. Nothing changes in the org.

    Exit codes: 0 done; 2 no such finding, several match, or no --reason."""
    from handover.store.finding_book import FindingBook

    try:
        with FindingBook(_store_url()) as book:
            finding = book.resolve(finding_id)
            if undo:
                gone = book.undismiss(finding)
                say(
                    f"{finding.finding_id}: "
                    + ("no longer dismissed" if gone else "was not dismissed")
                )
                return
            done = book.dismiss(finding, reason, by=getpass.getuser())
    except HandoverError as e:
        fail(e)
    say(
        f"{done.finding_id} dismissed ({finding.app_name} as {finding.username}): "
        f"{done.reason}. `handover dismiss {done.finding_id} --undo` takes it back."
    )
