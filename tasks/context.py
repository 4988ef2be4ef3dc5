"""What every step of a migration run reaches for, built once at the start of the flow:
the settings, the org, the ledger and the gate book (one store), Slack, the approved plan,
the credential sink. Plain wiring, no decisions: the tasks act, handover decides.

``MigrationRun`` is a plain class, not a dataclass or a model, on purpose: Prefect looks
into the parameters of a task for futures, and it holds open connections it must not
walk (``Opened``, the flow's parameters and first reads, is walked only once, shallowly).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from handover.credentials import CredentialSink
from handover.errors import ConfigError, MigrationError
from handover.migration.apply import LedgerPort, OrgPort, Router
from handover.models import AccessPlan, CutoverSpec, MigrationStatus
from handover.salesforce import SalesforceGateway
from handover.salesforce.writer import OrgWriter
from handover.settings import Settings
from handover.slack.client import build_client
from handover.slack.gateway import SlackGateway
from handover.store.gates import SqlGateBook
from handover.store.ledger import Ledger, Opening
from tasks.credentials import build_sink, sink_kind


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

    def check_sink(self) -> None:
        """Refuse a sink that cannot take the credentials (a missing file, a bad block name)
        before anything is asked or written."""
        if self.hands_over_credentials:
            _ = self.sink

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


@dataclass(frozen=True)
class Opened:
    """What a migration run starts from: the flow's parameters and what it read first."""

    settings: Settings
    gateway: SalesforceGateway
    ledger: Ledger
    plan: AccessPlan
    migration_id: str
    flow_run_id: str | None
    run_url: str | None
    dry_run: bool
    params: dict[str, Any]  # org, emulator_info, sink, sink_target, route as given


@task(name="open-migration", cache_policy=NO_CACHE, persist_result=False)
def open_migration(opened: Opened) -> MigrationRun:
    """Open the migration in the ledger (its locks: one open migration per integration
    and per human), or find it open: a re-run with the same id continues it, with the
    parameters it started with (remembered on its first run)."""
    ledger, plan, mid = opened.ledger, opened.plan, opened.migration_id
    existed = ledger.migration(mid) is not None
    kind, target = _sink_of(opened, existed)
    run = MigrationRun(
        settings=opened.settings,
        gateway=opened.gateway,
        ledger=ledger,
        plan=plan,
        migration_id=mid,
        flow_run_id=opened.flow_run_id,
        run_url=opened.run_url,
        dry_run=opened.dry_run,
        sink_kind=kind,
        sink_target=target,
    )
    run.check_sink()  # before anything is asked or written
    ledger.open(
        Opening(
            migration_id=mid,
            finding_id=plan.finding_id,
            org_id=plan.org_id,
            app_key=plan.app_key,
            app_name=plan.app_name,
            human_user_id=plan.human.user_id,
            human_username=plan.human.username,
            plan_hash=plan.hash,
            dry_run=opened.dry_run,
            flow_run_id=opened.flow_run_id,
        )
    )
    if "params" not in run.facts():
        params = {**opened.params, "sink": kind, "sink_target": target, "plan_hash": plan.hash}
        run.remember(params=params)
    get_run_logger().info(
        "migration %s of %s (%s) %s",
        mid,
        plan.app_name,
        plan.human.username,
        "continues" if existed else "opened",
    )
    return run


def _sink_of(opened: Opened, existed: bool) -> tuple[str, str | None]:
    """The credential sink: the one the migration started with, when it runs again (a
    different one would hand credentials to a place its rollback does not know)."""
    sink, target = opened.params.get("sink"), opened.params.get("sink_target")
    known = opened.ledger.facts(opened.migration_id).get("params") if existed else None
    if not known:
        settings = opened.settings.cutover
        return sink_kind(sink, settings), target or settings.sink_target
    for name, given in (("sink", sink), ("sink_target", target)):
        if given is not None and given != known[name]:
            raise MigrationError(
                f"migration {opened.migration_id} hands credentials to {known['sink']} "
                f"({known['sink_target'] or 'its default target'}): continue it with the same "
                f"{name} (or none), not {given!r}"
            )
    return str(known["sink"]), known["sink_target"]
