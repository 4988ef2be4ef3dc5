"""Rendering for people: jinja2 templates (templates/ owns all wording), through the one
Jinja environment every report and Slack message is rendered with."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib.resources import files
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound

from .blockkit import block_kit_problems, clip, link_target, mrkdwn
from .models import (
    AccessPlan,
    DecommissionPlan,
    Finding,
    LedgerEntry,
    MigrationStatus,
    PlanRefusal,
    Provenance,
    VerificationResult,
)
from .planning.headline import permission_words

TEMPLATES_PACKAGE = "templates"

VERDICT_LABELS = {
    "integration_under_human": "Integration under a human account",
    "dedicated_integration": "Dedicated integration user",
    "human_interactive": "Human, interactive use",
    "unclear": "Unclear",
    "handover": "handover itself",
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


class PackageDataLoader(BaseLoader):
    """Templates read from a package's data with importlib.resources: the checkout, a
    wheel installed anywhere, or a zip all look the same. Names are "/"-separated paths
    below the package ("slack/digest.json.j2")."""

    def __init__(self, package: str) -> None:
        self.package = package

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        parts = template.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise TemplateNotFound(template)
        resource = files(self.package).joinpath(*parts)
        if not resource.is_file():
            raise TemplateNotFound(template)
        return resource.read_text(encoding="utf-8"), str(resource), lambda: True


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one Jinja environment: Markdown and Slack JSON alike (nothing is HTML-escaped:
    JSON strings go through ``tojson``, org data shown as mrkdwn through ``mrkdwn``)."""
    env = Environment(
        loader=PackageDataLoader(TEMPLATES_PACKAGE),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters |= {
        "fmt": _fmt,
        "cell": _md_cell,
        "mrkdwn": mrkdwn,
        "link_target": link_target,
        "clip": clip,
        "thousands": lambda n: f"{int(n):,}",
    }
    env.globals |= {
        "verdict_label": VERDICT_LABELS.get,
        "mrkdwn": mrkdwn,
        "clip": clip,
        "provenance_by_object": provenance_by_object,
    }
    return env


@dataclass(frozen=True)
class ProvenanceRow:
    """One row of a plan's provenance: one permission, or the fields of one object that
    one access rests on the same calls for ("Edit 4 fields of Order: ...")."""

    permission: str
    entry: Provenance  # the first (or only) entry: its justifications stand for all
    because: str | None = None  # the wording when the entry's own would name one field


def provenance_by_object(provenance: list[Provenance]) -> list[tuple[str, list[ProvenanceRow]]]:
    """The provenance grouped per object (the user's own permissions and the app's access
    last), fields justified alike folded into one row: a plan of 40 fields reads as a few
    rows an approver can check, not 40 repeats of the same reason. A field's Read that its
    own Edit requires counts as alike across fields."""
    groups: dict[str, list[Provenance]] = {}
    for p in provenance:
        obj = p.target.split(".", 1)[0] if p.kind in ("object", "field") else ""
        groups.setdefault(obj, []).append(p)
    out: list[tuple[str, list[ProvenanceRow]]] = []
    for obj in sorted(groups, key=lambda o: (o == "", o)):
        rows: list[ProvenanceRow] = []
        fields: dict[tuple[str, str], list[Provenance]] = {}
        for p in groups[obj]:
            if p.kind != "field":
                rows.append(ProvenanceRow(p.permission, p))
                continue
            alike = repr([_own_field(j.model_dump(), p.target) for j in p.justifications])
            fields.setdefault((p.access, alike), []).append(p)
        for (access, _), same in fields.items():
            if len(same) == 1:
                rows.append(ProvenanceRow(same[0].permission, same[0]))
                continue
            names = ", ".join(sorted(p.target.split(".", 1)[1] for p in same))
            label = f"{access.replace('_', ' ').capitalize()} {len(same)} fields of {obj}"
            needs_own = all(
                j.kind == "dependency" and j.required_by.endswith(f" {same[0].target}")
                for j in same[0].justifications
            )
            verb = same[0].justifications[0].required_by.split(" ", 1)[0] if needs_own else ""
            because = f"required by {verb} of each of these fields" if needs_own else None
            rows.append(ProvenanceRow(f"{label}: {names}", same[0], because))
        out.append((obj, rows))
    return out


def _own_field(justification: dict[str, Any], target: str) -> dict[str, Any]:
    """A justification with the field's own name taken out ("Edit Order.Description"
    required by the field's Edit reads alike for every field)."""
    needed_by = str(justification.get("required_by") or "")
    if needed_by.endswith(f" {target}"):
        justification["required_by"] = needed_by.removesuffix(target) + "<field>"
    return justification


def render_discovery_report(
    *, org_name: str, findings: list[Finding], coverage: dict[str, Any], stats: dict[str, Any]
) -> str:
    order = {
        "integration_under_human": 0,
        "unclear": 1,
        "dedicated_integration": 2,
        "human_interactive": 3,
        "handover": 4,
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
    rendered = (
        environment()
        .get_template(PLAN_BLOCKS)
        .render(
            plan=plan,
            run_url=run_url,
            max_objects=MAX_PLAN_OBJECTS,
            max_blockers=MAX_PLAN_BLOCKERS,
            words=permission_words,
        )
    )
    message = json.loads(rendered)
    blocks: list[dict[str, Any]] = message["blocks"]
    problems = block_kit_problems(blocks, text=message["text"])
    if problems:
        raise ValueError(f"{PLAN_BLOCKS} broke Block Kit limits: {'; '.join(problems)}")
    return blocks


# ---------------------------------------------------------------------- migrations

MIGRATION_REPORT = "reports/migration.md.j2"


def _compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


def render_migration_report(
    *,
    status: MigrationStatus,
    plan: AccessPlan,
    entries: list[LedgerEntry],
    gates: list[Any],
    verification: VerificationResult | None = None,
    window: dict[str, Any] | None = None,
    decommission: DecommissionPlan | None = None,
    sink: str | None = None,
    run_url: str | None = None,
) -> str:
    """A migration's final report (Markdown): ``gates`` are the gate book's records."""
    return (
        environment()
        .get_template(MIGRATION_REPORT)
        .render(
            m=status,
            plan=plan,
            dry_run=status.dry_run,
            entries=entries,
            gates=gates,
            verification=verification,
            window=window,
            decommission=decommission,
            sink=sink,
            run_url=run_url,
            json=_compact_json,
            day=_day,
        )
    )
