"""Audit: least privilege over time. For every dedicated Integration User, compare what it
holds with what it used over the window; propose removing what it never used (on enough
evidence) and adding what it was denied; ask; apply, verify, roll back on a mismatch.

Reads like the runbook: connect, find the Integration Users (the latest discovery run's
dedicated integrations), review each, publish the report, then one gate per proposal. A
rejected (or expired) proposal changes nothing. Without Slack and the approval service
(or with ``ask=False``) the proposals are reported and nothing is asked or changed.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from handover.settings import Settings
from handover.store.ledger import Ledger
from tasks.audit import (
    Proposal,
    apply_change,
    ask,
    find_integration_users,
    open_change,
    publish_audit_report,
    review_integration_user,
)
from tasks.connect import open_org
from tasks.report import run_url


def can_ask(settings: Settings) -> bool:
    a = settings.approvals
    return bool(
        settings.slack.token and settings.slack.channel and a.token_key
        and (a.approvers or a.approver_group)
    )  # fmt: skip


@flow(name="audit", log_prints=False)
def audit(
    org: str | None = None, emulator_info: str | None = None, ask_approval: bool = True
) -> dict[str, Any]:
    """``{"users": [...review...], "outcomes": {user id: outcome}, "changes": {user id:
    change id}}``."""
    settings = Settings()
    gateway = open_org(settings, org, emulator_info)
    reviews = [
        review_integration_user(gateway, settings, u)
        for u in find_integration_users(gateway, settings)
    ]
    asking = ask_approval and can_ask(settings)
    outcomes: dict[str, str] = {}
    changes: dict[str, str] = {}
    for r in reviews:
        if not r.proposes:
            continue
        if not asking:
            outcomes[r.user_id] = "proposed (not asked: Slack approvals are not configured)"
            continue
        with Ledger(settings.store.url) as ledger:
            proposal = Proposal(settings, gateway, ledger, r, str(flow_run.id or ""), run_url())
            open_change(proposal)
            changes[r.user_id] = proposal.change_id
            status = ledger.migration(proposal.change_id)
            if status is not None and status.outcome is not None:
                outcomes[r.user_id] = f"{status.outcome}: {status.outcome_reason}"
                continue
            answer = ask(proposal)
            if answer.decision == "approve":
                outcome, why = apply_change(proposal)
            else:
                outcome = "rejected" if answer.decision == "reject" else "expired"
                why = answer.reason or "nothing was changed in the org"
            ledger.finish(proposal.change_id, outcome, why)  # type: ignore[arg-type]
            outcomes[r.user_id] = f"{outcome}: {why}"
            get_run_logger().info("%s: %s", r.username, outcomes[r.user_id])
    publish_audit_report(reviews, outcomes)
    return {
        "users": [r.model_dump(mode="json") for r in reviews],
        "outcomes": outcomes,
        "changes": changes,
    }
