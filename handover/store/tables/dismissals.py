"""Findings a person dismissed (`handover dismiss ID --reason TEXT`): kept by finding id,
which is stable across discovery runs, so a dismissal holds for every later run."""

from __future__ import annotations

from sqlalchemy import Column, PrimaryKeyConstraint, Table, Text

from .base import UtcDateTime, metadata, required_text

dismissals = Table(
    "finding_dismissals",
    metadata,
    required_text("org_id", 18),
    required_text("finding_id", 32),
    Column("reason", Text, nullable=False),
    required_text("dismissed_by", 255),  # the OS user who ran the command
    Column("dismissed_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "finding_id"),
)
