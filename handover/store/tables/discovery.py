"""Discovery runs and their findings. A finding is kept as its JSON: the model is the
contract, not columns."""

from __future__ import annotations

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, Table, Text

from .base import UtcDateTime, metadata, required_text

runs = Table(
    "discovery_runs",
    metadata,
    required_text("org_id", 18),
    required_text("run_id", 64),
    Column("started", UtcDateTime(), nullable=False),
    Column("finished", UtcDateTime()),
    Column("api_calls", Integer, nullable=False),
    Column("stats", Text, nullable=False),  # JSON
    PrimaryKeyConstraint("org_id", "run_id"),
)

findings = Table(
    "findings",
    metadata,
    required_text("org_id", 18),
    required_text("run_id", 64),
    required_text("finding_id", 32),
    Column("saved_at", UtcDateTime(), nullable=False),
    Column("body", Text, nullable=False),  # Finding JSON
    PrimaryKeyConstraint("org_id", "run_id", "finding_id"),
)
