"""What a stack of one project leaves on disk: where its files are (``StackPaths``), what
up.json says (``UpRecord``: no secrets), the approval-token key, and the store URL every
process of it opens."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from handover.errors import StackError
from handover.settings import Settings

from .processes import Started, alive

# The workers first: no flow run starts while the rest goes down.
STOP_ORDER = ("worker", "approvals", "slack-emulator", "salesforce-emulator", "prefect-server")


def worker_part(n: int) -> str:
    """The n-th worker's part name (1-based): worker, worker-2, worker-3, ..."""
    return "worker" if n == 1 else f"worker-{n}"


def _stop_rank(part: str) -> int:
    kind = "worker" if part.startswith("worker-") else part
    return STOP_ORDER.index(kind) if kind in STOP_ORDER else len(STOP_ORDER)


@dataclass(frozen=True)
class StackPaths:
    """Where the stack of one project keeps its files (absolute)."""

    state: Path

    @classmethod
    def of(cls, settings: Settings, project: Path | None = None) -> StackPaths:
        base = (project or Path.cwd()).resolve()
        return cls((base / settings.stack.state_dir).resolve())

    @property
    def up_json(self) -> Path:
        return self.state / "up.json"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    def log(self, part: str) -> Path:
        return self.logs / f"{part}.log"

    @property
    def token_key(self) -> Path:
        return self.state / "approval-token.key"

    @property
    def salesforce_info(self) -> Path:
        return self.state / "salesforce.json"

    @property
    def slack_info(self) -> Path:
        return self.state / "slack.json"

    @property
    def emulator_state(self) -> Path:
        return self.state / "emulators" / "salesforce"

    @property
    def orgs_file(self) -> Path:
        return self.state / "orgs.toml"


class UpRecord(BaseModel):
    """up.json: what `handover up` started and where to reach it. No secrets."""

    prefect_api_url: str
    ui_url: str
    approvals_url: str
    salesforce_info: str | None = None
    slack_info: str | None = None
    scenario: str | None = None  # the emulated org's scenario file
    store_url: str  # its password hidden (store_url() puts it back)
    # Where the Prefect server keeps its runs, its password hidden ("sqlite" by default).
    prefect_database: str = "sqlite (under PREFECT_HOME)"
    project: str
    started_at: datetime
    ready: bool = False  # False while `up` is still starting parts
    pids: dict[str, int] = {}
    markers: dict[str, str | None] = {}  # the OS's start time of each pid (processes.py)
    logs: dict[str, str] = {}

    def processes(self) -> list[Started]:
        parts = sorted(self.pids, key=_stop_rank)
        return [
            Started(p, self.pids[p], self.markers.get(p), Path(self.logs.get(p, ""))) for p in parts
        ]

    def alive_parts(self) -> list[str]:
        return [p.part for p in self.processes() if alive(p)]

    def add(self, started: Started) -> None:
        self.pids[started.part] = started.pid
        self.markers[started.part] = started.marker
        self.logs[started.part] = str(started.log)


def read_record(paths: StackPaths) -> UpRecord | None:
    try:
        return UpRecord.model_validate_json(paths.up_json.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        raise StackError(
            f"{paths.up_json} is not a stack record; remove it (and stop what it started by hand)"
        ) from None


def running(paths: StackPaths) -> UpRecord | None:
    """The record of a stack with at least one part still running here, else None."""
    record = read_record(paths)
    return record if record is not None and record.alive_parts() else None


def write_record(paths: StackPaths, record: UpRecord) -> None:
    paths.state.mkdir(parents=True, exist_ok=True)
    tmp = paths.up_json.with_suffix(".tmp")
    tmp.write_text(record.model_dump_json(indent=2))
    tmp.replace(paths.up_json)


def absolute_store_url(url: str, project: Path) -> str:
    """The store URL with a relative SQLite path made absolute (from ``project``): the
    worker's flows run in the code's directory, and every process must open one file."""
    from sqlalchemy.engine import make_url  # here: an import every command needn't pay

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return url
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        raise StackError(
            f"the stack needs a store every process can open, not {url!r}; set "
            "HANDOVER_STORE__URL to a file (sqlite:///.handover/handover.db) or PostgreSQL"
        )
    path = Path(parsed.database).expanduser()
    if not path.is_absolute():
        path = (project / path).resolve()
    return parsed.set(database=str(path)).render_as_string(hide_password=False)


def shown_url(url: str) -> str:
    """A database URL with its password hidden: what up.json and the terminal show."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def store_url(record: UpRecord, settings: Settings) -> str:
    """The stack's store URL for this process: up.json keeps it without its password,
    which comes from this process's settings (HANDOVER_STORE__URL) when they name the same
    database."""
    mine = absolute_store_url(settings.store.url, Path(record.project))
    if shown_url(mine) == record.store_url:
        return mine
    if "***" in record.store_url:
        raise StackError(
            f"the stack's store is {record.store_url}: set HANDOVER_STORE__URL to it, with "
            "its password, as for `handover up` (up.json never holds the password)"
        )
    return record.store_url


def token_key(paths: StackPaths) -> str:
    """The approval-token key shared by the approval service and the flows: made once, kept
    readable by the owner only."""
    try:
        key = paths.token_key.read_text().strip()
    except FileNotFoundError:
        key = ""
    if len(key) >= 32:
        paths.token_key.chmod(0o600)
        return key
    paths.state.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(paths.token_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    paths.token_key.chmod(0o600)
    return key


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
