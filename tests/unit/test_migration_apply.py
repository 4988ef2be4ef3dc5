"""The plan as ordered writes, and applying them: claim -> probe -> record prior -> write ->
done, with crashes, lost responses, refusals and dry runs (an org in memory behind the port)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handover.errors import (
    MigrationError,
    SalesforceGatewayError,
    TransientSalesforceError,
    WriteConflict,
)
from handover.migration.actions import COLLECTION_LIMIT, provision_actions
from handover.migration.apply import apply_actions, previews
from handover.migration.memory import MemoryLedger
from handover.models.migration import SECRET_PLACEHOLDER, ProvisionFacts, WriteAction
from tests.migration.fakes import Crash, FakeOrg
from tests.migration.plans import make_plan

PROFILE = "00e000000000001AAA"
OTHER_PROFILE = "00e000000000002AAA"
PSL = "0PL000000000001AAA"
APP = "0H4000000000001AAA"
FACTS = ProvisionFacts(profile_id=PROFILE, permission_set_license_id=PSL)
T = datetime(2026, 10, 2, tzinfo=UTC)


def clock() -> datetime:
    return T


def actions(**kw):
    return provision_actions(make_plan(apps=[(APP, "ERP Sync")], **kw), FACTS)


def counts(org: FakeOrg) -> dict[str, int]:
    return {obj: len(rows) for obj, rows in org.tables.items()}


def test_provision_follows_the_platform_order_with_stable_keys() -> None:
    keys = [a.key for a in actions()]
    assert keys == [
        "provision:user",
        "provision:psl-assignment",
        "provision:permission-set",
        "provision:object-permissions",
        "provision:object-permissions:prune",
        "provision:field-permissions",
        "provision:field-permissions:prune",
        "provision:assignment",
        f"provision:app-access:{APP}",
    ]
    assert keys == [a.key for a in actions()]  # deterministic
    by_key = {a.key: a for a in actions()}
    assert by_key["provision:permission-set"].after["LicenseId"] == PSL  # the PSL, not None
    assert by_key["provision:permission-set"].after["PermissionsApiEnabled"] is True
    assert by_key["provision:user"].after["ProfileId"] == PROFILE
    assert by_key["provision:assignment"].after == {
        "AssigneeId": {"$ref": "provision:user"},
        "PermissionSetId": {"$ref": "provision:permission-set"},
    }


def test_permissions_go_in_collections_of_200_masters_first() -> None:
    objects = [{"object": "Order", "read": True}, {"object": "OrderItem", "read": True}]
    fields = [{"field": f"Order.F{i}__c", "read": True} for i in range(450)]
    acts = {a.key: a for a in actions(objects=objects, fields=fields)}
    assert [r["SobjectType"] for r in acts["provision:object-permissions"].records] == [
        "Order",
        "OrderItem",
    ]
    sizes = [
        len(acts[k].records)
        for k in ("provision:field-permissions", "provision:field-permissions:2",
                  "provision:field-permissions:3")
    ]  # fmt: skip
    assert sizes == [COLLECTION_LIMIT, COLLECTION_LIMIT, 50]
    assert acts["provision:field-permissions:prune"].after["keep"][0] == "Order.F0__c"


def test_a_blocked_plan_gives_no_writes() -> None:
    with pytest.raises(MigrationError, match="never applied"):
        provision_actions(make_plan(status="blocked"), FACTS)


def test_an_action_never_carries_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        WriteAction(step="cutover", key="k", action="set_password", object="User", target="u",
                    after={"NewPassword": "hunter2-Secret"})  # fmt: skip
    ok = WriteAction(step="cutover", key="k", action="set_password", object="User", target="u",
                     after={"NewPassword": SECRET_PLACEHOLDER})  # fmt: skip
    assert ok.after["NewPassword"] == SECRET_PLACEHOLDER


def test_applying_twice_writes_once() -> None:
    org, ledger = FakeOrg(), MemoryLedger()
    first = apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    assert all(e.status == "done" for e in first)
    after_first = counts(org)
    assert after_first == {
        "User": 1,
        "PermissionSetLicenseAssign": 1,
        "PermissionSet": 1,
        "ObjectPermissions": 2,
        "FieldPermissions": 2,
        "PermissionSetAssignment": 1,
        "SetupEntityAccess": 1,
    }
    written = list(org.writes)
    again = apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    assert org.writes == written and counts(org) == after_first
    assert [e.record_ids for e in again] == [e.record_ids for e in first]
    # The children point at the records the earlier actions created.
    user_id = ledger.get("provision:user").record_id  # type: ignore[union-attr]
    ps_id = ledger.get("provision:permission-set").record_id  # type: ignore[union-attr]
    assignment = org.rows("PermissionSetAssignment")[0]
    assert (assignment["AssigneeId"], assignment["PermissionSetId"]) == (user_id, ps_id)
    assert {r["ParentId"] for r in org.rows("ObjectPermissions")} == {ps_id}


def test_a_crash_between_claim_and_write_reruns_without_duplicates() -> None:
    org, ledger = FakeOrg(faults={"provision:permission-set": "crash-before"}), MemoryLedger()
    with pytest.raises(Crash):
        apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    claimed = ledger.get("provision:permission-set")
    assert claimed is not None and claimed.status == "claimed" and claimed.before is None
    assert not org.rows("PermissionSet")
    apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    assert counts(org)["PermissionSet"] == 1 and counts(org)["User"] == 1


def test_a_lost_response_is_found_on_the_rerun_and_not_written_again() -> None:
    org, ledger = FakeOrg(faults={"provision:user": "lost"}), MemoryLedger()
    with pytest.raises(TransientSalesforceError):
        apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    failed = ledger.get("provision:user")
    assert failed is not None and failed.status == "failed" and failed.attempts == 1
    assert "did not answer" in (failed.error or "")
    entries = apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    assert org.writes.count("provision:user") == 1 and counts(org)["User"] == 1
    user = entries[0]
    assert user.status == "done" and user.record_id == org.rows("User")[0]["Id"]
    assert user.before is None  # still the state before the first (lost) write


def test_the_prior_state_of_the_first_claim_is_never_replaced() -> None:
    org = FakeOrg(faults={"provision:user": "lost"})
    org.add("User", Username="svc-erp@tiny.example.com", ProfileId=PROFILE, IsActive=False)
    ledger = MemoryLedger()
    with pytest.raises(TransientSalesforceError):
        apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    entry = ledger.get("provision:user")
    assert entry is not None and entry.status == "done"
    assert entry.before is not None and entry.before["IsActive"] is False  # not the re-probe's
    assert [u["IsActive"] for u in org.rows("User")] == [True]  # reactivated, not a second one


def test_a_username_held_by_another_profile_is_refused() -> None:
    org, ledger = FakeOrg(), MemoryLedger()
    org.add("User", Username="svc-erp@tiny.example.com", ProfileId=OTHER_PROFILE, IsActive=True)
    with pytest.raises(WriteConflict, match="ProfileId"):
        apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    entry = ledger.get("provision:user")
    assert entry is not None and entry.status == "failed" and not entry.ours
    assert org.writes == []


def test_a_permission_set_with_another_licence_is_refused() -> None:
    org, ledger = FakeOrg(), MemoryLedger()
    org.add("PermissionSet", Name="HO_ERP_Sync_1a2b3c4d", LicenseId=None)
    with pytest.raises(WriteConflict, match="LicenseId"):
        apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    assert org.writes == ["provision:user", "provision:psl-assignment"]


def test_an_earlier_plans_set_is_brought_to_this_plan() -> None:
    org, ledger = FakeOrg(), MemoryLedger()
    ps = org.add("PermissionSet", Name="HO_ERP_Sync_1a2b3c4d", LicenseId=PSL, Label="old")
    org.add("ObjectPermissions", ParentId=ps, SobjectType="Opportunity", PermissionsRead=True)
    org.add("ObjectPermissions", ParentId=ps, SobjectType="Account", PermissionsRead=True,
            PermissionsCreate=False, PermissionsEdit=False, PermissionsDelete=False,
            PermissionsViewAllRecords=False, PermissionsModifyAllRecords=False)  # fmt: skip
    apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    assert sorted(r["SobjectType"] for r in org.rows("ObjectPermissions")) == ["Account", "Contact"]
    assert org.rows("PermissionSet")[0]["Label"] == "ERP Sync integration (handover)"
    # What the prune removed is in its prior state (rollback creates it again).
    prune = ledger.get("provision:object-permissions:prune")
    assert prune is not None and prune.before is not None
    assert [r["SobjectType"] for r in prune.before["records"]] == [
        "Opportunity",
        "Account",
        "Contact",
    ]


def test_a_rejected_write_is_recorded_and_the_rerun_continues() -> None:
    org, ledger = FakeOrg(faults={"provision:psl-assignment": "reject"}), MemoryLedger()
    with pytest.raises(SalesforceGatewayError, match="LICENSE_LIMIT_EXCEEDED"):
        apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    entry = ledger.get("provision:psl-assignment")
    assert entry is not None and entry.status == "failed" and entry.ours
    assert ledger.get("provision:permission-set") is None  # nothing after the failure ran
    apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    assert counts(org)["PermissionSetLicenseAssign"] == 1


def test_dry_run_writes_nothing_and_previews_every_action() -> None:
    org, ledger = FakeOrg(), MemoryLedger()
    entries = apply_actions(actions(), ledger, org, dry_run=True, clock=clock)
    assert org.writes == [] and not any(org.tables.values())
    assert {e.status for e in entries} == {"dry_run"}
    shown = [p.model_dump() for p in previews(entries)]
    assert shown[0] == {
        "action": "create",
        "object": "User",
        "target": "svc-erp@tiny.example.com",
        "before": None,
        "after": actions()[0].after,
    }
    # Ids that don't exist yet stay references in the preview.
    assert shown[1]["after"]["AssigneeId"] == {"$ref": "provision:user"}
    # A real run afterwards is not confused by the dry run's rows.
    apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    assert counts(org)["User"] == 1


def test_dry_run_shows_an_existing_user_and_a_coming_refusal() -> None:
    org, ledger = FakeOrg(), MemoryLedger()
    org.add("User", Username="svc-erp@tiny.example.com", ProfileId=PROFILE, IsActive=False)
    org.add("PermissionSet", Name="HO_ERP_Sync_1a2b3c4d", LicenseId="0PL00000000000XAAA")
    entries = {e.key: e for e in apply_actions(actions(), ledger, org, dry_run=True, clock=clock)}
    assert entries["provision:user"].before["IsActive"] is False  # type: ignore[index]
    # The user exists, so what refers to it is probed with its id.
    assert entries["provision:psl-assignment"].write.after["AssigneeId"].startswith("Use")
    assert "would be refused" in (entries["provision:permission-set"].error or "")


def test_a_dry_run_never_overwrites_a_claim() -> None:
    org, ledger = FakeOrg(faults={"provision:user": "crash-before"}), MemoryLedger()
    with pytest.raises(Crash):
        apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    apply_actions(actions(), ledger, org, dry_run=True, clock=clock)
    entry = ledger.get("provision:user")
    assert entry is not None and entry.status == "claimed"


def test_steps_run_in_order_and_never_after_a_rollback() -> None:
    org, ledger = FakeOrg(), MemoryLedger()
    with pytest.raises(MigrationError, match="provision:user"):
        apply_actions(actions()[1:2], ledger, org, dry_run=False, clock=clock)
    apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    entry = ledger.get("provision:user")
    assert entry is not None
    ledger.put(entry.model_copy(update={"status": "rolled_back"}))
    with pytest.raises(MigrationError, match="rolled back"):
        apply_actions(actions(), ledger, org, dry_run=False, clock=clock)
    with pytest.raises(MigrationError, match="share the idempotency key"):
        apply_actions(actions()[:1] * 2, MemoryLedger(), org, dry_run=False, clock=clock)
