"""Connect to an org (a task: it is I/O, and transient failures are retried)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from handover.salesforce import SalesforceGateway
from handover.salesforce.connection import OrgConfig, login
from handover.settings import SalesforceSettings


@task(name="connect-org", cache_policy=NO_CACHE, persist_result=False)
def connect_org(config: OrgConfig, settings: SalesforceSettings) -> SalesforceGateway:
    sf = login(config, api_version=settings.api_version, timeout=settings.timeout_seconds)
    gateway = SalesforceGateway(sf, org_name=config.name)
    # Read the org's id and clock here, so a transient failure is retried with the login.
    gateway.org_id()
    gateway.org_now()
    return gateway
