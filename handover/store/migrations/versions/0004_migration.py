"""The migration: migrations and their locks, the ledger of org writes, and the gate book
(gates, votes, notes, wake-ups) that was created apart until now.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

The approval service of the previous release created the gate book's four tables itself
(``ensure_tables``) with the definitions below: a store that has them keeps them, rows and
all, and only what is missing is created.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
GATE_BOOK = ("gates", "gate_votes", "gate_notes", "gate_wakes")


def _text(name: str, length: int = 255) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    op.create_table(
        "migrations",
        sa.Column("migration_id", sa.String(32), primary_key=True),
        _text("org_id", 18),
        _text("finding_id", 32),
        _text("app_key", 300),
        _text("app_name"),
        _text("human_user_id", 18),
        _text("human_username"),
        _text("plan_hash", 64),
        sa.Column("flow_run_id", sa.String(64)),
        sa.Column("step", sa.String(32)),
        sa.Column("waiting_at", sa.String(16)),
        sa.Column("waiting_since", TZ),
        sa.Column("outcome", sa.String(16)),
        sa.Column("outcome_reason", sa.Text),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("facts", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_migrations_org", "migrations", ["org_id", "created_at"])
    op.create_table(
        "migration_locks",
        sa.Column("lock_key", sa.String(400), primary_key=True),
        _text("migration_id", 32),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "ledger_actions",
        _text("migration_id", 32),
        _text("key", 200),
        sa.Column("seq", sa.Integer, nullable=False),
        _text("step", 16),
        _text("status", 16),
        sa.Column("write", sa.Text, nullable=False),
        sa.Column("before", sa.Text),
        sa.Column("record_ids", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_at", TZ),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("migration_id", "key"),
    )
    op.create_index("ix_ledger_actions_seq", "ledger_actions", ["migration_id", "seq"])
    if "gates" not in existing:
        op.create_table(
            "gates",
            sa.Column("migration_id", sa.String(32), primary_key=True),
            sa.Column("gate", sa.String(16), primary_key=True),
            sa.Column("flow_run_id", sa.String(64), nullable=False),
            sa.Column("plan_hash", sa.String(128), nullable=False),
            sa.Column("channel", sa.String(32), nullable=False),
            sa.Column("ts", sa.String(32), nullable=False),
            sa.Column("thread_ts", sa.String(32)),
            sa.Column("opened_at", TZ, nullable=False),
            sa.Column("expires_at", TZ, nullable=False),
            sa.Column("human_email", sa.String(320), nullable=False),
            sa.Column("required_approvals", sa.Integer, nullable=False),
            sa.Column("message", sa.Text, nullable=False),
            sa.Column("decision", sa.String(16)),
            sa.Column("approvers", sa.Text),
            sa.Column("reason", sa.Text),
            sa.Column("decided_at", TZ),
            sa.Column("delivery", sa.String(16)),
            sa.Column("delivery_detail", sa.Text),
        )
        op.create_index("ix_gates_expires_at", "gates", ["expires_at"])
    if "gate_votes" not in existing:
        op.create_table(
            "gate_votes",
            sa.Column("migration_id", sa.String(32), primary_key=True),
            sa.Column("gate", sa.String(16), primary_key=True),
            sa.Column("user_id", sa.String(32), primary_key=True),
            sa.Column("at", TZ, nullable=False),
            sa.ForeignKeyConstraint(["migration_id", "gate"], ["gates.migration_id", "gates.gate"]),
        )
    if "gate_notes" not in existing:
        op.create_table(
            "gate_notes",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("migration_id", sa.String(32), nullable=False),
            sa.Column("gate", sa.String(16), nullable=False),
            sa.Column("note", sa.Text, nullable=False),
            sa.Column("at", TZ, nullable=False),
            sa.ForeignKeyConstraint(["migration_id", "gate"], ["gates.migration_id", "gates.gate"]),
        )
    if "gate_wakes" not in existing:
        op.create_table(
            "gate_wakes",
            sa.Column("migration_id", sa.String(32), primary_key=True),
            sa.Column("flow_run_id", sa.String(64), nullable=False),
            sa.Column("wake_at", TZ, nullable=False),
        )
        op.create_index("ix_gate_wakes_wake_at", "gate_wakes", ["wake_at"])


def downgrade() -> None:
    for table in ("gate_wakes", "gate_notes", "gate_votes", "gates"):
        op.drop_table(table)
    op.drop_index("ix_ledger_actions_seq", table_name="ledger_actions")
    op.drop_table("ledger_actions")
    op.drop_table("migration_locks")
    op.drop_index("ix_migrations_org", table_name="migrations")
    op.drop_table("migrations")
