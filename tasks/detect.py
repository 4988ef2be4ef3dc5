"""Detect tasks: classify every (user, app) pair of the window, and save the run with its
findings. Thin: the usage store reads and writes, handover.detect decides."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from handover.detect import classify_all
from handover.models import Finding
from handover.settings import DetectionSettings
from handover.store.finding_book import FindingBook
from handover.usage import UsageStore


@task(name="classify-window", cache_policy=NO_CACHE, persist_result=False)
def classify_window(
    store: UsageStore,
    org_id: str,
    run_id: str,
    start: date,
    end: date,
    settings: DetectionSettings,
    own_user_id: str | None = None,
) -> list[Finding]:
    """Every (user, app or client) pair with API traffic in the window, classified; "new"
    means the latest run saved before this one did not report it. ``own_user_id``: the user
    handover connects as, whose handover calls are shown as handover."""
    previous = store.previous_finding_ids(org_id, run_id)
    profiles = store.profiles(
        org_id, start, end, login_window_days=settings.login_window_days, own_user_id=own_user_id
    )
    findings = classify_all(profiles, settings, previous_ids=previous)
    get_run_logger().info(
        "%d pairs classified, %d new", len(findings), sum(f.is_new for f in findings)
    )
    return findings


@task(name="save-findings", cache_policy=NO_CACHE, persist_result=False)
def save_findings(
    store: UsageStore,
    org_id: str,
    run_id: str,
    org_now: datetime,
    api_calls: int,
    stats: dict[str, Any],
    findings: list[Finding],
) -> None:
    """The run and its findings: what the next run compares against, and what a plan is
    made from."""
    store.save_run(org_id, run_id, org_now, org_now, api_calls, stats)
    store.save_findings(org_id, run_id, findings)


@task(name="read-dismissed-findings", cache_policy=NO_CACHE, persist_result=False)
def dismissed_findings(store_url: str, org_id: str) -> frozenset[str]:
    """The findings a person set aside (`handover dismiss`): the digest stays quiet about them."""
    with FindingBook(store_url) as book:
        return frozenset(book.dismissed(org_id))
