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

from .base import UtcDateTime, metadata

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
    Column("org_id", String(18), nullable=False),
    Column("file_id", String(18), nullable=False),  # 15-character prefix: both forms match
    Column("event_type", String(64), nullable=False),
    Column("log_date", Date, nullable=False),
    Column("length", Integer),
    Column("status", String(16), nullable=False),  # ingested | unknown_type
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
    Column("org_id", String(18), nullable=False),
    Column("day", Date, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # ingested | gap | empty
    Column("note", Text, nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "day", "event_type"),
)

api_daily = Table(
    "usage_api_daily",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", String(18), nullable=False),
    Column("day", Date, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("user_id", String(18), nullable=False),
    Column("app_key", String(300), nullable=False),
    Column("client_name", String(255), nullable=False),
    Column("api_family", String(32), nullable=False),
    Column("entity", String(255), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("app_id", String(18), nullable=False),
    Column("app_name", String(255), nullable=False),
    # One request of the aggregate as logged, e.g. "POST /v59.0/sobjects/Order": the
    # smallest in text order, so the same files give the same example in any order.
    Column("example", Text, nullable=False, server_default=""),
    *_counts(),
    UniqueConstraint(*API_KEY, name="uq_usage_api_daily"),
)

api_source_ips = Table(
    "usage_api_source_ips",
    metadata,
    Column("org_id", String(18), nullable=False),
    Column("day", Date, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("user_id", String(18), nullable=False),
    Column("app_key", String(300), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("calls", Integer, nullable=False),
    PrimaryKeyConstraint("org_id", "day", "event_type", "user_id", "app_key", "ip"),
)

field_usage = Table(
    "usage_field_daily",
    metadata,
    Column("org_id", String(18), nullable=False),
    Column("day", Date, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("user_id", String(18), nullable=False),
    Column("app_key", String(300), nullable=False),
    Column("entity", String(255), nullable=False),
    Column("field", String(255), nullable=False),
    Column("access", String(16), nullable=False),  # "read" (SOQL); writes later
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
    Column("org_id", String(18), nullable=False),
    Column("day", Date, nullable=False),
    Column("user_id", String(18), nullable=False),
    Column("login_type", String(64), nullable=False),  # LoginHistory labels, not codes
    Column("login_sub_type", String(64), nullable=False),
    Column("status", String(128), nullable=False),
    Column("api_type", String(64), nullable=False),
    *_counts(),
    PrimaryKeyConstraint(
        "org_id", "day", "user_id", "login_type", "login_sub_type", "status", "api_type"
    ),
)

login_history_daily = Table(
    "usage_login_history_daily",  # LoginHistory rows (SOQL)
    metadata,
    Column("org_id", String(18), nullable=False),
    Column("day", Date, nullable=False),
    Column("user_id", String(18), nullable=False),
    Column("application", String(255), nullable=False),
    Column("login_type", String(64), nullable=False),
    Column("login_sub_type", String(64), nullable=False),
    Column("status", String(128), nullable=False),
    Column("api_type", String(64), nullable=False),
    *_counts(),
    PrimaryKeyConstraint(
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
    Column("org_id", String(18), nullable=False),
    Column("user_id", String(18), nullable=False),
    Column("username", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("email", String(255), nullable=False),
    Column("license", String(255), nullable=False),
    Column("profile", String(255), nullable=False),
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
    Column("org_id", String(18), nullable=False, index=True),
    Column("user_id", String(18), nullable=False),
    Column("app_name", String(255), nullable=False),
    Column("app_id", String(18), nullable=False),  # AppMenuItem.ApplicationId, may be ""
    Column("use_count", Integer),
    Column("last_used", UtcDateTime()),
    Column("created", UtcDateTime()),
    Column("snapshot_at", UtcDateTime(), nullable=False),
)

connected_apps = Table(
    "usage_connected_apps",
    metadata,
    Column("org_id", String(18), nullable=False),
    Column("app_id", String(18), nullable=False),
    Column("name", String(255), nullable=False),
    Column("admin_approved_only", Boolean, nullable=False),
    Column("snapshot_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "app_id"),
)

app_access = Table(
    "usage_app_access",  # SetupEntityAccess rows granting a connected app
    metadata,
    Column("org_id", String(18), nullable=False),
    Column("app_id", String(18), nullable=False),
    Column("parent_id", String(18), nullable=False),  # PermissionSet (profile-owned or not)
    Column("is_owned_by_profile", Boolean, nullable=False),
    Column("profile_id", String(18), nullable=False),
    Column("snapshot_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "app_id", "parent_id"),
)

assignments = Table(
    "usage_permset_assignments",
    metadata,
    Column("org_id", String(18), nullable=False),
    Column("assignee_id", String(18), nullable=False),
    Column("permission_set_id", String(18), nullable=False),
    Column("permission_set_name", String(255), nullable=False),
    Column("is_owned_by_profile", Boolean, nullable=False),
    Column("snapshot_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("org_id", "assignee_id", "permission_set_id"),
)
