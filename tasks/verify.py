"""Verify: the new user's access read back from the org against the plan (static, right
after the cutover), then the integration's traffic over the verification window against
the plan's baseline (live): its logins now come from the new user, the human's stopped,
volumes per object x operation and the success rate held, no new error codes.

Waiting for the window holds no worker for long: the flow watches the org's clock for up
to ``HANDOVER_VERIFY__POLL_SECONDS`` (the demo and the tests move the emulator's clock
meanwhile), then records a wake-up for the approval service's reaper and suspends (a
deployment run) or pauses (a direct call). Its event logs are then ingested with
discovery's own ingest tasks.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from prefect import get_run_logger, pause_flow_run, suspend_flow_run, task
from prefect.cache_policies import NO_CACHE

from handover import ids
from handover.migration import verify
from handover.migration.window import VerificationWindow, verification_window
from handover.models import TrafficFigures, VerificationInputs, VerificationResult
from handover.salesforce.provision import Records
from handover.salesforce.traffic import app_logins
from handover.slack.gatebook import Wake
from handover.usage import UsageStore
from tasks.approvals import from_deployment, poll_interval
from tasks.context import MigrationRun
from tasks.ingest import (
    ingest_event_log_file,
    ingest_login_history,
    list_event_log_files,
    new_event_log_files,
    update_coverage,
)
from tasks.retry import io_options

WAKE_MARGIN = timedelta(minutes=1)


def new_user_id(run: MigrationRun) -> str:
    entry = run.port().get("provision:user")
    if entry is None or not entry.record_id:
        raise RuntimeError("verification runs after provisioning: the new user has an id")
    return entry.record_id


def _judge(run: MigrationRun, inputs: VerificationInputs) -> VerificationResult:
    v = run.settings.verify
    return verify.judge(
        inputs,
        volume_tolerance=v.volume_tolerance,
        success_tolerance=v.success_tolerance,
        min_expected_calls=v.min_expected_calls,
    )


@task(name="verify-access", cache_policy=NO_CACHE, persist_result=False)
def verify_access(run: MigrationRun) -> VerificationResult:
    """Static: the new user's effective access, read back, holds every planned
    permission and nothing beyond the plan and its profile."""
    run.ledger.at_step(run.migration_id, "verify")
    access = Records(run.gateway).effective_access(new_user_id(run))
    inputs = VerificationInputs(
        planned=run.plan.permission_set, granted=access.user, profile=access.profile
    )
    result = _judge(run, inputs)
    get_run_logger().info("static verification: %s (%s)", result.outcome, "; ".join(result.reasons))
    return result


def window_of(run: MigrationRun) -> VerificationWindow:
    """The window from the cutover; each extension adds one more window's length to it."""
    facts = run.facts()
    cutover_at = datetime.fromisoformat(str(facts["cutover_at"]))
    v = run.settings.verify
    hours = v.window_hours * (1 + int(facts.get("extensions", 0)))
    return verification_window(cutover_at, settle_minutes=v.settle_minutes, window_hours=hours)


def wait_for_window(run: MigrationRun, window: VerificationWindow) -> None:
    """Return once the org's clock has passed the time the window's logs are due."""
    logger = get_run_logger()
    poll = run.settings.verify.poll_seconds
    interval = min(run.settings.approvals.poll_seconds, max(poll, 0.1))
    logger.info(
        "verification window %s … %s (org time); its logs are due at %s",
        window.start.isoformat(),
        window.end.isoformat(),
        window.ready_at.isoformat(),
    )
    deadline = time.monotonic() + poll
    while True:
        now = run.gateway.org_now(refresh=True)
        if now >= window.ready_at:
            return
        if time.monotonic() >= deadline:
            _sleep_until(run, window, now)
            deadline = time.monotonic() + poll
            continue
        time.sleep(interval)


def _sleep_until(run: MigrationRun, window: VerificationWindow, org_now: datetime) -> None:
    """Hand the wait to the approval service's reaper: a wake-up in its (wall) clock, then
    suspend (or pause) until it resumes the run."""
    waits = int(run.facts().get("waits", 0)) + 1
    run.remember(waits=waits)
    remaining = window.ready_at - org_now
    wake_at = datetime.now(UTC) + remaining + WAKE_MARGIN
    run.book.set_wake(
        Wake(migration_id=run.migration_id, flow_run_id=run.flow_run_id or "", wake_at=wake_at)
    )
    get_run_logger().info(
        "the window's logs are due in %s (org time): waiting for the approval service to wake "
        "this run at %s",
        remaining,
        wake_at.isoformat(timespec="seconds"),
    )
    key = f"verify-wait-{waits}"
    if from_deployment():
        suspend_flow_run(key=key, timeout=None)
    else:
        pause_flow_run(
            key=key,
            timeout=int(remaining.total_seconds()) + 3600,
            poll_interval=poll_interval(run),
        )


def ingest_window(run: MigrationRun, window: VerificationWindow) -> list[str]:
    """The window's event logs and logins into the usage store, with discovery's tasks;
    the days of the window whose API logs the store still cannot speak for."""
    gateway, org_id = run.gateway, run.gateway.org_id()
    io = io_options(run.settings)
    with UsageStore(run.settings.store.url) as store:
        files = list_event_log_files.with_options(**io)(gateway)
        for meta in new_event_log_files(store, org_id, files):
            ingest_event_log_file.with_options(**io)(gateway, store, org_id, meta)
        ingest_login_history.with_options(**io)(gateway, store, org_id)
        first, last = window.days[0], window.days[-1]
        org_now = gateway.org_now(refresh=True)
        update_coverage(store, org_id, files, org_now, first, last)
        covered = set(store.evidence_coverage(org_id, first, last).days_observed)
    return [d.isoformat() for d in window.days if d not in covered]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@task(name="verify-traffic", cache_policy=NO_CACHE, persist_result=False)
def verify_traffic(
    run: MigrationRun, window: VerificationWindow, missing_days: list[str]
) -> VerificationResult:
    """Static again, and live: the window's traffic of the new user and of the human
    through the app, against the plan's baseline."""
    plan, org_id = run.plan, run.gateway.org_id()
    new_id, human_id = new_user_id(run), plan.human.user_id
    logins = app_logins(run.gateway, [new_id, human_id], [plan.app_name], window.start, window.end)
    with UsageStore(run.settings.store.url) as store:
        ew = plan.evidence_window
        before = store.window_traffic(
            org_id,
            human_id,
            plan.app_key,
            _midnight(ew.start),
            _midnight(ew.end + timedelta(days=1)),
        )
        mine = store.window_traffic(org_id, new_id, plan.app_key, window.start, window.end)
        theirs = store.window_traffic(org_id, human_id, plan.app_key, window.start, window.end)
    days = window.hours / 24
    hours = window.hours_of_day
    baseline = verify.baseline_from_plan(plan).model_copy(
        update={"status_codes": before.status_codes, "by_hour": before.by_hour}
    )
    access = Records(run.gateway).effective_access(new_id)
    inputs = VerificationInputs(
        planned=plan.permission_set,
        granted=access.user,
        profile=access.profile,
        baseline=baseline,
        new_user=TrafficFigures(
            days=days,
            operations=mine.operations,
            status_codes=mine.status_codes,
            logins=logins.get(new_id, 0),
            hours_of_day=hours,
        ),
        human=TrafficFigures(
            days=days,
            operations=theirs.operations,
            status_codes=theirs.status_codes,
            logins=logins.get(ids.to18(human_id), 0),
            hours_of_day=hours,
        ),
    )
    result = _judge(run, inputs)
    if missing_days and result.outcome == "successful":
        # A day without logs could hide the calls that would fail the window.
        result = result.model_copy(
            update={
                "outcome": "inconclusive",
                "reasons": [
                    f"no API logs could be read for {', '.join(missing_days)} of the window",
                    *result.reasons,
                ],
            }
        )
    get_run_logger().info("live verification: %s (%s)", result.outcome, "; ".join(result.reasons))
    return result
