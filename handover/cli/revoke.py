"""`handover revoke`: the emergency revoke, and the rotation after it, from the command
line. It connects and writes from this process (no flow run, no worker: seconds count),
through the ledger of the stack's store; what it did is printed and recorded."""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path
from typing import Any

import typer

from .app import app, console

EXIT_CONFIG, EXIT_NOT_BACK = 2, 3


def _say(line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command(
    "revoke",
    help="""Revoke now: every OAuth token of an app (or of a user), their live sessions ended,
optionally the users frozen; recorded in the ledger (an r- id) and printed.

With --rotate, new credentials follow at once (a new certificate for JWT bearer, a new
client secret, or a new password), handed to the integration through its credential sink
(the one its migration used, or --sink/--sink-target), and the users the revoke froze are
unfrozen. --wait-back N then waits up to N seconds for the integration to log in again.

Exit codes: 0 done (and back, when waited for); 2 configuration; 3 not back in time.""",
)
def revoke_cmd(
    app_name: str | None = typer.Option(None, "--app", help="Connected app name."),
    username: str | None = typer.Option(None, "--user", help="Username (every app of it)."),
    org: str | None = typer.Option(None, "--org", help="Org name from the orgs file."),
    emulator: Path | None = typer.Option(
        None, "--emulator", help="An emulator's --info file (default: the stack's emulator)."
    ),
    freeze: bool = typer.Option(False, "--freeze", help="Also freeze the users (UserLogin)."),
    rotate: bool = typer.Option(False, "--rotate", help="Renew the integration's credentials."),
    rotate_user: str | None = typer.Option(
        None, "--rotate-user", help="The integration's user, when several log in via the app."
    ),
    sink: str | None = typer.Option(None, "--sink", help="file, prefect-secret, operator."),
    sink_target: str | None = typer.Option(None, "--sink-target", help="The sink's target."),
    wait_back: float = typer.Option(
        0, "--wait-back", min=0, help="Seconds to wait for the integration to log in again."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    from handover.emergency import revoke
    from handover.errors import HandoverError
    from handover.models.revoke import RevokeOrder
    from handover.settings import Settings
    from handover.store.ledger import Ledger

    settings = Settings()
    out: dict[str, Any] = {}
    try:
        order = RevokeOrder(
            app=app_name, username=username, freeze=freeze, requested_by=f"cli:{_who()}"
        )
        gateway, store_url = connect(settings, org, emulator)
        with Ledger(store_url) as ledger:
            report = revoke(gateway, ledger, order)
            out["revoke"] = report.as_json()
            if not as_json:
                print_revoke(report)
            if rotate:
                rotation = rotate_after(
                    gateway, ledger, settings, report.revoke_id, app_name, username,
                    rotate_user, sink, sink_target,
                )  # fmt: skip
                out["rotation"] = rotation.model_dump(mode="json")
                if not as_json:
                    _say(f"rotated: {', '.join(rotation.kinds)} of {rotation.username}, "
                         f"handed over through {rotation.sink}"
                         + ("; unfrozen" if rotation.unfrozen else ""))  # fmt: skip
                if wait_back:
                    back = wait_until_back(gateway, ledger, report.revoke_id, wait_back)
                    out["rotation"] = back.model_dump(mode="json")
                    if not as_json:
                        _say(("back: " if back.back else "not back: ") + "; ".join(back.reasons))
    except HandoverError as e:
        console.print("[red]error:[/red] ", end="")
        _say(str(e))
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))
    if out.get("rotation", {}).get("back") is False:
        raise typer.Exit(EXIT_NOT_BACK)


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def connect(settings: Any, org: str | None, emulator: Path | None) -> tuple[Any, str]:
    """The org (logged in here, without Prefect: no API server is started for a revoke)
    and the store's URL: the stack's when one is up here, else the settings'."""
    from handover.salesforce import SalesforceGateway
    from handover.salesforce.connection import login, resolve

    from .stack import StackPaths, running

    record = running(StackPaths.of(settings))
    info = emulator.resolve() if emulator else None
    if info is None and org is None and record is not None and record.salesforce_info:
        info = Path(record.salesforce_info)
    config = resolve(settings.salesforce.orgs_file, org, info, settings.salesforce.default_org)
    sf = login(
        config,
        api_version=settings.salesforce.api_version,
        timeout=settings.salesforce.timeout_seconds,
    )
    store_url = record.store_url if record is not None else settings.store.url
    return SalesforceGateway(sf, org_name=config.name), store_url


def print_revoke(report: Any) -> None:
    _say(f"{report.revoke_id}: {report.order.what()} revoked in {report.seconds:.2f} s")
    table_lines = [
        f"  {u.username}: {u.tokens} tokens revoked, {u.sessions} sessions ended"
        + (", frozen" if u.frozen else "")
        for u in report.users
    ]
    for line in table_lines or ["  nothing to revoke: no token or live session found"]:
        _say(line)
    for note in report.notes:
        _say(f"note: {note}")


def sink_of_migration(ledger: Any, app_name: str) -> tuple[str, str | None] | None:
    """The credential sink of the app's last successful migration (where its external
    system reads its credentials), if handover migrated it."""
    for status in ledger.migrations():
        if (
            status.migration_id.startswith("m-")
            and status.outcome == "successful"
            and not status.dry_run
            and status.app_name.casefold() == app_name.casefold()
        ):
            params = ledger.facts(status.migration_id).get("params") or {}
            if params.get("sink"):
                return str(params["sink"]), params.get("sink_target")
    return None


def rotate_after(
    gateway: Any,
    ledger: Any,
    settings: Any,
    revoke_id: str,
    app_name: str | None,
    username: str | None,
    rotate_user: str | None,
    sink: str | None,
    sink_target: str | None,
) -> Any:
    from handover.errors import ConfigError
    from handover.rotation import integration_of, rotate
    from tasks.credentials import build_sink, sink_kind

    if not app_name:
        raise ConfigError("--rotate renews an app's credentials: name the app with --app")
    integration = integration_of(gateway, app_name, rotate_user or username)
    chosen = (sink, sink_target) if sink else sink_of_migration(ledger, app_name)
    if chosen is None:
        raise ConfigError(
            f"where does {app_name} read its credentials? handover did not migrate it, so it "
            "knows no credential sink: give --sink file --sink-target PATH (or prefect-secret)"
        )
    kind = sink_kind(chosen[0], settings.cutover)
    target = str(Path(chosen[1]).resolve()) if kind == "file" and chosen[1] else chosen[1]
    built = build_sink(kind, target, revoke_id, settings.cutover)
    return rotate(gateway, ledger, revoke_id, integration, built)


def wait_until_back(gateway: Any, ledger: Any, revoke_id: str, seconds: float) -> Any:
    from handover.rotation import check_back

    deadline = time.monotonic() + seconds
    while True:
        report = check_back(gateway, ledger, revoke_id)
        if report.back or time.monotonic() >= deadline:
            return report
        time.sleep(min(5.0, max(deadline - time.monotonic(), 0.1)))
