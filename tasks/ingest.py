"""Ingest tasks: one Prefect task per step of pulling an org's evidence into the store.
Thin: the gateway does the I/O, the store does the bookkeeping."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from handover.coverage import window_statuses
from handover.models import EventLogFileMeta
from handover.salesforce import SalesforceGateway
from handover.usage import Coverage, UsageStore

# Free types every Enterprise org has, then the Event Monitoring ones when present.
EVENT_TYPES = ["ApiTotalUsage", "Login", "RestApi", "API", "BulkApi", "BulkApi2"]


@task(name="snapshot-org", cache_policy=NO_CACHE, persist_result=False)
def snapshot_org(gateway: SalesforceGateway, store: UsageStore, org_id: str) -> dict[str, int]:
    """Users, connected apps and who may use them, assignments, OAuth tokens: as of now."""
    users = gateway.users()
    store.snapshot_users(org_id, users)
    apps = gateway.connected_apps()
    store.snapshot_connected_apps(org_id, apps)
    access = gateway.app_access()
    store.snapshot_app_access(org_id, access)
    assignments = gateway.assignments()
    store.snapshot_assignments(org_id, assignments)
    tokens = gateway.oauth_tokens()
    store.snapshot_oauth_tokens(org_id, tokens)
    return {
        "users": len(users),
        "connected_apps": len(apps),
        "app_access": len(access),
        "assignments": len(assignments),
        "oauth_tokens": len(tokens),
    }


@task(name="list-event-log-files", cache_policy=NO_CACHE, persist_result=False)
def list_event_log_files(gateway: SalesforceGateway) -> list[EventLogFileMeta]:
    return gateway.event_log_files(EVENT_TYPES)


@task(name="find-new-event-log-files", cache_policy=NO_CACHE, persist_result=False)
def new_event_log_files(
    store: UsageStore, org_id: str, files: list[EventLogFileMeta]
) -> list[EventLogFileMeta]:
    """The listed files the store has not ingested yet: each is downloaded once."""
    return [f for f in files if not store.is_file_ingested(org_id, f.file_id)]


@task(name="ingest-event-log-file", cache_policy=NO_CACHE, persist_result=False)
def ingest_event_log_file(
    gateway: SalesforceGateway, store: UsageStore, org_id: str, meta: EventLogFileMeta
) -> int:
    """Download one daily file to a temporary file and fold it into the store's aggregates."""
    logger = get_run_logger()
    with tempfile.TemporaryDirectory(prefix="handover-elf-") as tmp:
        path = gateway.download_log_file(meta, Path(tmp) / f"{meta.file_id}.csv")
        result = store.ingest_event_log(org_id, meta, path)
    rows = int(getattr(result, "rows", 0))
    logger.info(
        "ingested %s of %s: %s rows",
        meta.event_type,
        meta.log_date,
        f"{rows:,}",
        extra={"rows_ingested": rows},  # the CLI's progress line counts them
    )
    return rows


@task(name="ingest-api-events", cache_policy=NO_CACHE, persist_result=False)
def ingest_api_events(
    gateway: SalesforceGateway, store: UsageStore, org_id: str, org_now: datetime, end: date
) -> int:
    """ApiEvent (Real-Time Event Monitoring) of every complete day since history began not
    read yet: the query texts that give REST reads their fields. Nothing without it."""
    logger = get_run_logger()
    began = store.history_began(org_id)
    if began is None or not gateway.api_events_available():
        logger.info("ApiEvent: not available (no Real-Time Event Monitoring, or no access)")
        return 0
    last = min(end, org_now.date() - timedelta(days=1))
    days = [began + timedelta(days=i) for i in range((last - began).days + 1)]
    rows = 0
    for day in days:
        if not store.is_api_event_day_ingested(org_id, day):
            result = store.ingest_api_events(org_id, day, gateway.api_events(day))
            logger.info("ingested ApiEvent of %s: %s queries", day, f"{result.rows:,}")
            rows += result.rows
    return rows


@task(name="ingest-login-history", cache_policy=NO_CACHE, persist_result=False)
def ingest_login_history(gateway: SalesforceGateway, store: UsageStore, org_id: str) -> int:
    """LoginHistory since the last run (the store keeps the cursor)."""
    return store.ingest_login_history(
        org_id, gateway.login_history(store.login_history_cursor(org_id))
    )


@task(name="update-coverage", cache_policy=NO_CACHE, persist_result=False)
def update_coverage(
    store: UsageStore,
    org_id: str,
    files: list[EventLogFileMeta],
    org_now: datetime,
    start: date,
    end: date,
) -> Coverage:
    """Record, for every day of the window since history began, whether its logs were
    ingested, empty or missed (``handover.coverage`` decides); the window's coverage as
    recorded now."""
    existing = store.coverage(org_id, start, end)
    # One store lookup per listed file, not one per (day, file) pair.
    ingested = {f.file_id for f in files if store.is_file_ingested(org_id, f.file_id)}
    for status in window_statuses(
        files=files,
        ingested_ids=ingested,
        decided=existing.records,
        org_now=org_now,
        start=start,
        end=end,
        history_began=store.history_began(org_id),
    ):
        store.record_coverage(org_id, status.day, status.event_type, status.status, status.note)
    return store.coverage(org_id, start, end)
