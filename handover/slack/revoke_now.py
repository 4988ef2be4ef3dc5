""" "Revoke now" in a migration's Slack thread: the emergency revoke of the migrated app,
one click away from where a security engineer finds the integration.

The button sits on the thread's last word, the notice that the migration handed the app
over (``templates/slack/migration_notice.json.j2``): once a migration ends, its gate
messages lose their buttons, and the notice is what stays, names the app and the new user,
and is what a search for the app finds. It carries a Block Kit ``confirm`` dialog, and
its value names the migration only (any channel member can read it).

The approval service verifies the click as any other (signature, timestamp, replay), the
allowlist applies (``rules.may_revoke``), no second approver is asked: then
``OrgRevoker`` reads the migration's org parameters from the ledger (the org name or the
emulator info it ran with), logs in from the service's own settings and runs
``handover.emergency.revoke`` for the migration's app. What was revoked is posted in the
thread as counts, never a token.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Protocol

from handover.blockkit import block_kit_problems
from handover.emergency import revoke
from handover.errors import ConfigError
from handover.models.revoke import RevokeOrder, RevokeReport
from handover.render import environment
from handover.salesforce import SalesforceGateway
from handover.salesforce.connection import login, resolve
from handover.settings import SalesforceSettings
from handover.store.ledger import Ledger

from .digest import RenderedMessage
from .text import clip, mention, mrkdwn

log = logging.getLogger("handover.approvals")
REVOKE_ACTION = "revoke_now"  # the button's action_id
TEMPLATE = "slack/revoke_now.json.j2"


def revoke_value(migration_id: str) -> str:
    """What the button carries: which migration's app, nothing secret."""
    return json.dumps({"migration_id": migration_id, "action": REVOKE_ACTION})


def revoke_key(value: str) -> str | None:
    """The migration id from a "Revoke now" button's value."""
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("action") != REVOKE_ACTION:
        return None
    migration_id = data.get("migration_id")
    return migration_id if isinstance(migration_id, str) and migration_id else None


class Revoker(Protocol):
    def app_of(self, migration_id: str) -> str:
        """The migration's app (ConfigError when the ledger does not know the migration)."""
        ...

    def revoke(self, migration_id: str, requested_by: str) -> RevokeReport:
        """Revoke every OAuth token of the migration's app now; what was done."""
        ...


class OrgRevoker:
    """The revoke against the org a migration ran on, through the ledger of ``store_url``."""

    def __init__(self, store_url: str, salesforce: SalesforceSettings) -> None:
        self.store_url, self.salesforce = store_url, salesforce

    def app_of(self, migration_id: str) -> str:
        with Ledger(self.store_url) as ledger:
            status = ledger.migration(migration_id)
        if status is None or not migration_id.startswith("m-"):
            raise ConfigError(
                f"the ledger knows no migration {migration_id}: revoke from a shell with "
                "`handover revoke --app NAME`"
            )
        return status.app_name

    def revoke(self, migration_id: str, requested_by: str) -> RevokeReport:
        app = self.app_of(migration_id)
        with Ledger(self.store_url) as ledger:
            params = ledger.facts(migration_id).get("params") or {}
            info = params.get("emulator_info")
            config = resolve(
                self.salesforce.orgs_file,
                params.get("org"),
                Path(info) if info else None,
                self.salesforce.default_org,
            )
            sf = login(
                config,
                api_version=self.salesforce.api_version,
                timeout=self.salesforce.timeout_seconds,
            )
            order = RevokeOrder(app=app, requested_by=requested_by)
            return revoke(SalesforceGateway(sf, org_name=config.name), ledger, order)


def render_revoked(
    *,
    migration_id: str,
    app_name: str,
    clicker: str,
    report: RevokeReport | None = None,
    error: str | None = None,
) -> RenderedMessage:
    """The thread's message after a "Revoke now": the counts per user, or why it failed."""
    rendered = environment().get_template(TEMPLATE).render(
        migration_id=migration_id, app_name=app_name, clicker=clicker, report=report,
        error=error, mrkdwn=mrkdwn, clip=clip, mention=mention,
    )  # fmt: skip
    message = RenderedMessage.model_validate(json.loads(rendered))
    problems = block_kit_problems(message.blocks, text=message.text)
    if problems:
        raise ValueError(f"{TEMPLATE} broke Block Kit limits: {'; '.join(problems)}")
    return message
