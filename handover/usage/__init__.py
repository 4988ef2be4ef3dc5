"""Event-log parsing, the usage store and aggregation.

``UsageStore(url)`` is the entry point: it ingests each day's event log files, LoginHistory
and snapshots, records which days are covered, and builds ``UsageProfile`` lists for
detection. ``parse_event_log`` is the pure, streaming parser underneath.
"""

from ..models import EventLogFileMeta
from .model import (
    Coverage,
    CoverageGap,
    CoverageStatus,
    EventLogFormatError,
    IngestResult,
    UsageStoreError,
)
from .parse import KNOWN_TYPES, parse_event_log
from .soql import soql_fields
from .store import UsageStore

__all__ = [
    "KNOWN_TYPES",
    "Coverage",
    "CoverageGap",
    "CoverageStatus",
    "EventLogFileMeta",
    "EventLogFormatError",
    "IngestResult",
    "UsageStore",
    "UsageStoreError",
    "parse_event_log",
    "soql_fields",
]
