"""Scheduled discovery: find the integrations running under human accounts, with evidence.

Reads like the runbook: connect, snapshot the org, pull the day's logs, account for every
day of the window, classify, save, report, tell Slack what is new."""

from __future__ import annotations

import os
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from handover.coverage import window
from handover.detect import finding_json
from handover.settings import Settings
from handover.usage import UsageStore
from handover.usage.parse import tune_polars
from tasks.connect import open_org
from tasks.detect import classify_window, dismissed_findings, save_findings
from tasks.ingest import (
    ingest_api_events,
    ingest_event_log_file,
    ingest_login_history,
    list_event_log_files,
    new_event_log_files,
    snapshot_org,
    update_coverage,
)
from tasks.names import discovery_run_name
from tasks.report import post_slack_digest, publish_discovery_report, run_url
from tasks.retry import io_options

tune_polars(os.environ)  # a worker imports this module before it runs the flow


@flow(name="discover", flow_run_name=discovery_run_name, log_prints=False)
def discover(
    org: str | None = None, emulator_info: str | None = None, window_days: int | None = None
) -> list[dict[str, Any]]:
    """The findings as JSON (``finding_json``), integrations under humans first."""
    logger = get_run_logger()
    settings = Settings()
    io = io_options(settings)
    gateway = open_org(settings, org, emulator_info)
    org_id, org_now = gateway.org_id(), gateway.org_now()
    start, end = window(org_now, window_days or settings.detection.window_days)
    run_id = str(flow_run.id or "local")
    logger.info(
        "discovery of %s (%s): window %s..%s, org time %s",
        gateway.org_name,
        org_id,
        start,
        end,
        org_now.isoformat(),
    )

    with UsageStore(settings.store.url) as store:
        snapshot = snapshot_org.with_options(**io)(gateway, store, org_id)
        files = list_event_log_files.with_options(**io)(gateway)
        new_files = new_event_log_files(store, org_id, files)
        logger.info(
            "%d of %d listed event log files are new",
            len(new_files),
            len(files),
            extra={"files_to_ingest": len(new_files)},
        )
        rows = sum(
            ingest_event_log_file.with_options(**io)(gateway, store, org_id, meta)
            for meta in new_files
        )
        logins = ingest_login_history.with_options(**io)(gateway, store, org_id)
        coverage = update_coverage(store, org_id, files, org_now, start, end)
        api_events = ingest_api_events.with_options(**io)(gateway, store, org_id, org_now, end)
        findings = classify_window(
            store, org_id, run_id, start, end, settings.detection, gateway.own_user_id()
        )
        stats = {
            "api_calls": gateway.api_calls,
            "files_listed": len(files),
            "files_ingested": len(new_files),
            "rows_ingested": rows,
            "login_history_rows": logins,
            "api_event_rows": api_events,
            **snapshot,
        }
        save_findings(store, org_id, run_id, org_now, gateway.api_calls, stats, findings)

    publish_discovery_report(gateway.org_name, findings, coverage.as_dict(), stats)
    dismissed = dismissed_findings(settings.store.url, org_id)
    post_slack_digest(settings.slack, findings, gateway.org_name, run_url(), dismissed)
    logger.info(
        "%d findings (%d integrations under human accounts); %d Salesforce API calls",
        len(findings),
        sum(f.verdict == "integration_under_human" for f in findings),
        gateway.api_calls,
    )
    return [finding_json(f) for f in findings]
