"""The usage store's tables: ingested files, coverage, per-day aggregates, LoginHistory
and the snapshots of the org.

Conventions: ids are 18 characters (ELF's 15-character ids are converted at ingestion);
text key columns hold "" rather than NULL so they can sit in unique keys; per-day
aggregates carry calls, first/last instant and 24 hour-of-day counts (UTC), which is what
cadence and off-hours need, instead of every row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from .base import UtcDateTime, metadata, required_text

# The key of each per-day aggregate: one row per distinct value of these columns.
API_KEY = [
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
]
LOGIN_EVENT_KEY = [
    "org_id",
    "day",
    "user_id",
    "login_type",
    "login_sub_type",
    "status",
    "api_type",
]
LOGIN_HISTORY_KEY = [
    "org_id",
    "day",
    "user_id",
    "application",
    "login_type",
    "login_sub_type",
    "status",
    "api_type",
]

HOURS = [f"h{h:02d}" for h in range(24)]


def _hour_columns() -> list[Column[Any]]:
    return [Column(name, Integer, nullable=False, server_default="0") for name in HOURS]


def _pair_day() -> list[Column[Any]]:
    """What every API aggregate is kept by first: the org's day, event type, user and app
    (or client)."""
    return [
        required_text("org_id", 18),
        Column("day", Date, nullable=False),
        required_text("event_type", 64),
        required_text("user_id", 18),
        required_text("app_key", 300),
    ]


def _login_kind() -> list[Column[Any]]:
    """How a login happened, as LoginHistory labels it (not the Login file's codes)."""
    return [
        required_text("login_type", 64),
        required_text("login_sub_type", 64),
        required_text("status", 128),
        required_text("api_type", 64),
    ]


def _counts() -> list[Column[Any]]:
    return [
        Column("calls", Integer, nullable=False),
        Column("first_at", UtcDateTime(), nullable=False),
        Column("last_at", UtcDateTime(), nullable=False),
        *_hour_columns(),
    ]


ingested_files = Table(
    "usage_ingested_files",
    metadata,
    required_text("org_id", 18),
    required_text("file_id", 18),  # 15-character prefix: both forms match
    required_text("event_type", 64),
    Column("log_date", Date, nullable=False),
    Column("length", Integer),
    required_text("status", 16),  # ingested | unknown_type
    Column("rows", Integer, nullable=False),
    Column("bad_rows", Integer, nullable=False),
    Column("aggregates", Integer, nullable=False),
    Column("note", Text, nullable=False),
    Column("ingested_at", UtcDateTime(), nullable=False),
    # The file had query text (a QUERY column): field-level evidence was possible that day.
    Column("field_lists", Boolean, nullable=False, server_default=false()),
    PrimaryKeyConstraint("org_id", "file_id"),
)

coverage = Table(
    "usage_coverage",
    metadata,
    required_text("org_id", 18),
    Column("day", Date, nullable=False),
    required_text("event_type", 64),
    required_text("status", 16),  # ingested | gap | empty
    Column("note", Text, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "day", "event_type"),
)

api_daily = Table(
    "usage_api_daily",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_pair_day(),
    required_text("client_name"),
    required_text("api_family", 32),
    required_text("entity"),
    required_text("operation", 64),
    required_text("status", 16),
    required_text("app_id", 18),
    required_text("app_name"),
    # One request of the aggregate as logged, e.g. "POST /v59.0/sobjects/Order": the
    # smallest in text order, so the same files give the same example in any order.
    Column("example", Text, nullable=False, server_default=""),
    *_counts(),
    UniqueConstraint(*API_KEY, name="uq_usage_api_daily"),
)

api_source_ips = Table(
    "usage_api_source_ips",
    metadata,
    *_pair_day(),
    required_text("ip", 64),
    Column("calls", Integer, nullable=False),
    PrimaryKeyConstraint("org_id", "day", "event_type", "user_id", "app_key", "ip"),
)

field_usage = Table(
    "usage_field_daily",
    metadata,
    *_pair_day(),
    required_text("entity"),
    required_text("field"),
    required_text("access", 16),  # "read" (SOQL); writes later
    Column("count", Integer, nullable=False),
    # A query that read the field, literals blanked (smallest in text order, clipped).
    Column("example", Text, nullable=False, server_default=""),
    PrimaryKeyConstraint(
        "org_id", "day", "event_type", "user_id", "app_key", "entity", "field", "access"
    ),
)

login_events_daily = Table(
    "usage_login_events_daily",  # the Login event log file
    metadata,
    required_text("org_id", 18),
    Column("day", Date, nullable=False),
    required_text("user_id", 18),
    *_login_kind(),
    *_counts(),
    PrimaryKeyConstraint(*LOGIN_EVENT_KEY),
)

login_history_daily = Table(
    "usage_login_history_daily",  # LoginHistory rows (SOQL)
    metadata,
    required_text("org_id", 18),
    Column("day", Date, nullable=False),
    required_text("user_id", 18),
    required_text("application"),
    *_login_kind(),
    *_counts(),
    PrimaryKeyConstraint(*LOGIN_HISTORY_KEY),
)

login_history_cursor = Table(
    "usage_login_history_cursor",
    metadata,
    Column("org_id", String(18), primary_key=True),
    Column("last_login_time", UtcDateTime(), nullable=False),
)

# Snapshots: the latest state of the org, replaced whole by each discovery run.
users = Table(
    "usage_users",
    metadata,
    required_text("org_id", 18),
    required_text("user_id", 18),
    required_text("username"),
    required_text("name"),
    required_text("email"),
    required_text("license"),
    required_text("profile"),
    Column("is_active", Boolean, nullable=False),
    Column("last_login", UtcDateTime()),
    Column("title", String(255)),
    Column("department", String(255)),
    Column("snapshot_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "user_id"),
)

oauth_tokens = Table(
    "usage_oauth_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required_text("org_id", 18, index=True),
    required_text("user_id", 18),
    required_text("app_name"),
    required_text("app_id", 18),  # AppMenuItem.ApplicationId, may be ""
    Column("use_count", Integer),
    Column("last_used", UtcDateTime()),
    Column("created", UtcDateTime()),
    Column("snapshot_at", UtcDateTime(), nullable=False),
)

connected_apps = Table(
    "usage_connected_apps",
    metadata,
    required_text("org_id", 18),
    required_text("app_id", 18),
    required_text("name"),
    Column("admin_approved_only", Boolean, nullable=False),
    Column("snapshot_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "app_id"),
)

app_access = Table(
    "usage_app_access",  # SetupEntityAccess rows granting a connected app
    metadata,
    required_text("org_id", 18),
    required_text("app_id", 18),
    required_text("parent_id", 18),  # PermissionSet (profile-owned or not)
    Column("is_owned_by_profile", Boolean, nullable=False),
    required_text("profile_id", 18),
    Column("snapshot_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "app_id", "parent_id"),
)

assignments = Table(
    "usage_permset_assignments",
    metadata,
    required_text("org_id", 18),
    required_text("assignee_id", 18),
    required_text("permission_set_id", 18),
    required_text("permission_set_name"),
    Column("is_owned_by_profile", Boolean, nullable=False),
    Column("snapshot_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "assignee_id", "permission_set_id"),
)
