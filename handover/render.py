"""Rendering for people: jinja2 templates (templates/ owns all wording)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .models import Finding

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
