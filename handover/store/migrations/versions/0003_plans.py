"""Plans, saved by hash: every plan the plan flow makes, with its finding, org, status
and when it was saved.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_hash", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(18), nullable=False),
        sa.Column("finding_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_saved_at", TZ, nullable=False),
        sa.Column("saved_at", TZ, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_plans_finding", "plans", ["org_id", "finding_id", "saved_at"])


def downgrade() -> None:
    op.drop_index("ix_plans_finding", table_name="plans")
    op.drop_table("plans")
