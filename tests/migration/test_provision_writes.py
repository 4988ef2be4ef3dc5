"""Provisioning a plan in the emulated org through OrgWriter and the real client: twice
without duplicates, across a crash between claim and done and a lost response, refused
cleanly, read back and verified, and rolled back to the org as it was."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.exceptions import SalesforceMalformedRequest

from emulators.salesforce import client
from emulators.salesforce.loader import WorkloadCredentials
from emulators.salesforce.org import Org
from handover.errors import SalesforceGatewayError, TransientSalesforceError, WriteConflict
from handover.migration.actions import provision_actions
from handover.migration.apply import apply_actions
from handover.migration.memory import MemoryLedger
from handover.migration.rollback import apply_rollback
from handover.migration.verify import judge
from handover.models import AccessPlan
from handover.models.migration import LedgerEntry, VerificationInputs
from handover.salesforce.gateway import SalesforceGateway
from handover.salesforce.provision import Records
from handover.salesforce.writer import OrgWriter
from tests.migration.orgstate import snapshot
from tests.migration.plans import make_plan

NEW_USER = "svc-erp-sync@tiny.example.com"


def erp_app(org: Org) -> str:
    app = org.app_by_name("ERP Sync")
    assert app is not None
    return app.app_id


def tiny_plan(org: Org, **kw: Any) -> AccessPlan:
    fields = [
        {"field": "Account.Phone", "read": True},
        {"field": "Account.Industry", "read": True},
        {"field": "Contact.Email", "read": True, "edit": True},
    ]
    return make_plan(
        username=kw.pop("username", NEW_USER),
        fields=kw.pop("fields", fields),
        apps=[(erp_app(org), "ERP Sync")],
        **kw,
    )


def provision(
    gateway: SalesforceGateway, plan: AccessPlan, ledger: Any, **kw: Any
) -> list[LedgerEntry]:
    actions = provision_actions(plan, Records(gateway).provision_facts(plan))
    return apply_actions(actions, ledger, OrgWriter(gateway), dry_run=False, **kw)


def counts(sf: Any) -> dict[str, int]:
    return {obj: len(rows) for obj, rows in snapshot(sf).items()}


def test_provision_twice_creates_once_and_grants_exactly_the_plan(
    gateway: SalesforceGateway,
    info: dict[str, Any],
    org: Org,
    creds: dict[str, WorkloadCredentials],
) -> None:
    admin = client.connect(info)
    plan, ledger = tiny_plan(org), MemoryLedger()
    provision(gateway, plan, ledger)
    once = snapshot(admin)
    calls = gateway.api_calls
    entries = provision(gateway, plan, ledger)
    assert snapshot(admin) == once
    assert gateway.api_calls - calls == 2  # the profile and licence lookups; done: no call
    # A new migration of the same plan (a fresh ledger) finds everything in place.
    provision(gateway, plan, MemoryLedger())
    assert snapshot(admin) == once
    user_id = entries[0].record_id
    assert user_id is not None
    # The new user holds exactly the plan (plus what its profile gives everyone).
    readback = Records(gateway).effective_access(user_id)
    verdict = judge(
        VerificationInputs(
            planned=plan.permission_set, granted=readback.user, profile=readback.profile
        )
    )
    assert verdict.outcome == "successful", verdict.reasons
    assert "ApiUserOnly" in readback.profile.system_permissions
    # ...and it works: pre-authorized for ERP Sync, a JWT login as the new user reads
    # Accounts, and nothing the plan does not grant.
    erp = org.app_by_name("ERP Sync")
    assert erp is not None
    jwt = client.connect(
        info, username=NEW_USER, consumer_key=erp.consumer_key,
        privatekey=creds["ERP Nightly Sync"].private_key_pem,
    )  # fmt: skip
    accounts = "SELECT Id, Phone FROM Account"
    assert jwt.query(accounts)["totalSize"] == admin.query(accounts)["totalSize"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        jwt.query("SELECT Id FROM Opportunity LIMIT 1")
    assert refused.value.content[0]["errorCode"] == "INVALID_TYPE"


class StopAfterClaim:
    """A ledger whose process dies right after one action's write landed, before its
    "done" is recorded: the crash between claim and done."""

    def __init__(self, inner: MemoryLedger, key: str) -> None:
        self.inner, self.key, self.fired = inner, key, False

    def get(self, key: str) -> LedgerEntry | None:
        return self.inner.get(key)

    def entries(self) -> list[LedgerEntry]:
        return self.inner.entries()

    def put(self, entry: LedgerEntry) -> None:
        if entry.key == self.key and entry.status == "done" and not self.fired:
            self.fired = True
            raise Died(entry.key)
        self.inner.put(entry)


class Died(BaseException):
    pass


@pytest.mark.parametrize(
    "key", ["provision:user", "provision:permission-set", "provision:object-permissions"]
)
def test_a_crash_between_claim_and_done_reruns_without_duplicates(
    gateway: SalesforceGateway, info: dict[str, Any], org: Org, key: str
) -> None:
    admin = client.connect(info)
    plan, ledger = tiny_plan(org), MemoryLedger()
    with pytest.raises(Died):
        provision(gateway, plan, StopAfterClaim(ledger, key))
    claimed = ledger.get(key)
    assert claimed is not None and claimed.status == "claimed"
    provision(gateway, plan, ledger)
    reference_org = snapshot(admin)
    assert [u for u in reference_org["User"] if u[0] == NEW_USER] == [
        (NEW_USER, "True", ledger.get("provision:user").write.after["ProfileId"])  # type: ignore[union-attr]
    ]
    assert len([p for p in reference_org["PermissionSet"] if p[0] == plan.permission_set.name]) == 1
    entry = ledger.get(key)
    assert entry is not None and entry.status == "done" and entry.before == claimed.before


class LoseResponse(HTTPAdapter):
    """Sends the first request matching (method, path) to the org, then drops its answer:
    the write is done, the client sees a broken connection."""

    def __init__(self, inner: HTTPAdapter, method: str, path: str) -> None:
        super().__init__()
        self.inner, self.method, self.path, self.lost = inner, method, path, 0

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        response = self.inner.send(request, *args, **kwargs)
        if not self.lost and request.method == self.method and self.path in (request.url or ""):
            self.lost += 1
            raise requests.exceptions.ConnectionError("connection reset after the request was sent")
        return response


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("POST", "/sobjects/User/", "provision:user"),
        ("POST", "/composite/sobjects", "provision:object-permissions"),
        ("POST", "/sobjects/PermissionSetAssignment/", "provision:assignment"),
    ],
)
def test_a_lost_response_reruns_without_duplicates(
    info: dict[str, Any], org: Org, method: str, path: str, key: str
) -> None:
    sf = client.connect(info)
    adapter = sf.session.get_adapter("https://")
    assert isinstance(adapter, HTTPAdapter)
    lossy = LoseResponse(adapter, method, path)
    sf.session.mount("https://", lossy)
    gateway = SalesforceGateway(sf)
    plan, ledger = tiny_plan(org), MemoryLedger()
    with pytest.raises(TransientSalesforceError, match="did not answer"):
        provision(gateway, plan, ledger)
    assert lossy.lost == 1
    failed = ledger.get(key)
    assert failed is not None and failed.status == "failed" and failed.attempts == 1
    provision(gateway, plan, ledger)
    state = snapshot(client.connect(info))
    assert len([u for u in state["User"] if u[0] == NEW_USER]) == 1
    assert (
        len(
            [
                a
                for a in state["PermissionSetAssignment"]
                if a[0] == ledger.get("provision:user").record_id
            ]
        )
        == 1
    )  # type: ignore[union-attr]
    assert (
        len(
            [
                o
                for o in state["ObjectPermissions"]
                if o[0] == ledger.get("provision:permission-set").record_id
            ]
        )
        == 2
    )  # type: ignore[union-attr]


def test_rollback_returns_the_org_to_its_before_state(
    gateway: SalesforceGateway, info: dict[str, Any], org: Org
) -> None:
    admin = client.connect(info)
    before = snapshot(admin)
    plan, ledger = tiny_plan(org), MemoryLedger()
    provision(gateway, plan, ledger)
    assert snapshot(admin) != before
    apply_rollback(ledger, OrgWriter(gateway))
    after = snapshot(admin)
    users = {u[0]: u for u in after.pop("User")}
    assert users.pop(NEW_USER)[1] == "False"  # deactivated, never deleted
    assert sorted(users.values()) == before.pop("User")
    assert after == before  # seats included: the deactivated user holds none
    assert {e.status for e in ledger.entries() if e.step == "provision"} == {"rolled_back"}
    # A new migration reactivates the same username instead of creating a second one.
    provision(gateway, plan, MemoryLedger())
    assert next(u for u in snapshot(admin)["User"] if u[0] == NEW_USER)[1] == "True"


def test_refusals_say_what_to_do_and_leave_nothing_half_done(
    gateway: SalesforceGateway, info: dict[str, Any], org: Org
) -> None:
    admin = client.connect(info)
    # A username a person holds: never taken over.
    with pytest.raises(WriteConflict, match="ProfileId"):
        provision(gateway, tiny_plan(org, username="jane.doe@tiny.example.com"), MemoryLedger())
    # A detail without its master: the org refuses the whole collection (all or none),
    # and the message says what to do.
    before = snapshot(admin)
    ledger = MemoryLedger()
    bad = tiny_plan(org, objects=[{"object": "Account", "read": True},
                                  {"object": "OrderItem", "read": True}])  # fmt: skip
    with pytest.raises(SalesforceGatewayError) as e:
        provision(gateway, bad, ledger)
    assert e.value.error_code == "FIELD_INTEGRITY_EXCEPTION"
    assert "What to do:" in str(e.value)
    ps_id = ledger.get("provision:permission-set").record_id  # type: ignore[union-attr]
    assert [o for o in snapshot(admin)["ObjectPermissions"] if o[0] == ps_id] == []
    apply_rollback(ledger, OrgWriter(gateway))
    after = snapshot(admin)
    after["User"] = [u for u in after["User"] if u[0] != NEW_USER]
    assert after == before


def _seats(org: Org) -> Mapping[str, Any]:
    return org.find_one("UserLicense", Name="Salesforce Integration") or {}


def test_no_free_seat_is_a_clear_error(gateway: SalesforceGateway, org: Org) -> None:
    lic = _seats(org)
    with org.lock:
        lic["TotalLicenses"] = lic["UsedLicenses"]  # type: ignore[index]
    ledger = MemoryLedger()
    with pytest.raises(SalesforceGatewayError) as e:
        provision(gateway, tiny_plan(org), ledger)
    assert e.value.error_code == "LICENSE_LIMIT_EXCEEDED"
    assert "deactivate an unused integration user or buy seats" in str(e.value)
    entry = ledger.get("provision:user")
    assert (
        entry is not None
        and entry.status == "failed"
        and ledger.get("provision:psl-assignment") is None
    )
