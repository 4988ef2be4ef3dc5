"""Revision 0004 on a store whose approval service made the gate book's tables itself (the
release before it did, with ``ensure_tables``): the tables and their rows are kept, and
the migration's tables are added beside them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from handover.store import tables as t
from handover.store.engine import VERSION_TABLE, _config, open_engine, write_transaction
from handover.store.gates import SqlGateBook
from handover.store.ledger import Ledger

# The gate book as the previous release's ensure_tables created it.
OLD_GATE_BOOK = [
    """CREATE TABLE gates (migration_id VARCHAR(32) NOT NULL, gate VARCHAR(16) NOT NULL,
    flow_run_id VARCHAR(64) NOT NULL, plan_hash VARCHAR(128) NOT NULL,
    channel VARCHAR(32) NOT NULL, ts VARCHAR(32) NOT NULL, thread_ts VARCHAR(32),
    opened_at DATETIME NOT NULL, expires_at DATETIME NOT NULL, human_email VARCHAR(320) NOT NULL,
    required_approvals INTEGER NOT NULL, message TEXT NOT NULL, decision VARCHAR(16),
    approvers TEXT, reason TEXT, decided_at DATETIME, delivery VARCHAR(16),
    delivery_detail TEXT, PRIMARY KEY (migration_id, gate))""",
    "CREATE INDEX ix_gates_expires_at ON gates (expires_at)",
    """CREATE TABLE gate_votes (migration_id VARCHAR(32) NOT NULL, gate VARCHAR(16) NOT NULL,
    user_id VARCHAR(32) NOT NULL, at DATETIME NOT NULL, PRIMARY KEY (migration_id, gate, user_id),
    FOREIGN KEY(migration_id, gate) REFERENCES gates (migration_id, gate))""",
    """CREATE TABLE gate_notes (id INTEGER NOT NULL, migration_id VARCHAR(32) NOT NULL,
    gate VARCHAR(16) NOT NULL, note TEXT NOT NULL, at DATETIME NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(migration_id, gate) REFERENCES gates (migration_id, gate))""",
    """CREATE TABLE gate_wakes (migration_id VARCHAR(32) NOT NULL, flow_run_id VARCHAR(64) NOT NULL,
    wake_at DATETIME NOT NULL, PRIMARY KEY (migration_id))""",
    "CREATE INDEX ix_gate_wakes_wake_at ON gate_wakes (wake_at)",
    """INSERT INTO gates VALUES ('m-000000000001', 'plan', 'run-1', 'abab', 'C1', '1.1', NULL,
    '2026-11-02 14:05:00', '2026-11-03 14:05:00', 'dana@x.example', 1,
    '{"app_name": "Sync", "human": "dana", "headline": "+1 user"}', NULL, NULL, NULL, NULL,
    NULL, NULL)""",
]


def test_a_store_with_the_old_gate_book_upgrades_and_keeps_its_gates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/handover.db"
    engine = open_engine(url)
    with write_transaction(engine) as conn:
        command.upgrade(_config(conn), "0003")
        for statement in OLD_GATE_BOOK:
            conn.execute(text(statement))
    with Ledger(url) as ledger:
        assert ledger.schema_revision == "0004"
        gate = SqlGateBook(ledger.engine).get("m-000000000001", "plan")
        assert gate is not None and gate.flow_run_id == "run-1"
        assert ledger.migrations() == []
        with ledger.engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            assert compare_metadata(ctx, t.metadata) == []
    engine.dispose()
