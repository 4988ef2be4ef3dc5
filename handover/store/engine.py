"""Opening the store's database: SQLite set up for two processes at once, or PostgreSQL,
and the schema brought to the latest migration under a lock.

SQLite: WAL lets readers run beside one writer; ``busy_timeout`` makes a second writer wait
instead of failing; and every write transaction starts with ``BEGIN IMMEDIATE``. The last
one matters most: a deferred transaction that read first and then tries to write cannot
wait for the lock in WAL mode (SQLITE_BUSY_SNAPSHOT), which is the classic source of
"database is locked" with two processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import StaticPool

from ..errors import StoreError

BUSY_TIMEOUT_S = 30.0
MIGRATIONS = Path(__file__).parent / "migrations"
# Not alembic_version: Prefect's may share the database. The name dates from when the
# store held usage alone; existing stores know their revision by it, so it stays.
VERSION_TABLE = "usage_schema_version"
_PG_LOCK_KEY = 0x68616E64  # "hand": one advisory lock for every migrating process


def utcnow() -> datetime:
    return datetime.now(UTC)


class Database:
    """The store's database, opened and brought to the latest schema: each room of the
    store (``UsageStore``, ``PlanStore``, ...) is one of these over the same URL."""

    def __init__(self, url: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.url = url
        self.engine = open_engine(url)
        self.clock = clock
        self.schema_revision = migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def open_engine(url: str) -> Engine:
    """An engine for the store URL (SQLite file or memory, or PostgreSQL)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"the store URL {url!r} is not a SQLAlchemy URL; set HANDOVER_STORE__URL to "
            "e.g. sqlite:///.handover/handover.db or postgresql://user@host/db"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite(parsed.database or "", url)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":  # the installed driver is psycopg 3
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise StoreError(f"the handover store supports SQLite and PostgreSQL, not {backend!r}")


def _sqlite(database: str, url: str) -> Engine:
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if memory:
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below own BEGIN (pysqlite's own is deferred only).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("handover_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine, lock: str | None = None) -> Iterator[Connection]:
    """A transaction that will write. SQLite: takes the database write lock up front
    (waiting up to the busy timeout), so it never fails half-way for a lock. PostgreSQL:
    with ``lock`` (the org id), takes an advisory lock on it for the transaction, so
    writers of one org are serialised as they are on SQLite; without it, replacing a
    snapshot (delete + insert) in two sessions at once would collide on the new rows."""
    with engine.connect() as conn:
        conn.execution_options(handover_write=True)
        with conn.begin():
            if lock is not None and conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(lock)})
            yield conn


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a name."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


def _config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _current(conn: Connection) -> str | None:
    ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def migrate(engine: Engine) -> str:
    """Bring the schema to the latest revision; safe when several processes open the
    store at once (the upgrade runs under a write lock, and re-checks inside it)."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    try:
        with engine.connect() as conn:
            if _current(conn) == head:
                return str(head)
        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            if _current(conn) != head:
                command.upgrade(_config(conn), "head")
    except OperationalError as exc:
        raise StoreError(
            f"could not open or migrate the handover store at {engine.url!r}: {exc.orig}; "
            "check the path is writable or the database is reachable"
        ) from exc
    return str(head)
