"""`handover discover` and `handover plan`: flows run in this process, reporting to the
stack's Prefect server when one is up here (their runs show in its UI), else to a
temporary one Prefect starts for the run.

What a person sees first comes before Prefect is even imported (seconds on a small
machine): the org reached and who handover is there, or for a plan, the finding it is
about; an unknown finding id or an org that cannot be reached is one line and exit 2
within a second or two. Then the run's address and its progress (runview.py), then the
result. Short finding ids (a unique start: `f-b946`, `b946`) are accepted."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from handover.errors import HandoverError
from handover.settings import Settings

REFUSED_EXIT = 3  # documented in `handover plan --help`
CONFIG_EXIT = 2

err = Console(stderr=True)


def say(line: str) -> None:
    err.print(line, markup=False, highlight=False, soft_wrap=True)


def fail(error: Exception, code: int = CONFIG_EXIT) -> NoReturn:
    err.print("[red]error:[/red] ", end="")
    say(str(error))
    raise typer.Exit(code)


def org_config(settings: Settings, org: str | None, emulator: Path | None) -> Any:
    """The org's entry (orgs file or emulator info): a bad one is one message now."""
    from handover.salesforce.connection import resolve

    return resolve(settings.salesforce.orgs_file, org, emulator, settings.salesforce.default_org)


def preflight(
    settings: Settings, org: str | None, emulator: Path | None, config: Any = None
) -> Any:
    """Log in and check every permission discovery needs, without Prefect: one message
    saying what to fix, before any run exists. The gateway, logged in."""
    from handover.salesforce import SalesforceGateway
    from handover.salesforce.connection import login

    config = config or org_config(settings, org, emulator)
    sf = login(
        config,
        api_version=settings.salesforce.api_version,
        timeout=settings.salesforce.timeout_seconds,
        read_only=settings.salesforce.read_only,
    )
    gateway = SalesforceGateway(sf, org_name=config.name)
    gateway.org_id()
    gateway.preflight()
    return gateway


def _flows_ahead() -> None:
    """Polars reads its tuning when it is first imported: before the flow modules."""
    from handover.usage.parse import tune_polars

    tune_polars(os.environ)


def ui_url() -> str | None:
    """The UI of the server runs from here report to; None (and a note) when Prefect will
    start a temporary one."""
    from . import prefect_api

    api = os.environ.get("PREFECT_API_URL")
    if api:
        return prefect_api.ui_url(api)
    say(
        "no stack is up here: Prefect starts a temporary server for this run (~15 s), "
        "and its history goes with it. `handover up` keeps one running, with its UI."
    )
    return None


def discover(
    *, org: str | None, emulator: Path | None, window_days: int | None, as_json: bool,
    verbose: bool,
) -> None:  # fmt: skip
    settings = Settings()
    days = window_days or settings.detection.window_days
    try:
        config = org_config(settings, org, emulator)
        say(f"discovery of {config.name}, the last {days} days: logging in …")
        gateway = preflight(settings, org, emulator, config)
    except HandoverError as e:
        fail(e)
    say(f"logged in to {gateway.org_name} ({gateway.org_id()}), every permission it needs there")
    ui = ui_url()
    _flows_ahead()
    from flows.discovery import discover as flow

    from .runview import watching

    try:
        with watching(err, "discover", ui_url=ui, verbose=verbose):
            findings = flow(
                org=org, emulator_info=str(emulator) if emulator else None, window_days=days
            )
    except HandoverError as e:
        fail(e)
    if as_json:
        typer.echo(json.dumps(findings, indent=2, default=str))
        return
    from .tables import findings_table

    Console().print(findings_table(findings, reasons=True))
    flagged = sum(f["verdict"] == "integration_under_human" for f in findings)
    say(
        f"{len(findings)} findings, {flagged} integrations under human accounts. "
        "Next: `handover plan --finding ID` (`handover findings` lists them again)."
    )


def plan(
    *, finding: str, org: str | None, emulator: Path | None, as_json: bool, verbose: bool
) -> None:
    settings = Settings()
    try:
        found = _finding(settings, finding)
        say(f"planning {found.finding_id}: {found.app_name} as {found.username}")
        preflight(settings, org, emulator)
    except HandoverError as e:
        fail(e)
    ui = ui_url()
    _flows_ahead()
    from flows.plan import plan as flow

    from .runview import watching

    try:
        with watching(err, "plan", ui_url=ui, verbose=verbose):
            result = flow(
                finding_id=found.finding_id,
                org=org,
                emulator_info=str(emulator) if emulator else None,
            )
    except HandoverError as e:
        fail(e)
    refused = result.get("status") in ("insufficient_evidence", "refused")
    if as_json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        from rich.markdown import Markdown

        from handover.models import AccessPlan, PlanRefusal
        from handover.render import render_plan_markdown

        model = PlanRefusal if refused else AccessPlan
        Console().print(Markdown(render_plan_markdown(model.model_validate(result))))
    if refused:
        # Org data (names, queries) is printed as is: no Rich markup, no wrapping mid-reason.
        err.print("[red]no plan:[/red] ", end="")
        say(result["headline"])
        for reason in result.get("reasons", []):
            say(f"  - {reason}")
        raise typer.Exit(REFUSED_EXIT)
    if not as_json:
        say(
            f"plan {result.get('hash', '')[:12]} saved ({result.get('status')}). Next: "
            f"`handover migrate --finding {found.finding_id}` (or --dry-run first)"
        )


def _finding(settings: Settings, finding_id: str) -> Any:
    """The finding from the store, by its whole or short id: a typo is one line now, not
    a failed run later."""
    from handover.store.finding_book import FindingBook

    with FindingBook(settings.store.url) as book:
        return book.resolve(finding_id)
