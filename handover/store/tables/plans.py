"""Plans the plan flow made, saved by their hash: what an approval binds to and the only
thing the migration will apply. The plan is kept as its JSON (the model is the contract);
the columns beside it are what plans are looked up by."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from .base import UtcDateTime, metadata, required_text

plans = Table(
    "plans",
    metadata,
    Column("plan_hash", String(64), primary_key=True),  # sha256 hex of the canonical JSON
    required_text("org_id", 18),
    required_text("finding_id", 32),
    required_text("status", 16),  # ready | blocked
    Column("first_saved_at", UtcDateTime(), nullable=False),
    # Planning again from unchanged evidence gives the same hash: the row is kept, and this
    # moves, so "the latest plan of a finding" is the one made last.
    Column("saved_at", UtcDateTime(), nullable=False),
    Column("body", Text, nullable=False),  # AccessPlan JSON
    Index("ix_plans_finding", "org_id", "finding_id", "saved_at"),
)
