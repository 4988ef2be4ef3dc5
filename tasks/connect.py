"""Connect to an org: one task (it is I/O, and transient failures are retried) and the one
way every entry point opens an org, config to gateway."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from handover.salesforce import SalesforceGateway
from handover.salesforce.connection import OrgConfig, login, resolve
from handover.settings import SalesforceSettings, Settings
from tasks.retry import io_options


@task(name="connect-org", cache_policy=NO_CACHE, persist_result=False)
def connect_org(config: OrgConfig, settings: SalesforceSettings) -> SalesforceGateway:
    sf = login(
        config,
        api_version=settings.api_version,
        timeout=settings.timeout_seconds,
        read_only=settings.read_only,
    )
    gateway = SalesforceGateway(sf, org_name=config.name)
    # Read the org's id, clock and handover's own user here, so a transient failure is
    # retried with the login.
    gateway.org_id()
    gateway.org_now()
    gateway.own_user_id()
    return gateway


def open_org(
    settings: Settings, org: str | None, emulator_info: str | Path | None
) -> SalesforceGateway:
    """The org named by ``org`` (orgs file) or ``emulator_info`` (an emulator's --info
    file), logged in, with its id and clock read: configuration is resolved first (a
    ``ConfigError`` saying what to fix), then ``connect-org`` runs with the I/O retry
    policy.

    Outside a flow run (the CLI's preflight, before the flow starts) it connects once,
    directly: no Prefect API is started for a login, and a rejected one reaches the person
    as one message, not as a failed task run."""
    config = resolve(
        settings.salesforce.orgs_file,
        org,
        Path(emulator_info) if emulator_info else None,
        settings.salesforce.default_org,
    )
    if FlowRunContext.get() is None:
        return connect_org.fn(config, settings.salesforce)
    return connect_org.with_options(**io_options(settings))(config, settings.salesforce)
