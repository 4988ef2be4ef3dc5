"""Rendering for people: jinja2 templates (templates/ owns all wording)."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .models import AccessPlan, Finding, PlanRefusal
from .planning.headline import permission_words

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

VERDICT_LABELS = {
    "integration_under_human": "Integration under a human account",
    "dedicated_integration": "Dedicated integration user",
    "human_interactive": "Human, interactive use",
    "unclear": "Unclear",
}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return "—" if value is None else str(value)


def _md_cell(value: Any) -> str:
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["cell"] = _md_cell
    env.globals["verdict_label"] = VERDICT_LABELS.get
    return env


def render_discovery_report(
    *, org_name: str, findings: list[Finding], coverage: dict[str, Any], stats: dict[str, Any]
) -> str:
    order = {
        "integration_under_human": 0,
        "unclear": 1,
        "dedicated_integration": 2,
        "human_interactive": 3,
    }
    ranked = sorted(findings, key=lambda f: (order[f.verdict], -f.score))
    counts = {v: sum(1 for f in findings if f.verdict == v) for v in order}
    return (
        environment()
        .get_template("reports/discovery.md.j2")
        .render(org_name=org_name, findings=ranked, counts=counts, coverage=coverage, stats=stats)
    )


# ---------------------------------------------------------------------- plans

PLAN_MARKDOWN = "reports/plan.md.j2"
PLAN_BLOCKS = "slack/plan.json.j2"
MAX_PLAN_OBJECTS = 30  # listed in Slack; the rest are counted (the artifact has them all)
MAX_PLAN_BLOCKERS = 6


def _day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def _slack_text(value: Any) -> str:
    # Slack's three control characters; anything else in org data is shown as typed.
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(value: Any, limit: int) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_plan_markdown(plan: AccessPlan | PlanRefusal) -> str:
    """The plan (or the refusal) as the Markdown of a Prefect artifact."""
    return (
        environment()
        .get_template(PLAN_MARKDOWN)
        .render(plan=plan, day=_day, words=permission_words)
    )


def render_plan_blocks(
    plan: AccessPlan | PlanRefusal, *, run_url: str | None = None
) -> list[dict[str, Any]]:
    """The plan (or the refusal) as Slack Block Kit blocks; ``plan.headline`` is the
    notification text to post with them. Raises ValueError if the template produced
    something Slack would reject."""
    from .slack.digest import block_kit_problems  # Slack's limits, checked in one place

    rendered = (
        environment()
        .get_template(PLAN_BLOCKS)
        .render(
            plan=plan,
            run_url=run_url,
            max_objects=MAX_PLAN_OBJECTS,
            max_blockers=MAX_PLAN_BLOCKERS,
            mrkdwn=_slack_text,
            clip=_clip,
            words=permission_words,
        )
    )
    message = json.loads(rendered)
    blocks: list[dict[str, Any]] = message["blocks"]
    problems = block_kit_problems(blocks, text=message["text"])
    if problems:
        raise ValueError(f"{PLAN_BLOCKS} broke Block Kit limits: {'; '.join(problems)}")
    return blocks
