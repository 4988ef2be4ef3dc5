"""Report tasks: what people see of a discovery run (Prefect artifacts and the Slack
digest) and of a migration (its final report, the last word in its Slack thread), and the
two things every report needs from Prefect: artifact keys it accepts, and the link to the
run."""

from __future__ import annotations

import re
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from handover.errors import HandoverError
from handover.migration.steps import GATE_NAMES
from handover.models import DecommissionPlan, Finding, VerificationResult
from handover.render import render_discovery_report, render_migration_report
from handover.settings import SlackSettings
from handover.slack.notices import post_notice, render_notice
from tasks.context import MigrationRun


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key from ``parts`` ("access-plan", "f-b9466bf7984b"): keys must
    match ^[a-z0-9-]+$, so anything else becomes a dash. Same parts, same key: the
    Artifacts page then shows each key's history."""
    key = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")
    if not key:
        raise ValueError(f"no artifact key can be made of {parts!r}")
    return key


def run_url() -> str | None:
    """The current flow run's page in the Prefect UI (Prefect's runtime knows it); None
    when no UI serves it, as under the ephemeral local API, where the URL has no host."""
    url = flow_run.ui_url
    return url if url and url.startswith(("http://", "https://")) else None


def findings_table(findings: list[Finding]) -> list[dict[str, Any]]:
    return [
        {
            "finding": f.finding_id,
            "verdict": f.verdict,
            "score": round(f.score, 2),
            "user": f.username,
            "licence": f.license,
            "app or client": f.app_name,
            "calls in window": f.total_calls,
            "new": "yes" if f.is_new else "",
            "why": "; ".join(f.reasons[:2]),
        }
        for f in findings
    ]


@task(name="publish-discovery-report", cache_policy=NO_CACHE, persist_result=False)
def publish_discovery_report(
    org_name: str, findings: list[Finding], coverage: dict[str, Any], stats: dict[str, Any]
) -> str:
    """A table artifact of the findings and a Markdown report with evidence and coverage."""
    create_table_artifact(
        findings_table(findings),
        key="discovery-findings",
        description=f"Discovery findings for {org_name}",
    )
    markdown = render_discovery_report(
        org_name=org_name, findings=findings, coverage=coverage, stats=stats
    )
    create_markdown_artifact(
        markdown, key="discovery-report", description=f"Discovery report for {org_name}"
    )
    return markdown


@task(name="post-slack-digest", cache_policy=NO_CACHE, persist_result=False)
def post_slack_digest(
    settings: SlackSettings,
    findings: list[Finding],
    org_name: str,
    run_url: str | None,
    dismissed: frozenset[str] = frozenset(),
) -> str:
    """New findings to Slack, but none a person dismissed (`handover dismiss`); never
    fails discovery (a Slack outage is logged, not raised)."""
    from handover.slack.digest import post_digest

    logger = get_run_logger()
    new = [
        f
        for f in findings
        if f.is_new and f.verdict == "integration_under_human" and f.finding_id not in dismissed
    ]
    result = post_digest(settings, new, org_name=org_name, run_url=run_url)
    logger.info("Slack digest: %s", result.detail)
    return result.detail


# ---------------------------------------------------------------------- migrations


def migration_artifact_key(migration_id: str) -> str:
    """The final report of one migration: one key per migration, so re-runs version it."""
    return artifact_key("migration", migration_id)


@task(name="publish-migration-report", cache_policy=NO_CACHE, persist_result=False)
def publish_migration_report(run: MigrationRun) -> str:
    """The migration's report as a Markdown artifact: what changed, who approved what and
    when, the verification's figures, the decommission decisions."""
    facts = run.facts()
    verification = facts.get("verification")
    decommission = facts.get("decommission_plan")
    gates = [g for name in GATE_NAMES if (g := run.book.get(run.migration_id, name)) is not None]
    markdown = render_migration_report(
        status=run.status(),
        plan=run.plan,
        entries=run.ledger.steps(run.migration_id),
        gates=sorted(gates, key=lambda g: g.opened_at),
        verification=VerificationResult.model_validate(verification) if verification else None,
        window=facts.get("window"),
        decommission=DecommissionPlan.model_validate(decommission) if decommission else None,
        sink=f"{run.sink_kind} ({run.sink.where})" if run.hands_over_credentials else None,
        run_url=run.run_url,
    )
    create_markdown_artifact(
        markdown,
        key=migration_artifact_key(run.migration_id),
        description=f"Migration {run.migration_id} of {run.plan.app_name}",
    )
    return markdown


@task(name="notify-thread", cache_policy=NO_CACHE, persist_result=False)
def notify_thread(run: MigrationRun, kind: str, reasons: list[str]) -> None:
    """How the migration ended, in its Slack thread. Never fails the run: Slack being down
    changes nothing in the org (the report and the ledger say it all)."""
    status = run.status()
    try:
        message = render_notice(
            kind,
            migration_id=run.migration_id,
            app_name=run.plan.app_name,
            human=run.plan.human.username,
            new_user=run.plan.user.username,
            outcome=status.outcome,
            reason=status.outcome_reason,
            reasons=reasons,
            run_url=run.run_url,
        )
        post_notice(run.book, run.slack, run.migration_id, run.channel, message)
    except HandoverError as exc:
        get_run_logger().warning("could not post the migration's outcome to Slack: %s", exc)
