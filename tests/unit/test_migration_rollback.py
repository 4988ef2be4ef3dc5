"""Rollback from the ledger: inverses newest first, users deactivated never deleted, prior
states restored, and a crash during rollback resumes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from handover.migration.actions import cutover_actions, decommission_actions, provision_actions
from handover.migration.apply import apply_actions
from handover.migration.decommission import decommission_plan
from handover.migration.memory import MemoryLedger
from handover.migration.rollback import apply_rollback, rollback_actions
from handover.models.migration import (
    AccountUse,
    AppGrant,
    CutoverSpec,
    LedgerEntry,
    OauthTokenInfo,
    ProvisionFacts,
)
from tests.migration.fakes import Crash, FakeOrg
from tests.migration.plans import make_plan

PROFILE = "00e000000000001AAA"
PSL = "0PL000000000001AAA"
APP = "0H4000000000001AAA"
T = datetime(2026, 10, 2, tzinfo=UTC)
PLAN = make_plan(apps=[(APP, "ERP Sync")])
PROVISION = provision_actions(
    PLAN, ProvisionFacts(profile_id=PROFILE, permission_set_license_id=PSL)
)


def clock() -> datetime:
    return T


def seeded() -> FakeOrg:
    """An org with the human's own records, which no rollback may touch."""
    org = FakeOrg()
    org.add(
        "User", Username="jane.doe@tiny.example.com", ProfileId="00e000000000009AAA", IsActive=True
    )
    ps = org.add("PermissionSet", Name="Jane_Stuff", LicenseId=None)
    org.add("ObjectPermissions", ParentId=ps, SobjectType="Account", PermissionsRead=True)
    org.add("SetupEntityAccess", ParentId=ps, SetupEntityId=APP)
    org.add(
        "ConnectedApp",
        name="Warehouse Connector",
        oauthClientCredentialUser="jane.doe@tiny.example.com",
    )
    return org


def test_rollback_leaves_the_org_as_it_was_with_the_user_deactivated() -> None:
    org, ledger = seeded(), MemoryLedger()
    before = copy.deepcopy(org.tables)
    apply_actions(PROVISION, ledger, org, dry_run=False, clock=clock)
    inverses = rollback_actions(ledger.entries())
    assert [a.key for a in inverses] == [f"rollback:{a.key}" for a in reversed(PROVISION)
                                        if not a.key.endswith(":prune")]  # fmt: skip
    assert {a.step for a in inverses} == {"rollback"}
    apply_rollback(ledger, org, clock=clock)
    after = copy.deepcopy(org.tables)
    new_users = [u for u in after.pop("User") if u["Username"] == PLAN.user.username]
    assert [u["IsActive"] for u in new_users] == [False]  # deactivated, never deleted
    assert after == {k: v for k, v in before.items() if k != "User"} | {
        k: [] for k in after if k not in before
    }
    assert {e.status for e in ledger.entries() if e.step == "provision"} == {"rolled_back"}
    # Rolling back again changes nothing and writes nothing.
    writes = list(org.writes)
    apply_rollback(ledger, org, clock=clock)
    assert org.writes == writes


def test_a_crash_during_rollback_resumes() -> None:
    org, ledger = seeded(), MemoryLedger()
    apply_actions(PROVISION, ledger, org, dry_run=False, clock=clock)
    org.faults["rollback:provision:permission-set"] = "crash-before"
    with pytest.raises(Crash):
        apply_rollback(ledger, org, clock=clock)
    assert ledger.get("rollback:provision:assignment").status == "done"  # type: ignore[union-attr]
    apply_rollback(ledger, org, clock=clock)
    assert not org.rows("PermissionSet")[1:]  # only Jane's set is left
    assert ledger.get("provision:permission-set").status == "rolled_back"  # type: ignore[union-attr]


def test_a_claim_whose_write_never_landed_rolls_back_cleanly() -> None:
    org, ledger = seeded(), MemoryLedger()
    org.faults["provision:user"] = "crash-before"
    with pytest.raises(Crash):
        apply_actions(PROVISION, ledger, org, dry_run=False, clock=clock)
    apply_rollback(ledger, org, clock=clock)
    assert [u["Username"] for u in org.rows("User")] == ["jane.doe@tiny.example.com"]
    assert ledger.get("provision:user").status == "rolled_back"  # type: ignore[union-attr]


def test_a_reactivated_user_goes_back_to_inactive_and_keeps_its_record() -> None:
    org, ledger = seeded(), MemoryLedger()
    old = org.add(
        "User", Username=PLAN.user.username, ProfileId=PROFILE, IsActive=False, Email="old@x.com"
    )
    apply_actions(PROVISION, ledger, org, dry_run=False, clock=clock)
    (inverse,) = [a for a in rollback_actions(ledger.entries()) if a.object == "User"]
    assert inverse.action == "update" and inverse.after["IsActive"] is False
    assert inverse.after["Email"] == "old@x.com"  # restored to its prior state
    apply_rollback(ledger, org, clock=clock)
    user = next(u for u in org.rows("User") if u["Id"] == old)
    assert user["IsActive"] is False and user["Email"] == "old@x.com"


def test_pruned_permissions_come_back() -> None:
    org, ledger = seeded(), MemoryLedger()
    ps = org.add("PermissionSet", Name=PLAN.permission_set.name, LicenseId=PSL, Label="old")
    org.add("ObjectPermissions", ParentId=ps, SobjectType="Opportunity", PermissionsRead=True)
    apply_actions(PROVISION, ledger, org, dry_run=False, clock=clock)
    assert "Opportunity" not in {r["SobjectType"] for r in org.rows("ObjectPermissions")}
    apply_rollback(ledger, org, clock=clock)
    rows = {(r["ParentId"], r["SobjectType"]) for r in org.rows("ObjectPermissions")}
    assert (ps, "Opportunity") in rows and (ps, "Contact") not in rows
    assert org.rows("PermissionSet")[1]["Label"] == "old"  # adopted: restored, not deleted


def test_cutover_inverses() -> None:
    ledger = MemoryLedger()
    run_as = CutoverSpec(auth_pattern="client_credentials", route="run_as", sink=None,
                         app_name="Warehouse Connector", connected_app_id=APP)  # fmt: skip
    password = CutoverSpec(auth_pattern="soap_login", route="password", sink="file",
                           app_name="Legacy Loader")  # fmt: skip
    acts = cutover_actions(PLAN, run_as) + cutover_actions(PLAN, password)
    priors = [{"oauthClientCredentialUser": "jane.doe@tiny.example.com"}, None,
              {"username": "jane.doe@tiny.example.com", "prior": "handover-m-1-credentials"}]  # fmt: skip
    for a, before in zip(acts, priors, strict=True):
        ledger.put(LedgerEntry(write=a, status="done", before=before, claimed_at=T, updated_at=T))
    inverses = {a.key: a for a in rollback_actions(ledger.entries())}
    assert list(inverses) == [
        "rollback:cutover:credentials",
        "rollback:cutover:run-as:warehouse-connector",
    ]
    assert inverses["rollback:cutover:run-as:warehouse-connector"].after == {
        "oauthClientCredentialUser": "jane.doe@tiny.example.com"
    }
    restore = inverses["rollback:cutover:credentials"]
    assert restore.action == "restore" and restore.after["prior"] == "handover-m-1-credentials"
    # The password write has no inverse: the new user is deactivated instead.
    assert "rollback:cutover:password" not in inverses


def test_decommission_inverses_recreate_app_access_and_never_unrevoke() -> None:
    org, ledger = seeded(), MemoryLedger()
    ps = org.rows("PermissionSet")[0]["Id"]
    sea = org.rows("SetupEntityAccess")[0]
    human = org.rows("User")[0]["Id"]
    org.add("OauthToken", UserId=human, token_hash="abc123", app="ERP Sync")
    plan = decommission_plan(
        human_user_id=human,
        human_username="jane.doe@tiny.example.com",
        app_name="ERP Sync",
        connected_app_id=APP,
        tokens=[
            OauthTokenInfo(token_hash="abc123", user_id=human, app_name="ERP Sync", app_id=APP)
        ],
        grants=[
            AppGrant(
                sea_id=sea["Id"],
                parent_id=ps,
                setup_entity_id=APP,
                permission_set="Jane_Stuff",
                holders=[human],
            )
        ],
        account=AccountUse(days_observed=14),
    )
    apply_actions(decommission_actions(plan), ledger, org, dry_run=False, clock=clock)
    assert not org.rows("SetupEntityAccess") and not org.rows("OauthToken")
    inverses = rollback_actions(ledger.entries())
    assert [a.key for a in inverses] == [f"rollback:decommission:app-access:{sea['Id']}"]
    assert inverses[0].action == "create"
    assert inverses[0].after == {"ParentId": ps, "SetupEntityId": APP}
    apply_rollback(ledger, org, clock=clock)
    assert [(r["ParentId"], r["SetupEntityId"]) for r in org.rows("SetupEntityAccess")] == [
        (ps, APP)
    ]
    revoked = [e for e in ledger.entries() if e.write.action == "revoke"]
    assert [e.status for e in revoked] == ["done"]  # irreversible: stays done
