"""The migration's own templates, rendered from hand-made data: the thread notice for
every outcome within Block Kit's limits, and the final report (a dry run says so; a
migration shows its approvals, writes, verification and decommission decisions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handover.migration.verify import judge
from handover.models import (
    MIGRATION_OUTCOMES,
    AccessPlan,
    HumanAccess,
    MigrationStatus,
    ObjectAccess,
    VerificationInputs,
)
from handover.models.migration import SECRET_PLACEHOLDER, LedgerEntry, WriteAction
from handover.render import render_migration_report
from handover.slack.gatebook import GateDecision, GateMessage, GateRecord
from handover.slack.notices import render_notice
from tests.blockkit import assert_slack_accepts
from tests.migration.plans import make_plan

T = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)


def status(**more: object) -> MigrationStatus:
    fields: dict[str, object] = {
        "migration_id": "m-1a2b3c4d5e6f", "finding_id": "f-1a2b3c4d5e6f",
        "org_id": "00D000000000001AAA", "app_name": "ERP Sync",
        "human_username": "jane.doe@tiny.example.com", "plan_hash": "ab" * 32,
        "outcome": "successful", "created_at": T, "updated_at": T,
    }  # fmt: skip
    return MigrationStatus.model_validate(fields | more)


@pytest.mark.parametrize("outcome", MIGRATION_OUTCOMES)
def test_a_notice_for_every_outcome(outcome: str) -> None:
    message = render_notice(
        "verification_failed" if outcome == "failed" else "finished",
        migration_id="m-1a2b3c4d5e6f", app_name="ERP Sync", human="jane.doe@tiny.example.com",
        new_user="svc-erp@tiny.example.com", outcome=outcome, reason="x" * 4000,
        reasons=["the new user lacks 1 planned permission(s): Read Account"] * 9,
        run_url="http://127.0.0.1:4200/runs/flow-run/1|2",
    )  # fmt: skip
    assert_slack_accepts(message.blocks, message.text)


def entry(**after: object) -> LedgerEntry:
    return LedgerEntry(
        write=WriteAction(
            step="cutover", key="cutover:credentials", action="update", object="Credentials",
            target="ERP Sync credentials (file)", after=after,
        ),
        status="done", before={"username": "jane.doe@tiny.example.com"}, updated_at=T,
    )  # fmt: skip


def test_the_report_of_a_migration() -> None:
    plan = make_plan(operations=[("Account", "query", 140)])
    verdict = judge(
        VerificationInputs(planned=plan.permission_set, granted=_granted(plan)),
    )
    gate = GateRecord(
        migration_id="m-1a2b3c4d5e6f", gate="cutover", flow_run_id="r", plan_hash="ab" * 32,
        channel="C1", ts="1.1", opened_at=T, expires_at=T, human_email="jane@x.example",
        message=GateMessage(app_name="ERP Sync", human="jane", headline="+1 user"),
        outcome=GateDecision(decision="reject", approvers=["U0LOOMIS02"], reason="not | now",
                             decided_at=T),
    )  # fmt: skip
    report = render_migration_report(
        status=status(outcome="rejected", outcome_reason="rejected at the cutover gate"),
        plan=plan,
        entries=[entry(username="svc-erp@tiny.example.com", password=SECRET_PLACEHOLDER)],
        gates=[gate],
        verification=verdict,
    )
    assert "| Outcome | **Rejected**: rejected at the cutover gate |" in report
    assert "| cutover | Rejected | U0LOOMIS02 | 2026-11-02 14:05 UTC | not \\| now |" in report
    assert "<new password>" in report and "jane.doe@tiny.example.com" in report
    assert "## Verification: " in report and "Dry run" not in report


def test_the_report_of_a_dry_run_says_so() -> None:
    report = render_migration_report(
        status=status(dry_run=True), plan=make_plan(), entries=[], gates=[]
    )
    assert "> **Dry run.**" in report and "## Writes it would make" in report


def _granted(plan: AccessPlan) -> HumanAccess:
    return HumanAccess(
        user_id="005000000000009AAA",
        username=plan.user.username,
        objects={
            p.object: ObjectAccess(read=p.read) for p in plan.permission_set.object_permissions
        },
    )
