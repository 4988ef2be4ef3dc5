"""Evidence for plans: one example request per API aggregate, one example query per field
row, and whether an ingested file carried query text (field lists).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

A plan shows, for every permission, an example of the calls that justify it
("POST /v59.0/sobjects/Order"); the per-day aggregates kept counts only. And a plan must
say whether field-level evidence was possible at all, which depends on the files' columns,
not on whether this one integration happened to query anything.

Rows written before this revision get "" (no example: plans show none) and
``field_lists`` is back-filled for files whose field rows prove they had query text.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_api_daily") as batch:
        batch.add_column(sa.Column("example", sa.Text, nullable=False, server_default=""))
    with op.batch_alter_table("usage_field_daily") as batch:
        batch.add_column(sa.Column("example", sa.Text, nullable=False, server_default=""))
    with op.batch_alter_table("usage_ingested_files") as batch:
        batch.add_column(
            sa.Column("field_lists", sa.Boolean, nullable=False, server_default=sa.false())
        )
    # Field rows come only from files with a QUERY column: where a file's day and type have
    # them, that file had field lists. (Files with a QUERY column but no readable query
    # stay false: the plan then says field evidence is missing, which is the safe side.)
    op.execute(
        "UPDATE usage_ingested_files SET field_lists = TRUE WHERE EXISTS ("
        " SELECT 1 FROM usage_field_daily f WHERE f.org_id = usage_ingested_files.org_id"
        " AND f.event_type = usage_ingested_files.event_type"
        " AND f.day = usage_ingested_files.log_date)"
    )


def downgrade() -> None:
    with op.batch_alter_table("usage_ingested_files") as batch:
        batch.drop_column("field_lists")
    with op.batch_alter_table("usage_field_daily") as batch:
        batch.drop_column("example")
    with op.batch_alter_table("usage_api_daily") as batch:
        batch.drop_column("example")
