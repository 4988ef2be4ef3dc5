"""Report tasks: what people see of a discovery run — Prefect artifacts and the Slack
digest — and the two things every report needs from Prefect: artifact keys it accepts, and
the link to the run."""

from __future__ import annotations

import re
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from handover.models import Finding
from handover.render import render_discovery_report
from handover.settings import SlackSettings


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
    settings: SlackSettings, findings: list[Finding], org_name: str, run_url: str | None
) -> str:
    """New findings to Slack; never fails discovery (a Slack outage is logged, not raised)."""
    from handover.slack.digest import post_digest

    logger = get_run_logger()
    new = [f for f in findings if f.is_new and f.verdict == "integration_under_human"]
    result = post_digest(settings, new, org_name=org_name, run_url=run_url)
    logger.info("Slack digest: %s", result.detail)
    return result.detail
