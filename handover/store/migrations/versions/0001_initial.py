"""The usage store: ingested files, coverage, per-day aggregates, snapshots, runs, findings.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Written out rather than imported from the table definitions: a migration must keep creating
the schema of its time after the definitions move on.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _s(name: str, length: int = 255) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=False)


def _counts() -> list[sa.Column[Any]]:
    hours = [
        sa.Column(f"h{h:02d}", sa.Integer, nullable=False, server_default="0") for h in range(24)
    ]
    return [
        sa.Column("calls", sa.Integer, nullable=False),
        sa.Column("first_at", TZ, nullable=False),
        sa.Column("last_at", TZ, nullable=False),
        *hours,
    ]


def _org_day() -> list[sa.Column[Any]]:
    return [_s("org_id", 18), sa.Column("day", sa.Date, nullable=False)]


def upgrade() -> None:
    op.create_table(
        "usage_ingested_files",
        _s("org_id", 18),
        _s("file_id", 18),
        _s("event_type", 64),
        sa.Column("log_date", sa.Date, nullable=False),
        sa.Column("length", sa.Integer),
        _s("status", 16),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("bad_rows", sa.Integer, nullable=False),
        sa.Column("aggregates", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("ingested_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "file_id"),
    )
    op.create_table(
        "usage_coverage",
        *_org_day(),
        _s("event_type", 64),
        _s("status", 16),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "day", "event_type"),
    )
    op.create_table(
        "usage_api_daily",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        *_org_day(),
        _s("event_type", 64),
        _s("user_id", 18),
        _s("app_key", 300),
        _s("client_name"),
        _s("api_family", 32),
        _s("entity"),
        _s("operation", 64),
        _s("status", 16),
        _s("app_id", 18),
        _s("app_name"),
        *_counts(),
        sa.UniqueConstraint(
            "org_id",
            "day",
            "event_type",
            "user_id",
            "app_key",
            "client_name",
            "api_family",
            "entity",
            "operation",
            "status",
            name="uq_usage_api_daily",
        ),
    )
    op.create_table(
        "usage_api_source_ips",
        *_org_day(),
        _s("event_type", 64),
        _s("user_id", 18),
        _s("app_key", 300),
        _s("ip", 64),
        sa.Column("calls", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "day", "event_type", "user_id", "app_key", "ip"),
    )
    op.create_table(
        "usage_field_daily",
        *_org_day(),
        _s("event_type", 64),
        _s("user_id", 18),
        _s("app_key", 300),
        _s("entity"),
        _s("field"),
        _s("access", 16),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "day", "event_type", "user_id", "app_key", "entity", "field", "access"
        ),
    )
    op.create_table(
        "usage_login_events_daily",
        *_org_day(),
        _s("user_id", 18),
        _s("login_type", 64),
        _s("login_sub_type", 64),
        _s("status", 128),
        _s("api_type", 64),
        *_counts(),
        sa.PrimaryKeyConstraint(
            "org_id", "day", "user_id", "login_type", "login_sub_type", "status", "api_type"
        ),
    )
    op.create_table(
        "usage_login_history_daily",
        *_org_day(),
        _s("user_id", 18),
        _s("application"),
        _s("login_type", 64),
        _s("login_sub_type", 64),
        _s("status", 128),
        _s("api_type", 64),
        *_counts(),
        sa.PrimaryKeyConstraint(
            "org_id",
            "day",
            "user_id",
            "application",
            "login_type",
            "login_sub_type",
            "status",
            "api_type",
        ),
    )
    op.create_table(
        "usage_login_history_cursor",
        sa.Column("org_id", sa.String(18), primary_key=True),
        sa.Column("last_login_time", TZ, nullable=False),
    )
    op.create_table(
        "usage_users",
        _s("org_id", 18),
        _s("user_id", 18),
        _s("username"),
        _s("name"),
        _s("email"),
        _s("license"),
        _s("profile"),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("last_login", TZ),
        sa.Column("title", sa.String(255)),
        sa.Column("department", sa.String(255)),
        sa.Column("snapshot_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "user_id"),
    )
    op.create_table(
        "usage_oauth_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _s("org_id", 18),
        _s("user_id", 18),
        _s("app_name"),
        _s("app_id", 18),
        sa.Column("use_count", sa.Integer),
        sa.Column("last_used", TZ),
        sa.Column("created", TZ),
        sa.Column("snapshot_at", TZ, nullable=False),
    )
    op.create_index("ix_usage_oauth_tokens_org_id", "usage_oauth_tokens", ["org_id"])
    op.create_table(
        "usage_connected_apps",
        _s("org_id", 18),
        _s("app_id", 18),
        _s("name"),
        sa.Column("admin_approved_only", sa.Boolean, nullable=False),
        sa.Column("snapshot_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "app_id"),
    )
    op.create_table(
        "usage_app_access",
        _s("org_id", 18),
        _s("app_id", 18),
        _s("parent_id", 18),
        sa.Column("is_owned_by_profile", sa.Boolean, nullable=False),
        _s("profile_id", 18),
        sa.Column("snapshot_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "app_id", "parent_id"),
    )
    op.create_table(
        "usage_permset_assignments",
        _s("org_id", 18),
        _s("assignee_id", 18),
        _s("permission_set_id", 18),
        _s("permission_set_name"),
        sa.Column("is_owned_by_profile", sa.Boolean, nullable=False),
        sa.Column("snapshot_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "assignee_id", "permission_set_id"),
    )
    op.create_table(
        "discovery_runs",
        _s("org_id", 18),
        _s("run_id", 64),
        sa.Column("started", TZ, nullable=False),
        sa.Column("finished", TZ),
        sa.Column("api_calls", sa.Integer, nullable=False),
        sa.Column("stats", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "run_id"),
    )
    op.create_table(
        "findings",
        _s("org_id", 18),
        _s("run_id", 64),
        _s("finding_id", 32),
        sa.Column("saved_at", TZ, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "run_id", "finding_id"),
    )


def downgrade() -> None:
    for name in (
        "findings",
        "discovery_runs",
        "usage_permset_assignments",
        "usage_app_access",
        "usage_connected_apps",
        "usage_oauth_tokens",
        "usage_users",
        "usage_login_history_cursor",
        "usage_login_history_daily",
        "usage_login_events_daily",
        "usage_field_daily",
        "usage_api_source_ips",
        "usage_api_daily",
        "usage_coverage",
        "usage_ingested_files",
    ):
        op.drop_table(name)
