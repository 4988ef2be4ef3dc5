"""`handover up` and `handover down`: the local stack, one process per part, each in the
background with its log under ``.handover/logs/``.

- **prefect-server**: `prefect server start` (its SQLite database under PREFECT_HOME,
  which the CLI puts in the project), then the process work pool and the deployments of
  prefect.yaml (`prefect deploy --all`: the same file operators deploy by hand);
- **worker**: `prefect worker start` on that pool; it runs the flows;
- **approvals**: `handover approvals serve`, which receives Slack's clicks;
- with ``--emulators``: **salesforce-emulator** (the scenario's org, backfilled) and
  **slack-emulator** (clicks delivered to the approval service).

The worker and the approval service are configured only through their environment, built
here: one store for everything (an absolute URL: the worker's flows run in the code's
directory), the Slack emulator's token and signing secret, the approval-token key (made
once, kept in a 0600 file), the Prefect API, and an orgs file naming the emulator as the
default org, so a run started from the Prefect UI has an org. Secrets go only to the two
processes that need them, never into up.json or a log.

up.json is written as soon as the first process starts and rewritten as parts come up, so
`handover down` can always stop what an interrupted `up` left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from handover.errors import StackError
from handover.settings import Settings

from . import prefect_api
from .processes import Started, failed, spawn, stop, wait_until
from .record import (
    STOP_ORDER,
    StackPaths,
    UpRecord,
    absolute_store_url,
    free_port,
    port_free,
    read_record,
    running,
    shown_url,
    store_url,
    token_key,
    worker_part,
    write_record,
)

__all__ = [
    "StackPaths",
    "UpRecord",
    "absolute_store_url",
    "down",
    "free_port",
    "read_record",
    "running",
    "token_key",
    "up",
]

CODE_ROOT = Path(__file__).resolve().parents[2]  # prefect.yaml, flows/, tasks/, emulators/
LOOMIS = CODE_ROOT / "emulators" / "scenarios" / "loomis.yaml"
EMULATOR_ORG = "emulator"  # the orgs-file name of the stack's Salesforce emulator
Say = Callable[[str], None]


class AlreadyUp(StackError):
    """`handover up` where a whole stack already runs."""


def _executable(name: str) -> str:
    """A console script of this virtualenv (prefect, handover), else the one on PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise StackError(f"`{name}` is not installed in this environment; run `make install`")
    return found


def _prefect_env(api_url: str) -> dict[str, str]:
    """What every process of the stack shares: Prefect local, offline, on this server."""
    home = Path(os.environ.get("PREFECT_HOME") or Path.cwd() / ".prefect").resolve()
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "HANDOVER_HOME": str(CODE_ROOT),
    }


def _without_secrets(env: dict[str, str]) -> dict[str, str]:
    """The server and `prefect deploy` need nothing of handover's configuration."""
    return {k: v for k, v in env.items() if not k.startswith("HANDOVER_") or k == "HANDOVER_HOME"}


PREFECT_DB = "PREFECT_SERVER_DATABASE_CONNECTION_URL"


def prefect_database(settings: Settings) -> SecretStr | None:
    """The Prefect server's database URL: the setting, else the environment's."""
    if settings.stack.prefect_database_url is not None:
        return settings.stack.prefect_database_url
    from_env = os.environ.get(PREFECT_DB)
    return SecretStr(from_env) if from_env else None


def shown_database(url: SecretStr | None) -> str:
    """The database URL as up.json and the summary show it: no password."""
    if url is None:
        return "sqlite (under PREFECT_HOME)"
    from sqlalchemy.engine import make_url

    try:
        return make_url(url.get_secret_value()).render_as_string(hide_password=True)
    except Exception:
        return "(set, but not a URL SQLAlchemy reads)"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):  # not written yet, or half-written
        return None
    return data if isinstance(data, dict) else None


class Stack:
    """One `handover up`: starts the parts in order, recording each as it starts; on any
    failure stops what it started and raises a StackError naming the part and its log.
    Over an existing record (``repair``) it starts again the parts that stopped."""

    def __init__(
        self, settings: Settings, paths: StackPaths, say: Say, record: UpRecord | None = None
    ) -> None:
        self.settings, self.paths, self.say = settings, paths, say
        self.project = paths.state.parent
        s = settings.stack
        api_url = f"http://{s.prefect_host}:{s.prefect_port}/api"
        self.record = record or UpRecord(
            prefect_api_url=api_url,
            ui_url=prefect_api.ui_url(api_url),
            approvals_url=f"http://127.0.0.1:{settings.approvals.port}/slack/actions",
            store_url=shown_url(absolute_store_url(settings.store.url, self.project)),
            prefect_database=shown_database(prefect_database(settings)),
            project=str(self.project),
            started_at=datetime.now(UTC),
        )
        self.api_url = self.record.prefect_api_url
        self.popens: dict[str, subprocess.Popen[bytes]] = {}
        self.started: dict[str, Started] = {}

    # -- the sequences ------------------------------------------------------------------

    def up(self, *, emulators: bool, scenario: Path, backfill_days: int) -> UpRecord:
        self._check_ports(emulators)
        base = self._base_env()
        try:
            if emulators:
                self._start_emulators(base, scenario, backfill_days)
            env = self._service_env(base)
            if not emulators:
                self._check_approvals(env)
            self._start_server(base)
            self._start_approvals(env)
            self._wait_server()
            self._register(base)
            for n in range(1, self.settings.stack.workers + 1):
                self._start_worker(env, worker_part(n))
            self._wait_approvals()
            self._wait_worker()
            if emulators:
                self._wait(
                    self.started["salesforce-emulator"],
                    lambda: self.paths.salesforce_info.exists(),
                    "write its info file (backfilling first)",
                )
            self.record.ready = True
            write_record(self.paths, self.record)
            return self.record
        except BaseException:
            self.say("stopping what was started …")
            stop(self.record.processes())
            self.paths.up_json.unlink(missing_ok=True)
            raise

    def repair(self, stopped: list[str]) -> list[str]:
        """Start again the parts of a running stack that stopped (a killed worker, a
        crashed approval service or server): the same command, the same environment.
        The emulators hold their org in memory, so a stopped one cannot come back."""
        lost = [p for p in stopped if p.endswith("-emulator")]
        if lost:
            raise StackError(
                f"the {lost[0]} is not running, and its state lived in that process: "
                "`handover down`, then `handover up --emulators` starts a new one",
                part=lost[0],
            )
        base = self._base_env()
        env = self._service_env(base)
        if "prefect-server" in stopped:
            self._start_server(base)
            self._wait_server()
        if "approvals" in stopped:
            self._start_approvals(env)
            self._wait_approvals()
        workers = [p for p in stopped if p == "worker" or p.startswith("worker-")]
        for part in workers:
            self._start_worker(env, part)
        if workers:
            self._wait_worker()
        write_record(self.paths, self.record)
        return [p for p in STOP_ORDER if p in stopped]

    # -- the parts ----------------------------------------------------------------------

    def _start_server(self, base: dict[str, str]) -> None:
        host, port = self.api_url.removeprefix("http://").split("/")[0].rsplit(":", 1)
        env = _without_secrets(base)
        database = prefect_database(self.settings)
        if database is not None:  # the server's alone: no other part needs it
            env[PREFECT_DB] = database.get_secret_value()
        self._start(
            "prefect-server",
            [_executable("prefect"), "server", "start", "--host", host, "--port", port,
             "--analytics-off"],
            env,
        )  # fmt: skip

    def _wait_server(self) -> None:
        self._wait(
            self.started["prefect-server"],
            lambda: prefect_api.healthy(self.api_url),
            "answer /api/health",
        )
        self.say(f"Prefect server up: {self.record.ui_url}")

    def _start_approvals(self, env: dict[str, str]) -> None:
        self._start("approvals", [sys.executable, "-m", "handover.cli", "approvals", "serve"], env)

    def _wait_approvals(self) -> None:
        health = self.record.approvals_url.removesuffix("/slack/actions") + "/healthz"
        self._wait(self.started["approvals"], lambda: _answers(health), "answer /healthz")

    def _start_worker(self, env: dict[str, str], part: str) -> None:
        s = self.settings.stack
        argv = [_executable("prefect"), "worker", "start", "--pool", s.work_pool, "--type",
                "process", "--name", self._worker_name(part)]  # fmt: skip
        if s.worker_limit is not None:
            argv += ["--limit", str(s.worker_limit)]
        self._start(
            part, argv, env | {"PREFECT_WORKER_QUERY_SECONDS": f"{s.worker_query_seconds:g}"}
        )

    def _worker_name(self, part: str) -> str:
        """Unique on the pool across machines and projects: host, project, part."""
        return f"{socket.gethostname()}:{self.project.name}:{part}"

    def _wait_worker(self) -> None:
        pool = self.settings.stack.work_pool
        for part in [p for p in self.started if p == "worker" or p.startswith("worker-")]:
            name = self._worker_name(part)
            self._wait(
                self.started[part],
                lambda name=name: prefect_api.worker_online(self.api_url, pool, name),  # type: ignore[misc]
                f"come online on pool {pool!r}",
            )

    def _start_emulators(self, base: dict[str, str], scenario: Path, backfill_days: int) -> None:
        s = self.settings.stack
        for stale in (self.paths.salesforce_info, self.paths.slack_info):
            stale.unlink(missing_ok=True)  # a stale file would look like a started emulator
        self._start(
            "salesforce-emulator",
            [sys.executable, "-m", "handover.cli", "emulator", "serve", "--scenario",
             str(scenario), "--info", str(self.paths.salesforce_info), "--port",
             str(s.salesforce_port or free_port()), "--backfill-days", str(backfill_days),
             "--state-dir", str(self.paths.emulator_state)],
            _without_secrets(base),
        )  # fmt: skip
        self.record.salesforce_info = str(self.paths.salesforce_info)
        self.record.scenario = str(scenario)
        self._start(
            "slack-emulator",
            [sys.executable, "-m", "handover.cli", "emulator", "slack", "--port",
             str(s.slack_port or free_port()), "--info", str(self.paths.slack_info),
             "--actions-url", self.record.approvals_url, "--scenario", str(scenario)],
            _without_secrets(base),
        )  # fmt: skip
        self.record.slack_info = str(self.paths.slack_info)
        write_record(self.paths, self.record)
        self._wait(
            self.started["slack-emulator"],
            lambda: _read_json(self.paths.slack_info) is not None,
            "write its info file",
        )
        self.paths.orgs_file.write_text(
            "# Written by `handover up --emulators`: the stack's Salesforce emulator, the\n"
            "# default org of flows run from the Prefect UI.\n"
            f"[orgs.{EMULATOR_ORG}]\n"
            'auth = "emulator"\n'
            f"info_file = {json.dumps(str(self.paths.salesforce_info))}\n"
        )

    # -- environments -------------------------------------------------------------------

    def _base_env(self) -> dict[str, str]:
        env = dict(os.environ) | _prefect_env(self.api_url)
        env.pop(PREFECT_DB, None)  # the server's alone (_start_server)
        return env

    def _service_env(self, base: dict[str, str]) -> dict[str, str]:
        """The worker's and the approval service's environment: handover's settings, and
        with the emulators, what their info files say."""
        a = self.settings.approvals
        key = a.token_key.get_secret_value() if a.token_key else token_key(self.paths)
        approvals_port = self.record.approvals_url.rsplit(":", 1)[1].split("/")[0]
        env = base | {
            "HANDOVER_STORE__URL": store_url(self.record, self.settings),
            "HANDOVER_APPROVALS__TOKEN_KEY": key,
            "HANDOVER_APPROVALS__PORT": approvals_port,
            "HANDOVER_APPROVALS__PREFECT_API_URL": self.api_url,
            # The file sink's private files (replaced credentials, generated passwords):
            # under the project, not wherever the worker's flows run.
            "HANDOVER_CUTOVER__SECRETS_DIR": str(self.paths.state / "secrets"),
        }
        if self.record.slack_info is None:
            return env
        info = _read_json(Path(self.record.slack_info))
        if info is None:
            raise StackError(
                f"the Slack emulator's info file {self.record.slack_info} is gone or unreadable",
                part="slack-emulator",
                log=str(self.paths.log("slack-emulator")),
            )
        channel = (info.get("channels") or {}).get("handover") or "#handover"
        env |= {
            "HANDOVER_SLACK__TOKEN": str(info["bot_token"]),
            "HANDOVER_SLACK__BASE_URL": str(info["base_url"]),
            "HANDOVER_SLACK__CHANNEL": str(channel),
            "HANDOVER_APPROVALS__SIGNING_SECRET": str(info["signing_secret"]),
            "HANDOVER_SALESFORCE__ORGS_FILE": str(self.paths.orgs_file),
            "HANDOVER_SALESFORCE__DEFAULT_ORG": EMULATOR_ORG,
        }
        if info.get("approver_group"):
            env["HANDOVER_APPROVALS__APPROVER_GROUP"] = str(info["approver_group"])
        return env

    def _check_approvals(self, env: dict[str, str]) -> None:
        """Without the emulators, Slack must be configured: say what is missing now, not
        after the server started."""
        from handover.slack.approvals import check_settings

        check_settings(
            self.settings.model_copy(
                update={
                    "approvals": self.settings.approvals.model_copy(
                        update={"token_key": env["HANDOVER_APPROVALS__TOKEN_KEY"]}
                    )
                }
            )
        )

    def _check_ports(self, emulators: bool) -> None:
        s, a = self.settings.stack, self.settings.approvals
        wanted = [("the Prefect server", s.prefect_host, s.prefect_port, "HANDOVER_STACK__PREFECT_PORT"),
                  ("the approval service", "127.0.0.1", a.port, "HANDOVER_APPROVALS__PORT")]  # fmt: skip
        if emulators:
            wanted += [
                ("the Salesforce emulator", "127.0.0.1", s.salesforce_port, "HANDOVER_STACK__SALESFORCE_PORT"),
                ("the Slack emulator", "127.0.0.1", s.slack_port, "HANDOVER_STACK__SLACK_PORT"),
            ]  # fmt: skip
        for what, host, port, setting in wanted:
            if port and not port_free(host, port):
                raise StackError(
                    f"port {port} on {host} is in use, so {what} cannot listen there; stop "
                    f"whatever holds it or set {setting} to a free port",
                    part=what,
                )

    def _register(self, base: dict[str, str]) -> None:
        """The work pool, then every deployment of prefect.yaml."""
        prefect_yaml = CODE_ROOT / "prefect.yaml"
        if not prefect_yaml.exists():
            raise StackError(
                f"no prefect.yaml at {CODE_ROOT}: `handover up` registers the deployments "
                "from a checkout of handover",
                part="deployments",
            )
        if prefect_api.ensure_pool(self.api_url, self.settings.stack.work_pool):
            self.say(f"work pool {self.settings.stack.work_pool!r} created")
        started, popen = spawn(
            "deployments",
            [_executable("prefect"), "--no-prompt", "deploy", "--all"],
            env=_without_secrets(base),
            log=self.paths.log("deploy"),
            cwd=CODE_ROOT,
        )
        try:
            code = popen.wait(timeout=self.settings.stack.startup_timeout_seconds)
        except subprocess.TimeoutExpired:
            popen.kill()
            raise failed(started, "(`prefect deploy --all`) did not finish in time") from None
        if code != 0:
            raise failed(started, f"(`prefect deploy --all`) failed with code {code}")
        self.say("deployments registered (prefect.yaml)")

    # -- helpers ------------------------------------------------------------------------

    def _start(self, part: str, argv: list[str], env: dict[str, str]) -> Started:
        started, popen = spawn(part, argv, env=env, log=self.paths.log(part), cwd=self.project)
        self.popens[part] = popen
        self.started[part] = started
        self.record.add(started)
        write_record(self.paths, self.record)
        return started

    def _wait(self, started: Started, ready: Callable[[], bool], what: str) -> None:
        wait_until(
            started,
            self.popens[started.part],
            ready,
            timeout=self.settings.stack.startup_timeout_seconds,
            what=what,
        )


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def up(
    settings: Settings,
    paths: StackPaths,
    *,
    emulators: bool,
    scenario: Path | None,
    backfill_days: int,
    say: Say,
) -> UpRecord:
    """Start the stack of ``paths``; a StackError when it is already up or a part fails."""
    current = running(paths)
    if current is not None:
        stopped = [p for p in current.pids if p not in current.alive_parts()]
        if not current.ready or not stopped:
            state = "up" if current.ready else "starting (or left half-started)"
            raise AlreadyUp(
                f"a stack is already {state} here (Prefect UI {current.ui_url}; parts "
                f"running: {', '.join(current.alive_parts())}); `handover down` stops it, "
                "then `handover up` starts a new one",
                part="stack",
            )
        say(f"the stack is up, but not all of it: starting again {', '.join(stopped)}")
        Stack(settings, paths, say, current).repair(stopped)
        return current
    if paths.up_json.exists():
        say("the previous stack ended without `handover down`; starting a new one")
        paths.up_json.unlink()
    chosen = (scenario or LOOMIS).resolve()
    if emulators and not chosen.is_file():
        raise StackError(f"no scenario file at {chosen}", part="salesforce-emulator")
    started = time.monotonic()
    record = Stack(settings, paths, say).up(
        emulators=emulators, scenario=chosen, backfill_days=backfill_days
    )
    say(f"handover is up ({time.monotonic() - started:.0f} s)")
    return record


def down(paths: StackPaths, say: Say) -> list[str]:
    """Stop what `up` started here (by pid: SIGTERM, then SIGKILL) and remove up.json.
    Harmless when nothing runs."""
    record = read_record(paths)
    if record is None:
        say(f"nothing to stop: no stack was started here ({paths.up_json} does not exist)")
        return []
    stopped = stop(record.processes())
    paths.up_json.unlink(missing_ok=True)
    paths.salesforce_info.unlink(missing_ok=True)
    paths.slack_info.unlink(missing_ok=True)
    say(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running any more")
    return stopped
