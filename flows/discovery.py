"""Scheduled discovery: find the integrations running under human accounts, with evidence.

Reads like the runbook: connect, snapshot the org, pull the day's logs, account for every
day of the window, classify, report, tell Slack what is new."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from handover.coverage import window
from handover.detect import classify_all
from handover.models import Finding
from handover.salesforce.connection import resolve
from handover.settings import Settings
from handover.usage.store import UsageStore
from tasks.connect import connect_org
from tasks.ingest import (
    ingest_event_log_file,
    ingest_login_history,
    list_event_log_files,
    snapshot_org,
    update_coverage,
)
from tasks.report import post_slack_digest, publish_discovery_report
from tasks.retry import io_options


def finding_json(f: Finding) -> dict[str, Any]:
    """The --json contract: finding_id, user_id, username, app_name, verdict, score, evidence."""
    return {
        "finding_id": f.finding_id,
        "user_id": f.user_id,
        "username": f.username,
        "app_name": f.app_name,
        "app_key": f.app_key,
        "connected_app_id": f.connected_app_id,
        "verdict": f.verdict,
        "score": round(f.score, 3),
        "license": f.license,
        "profile": f.profile,
        "total_calls": f.total_calls,
        "is_new": f.is_new,
        "reasons": f.reasons,
        "window": {"start": f.window_start.isoformat(), "end": f.window_end.isoformat()},
        "evidence": {
            e.key: {"label": e.label, "value": e.value, "detail": e.detail, "weight": e.weight}
            for e in f.evidence
        },
    }


@flow(name="discover", log_prints=False)
def discover(
    org: str | None = None, emulator_info: str | None = None, window_days: int | None = None
) -> list[dict[str, Any]]:
    logger = get_run_logger()
    settings = Settings()
    io = io_options(settings)
    config = resolve(
        settings.salesforce.orgs_file,
        org,
        Path(emulator_info) if emulator_info else None,
        settings.salesforce.default_org,
    )
    gateway = connect_org.with_options(**io)(config, settings.salesforce)
    org_id = gateway.org_id()
    org_now = gateway.org_now()
    days = window_days or settings.detection.window_days
    start, end = window(org_now, days)
    store = UsageStore(settings.store.url)
    logger.info(
        "discovery of %s (%s): window %s..%s, org time %s",
        config.name,
        org_id,
        start,
        end,
        org_now.isoformat(),
    )

    snapshot = snapshot_org.with_options(**io)(gateway, store, org_id)
    files = list_event_log_files.with_options(**io)(gateway)
    new_files = [f for f in files if not store.is_file_ingested(org_id, f.file_id)]
    rows = 0
    for meta in new_files:
        rows += ingest_event_log_file.with_options(**io)(gateway, store, org_id, meta)
    logins = ingest_login_history.with_options(**io)(gateway, store, org_id)
    update_coverage(store, org_id, files, org_now, start, end)
    coverage = store.coverage(org_id, start, end)

    run_id = str(flow_run.id or "local")
    previous = store.previous_finding_ids(org_id, run_id)
    findings = classify_all(
        store.profiles(org_id, start, end), settings.detection, previous_ids=previous
    )
    stats = {
        "api_calls": gateway.api_calls,
        "files_listed": len(files),
        "files_ingested": len(new_files),
        "rows_ingested": rows,
        "login_history_rows": logins,
        **snapshot,
    }
    store.save_run(org_id, run_id, org_now, org_now, gateway.api_calls, stats)
    store.save_findings(org_id, run_id, findings)
    coverage_view = coverage.as_dict()
    publish_discovery_report(config.name, findings, coverage_view, stats)
    run_url = None
    post_slack_digest(settings.slack, findings, config.name, run_url)
    logger.info(
        "%d findings (%d integrations under human accounts); %d Salesforce API calls",
        len(findings),
        sum(f.verdict == "integration_under_human" for f in findings),
        gateway.api_calls,
    )
    return [finding_json(f) for f in findings]
