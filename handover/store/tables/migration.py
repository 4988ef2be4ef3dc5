"""The migration's tables: each migration and where it stands, the locks that keep two
migrations off one integration (or one human), the ledger of its org writes, and the
gate book (gates, votes, notes, wake-ups) the flow and the approval service share.

Nothing here holds a secret: ledger rows carry what ``WriteAction`` may carry (a password
only as its placeholder, a token only as a hash), and ``facts`` holds decisions, times and
counters, never credentials.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from .base import UtcDateTime, metadata, required_text

migrations = Table(
    "migrations",
    metadata,
    Column("migration_id", String(32), primary_key=True),
    required_text("org_id", 18),
    required_text("finding_id", 32),
    required_text("app_key", 300),
    required_text("app_name"),
    required_text("human_user_id", 18),
    required_text("human_username"),
    required_text("plan_hash", 64),
    Column("flow_run_id", String(64)),
    Column("step", String(32)),
    Column("waiting_at", String(16)),
    Column("waiting_since", UtcDateTime()),
    Column("outcome", String(16)),  # NULL while open
    Column("outcome_reason", Text),
    Column("dry_run", Boolean, nullable=False),
    Column("facts", Text, nullable=False),  # JSON: decisions, gate attempts, times
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_migrations_org", "org_id", "created_at"),
)

# One row per thing a migration holds while open ("app:<org>:<app key>", "human:<org>:<user
# id>"): the primary key refuses a second holder, in one statement, on both databases.
migration_locks = Table(
    "migration_locks",
    metadata,
    Column("lock_key", String(400), primary_key=True),
    required_text("migration_id", 32),
    Column("created_at", UtcDateTime(), nullable=False),
)

ledger_actions = Table(
    "ledger_actions",
    metadata,
    required_text("migration_id", 32),
    required_text("key", 200),  # the WriteAction's idempotency key
    Column("seq", Integer, nullable=False),  # order first written
    required_text("step", 16),
    required_text("status", 16),
    Column("write", Text, nullable=False),  # WriteAction JSON
    Column("before", Text),  # JSON, the state the first claim saw
    Column("record_ids", Text, nullable=False),  # JSON list
    Column("error", Text),
    Column("attempts", Integer, nullable=False),
    Column("claimed_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("migration_id", "key"),
    Index("ix_ledger_actions_seq", "migration_id", "seq"),
)

gates = Table(
    "gates",
    metadata,
    Column("migration_id", String(32), primary_key=True),
    Column("gate", String(16), primary_key=True),
    Column("flow_run_id", String(64), nullable=False),
    Column("plan_hash", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("ts", String(32), nullable=False),
    Column("thread_ts", String(32)),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("human_email", String(320), nullable=False),
    Column("required_approvals", Integer, nullable=False),
    Column("message", Text, nullable=False),  # GateMessage as JSON
    Column("decision", String(16)),  # NULL while open; set once
    Column("approvers", Text),  # JSON list of Slack user ids
    Column("reason", Text),
    Column("decided_at", UtcDateTime()),
    Column("delivery", String(16)),  # accepted | run_ended | refused; NULL: not yet
    Column("delivery_detail", Text),
)

gate_votes = Table(
    "gate_votes",
    metadata,
    Column("migration_id", String(32), primary_key=True),
    Column("gate", String(16), primary_key=True),
    Column("user_id", String(32), primary_key=True),  # one vote per person per gate
    Column("at", UtcDateTime(), nullable=False),
    ForeignKeyConstraint(["migration_id", "gate"], ["gates.migration_id", "gates.gate"]),
)

gate_notes = Table(
    "gate_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("migration_id", String(32), nullable=False),
    Column("gate", String(16), nullable=False),
    Column("note", Text, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    ForeignKeyConstraint(["migration_id", "gate"], ["gates.migration_id", "gates.gate"]),
)

# A migration waiting (suspended) for its verification window to end, until the approval
# service's reaper claims the wake-up. Its own table rather than a column of migrations:
# the gate book's contract takes a wake-up for any migration id, and claiming one is a
# DELETE of exactly the row that was due.
gate_wakes = Table(
    "gate_wakes",
    metadata,
    Column("migration_id", String(32), primary_key=True),
    Column("flow_run_id", String(64), nullable=False),
    Column("wake_at", UtcDateTime(), nullable=False, index=True),
)
