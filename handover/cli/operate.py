"""The operating stack's commands: `handover up`, `down`, `migrate`, `status`, `resume`
(registered on the CLI's `app`). Each builds settings, calls the module that does the
work (stack.py, migrate.py) and turns its errors into one message and an exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from .app import app, console


def _say(line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True)


def _fail(error: Exception, code: int) -> typer.Exit:
    console.print("[red]error:[/red] ", end="")
    _say(str(error))
    return typer.Exit(code)


@app.command("up")
def up_cmd(
    emulators: bool = typer.Option(
        False,
        "--emulators",
        help="Also start the Salesforce emulator (the scenario's org) and the Slack emulator.",
    ),
    scenario: Path | None = typer.Option(
        None, "--scenario", help="Scenario YAML of the emulated org (default: loomis.yaml)."
    ),
    backfill_days: int = typer.Option(
        30, "--backfill-days", min=0, max=365, help="Days of history the emulator backfills."
    ),
) -> None:
    """Start the local stack in the background: a Prefect server (UI), a worker on pool
    `handover`, the deployments of prefect.yaml and the approval service; with --emulators
    the Salesforce and Slack emulators too. State and logs: .handover/ (up.json says what
    runs where). `handover down` stops it.

    Exit codes: 0 up; 1 a part did not start (which one, and its log, is printed; what had
    started is stopped again) or a stack is already up here; 2 configuration.
    """
    from handover.errors import ConfigError, StackError
    from handover.settings import Settings

    from .stack import StackPaths, up

    settings = Settings()
    paths = StackPaths.of(settings)
    try:
        record = up(
            settings,
            paths,
            emulators=emulators,
            scenario=scenario,
            backfill_days=backfill_days,
            say=_say,
        )
    except ConfigError as e:
        raise _fail(e, 2) from None
    except StackError as e:
        raise _fail(e, 1) from None
    from .tables import stack_summary

    Console().print(stack_summary(record, paths))


@app.command("down")
def down_cmd() -> None:
    """Stop what `handover up` started here (SIGTERM, then SIGKILL after 10 s) and remove
    .handover/up.json. Harmless when nothing runs. Migrations waiting at a gate keep
    waiting: the next `handover up` picks them up again."""
    from handover.settings import Settings

    from .stack import StackPaths, down

    down(StackPaths.of(Settings()), say=_say)


MIGRATE_EXIT_CODES = """Exit codes:
0: handed over (outcome successful), a dry run done, or (--no-follow) the run created;
2: configuration: no stack or Prefect server, a bad option, an org that cannot be reached,
   or a run the flow refused before it began (no saved plan, a plan not ready: the reason
   is printed);
3: not handed over: rejected, expired, rolled back or failed (the reason is printed);
4: the run ended without an outcome (crashed or cancelled): `handover resume ID` continues it;
130: interrupted while following (the migration goes on; `handover status` shows it)."""


@app.command(
    "migrate",
    help=f"""Migrate one finding's integration onto its Integration User.

Creates a run of the `migrate` deployment on the running stack (`handover up`) and follows
it: the step, the gate it waits at and since when, the Prefect UI link. Approvals happen
in Slack; the run waits at each gate without holding a worker.

--json prints {{"migration_id", "flow_run_id", "ui_url", "state", "outcome", "steps"}}
when the run ends (with --no-follow: at once); a dry run's steps are the writes it would
make ({{"action", "object", "target", "before", "after"}}), nothing is written.

{MIGRATE_EXIT_CODES}""",
)
def migrate_cmd(
    finding: str = typer.Option(..., "--finding", help="Finding id (f-...) with a saved plan."),
    org: str | None = typer.Option(None, "--org", help="Org name from the orgs file."),
    emulator: Path | None = typer.Option(
        None,
        "--emulator",
        help="An emulator's --info file (default with `handover up --emulators`: its org).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Ask nothing, write nothing: list every write it would make."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
    no_follow: bool = typer.Option(
        False, "--no-follow", help="Create the run and return (its ids) without waiting."
    ),
    plan: str | None = typer.Option(
        None, "--plan", help="The saved plan's hash (default: the finding's latest plan)."
    ),
    sink: str | None = typer.Option(
        None,
        "--sink",
        help="Where new credentials go: prefect-secret (default), file, operator.",
    ),
    sink_target: str | None = typer.Option(
        None, "--sink-target", help="The sink's target (file: the JSON file the system reads)."
    ),
    route: str | None = typer.Option(
        None,
        "--route",
        help="For a refresh-token app: the route the external system switches to "
        "(jwt_bearer, client_credentials).",
    ),
) -> None:
    from handover.errors import HandoverError
    from handover.settings import Settings

    from . import migrate as m

    settings = Settings()
    try:
        if settings.salesforce.read_only:
            from flows.migration import refuse_in_discovery_only_mode

            refuse_in_discovery_only_mode(settings)
        where = m.target(settings)
        info = str(emulator.resolve()) if emulator else None
        if info is None and org is None:
            info = where.emulator_info
        request = m.Request(
            finding_id=finding,
            org=org,
            emulator_info=info,
            dry_run=dry_run,
            plan_hash=plan,
            sink=sink,
            sink_target=str(Path(sink_target).resolve())
            if sink_target and sink == "file"
            else sink_target,
            route=route,
        )
        request.check()
        _preflight_org(org, Path(info) if info else None)
        migration_id = m.new_id(request)
        run = m.start(where, request.parameters(migration_id))
    except HandoverError as e:
        raise _fail(e, m.EXIT_CONFIG) from None
    _after_start(where, migration_id, str(run.id), as_json=as_json, follow=not no_follow,
                 dry_run=dry_run)  # fmt: skip


@app.command(
    "resume",
    help=f"""Continue a migration whose last run crashed or was killed.

Marks that run Crashed (when Prefect still thinks it runs) and creates a new run of
`migrate` with the same migration id: the ledger makes every step already done a no-op,
so it continues where it stopped, with no duplicate records. A migration waiting at a gate
needs no resume (its gate's decision in Slack continues it). Refused while the last run
may be alive: scheduled (a worker will take it), being started, or its process still
running on this machine (--force overrides, when you know better).

{MIGRATE_EXIT_CODES}""",
)
def resume_cmd(
    migration_id: str = typer.Argument(..., help="The migration (m-...), from `handover status`."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
    no_follow: bool = typer.Option(False, "--no-follow", help="Create the run and return."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Resume although the last run may be alive (scheduled, being started, or its "
        "process still running here): only when you know it is gone.",
    ),
) -> None:
    from handover.errors import HandoverError
    from handover.settings import Settings

    from . import migrate as m

    try:
        where = m.target(Settings())
        run, old = m.resume(where, migration_id, force=force)
    except HandoverError as e:
        raise _fail(e, m.EXIT_CONFIG) from None
    if old and not as_json:
        _say(f"run {old} marked Crashed; new run {run.id}")
    dry_run = bool((run.parameters or {}).get("dry_run"))
    _after_start(where, migration_id, str(run.id), as_json=as_json, follow=not no_follow,
                 dry_run=dry_run)  # fmt: skip


def _preflight_org(org: str | None, emulator: Path | None) -> None:
    """Reach the org from here first, so a bad config is one message now, not a failed
    run on the worker later."""
    from .app import _preflight

    _preflight(org, emulator)


def _after_start(
    where: Any, migration_id: str, flow_run_id: str, *, as_json: bool, follow: bool, dry_run: bool
) -> None:
    from . import migrate as m
    from . import prefect_api

    url = prefect_api.run_url(where.ui_url, flow_run_id)
    if not follow:
        if as_json:
            typer.echo(json.dumps({
                "migration_id": migration_id, "flow_run_id": flow_run_id, "ui_url": url,
                "state": "Scheduled", "outcome": None, "steps": [],
            }, indent=2))  # fmt: skip
        else:
            _say(f"migration {migration_id} started: {url}")
            _say(
                f"follow it with `handover status` (or in the UI); resume: handover resume {migration_id}"
            )
        return
    if not as_json:
        _say(f"migration {migration_id}: {url}")
    try:
        view = _follow(where, migration_id, flow_run_id, quiet=as_json)
    except KeyboardInterrupt:
        _say(f"\nstopped following; migration {migration_id} goes on (`handover status`, {url})")
        raise typer.Exit(m.EXIT_INTERRUPTED) from None
    outcome = m.result(where, view, dry_run=dry_run)
    code = m.exit_code(view)
    if as_json:
        typer.echo(json.dumps(outcome, indent=2, default=str))
    else:
        from .tables import migration_outcome

        Console().print(migration_outcome(view, outcome))
    if code == m.EXIT_CONFIG and outcome.get("outcome_reason"):
        # Refused before it began (a lock, no saved plan): the reason, as one line.
        console.print("[red]error:[/red] ", end="")
        _say(str(outcome["outcome_reason"]))
    raise typer.Exit(code)


def _follow(where: Any, migration_id: str, flow_run_id: str, *, quiet: bool) -> Any:
    """The live display: a panel redrawn in place on a terminal, a line per change
    elsewhere, nothing with --json (stdout is the JSON's)."""
    from rich.live import Live

    from . import migrate as m
    from .tables import migration_panel

    if quiet:
        return m.follow(where, migration_id, flow_run_id, lambda view: None)
    if console.is_terminal:
        with Live(console=console, auto_refresh=False) as live:
            return m.follow(
                where,
                migration_id,
                flow_run_id,
                lambda view: live.update(migration_panel(view), refresh=True),
            )
    seen: list[str] = []

    def line(view: Any) -> None:
        if not seen or seen[-1] != view.line():
            seen.append(view.line())
            _say(view.line())

    return m.follow(where, migration_id, flow_run_id, line)


@app.command("status")
def status_cmd(
    as_json: bool = typer.Option(
        False,
        "--json",
        help='A JSON list: {"migration_id", "finding_id", "flow_run_id", "step", '
        '"waiting_at", "waiting_since", "outcome"} per migration.',
    ),
) -> None:
    """Every migration in the store: its step, the gate it waits at and since when, its
    outcome (empty while open; successful, failed, rolled_back, rejected or expired)."""
    from handover.errors import HandoverError
    from handover.settings import Settings
    from handover.store.ledger import Ledger

    from .record import store_url
    from .stack import StackPaths, running

    settings = Settings()
    record = running(StackPaths.of(settings))
    try:
        url = store_url(record, settings) if record is not None else settings.store.url
        with Ledger(url) as ledger:
            migrations = ledger.migrations()
    except HandoverError as e:
        raise _fail(e, 2) from None
    if as_json:
        typer.echo(json.dumps([s.status_json() for s in migrations], indent=2, default=str))
        return
    from .tables import migrations_table

    ui = record.ui_url if record is not None else None
    Console().print(migrations_table(migrations, ui_url=ui))
