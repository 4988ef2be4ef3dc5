"""What every step of a migration run reaches for, built once at the start of the flow:
the settings, the org, the ledger and the gate book (one store), Slack, the approved plan,
the credential sink. Plain wiring, no decisions: the tasks act, handover decides.

A plain class, not a dataclass or a model, on purpose: Prefect looks into the parameters
of a task for futures, and this holds open connections it must not walk.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from handover.credentials import CredentialSink
from handover.errors import ConfigError
from handover.migration.apply import LedgerPort, OrgPort, Router
from handover.models import AccessPlan, CutoverSpec, MigrationStatus
from handover.salesforce import SalesforceGateway
from handover.salesforce.writer import OrgWriter
from handover.settings import Settings
from handover.slack.client import build_client
from handover.slack.gateway import SlackGateway
from handover.store.gates import SqlGateBook
from handover.store.ledger import Ledger, Opening
from handover.usage import UsageStore
from tasks.credentials import build_sink


class MigrationRun:
    def __init__(
        self,
        *,
        settings: Settings,
        gateway: SalesforceGateway,
        ledger: Ledger,
        plan: AccessPlan,
        migration_id: str,
        flow_run_id: str | None,
        run_url: str | None,
        dry_run: bool,
        sink_kind: str,
        sink_target: str | None,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.ledger = ledger
        self.plan = plan
        self.migration_id = migration_id
        self.flow_run_id = flow_run_id
        self.run_url = run_url
        self.dry_run = dry_run
        self.sink_kind = sink_kind
        self.sink_target = sink_target
        self.book = SqlGateBook(ledger.engine)

    # ------------------------------------------------------------------ the plan

    @property
    def cutover(self) -> CutoverSpec:
        """The plan's cutover, with the sink this run hands credentials to."""
        spec = self.plan.cutover
        if spec is None:
            raise ConfigError("the plan has no cutover section: plan again")
        if spec.route in ("username", "password"):
            return spec.model_copy(update={"sink": self.sink_kind})
        return spec

    @property
    def hands_over_credentials(self) -> bool:
        return self.cutover.route in ("username", "password")

    # ------------------------------------------------------------------ the ledger

    def status(self) -> MigrationStatus:
        found = self.ledger.migration(self.migration_id)
        assert found is not None, "the migration is opened before anything asks for it"
        return found

    def facts(self) -> dict[str, Any]:
        return self.ledger.facts(self.migration_id)

    def remember(self, **facts: Any) -> dict[str, Any]:
        return self.ledger.remember(self.migration_id, **facts)

    def port(self) -> LedgerPort:
        return self.ledger.port(self.migration_id)

    # ------------------------------------------------------------------ where writes go

    @cached_property
    def sink(self) -> CredentialSink:
        return build_sink(
            self.sink_kind, self.sink_target, self.migration_id, self.settings.cutover
        )

    def org(self) -> OrgPort:
        """The org for the runbook's writes, credentials routed to the sink (when the
        route hands any over)."""
        if not self.hands_over_credentials:
            return OrgWriter(self.gateway)
        sink = self.sink
        return Router(OrgWriter(self.gateway, passwords=sink.passwords), {"Credentials": sink})

    # ------------------------------------------------------------------ Slack and the store

    @cached_property
    def slack(self) -> SlackGateway:
        return SlackGateway(build_client(self.settings.slack))

    @property
    def channel(self) -> str:
        channel = self.settings.slack.channel
        if not channel:
            raise ConfigError("set HANDOVER_SLACK__CHANNEL: gates are posted there")
        return channel

    @property
    def token_key(self) -> bytes:
        key = self.settings.approvals.token_key
        if key is None:
            raise ConfigError(
                "set HANDOVER_APPROVALS__TOKEN_KEY (shared with the approval service)"
            )
        return key.get_secret_value().encode()

    def usage(self) -> UsageStore:
        """The usage store (the same database), for the verification window's logs."""
        return UsageStore(self.settings.store.url)

    def log(self, message: str, *args: Any) -> None:
        get_run_logger().info(message, *args)


@task(name="open-migration", cache_policy=NO_CACHE, persist_result=False)
def open_migration(run: MigrationRun) -> MigrationStatus:
    """Open the migration in the ledger (its locks: one open migration per integration
    and per human), or find it open: a re-run with the same id continues it."""
    plan = run.plan
    existed = run.ledger.migration(run.migration_id) is not None
    status = run.ledger.open(
        Opening(
            migration_id=run.migration_id,
            finding_id=plan.finding_id,
            org_id=plan.org_id,
            app_key=plan.app_key,
            app_name=plan.app_name,
            human_user_id=plan.human.user_id,
            human_username=plan.human.username,
            plan_hash=plan.hash,
            dry_run=run.dry_run,
            flow_run_id=run.flow_run_id,
        )
    )
    get_run_logger().info(
        "migration %s of %s (%s) %s",
        status.migration_id,
        plan.app_name,
        plan.human.username,
        "continues" if existed else "opened",
    )
    return status
