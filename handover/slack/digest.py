"""Post the discovery digest: the new integrations found running under human accounts.

Slack is optional and never the reason discovery fails. Unconfigured, ``post_digest`` does
nothing and says so; a Slack failure (an API error, a 429 that outlasted the retries, a
refused connection) comes back as a failed ``DigestResult`` with Slack's error code, for the
caller to log in one line. The wording lives in ``templates/slack/digest.json.j2``; this
module picks the findings, renders, checks the Block Kit limits and posts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import BaseModel, ConfigDict
from slack_sdk import WebClient

from handover.models import Finding
from handover.settings import SlackSettings

from .blockkit import block_kit_problems
from .client import SLACK_FAILURES, build_client, error_code, failure_hint
from .text import clip, link_target, mrkdwn

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
DIGEST_TEMPLATE = "slack/digest.json.j2"
MAX_FINDINGS = 20  # 6 fixed blocks + 2 per finding stays under Slack's 50
DIGEST_VERDICT = "integration_under_human"
SKIPPED_NOT_CONFIGURED = "skipped: Slack not configured"
SKIPPED_NOTHING_NEW = "skipped: no new findings to report"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RenderedMessage(_Frozen):
    text: str  # the notification / screen-reader fallback, always set
    blocks: list[dict[str, Any]]


class DigestResult(_Frozen):
    status: Literal["posted", "skipped", "failed"]
    detail: str  # one line for the log: "posted 3 new findings to C0123", "failed: ..."
    channel: str | None = None
    ts: str | None = None
    shown: int = 0
    omitted: int = 0
    error: str | None = None  # Slack's error code, or what kept Slack from answering

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def __str__(self) -> str:
        return self.detail


def digest_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The findings a digest reports, best first: new, and an integration under a human."""
    chosen = [f for f in findings if f.is_new and f.verdict == DIGEST_VERDICT]
    return sorted(chosen, key=lambda f: (-f.score, -f.total_calls, f.username, f.app_name))


@cache
def _environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=False,  # JSON out: strings are escaped by tojson and mrkdwn explicitly
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )
    env.filters |= {
        "mrkdwn": mrkdwn,
        "link_target": link_target,
        "clip": clip,
        "thousands": lambda n: f"{int(n):,}",
    }
    return env


def render_digest(
    findings: list[Finding],
    *,
    org_name: str,
    run_url: str | None,
    max_findings: int = MAX_FINDINGS,
    templates_dir: Path = TEMPLATES_DIR,
) -> RenderedMessage:
    """The digest message for ``findings`` (already chosen and ordered): the first
    ``max_findings`` shown, the rest counted. Raises ValueError if the template produced
    something Slack would reject."""
    shown = findings[:max_findings]
    template = _environment(templates_dir).get_template(DIGEST_TEMPLATE)
    rendered = template.render(
        org_name=org_name, run_url=run_url, findings=shown, omitted=len(findings) - len(shown)
    )
    message = RenderedMessage.model_validate(json.loads(rendered))
    problems = block_kit_problems(message.blocks, text=message.text)
    if problems:
        raise ValueError(f"{DIGEST_TEMPLATE} broke Block Kit limits: {'; '.join(problems)}")
    return message


def post_digest(
    settings: SlackSettings,
    findings: list[Finding],
    *,
    org_name: str,
    run_url: str | None,
    client: WebClient | None = None,
    post_when_empty: bool = False,
) -> DigestResult:
    """Post the digest of the new integration-under-human ``findings`` to the configured
    channel. Never raises for Slack's sake; see the module docstring."""
    if not settings.configured:
        return DigestResult(status="skipped", detail=SKIPPED_NOT_CONFIGURED)
    chosen = digest_findings(findings)
    if not chosen and not post_when_empty:
        return DigestResult(status="skipped", detail=SKIPPED_NOTHING_NEW)
    shown = min(len(chosen), MAX_FINDINGS)
    omitted = len(chosen) - shown
    try:
        message = render_digest(chosen, org_name=org_name, run_url=run_url)
    except (jinja2.TemplateError, ValueError) as exc:
        # A template bug must not fail discovery either; the tests render every template.
        return DigestResult(
            status="failed",
            detail=f"failed: the digest did not render ({exc})",
            error="render_error",
        )
    try:
        client = client or build_client(settings)
        response = client.chat_postMessage(
            channel=str(settings.channel),
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SLACK_FAILURES as exc:
        code = error_code(exc)
        detail = f"failed: {code}{failure_hint(code)}"
        return DigestResult(
            status="failed", detail=detail, error=code, shown=shown, omitted=omitted
        )
    channel = str(response.get("channel") or settings.channel)
    more = f" (+{omitted} more in the report)" if omitted else ""
    noun = "finding" if shown == 1 else "findings"
    return DigestResult(
        status="posted",
        detail=f"posted {shown} new {noun} to {channel}{more}",
        channel=channel,
        ts=response.get("ts"),
        shown=shown,
        omitted=omitted,
    )
