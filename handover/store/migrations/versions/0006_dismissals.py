"""Dismissed findings: `handover dismiss ID --reason TEXT` keeps the digest and
`handover findings` quiet about one, with who dismissed it, when and why.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "finding_dismissals",
        sa.Column("org_id", sa.String(18), nullable=False),
        sa.Column("finding_id", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("dismissed_by", sa.String(255), nullable=False),
        sa.Column("dismissed_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "finding_id"),
    )


def downgrade() -> None:
    op.drop_table("finding_dismissals")
