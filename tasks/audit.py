"""The audit's steps: find the dedicated Integration Users, review each (what it holds,
what it used and was denied over the window), publish the report, and for each proposal
ask at the ``audit`` gate, apply, verify by reading back, roll back on a mismatch.

A proposal's change is kept in the migration ledger under an ``a-`` id (one per proposal
and flow run, so a resumed run continues the same change), with the gate book's thread,
decisions and votes, as a migration's are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from handover import ids
from handover.audit.changes import change_actions, change_lines, risk_lines, verify_change
from handover.audit.proposal import is_denied, review
from handover.errors import HandoverError
from handover.migration.apply import apply_actions
from handover.migration.rollback import apply_rollback
from handover.models import Finding
from handover.models.audit import Usage, UserAudit
from handover.planning.cadence import assess_evidence
from handover.planning.inputs import OrgFacts, plan_inputs
from handover.render import environment
from handover.salesforce import SalesforceGateway
from handover.salesforce.gateway import soql_quote
from handover.salesforce.holdings import read_flags, read_permission_sets
from handover.salesforce.writer import OrgWriter
from handover.settings import Settings
from handover.slack.client import build_client
from handover.slack.gatebook import GateMessage, GateRecord
from handover.slack.gates import open_gate
from handover.slack.gateway import SlackGateway
from handover.slack.tokens import GateInput
from handover.store.gates import SqlGateBook
from handover.store.ledger import Ledger, Opening
from handover.store.plans import PlanStore
from handover.usage import UsageStore
from tasks.approvals import wait_at_gate
from tasks.plan import read_evidence

AUDIT_ARTIFACT = "integration-user-audit"


@dataclass(frozen=True)
class Audited:
    """A dedicated Integration User and the findings of its (user, app) pairs."""

    user_id: str
    username: str
    source: str  # "handover" | "discovery"
    findings: list[Finding]


@task(name="find-integration-users", cache_policy=NO_CACHE, persist_result=False)
def find_integration_users(gateway: SalesforceGateway, settings: Settings) -> list[Audited]:
    """Every user the latest discovery run classifies as a dedicated integration, marked
    "handover" when a migration of handover's made it."""
    org_id = gateway.org_id()
    with UsageStore(settings.store.url) as store:
        findings = [
            f for f in store.latest_findings(org_id) if f.verdict == "dedicated_integration"
        ]
    made = _migrated_usernames(settings, org_id)
    by_user: dict[str, list[Finding]] = {}
    for f in findings:
        by_user.setdefault(ids.to18(f.user_id), []).append(f)
    audited = [
        Audited(
            user_id=uid,
            username=fs[0].username,
            source="handover" if fs[0].username.casefold() in made else "discovery",
            findings=sorted(fs, key=lambda f: f.app_name),
        )
        for uid, fs in by_user.items()
    ]
    # Users handover made that no discovery has classified yet (it ran before the
    # migration): audited too, with no usage evidence, so no removal is proposed for them.
    seen = {a.username.casefold() for a in audited}
    for row in _users_named(gateway, sorted(made - seen)):
        audited.append(Audited(ids.to18(str(row["Id"])), str(row["Username"]), "handover", []))
    return sorted(audited, key=lambda a: a.username)


def _users_named(gateway: SalesforceGateway, usernames: list[str]) -> list[dict[str, Any]]:
    if not usernames:
        return []
    listed = ", ".join(f"'{soql_quote(u)}'" for u in usernames)
    return gateway.query_all(
        f"SELECT Id, Username FROM User WHERE Username IN ({listed}) AND IsActive = true",
        what="reading the Integration Users handover made",
    )


def _migrated_usernames(settings: Settings, org_id: str) -> set[str]:
    with Ledger(settings.store.url) as ledger, PlanStore(settings.store.url) as plans:
        done = [
            m for m in ledger.migrations()
            if m.migration_id.startswith("m-") and m.outcome == "successful" and not m.dry_run
            and ids.same_id(m.org_id, org_id)
        ]  # fmt: skip
        return {plan.user.username.casefold() for m in done if (plan := plans.load(m.plan_hash))}


@task(name="review-integration-user", cache_policy=NO_CACHE, persist_result=False)
def review_integration_user(
    gateway: SalesforceGateway, settings: Settings, audited: Audited
) -> UserAudit:
    """What the user holds (per permission set), used and was denied over the window, and
    the proposal: removals only on enough evidence (the planner's rules)."""
    held, system = read_permission_sets(gateway, audited.user_id)
    used: dict[tuple[str, str], int] = {}
    denied: dict[tuple[str, str, str], int] = {}
    insufficient: list[str] = []
    windows = []
    human = gateway.human_access(audited.user_id)
    no_facts = OrgFacts({}, {}, {}, None, frozenset())
    if not audited.findings:
        insufficient.append(
            "no discovery run has classified this user's traffic yet (it ran before the "
            "migration): run discovery (`handover discover`) so the next audit can judge "
            "its grants"
        )
    with UsageStore(settings.store.url) as store:
        for f in audited.findings:
            evidence = read_evidence.fn(store, f)
            window, reasons = assess_evidence(
                plan_inputs(f, evidence, human, no_facts), settings.plan
            )
            windows.append(
                f"{f.app_name}: {window.start} … {window.end}, {window.days_observed} days "
                f"observed, {window.cadence}, {window.cycles} cycles"
            )
            insufficient += [f"{f.app_name}: {r}" for r in reasons]
            for op in evidence.operations:
                used[(op.object, op.operation)] = used.get((op.object, op.operation), 0) + op.count
            for obj, operation, status, calls in store.denied_operations(
                f.org_id, f.user_id, f.app_key, evidence.start, evidence.end
            ):
                if is_denied(status):
                    key = (obj, operation, status)
                    denied[key] = denied.get(key, 0) + calls
    audit = UserAudit(
        user_id=audited.user_id,
        username=audited.username,
        source=audited.source,  # type: ignore[arg-type]
        apps=[f.app_name for f in audited.findings],
        held=held,
        system_permissions=sorted(system),
        used=[Usage(object=o, operation=p, calls=n) for (o, p), n in sorted(used.items())],
        denied=[
            Usage(object=o, operation=p, calls=n, status=s)
            for (o, p, s), n in sorted(denied.items())
        ],
    )
    result = review(audit, insufficient=insufficient, system=system, window="; ".join(windows))
    get_run_logger().info("%s", result.headline())
    return result


@task(name="publish-audit-report", cache_policy=NO_CACHE, persist_result=False)
def publish_audit_report(reviews: list[UserAudit], outcomes: dict[str, str]) -> str:
    """Every Integration User, what it holds, what it used, and the proposal (Markdown)."""
    markdown = (
        environment()
        .get_template("reports/audit.md.j2")
        .render(reviews=reviews, outcomes=outcomes, lines=change_lines)
    )
    create_markdown_artifact(
        markdown, key=AUDIT_ARTIFACT, description="Access review of the Integration Users"
    )
    return markdown


# ---------------------------------------------------------------------- one proposal


class Proposal:
    """One proposal's change in the ledger (``a-`` id), its gate and its writes. A plain
    class (it holds open connections): see tasks/context.py."""

    def __init__(
        self,
        settings: Settings,
        gateway: SalesforceGateway,
        ledger: Ledger,
        review: UserAudit,
        flow_run_id: str | None,
        run_url: str | None,
    ) -> None:
        self.settings, self.gateway, self.ledger, self.review = settings, gateway, ledger, review
        self.flow_run_id, self.run_url = flow_run_id, run_url
        seed = f"{review.hash}|{flow_run_id or datetime.now(UTC).isoformat()}"
        self.change_id = "a-" + hashlib.sha256(seed.encode()).hexdigest()[:12]
        self.book = SqlGateBook(ledger.engine)
        self.slack = SlackGateway(build_client(settings.slack))

    @property
    def migration_id(self) -> str:  # the gate book's and the ledger's name for the change
        return self.change_id

    @property
    def token_key(self) -> bytes:
        key = self.settings.approvals.token_key
        assert key is not None, "checked before any gate opens (flows/audit.py)"
        return key.get_secret_value().encode()

    def facts(self) -> dict[str, Any]:
        return self.ledger.facts(self.change_id)

    def remember(self, **facts: Any) -> None:
        self.ledger.remember(self.change_id, **facts)


def open_change(proposal: Proposal) -> None:
    r = proposal.review
    proposal.ledger.open(
        Opening(
            migration_id=proposal.change_id,
            finding_id="audit",
            org_id=proposal.gateway.org_id(),
            app_key=f"audit:{r.user_id}",
            app_name=", ".join(r.apps),
            human_user_id=r.user_id,
            human_username=r.username,
            plan_hash=r.hash,
            flow_run_id=proposal.flow_run_id,
        )
    )
    if "review" not in proposal.facts():
        proposal.remember(review=r.model_dump(mode="json"))


@task(name="ask-audit-gate", cache_policy=NO_CACHE, persist_result=False)
def open_audit_gate(proposal: Proposal) -> GateRecord:
    r, s = proposal.review, proposal.settings
    email_rows = proposal.gateway.query_all(
        f"SELECT Email FROM User WHERE Id = '{ids.to18(r.user_id)}'", what="reading the email"
    )
    return open_gate(
        proposal.book,
        proposal.slack,
        s.approvals,
        migration_id=proposal.change_id,
        gate="audit",
        flow_run_id=proposal.flow_run_id or "",
        plan_hash=r.hash,
        channel=s.slack.channel or "",
        human_email=str((email_rows[0].get("Email") if email_rows else "") or ""),
        message=GateMessage(
            app_name=", ".join(r.apps),
            human=r.username,
            headline=r.headline(),
            changes=change_lines(r.changes),
            flagged=risk_lines(r.risks),
            new_user=r.username,
            evidence_window=r.evidence,
            run_url=proposal.run_url,
        ),
        now=datetime.now(UTC),
    )


def ask(proposal: Proposal) -> GateInput:
    """Wait at the proposal's gate for the approval service's signed decision: as a
    migration's gates do (the hold, an ignored resume noted in the thread, the attempts
    remembered in the ledger)."""
    return wait_at_gate(proposal, "audit", proposal.review.hash, lambda: open_audit_gate(proposal))


@task(name="apply-audit-change", cache_policy=NO_CACHE, persist_result=False)
def apply_change(proposal: Proposal) -> tuple[str, str]:
    """Apply the approved change, read it back, roll back on a mismatch: (outcome, why)."""
    r = proposal.review
    port, org = proposal.ledger.port(proposal.change_id), OrgWriter(proposal.gateway)
    proposal.ledger.at_step(proposal.change_id, "audit")
    try:
        apply_actions(change_actions(r.held, r.changes), port, org, dry_run=False)
        ps_ids = sorted({c.permission_set_id for c in r.changes})
        problems = verify_change(r.held, r.changes, read_flags(proposal.gateway, ps_ids))
    except HandoverError as exc:
        problems = [f"the change failed: {exc}"]
    if not problems:
        return "successful", f"{r.username}: " + "; ".join(change_lines(r.changes))
    proposal.ledger.at_step(proposal.change_id, "rollback")
    apply_rollback(port, org)
    return "failed", "verification failed, rolled back: " + "; ".join(problems)
