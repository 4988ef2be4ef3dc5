"""`handover migrate`, `handover resume`: a migration is a run of the `migrate`
deployment on the stack's Prefect server (the worker runs it; gates suspend it, the
approval service resumes it), followed here from Prefect (the run's state) and the
ledger (the step, the gate it waits at). Nothing here writes to an org.

The migration id is made here, before the run exists, and passed to the flow, so it can
be printed at once (``--no-follow``) and every later run of the migration (a resume after
a crash) carries the same one.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from handover.errors import ConfigError, MigrationError
from handover.settings import Settings

from . import prefect_api
from .record import store_url
from .stack import StackPaths, running

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

    from handover.models.migration import LedgerEntry, MigrationStatus

SINKS = ("prefect-secret", "file", "operator")
ROUTES = ("jwt_bearer", "client_credentials")
POLL_SECONDS = 1.0

# Exit codes (documented in `handover migrate --help`).
EXIT_OK = 0  # handed over (outcome successful), a dry run done, or started (--no-follow)
EXIT_CONFIG = 2  # no stack / server, a bad option, an org that cannot be reached
EXIT_NOT_HANDED_OVER = 3  # rejected, expired, rolled back or failed: nothing left changed
EXIT_NO_OUTCOME = 4  # the run ended (crashed, cancelled) before the migration did
EXIT_INTERRUPTED = 130  # Ctrl-C while following: the migration goes on without us
NOT_HANDED_OVER = frozenset({"rejected", "expired", "rolled_back", "failed"})


@dataclass(frozen=True)
class Target:
    """The server migrations run on, and the stack's defaults."""

    api_url: str
    ui_url: str
    store_url: str
    emulator_info: str | None  # the stack's Salesforce emulator: the default org


def target(settings: Settings) -> Target:
    """The running stack here (up.json), else the server PREFECT_API_URL names; never a
    temporary server, which would be gone before the run started."""
    record = running(StackPaths.of(settings))
    if record is not None and record.ready and "prefect-server" in record.alive_parts():
        return Target(
            record.prefect_api_url,
            record.ui_url,
            store_url(record, settings),
            record.salesforce_info,
        )
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        raise ConfigError(
            "no Prefect server to run the migration on: start the stack with `handover up` "
            "(or `handover up --emulators`), or set PREFECT_API_URL to a server whose "
            "worker runs the `migrate` deployment"
        )
    return Target(api_url, prefect_api.ui_url(api_url), settings.store.url, None)


@dataclass(frozen=True)
class Request:
    finding_id: str
    org: str | None = None
    emulator_info: str | None = None
    dry_run: bool = False
    plan_hash: str | None = None
    sink: str | None = None
    sink_target: str | None = None
    route: str | None = None

    def check(self) -> None:
        if self.org and self.emulator_info:
            raise ConfigError("give either --org or --emulator, not both")
        if self.sink is not None and self.sink not in SINKS:
            raise ConfigError(f"--sink must be one of {', '.join(SINKS)}, not {self.sink!r}")
        if self.route is not None and self.route not in ROUTES:
            raise ConfigError(f"--route must be one of {', '.join(ROUTES)}, not {self.route!r}")
        if self.sink_target and not self.sink:
            raise ConfigError("--sink-target needs --sink (the kind of sink it is a target of)")

    def parameters(self, migration_id: str) -> dict[str, Any]:
        """The `migrate` flow's parameters (flows/migration.py)."""
        return {
            "finding_id": self.finding_id,
            "plan_hash": self.plan_hash,
            "org": self.org,
            "emulator_info": self.emulator_info,
            "dry_run": self.dry_run,
            "migration_id": migration_id,
            "sink": self.sink,
            "sink_target": self.sink_target,
            "route": self.route,
        }


def new_id(request: Request, now: datetime | None = None) -> str:
    from handover.store.ledger import new_migration_id

    return new_migration_id(request.plan_hash or request.finding_id, now or datetime.now(UTC))


def start(where: Target, parameters: dict[str, Any]) -> FlowRun:
    return prefect_api.create_run(where.api_url, prefect_api.MIGRATE_DEPLOYMENT, parameters)


# -- following a run ---------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """What the live display shows at one moment."""

    migration_id: str
    flow_run_id: str
    run_url: str
    state: str  # Prefect's state name: Scheduled, Running, Suspended, Completed, ...
    state_type: str  # SCHEDULED, RUNNING, PAUSED, COMPLETED, FAILED, CRASHED, ...
    message: str | None  # Prefect's state message (why a run failed)
    status: MigrationStatus | None  # None until the flow has opened the migration

    @property
    def ended(self) -> bool:
        return self.state_type in prefect_api.TERMINAL

    def line(self) -> str:
        """One line per change, for logs and terminals without live display."""
        s = self.status
        parts = [f"{self.migration_id}: run {self.state}"]
        if s is not None and s.step:
            parts.append(f"step {s.step}")
        if s is not None and s.waiting_at:
            parts.append(f"waiting at gate {s.waiting_at} since {_hhmm(s.waiting_since)}")
        if s is not None and s.outcome:
            parts.append(f"outcome {s.outcome}")
        return " · ".join(parts)


def _hhmm(at: datetime | None) -> str:
    return at.astimezone().strftime("%H:%M:%S") if at else "?"


def look(where: Target, migration_id: str, flow_run_id: str) -> View:
    from handover.store.ledger import Ledger

    run = prefect_api.read_run(where.api_url, flow_run_id)
    with Ledger(where.store_url) as ledger:
        status = ledger.migration(migration_id)
    return View(
        migration_id=migration_id,
        flow_run_id=flow_run_id,
        run_url=prefect_api.run_url(where.ui_url, flow_run_id),
        state=prefect_api.state_name(run),
        state_type=prefect_api.state_type(run),
        message=run.state.message if run.state is not None else None,
        status=status,
    )


def follow(
    where: Target,
    migration_id: str,
    flow_run_id: str,
    show: Callable[[View], None],
    *,
    poll: float = POLL_SECONDS,
) -> View:
    """Watch the run until it ends, calling ``show`` with every view."""
    while True:
        view = look(where, migration_id, flow_run_id)
        show(view)
        if view.ended:
            return view
        time.sleep(poll)


# -- the outcome ----------------------------------------------------------------------------


def steps_json(entries: list[LedgerEntry], dry_run: bool) -> list[dict[str, Any]]:
    """The ledger's steps as the flow returns them: in a dry run each write it would make,
    otherwise each write with its status (the ledger holds no secret)."""
    from handover.migration.summary import preview_json, step_json

    return [preview_json(e) if dry_run else step_json(e) for e in entries]


def result(where: Target, view: View, *, dry_run: bool) -> dict[str, Any]:
    """The `--json` contract: migration_id, flow_run_id, ui_url, state, outcome, steps."""
    from handover.store.ledger import Ledger

    with Ledger(where.store_url) as ledger:
        entries = ledger.steps(view.migration_id) if view.status is not None else []
    status = view.status
    return {
        "migration_id": view.migration_id,
        "flow_run_id": view.flow_run_id,
        "ui_url": view.run_url,
        "state": view.state,
        "outcome": status.outcome if status is not None else None,
        # Why it ended: the ledger's reason, or Prefect's message for a run that stopped
        # before it opened the migration (no saved plan, a configuration refused).
        "outcome_reason": status.outcome_reason
        if status is not None
        else plain_reason(view.message),
        "dry_run": status.dry_run if status is not None else dry_run,
        "steps": steps_json(entries, status.dry_run if status is not None else dry_run),
    }


def plain_reason(message: str | None) -> str | None:
    """Prefect's message for a run that raised, as a person reads it: the error's own
    words, without "Flow run encountered an exception: MigrationError: "."""
    if message is None:
        return None
    return re.sub(r"^Flow run encountered an exception: [A-Za-z_.]+: ", "", message)


def exit_code(view: View) -> int:
    outcome = view.status.outcome if view.status is not None else None
    if outcome == "successful":
        return EXIT_OK
    if outcome in NOT_HANDED_OVER:
        return EXIT_NOT_HANDED_OVER
    if view.state_type == "COMPLETED" and view.status is not None and view.status.dry_run:
        return EXIT_OK
    if view.status is None and view.state_type == "FAILED":
        return EXIT_CONFIG  # refused before it began: the reason says what to fix
    return EXIT_NO_OUTCOME


# -- resume -----------------------------------------------------------------------------------


SUBMITTING_GRACE = timedelta(seconds=60)  # a run this freshly Pending is being started


def resume(where: Target, migration_id: str, *, force: bool = False) -> tuple[FlowRun, str | None]:
    """A new run of `migrate` for an open migration whose last run crashed or was killed:
    that run is marked Crashed first (when it is not over yet), so it can never report
    back over the new one. Returns the new run and the old run's id.

    Refused while the last run may still be alive (its process runs on this machine, a
    worker is about to start it, or it waits at a gate): two runs of one migration at
    once would ask and write twice. ``force`` skips the liveness checks, not the gate's."""
    from handover.store.ledger import Ledger, check_migration_id

    check_migration_id(migration_id)
    with Ledger(where.store_url) as ledger:
        status = ledger.migration(migration_id)
    if status is None:
        raise MigrationError(
            f"no migration {migration_id} in the store {where.store_url}; `handover status` "
            "lists them"
        )
    if status.outcome is not None:
        raise MigrationError(
            f"migration {migration_id} has ended ({status.outcome}"
            + (f": {status.outcome_reason}" if status.outcome_reason else "")
            + "); there is nothing to resume. A new `handover migrate` starts another."
        )
    old = status.flow_run_id
    parameters: dict[str, Any] = {"finding_id": status.finding_id, "plan_hash": status.plan_hash}
    if old:
        run = prefect_api.read_run(where.api_url, old)
        kind = prefect_api.state_type(run)
        if kind == "PAUSED":
            raise MigrationError(
                f"migration {migration_id} is waiting at gate {status.waiting_at or '?'} "
                f"(run {old} is {prefect_api.state_name(run)}): it goes on when the gate is "
                "decided in Slack; nothing to resume"
            )
        if not force and kind not in prefect_api.TERMINAL:
            _refuse_if_alive(migration_id, run, kind)
        parameters |= {k: v for k, v in (run.parameters or {}).items() if v is not None}
        if kind not in prefect_api.TERMINAL:
            prefect_api.mark_crashed(
                where.api_url,
                old,
                f"marked Crashed by `handover resume {migration_id}`: its process was gone; "
                "a new run continues the migration",
            )
    parameters["migration_id"] = migration_id
    return start(where, parameters), old


def _refuse_if_alive(migration_id: str, run: FlowRun, kind: str) -> None:
    again = f"`handover resume {migration_id} --force` if you know it is gone"
    if kind == "SCHEDULED":
        raise MigrationError(
            f"run {run.id} is scheduled ({prefect_api.state_name(run)}): a worker on pool "
            f"{run.work_pool_name or 'handover'} picks it up; is one running? (`handover up` "
            f"starts one again) — or {again}"
        )
    since = run.state.timestamp if run.state is not None else None
    if kind == "PENDING" and since is not None and datetime.now(UTC) - since < SUBMITTING_GRACE:
        raise MigrationError(
            f"run {run.id} is being started by a worker ({prefect_api.state_name(run)} since "
            f"{since:%H:%M:%S}); wait a minute and look again, or {again}"
        )
    pid = str(run.infrastructure_pid or "").rsplit(":", 1)[-1]
    if pid.isdigit() and _is_flow_process(int(pid)):
        raise MigrationError(
            f"run {run.id} is still running here (process {pid}); `handover resume` is for "
            f"runs whose process is gone — or {again}"
        )


def _is_flow_process(pid: int) -> bool:
    """A process of that pid runs here and is Prefect's (a flow run's, not a reused pid)."""
    import subprocess

    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        command = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return True  # cannot tell: assume it is
    return "prefect" in command
