"""`handover ...`: the command line. Entry points build settings and pass them down."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Move Salesforce integrations off human accounts.",
)
emulator_app = typer.Typer(
    no_args_is_help=True, help="The bundled emulators: a Salesforce org, Slack."
)
app.add_typer(emulator_app, name="emulator")
approvals_app = typer.Typer(no_args_is_help=True, help="The Slack approval service for gates.")
app.add_typer(approvals_app, name="approvals")
console = Console(stderr=True)


def _prefect_defaults() -> None:
    """Prefect runs offline and local unless the user configured otherwise."""
    os.environ.setdefault("PREFECT_HOME", str(Path.cwd() / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@emulator_app.command("serve")
def emulator_serve(
    scenario: Path = typer.Option(
        ..., "--scenario", help="Scenario YAML (e.g. emulators/scenarios/loomis.yaml)."
    ),
    port: int = typer.Option(0, "--port", help="HTTPS port on 127.0.0.1 (0: a free one)."),
    info: Path | None = typer.Option(
        None, "--info", help="Write the connection info JSON here once serving."
    ),
    backfill_days: int = typer.Option(
        0,
        "--backfill-days",
        min=0,
        max=365,
        help="Generate this many past days of the workloads' history first.",
    ),
    state_dir: Path | None = typer.Option(
        None, "--state-dir", help="Where the CA, certificates and workload credentials go."
    ),
) -> None:
    """Serve an emulated org over HTTPS until stopped (Ctrl-C or SIGTERM)."""
    from emulators.salesforce.backfill import backfill
    from emulators.salesforce.scenario import ScenarioError, load_scenario
    from emulators.salesforce.server import prepare, start_in_thread

    try:
        spec = load_scenario(scenario)
    except ScenarioError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    running = prepare(spec, port=port or None, state_dir=state_dir, follow_wall_clock=True)
    if backfill_days:
        from .runview import backfill_progress

        with backfill_progress(console, backfill_days) as on_day:
            report = backfill(running.org, spec, backfill_days, on_day=on_day)
        console.print(
            f"backfilled {backfill_days} days: {report.api_calls:,} API calls, {report.logins:,} logins"
        )
    try:
        start_in_thread(running)
    except RuntimeError as e:
        console.print(f"[red]error:[/red] {e}. Is port {port} free? Try --port 0.")
        raise typer.Exit(1) from None
    if info is not None:
        running.write_info(info)
    console.print(
        f"Salesforce emulator for {spec.org.name} at {running.instance_url} (CA: {running.ca_bundle})"
    )
    if info is not None:
        console.print(f"connection info: {info}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            if running.thread is not None and not running.thread.is_alive():
                break
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        if info is not None and info.exists():
            info.unlink()


@emulator_app.command("slack")
def emulator_slack(
    port: int = typer.Option(0, "--port", help="HTTP port on 127.0.0.1 (0: a free one)."),
    info: Path | None = typer.Option(
        None, "--info", help="Write the connection info JSON here once serving (removed on exit)."
    ),
    actions_url: str | None = typer.Option(
        None, "--actions-url", help="Where clicks go: the approval service's /slack/actions URL."
    ),
    scenario: Path | None = typer.Option(
        None, "--scenario", help="Scenario YAML whose slack_users to serve."
    ),
) -> None:
    """Serve an emulated Slack workspace until stopped (Ctrl-C or SIGTERM)."""
    from emulators.slack.cli import run

    raise typer.Exit(run(port=port, info=info, actions_url=actions_url, scenario=scenario))


@approvals_app.command("serve")
def approvals_serve(
    port: int = typer.Option(
        0, "--port", min=0, max=65535, help="Port (0: HANDOVER_APPROVALS__PORT, default 8787)."
    ),
) -> None:
    """Serve Slack's gate clicks at /slack/actions until stopped (Ctrl-C or SIGTERM)."""
    from handover.errors import HandoverError
    from handover.settings import Settings
    from handover.slack.approvals import serve

    try:
        serve(Settings(), port=port or None)
    except HandoverError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None


def _preflight(org: str | None, emulator: Path | None) -> None:
    """Check configuration, login and permissions before a flow run starts, so a person
    gets one message saying what to fix (not a flow failure with a traceback)."""
    from handover.settings import Settings

    from .local_runs import preflight

    preflight(Settings(), org, emulator)


VERBOSE_HELP = "Show Prefect's log lines here too (they always go to the run, in the UI)."


@app.command("discover")
def discover_cmd(
    org: str | None = typer.Option(None, "--org", help="Org name from the orgs file."),
    emulator: Path | None = typer.Option(
        None, "--emulator", help="Connect with an emulator's --info file instead."
    ),
    window_days: int | None = typer.Option(
        None,
        "--window-days",
        min=1,
        max=365,
        help="Days of history to evaluate (default: settings).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as a JSON list."),
    verbose: bool = typer.Option(False, "--verbose", help=VERBOSE_HELP),
) -> None:
    """Run the discovery flow now and print its findings.

    Exit codes: 0 done; 2 configuration, an org that cannot be reached or a missing
    permission (what to fix is printed)."""
    from .local_runs import discover

    discover(org=org, emulator=emulator, window_days=window_days, as_json=as_json,
             verbose=verbose)  # fmt: skip


@app.command("plan")
def plan_cmd(
    finding: str = typer.Option(
        ...,
        "--finding",
        help="Finding id from `handover findings` (f-...; a unique start of one will do).",
    ),
    org: str | None = typer.Option(None, "--org", help="Org name from the orgs file."),
    emulator: Path | None = typer.Option(
        None, "--emulator", help="Connect with an emulator's --info file instead."
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the plan as JSON: user, permission_set (object_permissions, "
        "field_permissions), blockers, evidence_window, hash, status, ...",
    ),
    verbose: bool = typer.Option(False, "--verbose", help=VERBOSE_HELP),
) -> None:
    """Build the least-privilege plan for one finding and print it. Nothing is written to the org.

    Exit codes:
    0: a plan (its status says "ready" or "blocked");
    2: a configuration or connection error, or a finding the latest discovery did not report;
    3: no plan: the evidence is insufficient or a plan would break an invariant (reasons printed).
    """
    from .local_runs import plan

    plan(finding=finding, org=org, emulator=emulator, as_json=as_json, verbose=verbose)


@app.command("demo")
def demo(
    days: int = typer.Option(30, "--days", min=1, max=60, help="Days of history to backfill."),
) -> None:
    """Run the story against the bundled Loomis Logistics emulator."""
    from .demo import run

    run(days=days)


# The operating stack's commands (up, down, migrate, status, resume), the findings'
# (findings, dismiss), the audit's and the emergency revoke's register on `app`.
from . import audit as _audit  # noqa: E402, F401
from . import findings, operate  # noqa: E402, F401
from . import revoke as _revoke  # noqa: E402, F401


def _stack_api_url() -> None:
    """Flows run from this shell (discover, plan) go to the stack's server when one is up
    here, so they show in its UI, and read and write its store; an explicit
    PREFECT_API_URL (or HANDOVER_STORE__URL) wins."""
    if os.environ.get("PREFECT_API_URL"):
        return
    try:
        from handover.settings import Settings

        from .record import store_url
        from .stack import StackPaths, running

        record = running(StackPaths.of(Settings()))
    except Exception:  # a broken setting is reported by the command that needs it
        return
    if record is not None and record.ready and "prefect-server" in record.alive_parts():
        os.environ["PREFECT_API_URL"] = record.prefect_api_url
        # Without the password up.json leaves out, the command that opens the store says so.
        with contextlib.suppress(Exception):
            os.environ.setdefault("HANDOVER_STORE__URL", store_url(record, Settings()))


# Commands that never parse event logs: they skip importing polars and the usage store
# (seconds of start-up for `handover status`).
# discover and plan tune it just before their flows import it, after their first line.
_WITHOUT_POLARS = frozenset(
    {"up", "down", "status", "migrate", "resume", "findings", "dismiss", "approvals", "revoke",
     "discover", "plan"}
)  # fmt: skip


def settings_error(error: Exception) -> str:
    """A settings error as one line per bad value, named by its environment variable."""
    from pydantic import ValidationError

    if not isinstance(error, ValidationError):
        return str(error)
    lines = []
    for e in error.errors():
        var = "HANDOVER_" + "__".join(str(part) for part in e["loc"]).upper()
        lines.append(f"{var}: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(lines)


def main() -> None:  # pragma: no cover - console script shim
    import sys

    from pydantic import ValidationError

    _prefect_defaults()
    _stack_api_url()
    if not _WITHOUT_POLARS.intersection(sys.argv[1:2]):
        from handover.usage.parse import tune_polars

        tune_polars(os.environ)
    try:
        app()
    except ValidationError as e:  # a bad HANDOVER_* setting: say which, not a traceback
        console.print("[red]error:[/red] ", end="")
        console.print(
            f"bad setting: {settings_error(e)}", markup=False, highlight=False, soft_wrap=True
        )
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
