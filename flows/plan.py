"""Plan: the least-privilege Integration User for one finding, from observed usage.

Reads like the runbook: connect, load the finding discovery made, read its evidence from
the usage store, read what the human can do today and how the org describes the objects,
build the plan (or refuse, saying why), save it by its hash, publish it for people.
Nothing is written to the org: the plan is data, approved and applied later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from handover.plan import build_plan, plan_json
from handover.planning.inputs import plan_inputs
from handover.salesforce.connection import resolve
from handover.settings import Settings
from handover.store.plans import PlanStore
from handover.usage.store import UsageStore
from tasks.connect import connect_org
from tasks.plan import (
    load_finding,
    publish_plan,
    read_evidence,
    read_human_access,
    read_org_facts,
    save_plan,
)
from tasks.retry import io_options


@flow(name="plan", log_prints=False)
def plan(
    finding_id: str, org: str | None = None, emulator_info: str | None = None
) -> dict[str, Any]:
    """The plan as JSON (``plan_json``): ``status`` "ready" / "blocked", or
    "insufficient_evidence" / "refused" with ``reasons``."""
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
    with UsageStore(settings.store.url) as store:
        finding = load_finding(store, org_id, finding_id, config.name)
        evidence = read_evidence(store, finding)
    logger.info(
        "planning %s as %s: %d days observed in %s..%s, %d operations on %d objects",
        finding.app_name,
        finding.username,
        len(evidence.days_observed),
        evidence.start,
        evidence.end,
        len(evidence.operations),
        len(evidence.objects()),
    )

    human = read_human_access.with_options(**io)(gateway, finding.user_id)
    facts = read_org_facts.with_options(**io)(
        gateway, finding, evidence.objects(), settings.plan.non_grantable_objects
    )
    result = build_plan(plan_inputs(finding, evidence, human, facts), settings.plan)

    with PlanStore(settings.store.url) as plans:
        save_plan(plans, result)
    publish_plan(result)
    logger.info("%s (%d Salesforce API calls)", result.headline, gateway.api_calls)
    return plan_json(result)
