"""Cutover and decommission writes against the emulated org through the real client: the
client-credentials Run-As re-pointed through the Metadata API (and back), a password for
the new user, the human's token revoked, app access granted for the integration alone
removed (and restored by rollback)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from emulators.salesforce import client
from emulators.salesforce.loader import WorkloadCredentials
from emulators.salesforce.org import Org
from handover.migration.actions import cutover_actions, decommission_actions, provision_actions
from handover.migration.apply import Router, apply_actions
from handover.migration.decommission import decommission_plan
from handover.migration.memory import MemoryLedger
from handover.migration.rollback import apply_rollback
from handover.models.migration import AccountUse, Observed, WriteAction
from handover.planning.cutover import cutover_spec
from handover.salesforce.gateway import SalesforceGateway
from handover.salesforce.metadata import ConnectedApps
from handover.salesforce.provision import Records
from handover.salesforce.revoke import HumanPaths
from handover.salesforce.writer import OrgWriter, generated_passwords
from tests.migration.orgstate import snapshot
from tests.migration.plans import make_plan

WAREHOUSE = "Warehouse Connector"
OLD_RUN_AS = "svc-integration@tiny.example.com"
NEW_USER = "svc-warehouse@tiny.example.com"
JANE = "jane.doe@tiny.example.com"
MY_DOMAIN = "tiny.my.salesforce.com"


def user_id(org: Org, username: str) -> str:
    user = org.user_by_username(username)
    assert user is not None
    return str(user["Id"])


def app_id(org: Org, name: str) -> str:
    app = org.app_by_name(name)
    assert app is not None
    return app.app_id


def provisioned(gateway: SalesforceGateway, ledger: MemoryLedger, **kw: Any) -> Any:
    plan = make_plan(username=kw.pop("username", NEW_USER), **kw)
    actions = provision_actions(plan, Records(gateway).provision_facts(plan))
    apply_actions(actions, ledger, OrgWriter(gateway), dry_run=False)
    return plan


def as_dict(el: ET.Element) -> Any:
    children = list(el)
    if not children:
        return el.text or ""
    out: dict[str, Any] = {}
    for c in children:
        out.setdefault(c.tag.rsplit("}", 1)[-1], []).append(as_dict(c))
    return out


def running_as(info: dict[str, Any], creds: WorkloadCredentials) -> str:
    """Who a client-credentials login of the app runs as, asked of the org itself."""
    sf = client.connect(
        info,
        consumer_key=creds.consumer_key,
        consumer_secret=creds.consumer_secret,
        domain=MY_DOMAIN.removesuffix(".salesforce.com"),
    )
    return str(sf.oauth2("userinfo")["preferred_username"])


def test_client_credentials_run_as_is_repointed_and_rolled_back(
    gateway: SalesforceGateway,
    info: dict[str, Any],
    org: Org,
    creds: dict[str, WorkloadCredentials],
) -> None:
    admin = client.connect(info)
    org_before = snapshot(admin)
    ledger = MemoryLedger()
    plan = provisioned(gateway, ledger)
    apps = ConnectedApps(gateway)
    component_before = as_dict(apps.read(WAREHOUSE))
    warehouse = creds["Warehouse Stock Feed"]
    assert running_as(info, warehouse) == OLD_RUN_AS

    spec = cutover_spec(app_name=WAREHOUSE, connected_app_id=app_id(org, WAREHOUSE),
                        logins={"Remote Access 2.0|OAuth Client Credentials": 40})  # fmt: skip
    actions = cutover_actions(plan, spec)
    (entry,) = apply_actions(actions, ledger, OrgWriter(gateway), dry_run=False)
    assert entry.status == "done" and entry.before is not None
    assert entry.before["oauthClientCredentialUser"] == OLD_RUN_AS
    # The next client-credentials login runs as the new Integration User.
    assert running_as(info, warehouse) == NEW_USER
    # Only the Run-As user changed: every other setting went back as read.
    component_after = as_dict(apps.read(WAREHOUSE))
    assert component_after["oauthConfig"][0].pop("oauthClientCredentialUser") == [NEW_USER]
    assert component_before["oauthConfig"][0].pop("oauthClientCredentialUser") == [OLD_RUN_AS]
    assert component_after == component_before
    # Applying again finds it in place and writes nothing.
    calls = gateway.api_calls
    apply_actions(actions, ledger, OrgWriter(gateway), dry_run=False)
    assert gateway.api_calls == calls

    # Rollback (cutover, then provisioning) leaves the org as it was: the app runs as its
    # old user, the new user is deactivated, everything else is as before.
    apply_rollback(ledger, OrgWriter(gateway))
    assert running_as(info, warehouse) == OLD_RUN_AS
    assert as_dict(apps.read(WAREHOUSE)) == {
        **component_before,
        "oauthConfig": [
            {**component_before["oauthConfig"][0], "oauthClientCredentialUser": [OLD_RUN_AS]}
        ],
    }
    org_after = snapshot(admin)
    assert [u[1] for u in org_after["User"] if u[0] == NEW_USER] == ["False"]
    org_after["User"] = [u for u in org_after["User"] if u[0] != NEW_USER]
    assert org_after == org_before


def test_a_dry_run_of_the_cutover_previews_and_changes_nothing(
    gateway: SalesforceGateway,
    info: dict[str, Any],
    org: Org,
    creds: dict[str, WorkloadCredentials],
) -> None:
    ledger = MemoryLedger()
    plan = provisioned(gateway, ledger)
    spec = cutover_spec(app_name=WAREHOUSE, connected_app_id=app_id(org, WAREHOUSE),
                        logins={"Remote Access 2.0|OAuth Client Credentials": 40})  # fmt: skip
    (entry,) = apply_actions(cutover_actions(plan, spec), ledger, OrgWriter(gateway), dry_run=True)
    assert entry.status == "dry_run"
    assert entry.before and entry.before["oauthClientCredentialUser"] == OLD_RUN_AS
    assert entry.write.after == {"oauthClientCredentialUser": NEW_USER}
    assert running_as(info, creds["Warehouse Stock Feed"]) == OLD_RUN_AS


class DictSink:
    """A credential sink in memory (handover/credentials.py is the real one): it keeps the
    username and, for a password, only whether one was handed over."""

    def __init__(self) -> None:
        self.values = {"username": JANE}

    def probe(self, action: WriteAction) -> Observed:
        return Observed(state={"username": self.values["username"]})

    def write(self, action: WriteAction, observed: Observed) -> list[str]:
        self.values.update(action.after)
        return []


def test_password_route_sets_a_working_password_the_ledger_never_sees(
    gateway: SalesforceGateway, info: dict[str, Any], org: Org
) -> None:
    ledger = MemoryLedger()
    plan = provisioned(gateway, ledger)
    passwords = generated_passwords()
    sink = DictSink()
    spec = cutover_spec(
        app_name="simple-salesforce", connected_app_id=None, logins={"Other Apex API": 9}
    )
    port = Router(OrgWriter(gateway, passwords=passwords), {"Credentials": sink})
    entries = apply_actions(cutover_actions(plan, spec), ledger, port, dry_run=False)
    assert [e.status for e in entries] == ["done", "done"]
    password = passwords("cutover:password")
    sf = client.connect(info, username=NEW_USER, password=password, security_token="")
    assert sf.query("SELECT Id FROM Account LIMIT 1")["done"]
    assert sink.values == {"username": NEW_USER, "password": "<new password>"}
    dumped = json.dumps([e.model_dump(mode="json") for e in ledger.entries()])
    assert password not in dumped


def test_the_humans_token_for_the_app_is_revoked_and_its_refresh_fails(
    gateway: SalesforceGateway,
    info: dict[str, Any],
    org: Org,
    creds: dict[str, WorkloadCredentials],
) -> None:
    marketing = creds["Marketing Sync"]
    jane = user_id(org, JANE)
    paths = HumanPaths(gateway)
    tokens = paths.tokens(jane)
    assert [t.app_name for t in tokens] == ["Marketing Cloud Connect"]
    plan = decommission_plan(
        human_user_id=jane,
        human_username=JANE,
        app_name="Marketing Cloud Connect",
        connected_app_id=app_id(org, "Marketing Cloud Connect"),
        tokens=tokens,
        grants=paths.app_grants(app_id(org, "Marketing Cloud Connect")),
        account=AccountUse(days_observed=14, ui_logins=5),
    )
    ledger = MemoryLedger()
    entries = apply_actions(decommission_actions(plan), ledger, OrgWriter(gateway), dry_run=False)
    assert [e.key for e in entries] == [
        f"decommission:revoke-token:{tokens[0].token_hash}",
        "decommission:end-sessions",
    ]
    assert paths.tokens(jane) == []
    refresh = client.session_for(info).post(
        f"https://{MY_DOMAIN}/services/oauth2/token",
        data={"grant_type": "refresh_token", "client_id": marketing.consumer_key or "",
              "refresh_token": marketing.refresh_token or ""},
    )  # fmt: skip
    assert refresh.status_code == 400
    assert refresh.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }
    # Neither the refresh token nor the DeleteToken reached the ledger.
    dumped = json.dumps([e.model_dump(mode="json") for e in ledger.entries()])
    assert marketing.refresh_token and marketing.refresh_token not in dumped
    assert not any(row["DeleteToken"] in dumped for row in org.table("OauthToken").values())
    # Again: already gone, nothing to revoke.
    again = apply_actions(decommission_actions(plan), ledger, OrgWriter(gateway), dry_run=False)
    assert [e.status for e in again] == ["done", "done"]


def test_app_access_granted_for_the_integration_alone_is_removed_and_restored(
    gateway: SalesforceGateway, info: dict[str, Any], org: Org
) -> None:
    admin = client.connect(info)
    erp, jane = app_id(org, "ERP Sync"), user_id(org, JANE)
    ps = admin.PermissionSet.create({"Name": "Jane_ERP_Access", "Label": "Jane ERP Access"})["id"]
    admin.PermissionSetAssignment.create({"AssigneeId": jane, "PermissionSetId": ps})
    admin.SetupEntityAccess.create({"ParentId": ps, "SetupEntityId": erp})
    plan = decommission_plan(
        human_user_id=jane,
        human_username=JANE,
        app_name="ERP Sync",
        connected_app_id=erp,
        tokens=[],
        grants=HumanPaths(gateway).app_grants(erp),
        account=AccountUse(days_observed=14, ui_logins=5),
    )
    assert [g.permission_set for g in plan.access_removals] == ["Jane_ERP_Access"]
    assert any("profile Standard User" in r for r in plan.reports)  # reported, never removed
    sea = f"SELECT ParentId FROM SetupEntityAccess WHERE SetupEntityId = '{erp}'"
    ledger = MemoryLedger()
    apply_actions(decommission_actions(plan), ledger, OrgWriter(gateway), dry_run=False)
    assert ps not in {r["ParentId"] for r in admin.query(sea)["records"]}
    apply_rollback(ledger, OrgWriter(gateway))
    assert ps in {r["ParentId"] for r in admin.query(sea)["records"]}


def test_freezing_the_human_and_unfreezing_on_rollback(
    gateway: SalesforceGateway, org: Org
) -> None:
    jane = user_id(org, JANE)
    plan = decommission_plan(human_user_id=jane, human_username=JANE, app_name="ERP Sync",
                             connected_app_id=None, tokens=[], grants=[],
                             account=AccountUse(days_observed=14))  # fmt: skip
    from handover.migration.actions import freeze_actions

    ledger = MemoryLedger()
    apply_actions(freeze_actions(plan), ledger, OrgWriter(gateway), dry_run=False)
    assert HumanPaths(gateway).login_state(jane)["IsFrozen"] is True  # type: ignore[index]
    apply_rollback(ledger, OrgWriter(gateway))
    assert HumanPaths(gateway).login_state(jane)["IsFrozen"] is False  # type: ignore[index]


def test_the_humans_sessions_of_the_app_are_ended(
    gateway: SalesforceGateway,
    info: dict[str, Any],
    org: Org,
    creds: dict[str, WorkloadCredentials],
) -> None:
    erp = creds["ERP Nightly Sync"]
    session = client.connect(info, username=JANE, consumer_key=erp.consumer_key,
                             privatekey=erp.private_key_pem)  # fmt: skip
    jane = user_id(org, JANE)
    assert HumanPaths(gateway).sessions(jane, "ERP Sync")
    plan = decommission_plan(human_user_id=jane, human_username=JANE, app_name="ERP Sync",
                             connected_app_id=None, tokens=[], grants=[],
                             account=AccountUse(days_observed=14, ui_logins=1))  # fmt: skip
    apply_actions(decommission_actions(plan), MemoryLedger(), OrgWriter(gateway), dry_run=False)
    # The session itself, as the external system holds it (a JWT client would log in again
    # on its own: that path is the integration's, which decommission leaves to the tokens).
    held = client.connect({**info, "access_token": session.session_id})
    with pytest.raises(Exception, match="INVALID_SESSION_ID"):
        held.query("SELECT Id FROM Account LIMIT 1")
