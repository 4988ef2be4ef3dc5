"""Discovery runs and their findings. A finding is kept as its JSON: the model is the
contract, not columns."""

from __future__ import annotations

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String, Table, Text

from .base import UtcDateTime, metadata

runs = Table(
    "discovery_runs",
    metadata,
    Column("org_id", String(18), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("started", UtcDateTime(), nullable=False),
    Column("finished", UtcDateTime()),
    Column("api_calls", Integer, nullable=False),
    Column("stats", Text, nullable=False),  # JSON
    PrimaryKeyConstraint("org_id", "run_id"),
)

findings = Table(
    "findings",
    metadata,
    Column("org_id", String(18), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("finding_id", String(32), nullable=False),
    Column("saved_at", UtcDateTime(), nullable=False),
    Column("body", Text, nullable=False),  # Finding JSON
    PrimaryKeyConstraint("org_id", "run_id", "finding_id"),
)
