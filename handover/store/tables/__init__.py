"""The store's tables (SQLAlchemy Core), one module per room: ``usage`` (what discovery
ingests), ``discovery`` (runs and findings), ``dismissals`` (findings set aside by a person), ``plans`` (plans saved by hash),
``migration`` (migrations, their locks and ledger, the gate book). Migrations create them (../migrations); a
test checks that the migrated schema matches these definitions. Everything is re-exported
here, so ``from handover.store import tables as t`` reaches any table."""

from .base import UtcDateTime, metadata
from .discovery import findings, runs
from .dismissals import dismissals
from .migration import (
    gate_notes,
    gate_votes,
    gate_wakes,
    gates,
    ledger_actions,
    migration_locks,
    migrations,
)
from .plans import plans
from .usage import (
    API_KEY,
    HOURS,
    LOGIN_EVENT_KEY,
    LOGIN_HISTORY_KEY,
    api_daily,
    api_source_ips,
    app_access,
    assignments,
    connected_apps,
    coverage,
    field_usage,
    ingested_files,
    login_events_daily,
    login_history_cursor,
    login_history_daily,
    oauth_tokens,
    users,
)

__all__ = [
    "API_KEY",
    "HOURS",
    "LOGIN_EVENT_KEY",
    "LOGIN_HISTORY_KEY",
    "UtcDateTime",
    "api_daily",
    "api_source_ips",
    "app_access",
    "assignments",
    "connected_apps",
    "coverage",
    "dismissals",
    "field_usage",
    "findings",
    "gate_notes",
    "gate_votes",
    "gate_wakes",
    "gates",
    "ingested_files",
    "ledger_actions",
    "login_events_daily",
    "login_history_cursor",
    "login_history_daily",
    "metadata",
    "migration_locks",
    "migrations",
    "oauth_tokens",
    "plans",
    "runs",
    "users",
]
