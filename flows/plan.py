"""Plan: the least-privilege Integration User for one finding, from observed usage.

Reads like the runbook: connect, load the finding discovery made, read its evidence from
the usage store (what it did, and how it logs in: the cutover route), read what the human
can do today and how the org describes the objects, build the plan (or refuse, saying why),
save it by its hash, publish it for people.
Nothing is written to the org: the plan is data, approved and applied later.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from handover.plan import plan_json
from handover.planning.cutover import check_route
from handover.settings import Settings
from handover.store.plans import PlanStore
from handover.usage import UsageStore
from tasks.connect import open_org
from tasks.names import plan_run_name
from tasks.plan import (
    load_finding,
    make_plan,
    publish_plan,
    read_cutover_evidence,
    read_evidence,
    read_human_access,
    read_org_facts,
    save_plan,
)
from tasks.retry import io_options


@flow(name="plan", flow_run_name=plan_run_name, log_prints=False)
def plan(
    finding_id: str,
    org: str | None = None,
    emulator_info: str | None = None,
    route: str | None = None,
) -> dict[str, Any]:
    """The plan as JSON (``plan_json``): ``status`` "ready" / "blocked", or
    "insufficient_evidence" / "refused" with ``reasons``. ``route`` (jwt_bearer or
    client_credentials): the flow the external system will be switched to, when its own
    way of logging in has no route (a refresh token); recorded in the plan."""
    logger = get_run_logger()
    settings = Settings()
    chosen = check_route(route)
    io = io_options(settings)
    gateway = open_org(settings, org, emulator_info)
    with UsageStore(settings.store.url) as store:
        finding = load_finding(store, gateway.org_id(), finding_id, gateway.org_name)
        evidence = read_evidence(store, finding)
        cutover = read_cutover_evidence(store, finding, evidence)
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
    result = make_plan(finding, evidence, human, facts, settings.plan, cutover, chosen)
    with PlanStore(settings.store.url) as plans:
        save_plan(plans, result)
    publish_plan(result)
    logger.info("%s (%d Salesforce API calls)", result.headline, gateway.api_calls)
    return plan_json(result)
