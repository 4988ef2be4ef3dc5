"""handover.plan on hand-built inputs: each invariant, the cadence rules, naming, the hash,
and exactness on the Loomis workloads (their plans applied to the emulator's rules).

The Loomis tests build the org in-process from emulators/scenarios/loomis.yaml (no server,
no network): its schema gives describe, its permission sets give the humans' access, and
its platform rules must accept every plan.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handover.errors import ConfigError
from handover.models import (
    AccessPlan,
    FieldAccess,
    FieldEvidence,
    Finding,
    HumanAccess,
    ObjectAccess,
    ObjectPermission,
    OperationEvidence,
    PermissionSetSpec,
    PlanInputs,
    PlanRefusal,
)
from handover.plan import build_plan, plan_hash, plan_json
from handover.planning import naming
from handover.planning.cadence import read_cadence
from handover.planning.checks import check_dependencies, check_justified, verify_plan
from handover.settings import PlanSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
LOOMIS = ROOT / "emulators" / "scenarios" / "loomis.yaml"

ORG = "00D5g000004XyZaEAK"
HUMAN_ID = "0055g00000AbCdEAAZ"
APP_ID = "0H45g000000AbCdCAK"
START = date(2026, 10, 5)  # a Monday
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
DEFAULTS = PlanSettings()

DESCRIBE = {
    "Account": ["AccountNumber", "Industry", "Phone", "Secret__c", "ERP_Id__c", "Score__c"],
    "Order": ["Description", "PoNumber", "ShippingCity", "ERP_Order_Id__c", "TotalAmount__c"],
    "OrderItem": ["Description", "Product2Id", "ERP_Line_Id__c"],
    "Product2": ["ProductCode", "Family", "ERP_Id__c"],
    "Contact": ["Email", "Phone", "AccountId"],
    "Invoice__c": ["Amount__c"],
    "InvoiceLine__c": ["Qty__c"],
}
READONLY = {"Order": ["TotalAmount__c"], "Account": ["Score__c"]}
GRANTABLE = frozenset({"Account", "Order", "OrderItem", "Product2", "Contact"})
MASTERS = {"OrderItem": ["Order"], "InvoiceLine__c": ["Invoice__c"]}
FLAG_KEYS = ("read", "create", "edit", "delete", "view_all", "modify_all")


# ---------------------------------------------------------------------- factories


def op(
    obj: str,
    operation: str,
    count: int = 100,
    *,
    first: datetime = T0,
    days: int = 29,
    example: str | None = None,
    all_records: bool = False,
) -> OperationEvidence:
    return OperationEvidence.model_validate(
        {
            "object": obj,
            "operation": operation,
            "count": count,
            "first_seen": first,
            "last_seen": first + timedelta(days=days),
            "example": example if example is not None else f"{operation} {obj}",
            "all_records": all_records,
        }
    )


def fe(path: str, access: str = "read", count: int = 50) -> FieldEvidence:
    return FieldEvidence.model_validate(
        {
            "field": path,
            "access": access,
            "count": count,
            "first_seen": T0,
            "last_seen": T0 + timedelta(days=29),
        }
    )


def admin(**kw: Any) -> HumanAccess:
    """Dana: System Administrator, Modify All Data."""
    fields: dict[str, Any] = {
        "user_id": HUMAN_ID,
        "username": "dana.reyes@loomis-logistics.com",
        "name": "Dana Reyes",
        "profile": "System Administrator",
        "license": "Salesforce",
        "system_permissions": frozenset({"ApiEnabled", "ModifyAllData", "ViewAllData"}),
        "reachable_objects": 412,
    }
    return HumanAccess.model_validate(fields | kw)


def person(objects: dict[str, str], fields: dict[str, str] | None = None, **kw: Any) -> HumanAccess:
    """A human with exactly ``objects`` ("Account": "rced" + "v" view all, "m" modify all)
    and ``fields`` ("Account.Phone": "r" or "rw")."""
    letters = {"r": "read", "c": "create", "e": "edit", "d": "delete", "v": "view_all",
               "m": "modify_all"}  # fmt: skip
    base: dict[str, Any] = {
        "user_id": HUMAN_ID,
        "username": "olivia.bennett@loomis-logistics.com",
        "name": "Olivia Bennett",
        "profile": "Standard User",
        "license": "Salesforce",
        "permission_sets": ["Marketing User"],
        "system_permissions": frozenset({"ApiEnabled"}),
        "objects": {
            o: ObjectAccess.model_validate({letters[c]: True for c in flags})
            for o, flags in objects.items()
        },
        "fields": {
            f: FieldAccess(read="r" in acc, edit="w" in acc) for f, acc in (fields or {}).items()
        },
        "reachable_objects": len(objects),
    }
    return HumanAccess.model_validate(base | kw)


def finding(**kw: Any) -> Finding:
    fields: dict[str, Any] = {
        "finding_id": "f-3fa1b2c4d5e6",
        "org_id": ORG,
        "user_id": HUMAN_ID,
        "username": "dana.reyes@loomis-logistics.com",
        "app_name": "MuleSoft NetSuite Connector",
        "app_key": f"app:{APP_ID}",
        "connected_app_id": APP_ID,
        "verdict": "integration_under_human",
        "score": 0.93,
        "evidence": [],
        "license": "Salesforce",
        "profile": "System Administrator",
        "window_start": START,
        "window_end": START + timedelta(days=29),
    }
    return Finding.model_validate(fields | kw)


def every_day(days: int, calls: int = 120, start: date = START) -> dict[date, int]:
    return {start + timedelta(days=i): calls for i in range(days)}


def make_inputs(
    operations: Iterable[OperationEvidence],
    *,
    fields: Iterable[FieldEvidence] = (),
    human: HumanAccess | None = None,
    days: int = 30,
    calls_by_day: dict[date, int] | None = None,
    **kw: Any,
) -> PlanInputs:
    base: dict[str, Any] = {
        "finding": finding(),
        "operations": list(operations),
        "fields": list(fields),
        "field_evidence_available": True,
        "human": human or admin(),
        "grantable_objects": GRANTABLE,
        "permissionable_fields": DESCRIBE,
        "readonly_fields": READONLY,
        "master_detail": MASTERS,
        "window_start": START,
        "window_end": START + timedelta(days=days - 1),
        "days_observed": days,
        "calls_by_day": every_day(days) if calls_by_day is None else calls_by_day,
    }
    return PlanInputs.model_validate(base | kw)


def plan_of(inputs: PlanInputs, **settings: Any) -> AccessPlan:
    result = build_plan(inputs, PlanSettings(**settings))
    assert isinstance(result, AccessPlan), getattr(result, "reasons", result)
    return result


def refusal_of(inputs: PlanInputs, **settings: Any) -> PlanRefusal:
    result = build_plan(inputs, PlanSettings(**settings))
    assert isinstance(result, PlanRefusal), f"expected a refusal, got a {result.status} plan"
    return result


def flags(plan: AccessPlan) -> dict[str, set[str]]:
    return {
        p.object: {k for k in FLAG_KEYS if getattr(p, k)}
        for p in plan.permission_set.object_permissions
    }


def field_flags(plan: AccessPlan) -> dict[str, str]:
    return {
        f.field: ("r" if f.read else "") + ("w" if f.edit else "")
        for f in plan.permission_set.field_permissions
    }


def provenance(plan: AccessPlan, permission: str) -> list[tuple[str, str]]:
    """(kind, operation or required_by) of each justification of ``permission``."""
    entry = next(p for p in plan.provenance if p.permission == permission)
    return [(j.kind, j.required_by or j.operation) for j in entry.justifications]


# ---------------------------------------------------------------------- operations -> permissions


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("query", {"read"}),
        ("retrieve", {"read"}),
        ("create", {"read", "create"}),
        ("update", {"read", "edit"}),
        ("upsert", {"read", "create", "edit"}),
        ("delete", {"read", "edit", "delete"}),
    ],
)
def test_each_operation_grants_its_permission_and_nothing_more(
    operation: str, expected: set[str]
) -> None:
    plan = plan_of(make_inputs([op("Account", operation)]))
    assert flags(plan) == {"Account": expected}
    assert plan.status == "ready" and plan.approvable


def test_dependency_permissions_carry_required_by_provenance_and_count_as_justified() -> None:
    plan = plan_of(make_inputs([op("Account", "delete", 7)]))
    assert provenance(plan, "Delete Account") == [("observed", "delete")]
    assert provenance(plan, "Edit Account") == [("dependency", "Delete Account")]
    assert sorted(provenance(plan, "Read Account")) == [
        ("dependency", "Delete Account"),
        ("dependency", "Edit Account"),
    ]
    read = next(p for p in plan.provenance if p.permission == "Read Account")
    assert read.count == 0  # dependencies add no calls
    assert check_justified(plan) == []


def test_observed_and_required_read_lists_both() -> None:
    plan = plan_of(make_inputs([op("Order", "query", 5), op("Order", "create", 9)]))
    assert provenance(plan, "Read Order") == [
        ("observed", "query"),
        ("dependency", "Create Order"),
    ]


def test_provenance_counts_first_and_last_seen_and_example() -> None:
    later = T0 + timedelta(days=3)
    plan = plan_of(
        make_inputs(
            [
                op("Order", "upsert", 300, example="PATCH /sobjects/Order/ERP_Order_Id__c/?"),
                op("Order", "create", 100, first=later, days=10),
            ]
        )
    )
    create = next(p for p in plan.provenance if p.permission == "Create Order")
    assert create.count == 400
    assert create.first_seen == T0
    assert create.last_seen == T0 + timedelta(days=29)
    assert create.example == "PATCH /sobjects/Order/ERP_Order_Id__c/?"  # the busiest call's


def test_reading_a_detail_object_needs_reading_its_master() -> None:
    plan = plan_of(make_inputs([op("OrderItem", "query")]))
    assert flags(plan) == {"Order": {"read"}, "OrderItem": {"read"}}
    assert provenance(plan, "Read Order") == [("dependency", "Read OrderItem")]
    # Masters are created first: the platform checks "Read detail needs Read master" at insert.
    assert [p.object for p in plan.permission_set.object_permissions] == ["Order", "OrderItem"]


def test_master_detail_input_may_name_one_master_as_a_string() -> None:
    plan = plan_of(make_inputs([op("OrderItem", "query")], master_detail={"OrderItem": "Order"}))
    assert set(flags(plan)) == {"Order", "OrderItem"}


# ---------------------------------------------------------------------- never broader than the human


def test_refused_when_the_human_lacks_an_observed_object_permission() -> None:
    human = person({"Account": "rce"})
    result = refusal_of(
        make_inputs([op("Account", "query"), op("Account", "delete", 12)], human=human)
    )
    assert result.status == "refused"
    text = " ".join(result.reasons)
    assert "Delete on Account" in text and "12 calls observed" in text
    assert "olivia.bennett@loomis-logistics.com does not have it" in text
    assert not hasattr(result, "permission_set")  # a refusal carries no plan


def test_refused_when_a_dependency_goes_beyond_the_human() -> None:
    # Reading order lines needs reading orders; this human cannot read orders.
    human = person({"OrderItem": "r"})
    result = refusal_of(make_inputs([op("OrderItem", "query")], human=human))
    assert any(r.startswith("Read on Order (required by Read OrderItem)") for r in result.reasons)


def test_refused_at_field_level_when_the_human_cannot_read_a_queried_field() -> None:
    human = person({"Account": "r"}, {"Account.Industry": "r"})
    inputs = make_inputs(
        [op("Account", "query")],
        fields=[fe("Account.Industry"), fe("Account.Secret__c", count=3)],
        human=human,
    )
    result = refusal_of(inputs)
    assert result.status == "refused"
    assert any("Read on field Account.Secret__c" in r for r in result.reasons)
    assert not any("Account.Industry" in r for r in result.reasons)


def test_refused_at_field_level_when_the_human_cannot_edit_a_written_field() -> None:
    human = person({"Account": "re"}, {"Account.Phone": "r"})
    inputs = make_inputs(
        [op("Account", "query"), op("Account", "update")],
        fields=[fe("Account.Phone"), fe("Account.Phone", "edit")],
        human=human,
    )
    assert any("Edit on field Account.Phone" in r for r in refusal_of(inputs).reasons)


def test_modify_all_data_means_the_human_has_everything() -> None:
    inputs = make_inputs(
        [op("Account", "upsert"), op("OrderItem", "delete")],
        fields=[fe("Account.Secret__c"), fe("Account.Phone", "edit")],
    )
    assert plan_of(inputs).status == "ready"


def test_view_all_data_reads_everything_but_writes_nothing() -> None:
    reader = person({}, system_permissions=frozenset({"ApiEnabled", "ViewAllData"}))
    plan = plan_of(
        make_inputs([op("Account", "query")], fields=[fe("Account.Secret__c")], human=reader)
    )
    assert field_flags(plan) == {"Account.Secret__c": "r"}
    result = refusal_of(make_inputs([op("Account", "update")], human=reader))
    assert any("Edit on Account" in r for r in result.reasons)


def test_view_all_fields_on_the_object_makes_its_fields_readable() -> None:
    human = person({"Account": "r"}).model_copy(
        update={"objects": {"Account": ObjectAccess(read=True, view_all_fields=True)}}
    )
    plan = plan_of(make_inputs([op("Account", "query")], fields=[fe("Account.Phone")], human=human))
    assert field_flags(plan) == {"Account.Phone": "r"}


def test_the_human_needs_api_enabled_too() -> None:
    human = person({"Account": "r"}, system_permissions=frozenset())
    result = refusal_of(make_inputs([op("Account", "query")], human=human))
    assert any("the system permission ApiEnabled" in r for r in result.reasons)


def test_object_level_fallback_takes_only_the_fields_the_human_has() -> None:
    human = person(
        {"Account": "re"},
        {"Account.Industry": "rw", "Account.Phone": "r", "Account.AccountNumber": "rw"},
    )
    plan = plan_of(make_inputs([op("Account", "query"), op("Account", "update")], human=human))
    assert field_flags(plan) == {
        "Account.AccountNumber": "rw",
        "Account.Industry": "rw",
        "Account.Phone": "r",
    }
    assert plan.field_coverage[0].reads == "object_level"
    assert plan.field_coverage[0].writes == "object_level"
    assert plan.field_level_evidence == "missing"


def test_human_names_match_case_insensitively() -> None:
    human = person({"ACCOUNT": "r"}, {"account.phone": "r"})
    plan = plan_of(make_inputs([op("account", "query")], fields=[fe("Account.PHONE")], human=human))
    assert field_flags(plan) == {"Account.Phone": "r"}
    assert flags(plan) == {"Account": {"read"}}


# ---------------------------------------------------------------------- every permission justified


def test_a_permission_without_provenance_is_caught() -> None:
    plan = plan_of(make_inputs([op("Account", "query")]))
    extra = ObjectPermission(object="Contact", read=True)
    tampered = plan.model_copy(
        update={
            "permission_set": plan.permission_set.model_copy(
                update={"object_permissions": [*plan.permission_set.object_permissions, extra]}
            )
        }
    )
    assert check_justified(tampered) == [
        "Read Contact has no provenance: no observed call justifies it."
    ]


def test_a_dependency_that_leads_nowhere_is_caught() -> None:
    plan = plan_of(make_inputs([op("Account", "create")]))
    # Drop the observed create: Read Account is still "required by Create Account", and
    # Create Account now rests on nothing.
    stripped = [
        p.model_copy(update={"justifications": [], "count": 0})
        if p.permission == "Create Account"
        else p
        for p in plan.provenance
    ]
    problems = check_justified(plan.model_copy(update={"provenance": stripped}))
    assert problems == [
        "Read Account does not trace back to any observed call.",
        "Create Account does not trace back to any observed call.",
    ]


@pytest.mark.parametrize("seed", range(40))
def test_random_evidence_always_gives_a_justified_plan_that_obeys_the_platform(seed: int) -> None:
    rng = random.Random(seed)
    objects = [*DESCRIBE, "Case"]
    ops = [
        op(
            rng.choice(objects),
            rng.choice(["query", "retrieve", "create", "update", "upsert", "delete"]),
            rng.randint(1, 500),
            all_records=rng.random() < 0.1,
        )
        for _ in range(rng.randint(1, 12))
    ]
    field_ev = [
        fe(f"{o}.{rng.choice(fs)}", rng.choice(["read", "edit"]))
        for o, fs in DESCRIBE.items()
        if rng.random() < 0.5
    ]
    inputs = make_inputs(ops, fields=field_ev, field_evidence_available=rng.random() < 0.7)
    plan = plan_of(inputs, allow_view_all_modify_all=rng.random() < 0.5)
    assert verify_plan(plan, inputs) == []
    observed = {(o.object, o.operation) for o in ops}
    for p in plan.permission_set.object_permissions:
        assert any(obj == p.object for obj, _ in observed) or any(
            p.object in ms for d, ms in MASTERS.items() if d in flags(plan)
        )
    granted = set(flags(plan)) | {b.object for b in plan.blockers}
    assert {o.object for o in ops} <= granted


# ---------------------------------------------------------------------- platform dependencies


def test_check_dependencies_names_each_broken_rule() -> None:
    ps = PermissionSetSpec(
        name="HO_X_00000000",
        label="X",
        license="SalesforceAPIIntegrationPsl",
        description="",
        object_permissions=[
            ObjectPermission(object="Account", create=True),
            ObjectPermission(object="Order", read=True, delete=True),
            ObjectPermission(object="OrderItem", read=True),
            ObjectPermission(object="InvoiceLine__c", read=True),
            ObjectPermission(object="Contact", read=True, modify_all=True),
        ],
        field_permissions=[
            {"field": "Account.Phone", "edit": True},
            {"field": "Lead.Email", "read": True},
        ],  # type: ignore[list-item]
        system_permissions=["ApiEnabled"],
        connected_app_access=[],
    )
    assert check_dependencies(ps, MASTERS) == [
        "Create Account depends on Read Account",
        "Delete Order depends on Edit Order",
        "Read InvoiceLine__c depends on Read Invoice__c (master-detail)",
        "Modify All Contact depends on Edit Contact, Delete Contact, View All Contact",
        "Edit Account.Phone depends on Read Account.Phone",
        "Lead.Email is granted without any permission on its object",
    ]


def test_every_built_plan_satisfies_the_dependency_rules() -> None:
    plan = plan_of(
        make_inputs([op("OrderItem", "delete"), op("Contact", "query", all_records=True)]),
        allow_view_all_modify_all=True,
    )
    assert check_dependencies(plan.permission_set, MASTERS) == []
    assert flags(plan)["OrderItem"] == {"read", "edit", "delete"}
    assert flags(plan)["Order"] == {"read"}
    assert flags(plan)["Contact"] == {"read", "view_all"}


# ---------------------------------------------------------------------- View All / Modify All


def test_view_all_and_modify_all_are_never_granted_without_observed_need() -> None:
    plan = plan_of(
        make_inputs([op("Account", "upsert"), op("Account", "delete")]),
        allow_view_all_modify_all=True,
    )
    assert flags(plan) == {"Account": {"read", "create", "edit", "delete"}}


def test_records_beyond_sharing_are_a_blocker_unless_settings_allow() -> None:
    inputs = make_inputs([op("Account", "update", all_records=True)])
    blocked = plan_of(inputs)
    assert blocked.status == "blocked" and not blocked.approvable
    assert [(b.object, b.permissions) for b in blocked.blockers] == [("Account", ["Modify All"])]
    assert "HANDOVER_PLAN__ALLOW_VIEW_ALL_MODIFY_ALL" in blocked.blockers[0].action
    assert flags(blocked) == {"Account": {"read", "edit"}}

    allowed = plan_of(inputs, allow_view_all_modify_all=True)
    assert allowed.status == "ready"
    # Modify All needs Read, Edit, Delete and View All (not Create).
    assert flags(allowed) == {"Account": {"read", "edit", "delete", "view_all", "modify_all"}}
    assert provenance(allowed, "Delete Account") == [("dependency", "Modify All Account")]


def test_view_all_beyond_the_human_is_refused() -> None:
    human = person({"Account": "r"}, {})
    result = refusal_of(
        make_inputs([op("Account", "query", all_records=True)], human=human),
        allow_view_all_modify_all=True,
    )
    assert any("View All on Account" in r for r in result.reasons)


# ---------------------------------------------------------------------- grantable under the licence


def test_an_object_the_integration_licence_cannot_carry_is_a_blocker_and_the_plan_is_blocked() -> (
    None
):
    plan = plan_of(make_inputs([op("Account", "query"), op("Invoice__c", "create", 40)]))
    assert plan.status == "blocked" and not plan.approvable
    assert flags(plan) == {"Account": {"read"}}  # the blocked object is not in the permission set
    (blocker,) = plan.blockers
    assert blocker.object == "Invoice__c"
    assert blocker.permissions == ["Read", "Create"]
    assert blocker.count == 40 and blocker.last_seen is not None
    assert "Salesforce Integration licence" in blocker.reason
    assert "blocked: Invoice__c" in plan.headline


def test_a_detail_whose_master_is_blocked_is_blocked_too() -> None:
    plan = plan_of(
        make_inputs(
            [op("InvoiceLine__c", "query", 9)], grantable_objects=GRANTABLE | {"InvoiceLine__c"}
        )
    )
    assert {b.object: b.reason for b in plan.blockers} == {
        "InvoiceLine__c": "Read InvoiceLine__c needs Read Invoice__c (master-detail), which cannot be granted.",
        "Invoice__c": "Invoice__c cannot be granted to a user with the Salesforce Integration licence and the Salesforce API Integration permission set licence. It is needed for Read InvoiceLine__c.",
    }
    assert (plan.blockers[0].count, plan.blockers[1].count) == (9, 0)
    assert flags(plan) == {}


def test_a_master_read_needed_only_by_a_blocked_detail_leaves_the_plan() -> None:
    masters = {**MASTERS, "Invoice__c": ["Account"]}
    plan = plan_of(
        make_inputs([op("Invoice__c", "query"), op("Product2", "query")], master_detail=masters)
    )
    assert flags(plan) == {"Product2": {"read"}}
    assert check_justified(plan) == []


def test_unknown_grantability_is_said_not_hidden() -> None:
    plan = plan_of(make_inputs([op("Invoice__c", "query")], grantable_objects=None))
    assert plan.status == "ready"
    assert any("was not checked" in n for n in plan.notes)


def test_public_objects_need_no_permission_to_read_but_block_writes() -> None:
    plan = plan_of(
        make_inputs([op("User", "query", 30), op("Account", "query")], public_objects={"User"})
    )
    assert flags(plan) == {"Account": {"read"}}
    assert any(n.startswith("User is readable by every user") for n in plan.notes)
    blocked = plan_of(make_inputs([op("User", "update")], public_objects={"User"}))
    assert [b.object for b in blocked.blockers] == ["User"]


# ---------------------------------------------------------------------- fields


def test_field_permissions_are_the_fields_the_logs_show() -> None:
    inputs = make_inputs(
        [op("Account", "query"), op("Account", "update")],
        fields=[
            fe("Account.Id"),
            fe("Account.Name"),
            fe("Account.Industry"),
            fe("Account.Phone"),
            fe("Account.Phone", "edit"),
            fe("Account.AccountNumber", "edit"),
        ],
    )
    plan = plan_of(inputs)
    assert field_flags(plan) == {
        "Account.AccountNumber": "rw",
        "Account.Industry": "r",
        "Account.Phone": "rw",
    }
    (cov,) = plan.field_coverage
    assert (cov.reads, cov.writes, cov.always_accessible) == (
        "observed",
        "observed",
        ["Id", "Name"],
    )
    assert plan.field_level_evidence == "observed"
    assert provenance(plan, "Read Account.AccountNumber") == [
        ("dependency", "Edit Account.AccountNumber")
    ]


def test_missing_field_evidence_is_said_and_fields_follow_the_object() -> None:
    inputs = make_inputs([op("Product2", "query")], field_evidence_available=False)
    plan = plan_of(inputs)
    assert plan.field_level_evidence == "missing"
    assert field_flags(plan) == {f"Product2.{f}": "r" for f in DESCRIBE["Product2"]}
    assert any("field-level evidence is missing" in n for n in plan.notes)
    just = next(p for p in plan.provenance if p.permission == "Read Product2.Family").justifications
    assert [(j.kind, j.operation, j.count) for j in just] == [("object_level", "query", 100)]


def test_field_fallback_none_plans_object_permissions_only() -> None:
    inputs = make_inputs([op("Product2", "upsert")], field_evidence_available=False)
    plan = plan_of(inputs, field_fallback="none")
    assert plan.permission_set.field_permissions == []
    assert flags(plan) == {"Product2": {"read", "create", "edit"}}
    assert (plan.field_coverage[0].reads, plan.field_coverage[0].writes) == (
        "not_needed",
        "not_planned",
    )
    assert any("field fallback is off" in n for n in plan.notes)


def test_writes_without_field_lists_fall_back_while_logged_reads_stay_exact() -> None:
    inputs = make_inputs(
        [op("Order", "query"), op("Order", "create")], fields=[fe("Order.PoNumber")]
    )
    plan = plan_of(inputs)
    # Every editable field the human has on Order, never the read-only formula field.
    assert field_flags(plan) == {
        "Order.Description": "rw",
        "Order.ERP_Order_Id__c": "rw",
        "Order.PoNumber": "rw",
        "Order.ShippingCity": "rw",
    }
    assert (plan.field_coverage[0].reads, plan.field_coverage[0].writes) == (
        "observed",
        "object_level",
    )


def test_a_retrieve_reads_every_field_so_reads_fall_back() -> None:
    plan = plan_of(
        make_inputs(
            [op("Product2", "retrieve"), op("Product2", "query")], fields=[fe("Product2.Family")]
        )
    )
    assert plan.field_coverage[0].reads == "object_level"
    assert set(field_flags(plan)) == {f"Product2.{f}" for f in DESCRIBE["Product2"]}


def test_fields_macro_expands_to_what_the_human_can_read() -> None:
    human = person({"Account": "r"}, {"Account.Phone": "r", "Account.ERP_Id__c": "r"})
    plan = plan_of(
        make_inputs([op("Account", "query")], fields=[fe("Account.fields( custom )")], human=human)
    )
    assert field_flags(plan) == {"Account.ERP_Id__c": "r"}
    assert provenance(plan, "Read Account.ERP_Id__c") == [("observed", "read")]


def test_relationship_paths_are_reported_not_granted() -> None:
    plan = plan_of(
        make_inputs(
            [op("Contact", "query")], fields=[fe("Contact.Email"), fe("Contact.Account.Name")]
        )
    )
    assert field_flags(plan) == {"Contact.Email": "r"}
    assert any("through relationships (Account.Name)" in n for n in plan.notes)


def test_read_only_fields_are_never_editable() -> None:
    plan = plan_of(
        make_inputs(
            [op("Order", "update"), op("Order", "query")],
            fields=[fe("Order.TotalAmount__c"), fe("Order.TotalAmount__c", "edit")],
        )
    )
    assert field_flags(plan)["Order.TotalAmount__c"] == "r"
    assert any("Order.TotalAmount__c is read-only" in n for n in plan.notes)


def test_an_object_without_describe_gets_no_field_permissions() -> None:
    plan = plan_of(
        make_inputs([op("Case", "query")], fields=[fe("Case.Subject")], grantable_objects=None)
    )
    assert plan.permission_set.field_permissions == []
    assert any("Case was not described" in n for n in plan.notes)


def test_fields_of_objects_outside_the_plan_are_not_granted() -> None:
    plan = plan_of(
        make_inputs([op("Account", "query")], fields=[fe("Contact.Email"), fe("Account.Phone")])
    )
    assert field_flags(plan) == {"Account.Phone": "r"}
    assert any(n.startswith("Fields of Contact appear in the logs") for n in plan.notes)


def test_delete_only_needs_no_field_permissions() -> None:
    plan = plan_of(make_inputs([op("Contact", "delete")]))
    assert plan.permission_set.field_permissions == []


# ---------------------------------------------------------------------- system permissions, app


def test_only_api_enabled_and_the_connected_app() -> None:
    plan = plan_of(make_inputs([op("Account", "query", 10), op("Order", "create", 5)]))
    ps = plan.permission_set
    assert ps.system_permissions == ["ApiEnabled"]
    assert [(a.app_id, a.app_name) for a in ps.connected_app_access] == [
        (APP_ID, "MuleSoft NetSuite Connector")
    ]
    api = next(p for p in plan.provenance if p.kind == "system")
    assert (api.permission, api.count) == ("API Enabled", 15)
    assert plan.user.profile == "Minimum Access - API Only Integrations"
    assert plan.user.license == "Salesforce Integration"
    assert plan.user.permission_set_license == "Salesforce API Integration"
    assert ps.license == "SalesforceAPIIntegrationPsl"


def test_no_connected_app_means_no_app_access_and_a_note() -> None:
    f = finding(
        app_name="DataLoaderBatch/59.0.0",
        app_key="client:DataLoaderBatch/59.0.0",
        connected_app_id=None,
    )
    plan = plan_of(make_inputs([op("Account", "query")], finding=f))
    assert plan.permission_set.connected_app_access == []
    assert any("no connected app" in n for n in plan.notes)


def test_calls_no_permission_covers_are_named_in_the_plan() -> None:
    inputs = make_inputs([op("Account", "query")], other_operations={"search": 12, "apex": 3})
    plan = plan_of(inputs)
    assert any("apex ×3, search ×12" in n and "before cutover" in n for n in plan.notes)
    assert plan.hash != plan_of(make_inputs([op("Account", "query")])).hash


def test_an_unexpanded_permission_set_group_explains_a_new_access_refusal() -> None:
    note = "Permission set group 0PG9 is assigned to olivia but its permissions were not expanded"
    human = person({"Account": "r"}, permission_set_groups=["0PG9"], notes=[note])
    result = refusal_of(make_inputs([op("Account", "update")], human=human))
    assert result.status == "refused"
    assert any("Edit on Account" in r for r in result.reasons) and note in result.reasons
    plan = plan_of(make_inputs([op("Account", "query")], human=human))
    assert note in plan.notes and plan.human.permission_set_groups == ["0PG9"]


# ---------------------------------------------------------------------- sufficient evidence


def test_too_few_days_is_insufficient_evidence_not_a_smaller_plan() -> None:
    result = refusal_of(make_inputs([op("Account", "query")], days=10))
    assert result.status == "insufficient_evidence"
    assert result.reasons[0].startswith("Only 10 days of logs observed; a plan needs at least 14.")
    assert "2026-10-19" in result.reasons[0]  # when to plan again
    assert result.evidence_window is not None and result.evidence_window.days_observed == 10


_ON_OR_AFTER = re.compile(r"plan again .*on or after (\d{4}-\d{2}-\d{2})")


def planned_on(day: date, calls: dict[date, int], **kw: Any) -> AccessPlan | PlanRefusal:
    """The plan made on ``day`` by someone whose discovery ran daily since history began
    on START: the window ends with yesterday's logs (ingested that morning), every day of
    it observed."""
    end = day - timedelta(days=1)
    days = (end - START).days + 1
    inputs = make_inputs(
        [op("Account", "query")],
        window_start=START,
        window_end=end,
        days_observed=days,
        calls_by_day={d: n for d, n in calls.items() if d <= end},
        finding=finding(window_start=end - timedelta(days=29), window_end=end),
    )
    return build_plan(inputs, PlanSettings(**kw))


def _rule(reason: str) -> str:
    """Which rule a reason comes from: its opening words without numbers."""
    return " ".join(w for w in reason.split()[:4] if not w[0].isdigit())


@pytest.mark.parametrize(
    ("first_day", "calls", "settings"),
    [
        (3, every_day(60), {}),  # daily: the days rule decides
        (
            10,
            {d: (900 if d.weekday() == 0 else 0) for d in every_day(60)},
            {"min_days_observed": 7},
        ),  # weekly: two cycles decide
    ],
    ids=["days observed", "weekly cycles"],
)
def test_the_date_to_plan_again_is_the_date_the_rule_allows(
    first_day: int, calls: dict[date, int], settings: dict[str, Any]
) -> None:
    # History began on START (the first run); the first plan is made a few days later.
    first = planned_on(START + timedelta(days=first_day), calls, **settings)
    assert isinstance(first, PlanRefusal)
    dated = {
        _rule(r): date.fromisoformat(d) for r in first.reasons for d in _ON_OR_AFTER.findall(r)
    }
    assert len(dated) == 1, first.reasons
    ((rule, allowed),) = dated.items()
    # The day before it the same rule still refuses; on that date it passes, and so does
    # the plan.
    before = planned_on(allowed - timedelta(days=1), calls, **settings)
    assert isinstance(before, PlanRefusal) and rule in {_rule(r) for r in before.reasons}
    assert planned_on(allowed, calls, **settings).status == "ready"


def test_the_date_after_too_many_gaps_is_when_the_window_has_left_them() -> None:
    gaps = [START + timedelta(days=d) for d in (3, 9, 15)]
    inputs = make_inputs([op("Account", "query")], gap_days=gaps).model_copy(
        update={"days_observed": 27}
    )
    (reason,) = [r for r in refusal_of(inputs).reasons if r.startswith("The logs of 3 days")]
    # The window is 30 days long: the oldest gap (Oct 8) leaves it with the plan of Nov 8.
    assert reason.endswith("on or after 2026-11-08.")


def test_days_without_an_ingestion_record_are_unreported_gaps() -> None:
    inputs = make_inputs([op("Account", "query")], unrecorded_days=[START + timedelta(days=3)])
    result = refusal_of(inputs.model_copy(update={"days_observed": 29}))
    assert any(
        "1 day of the window (2026-10-08) has no ingestion record" in r for r in result.reasons
    )


def test_days_unaccounted_for_are_unreported_gaps_too() -> None:
    inputs = make_inputs([op("Account", "query")]).model_copy(update={"days_observed": 27})
    result = refusal_of(inputs)
    assert any("3 days of the window have no ingestion record" in r for r in result.reasons)


def test_reported_gaps_within_the_limit_ride_along_and_are_shown() -> None:
    gap = START + timedelta(days=12)
    inputs = make_inputs([op("Account", "query")], gap_days=[gap]).model_copy(
        update={"days_observed": 29}
    )
    plan = plan_of(inputs)
    assert plan.evidence_window.gap_days == [gap]
    assert any("2026-10-17" in n for n in plan.notes)


def test_too_many_lost_days_is_insufficient() -> None:
    gaps = [START + timedelta(days=d) for d in (3, 9, 15)]
    inputs = make_inputs([op("Account", "query")], gap_days=gaps).model_copy(
        update={"days_observed": 27}
    )
    result = refusal_of(inputs)
    assert any(r.startswith("The logs of 3 days are lost") for r in result.reasons)


def test_weekly_integration_with_ten_days_observed_is_refused() -> None:
    # Runs every Monday; 10 days of logs hold two Mondays but only one full week.
    calls = {d: (900 if d.weekday() == 0 else 0) for d in every_day(10)}
    result = refusal_of(
        make_inputs([op("Account", "query")], days=10, calls_by_day=calls), min_days_observed=7
    )
    assert result.status == "insufficient_evidence"
    (reason,) = result.reasons
    assert reason.startswith("The integration runs weekly (a cycle of 7 days)")
    assert "cover 1 full cycle and a plan needs 2" in reason
    assert "2026-10-19" in reason
    assert result.evidence_window is not None and result.evidence_window.cadence == "weekly"


def test_weekly_integration_with_three_weeks_observed_is_planned() -> None:
    calls = {d: (900 if d.weekday() == 0 else 0) for d in every_day(21)}
    plan = plan_of(
        make_inputs([op("Account", "query")], days=21, calls_by_day=calls), min_days_observed=7
    )
    assert (plan.evidence_window.cadence, plan.evidence_window.cycles) == ("weekly", 3)


def test_month_end_integration_with_thirty_days_observed_is_refused() -> None:
    start = date(2026, 11, 1)
    calls = {start + timedelta(days=i): 0 for i in range(30)} | {date(2026, 11, 30): 5000}
    inputs = make_inputs(
        [op("Account", "query")],
        window_start=start,
        window_end=date(2026, 11, 30),
        calls_by_day=calls,
    )
    result = refusal_of(inputs)
    assert result.evidence_window is not None
    assert result.evidence_window.cadence == "unknown"  # one run: nothing has repeated yet
    assert any("seen on one day only (2026-11-30)" in r for r in result.reasons)


def test_month_end_turns_in_thirty_days_are_still_one_cycle() -> None:
    # Runs on the first days of each month: Nov 2 and Dec 1 fall in one 30-day window,
    # but 30 days hold one month-end cycle, not two.
    start = date(2026, 11, 2)
    calls = {start + timedelta(days=i): 0 for i in range(30)} | {
        date(2026, 11, 2): 800,
        date(2026, 12, 1): 800,
    }
    inputs = make_inputs(
        [op("Account", "query")],
        window_start=start,
        window_end=date(2026, 12, 1),
        calls_by_day=calls,
    )
    result = refusal_of(inputs)
    assert result.evidence_window is not None and result.evidence_window.cadence == "month_end"
    assert any(
        r.startswith("The integration runs at month-end (a cycle of 28 days)")
        for r in result.reasons
    )


def test_month_end_integration_seen_at_one_turn_and_not_again_is_refused() -> None:
    # Oct 31 and Nov 30 are two runs, but two 28-day cycles since Oct 31 end on Dec 25.
    start = date(2026, 10, 1)
    calls = {start + timedelta(days=i): 0 for i in range(61)} | {
        date(2026, 10, 31): 800,
        date(2026, 11, 30): 900,
    }
    inputs = make_inputs(
        [op("Account", "query")],
        window_start=start,
        window_end=date(2026, 11, 30),
        days_observed=61,
        calls_by_day=calls,
    )
    result = refusal_of(inputs)
    assert any("cover 1 full cycle" in r and "2026-12-26" in r for r in result.reasons)


def test_month_end_integration_with_two_months_observed_is_planned() -> None:
    start = date(2026, 10, 1)
    days = 92
    calls = {start + timedelta(days=i): 0 for i in range(days)}
    calls |= {
        date(2026, 10, 30): 500,
        date(2026, 10, 31): 800,
        date(2026, 11, 30): 900,
        date(2026, 12, 31): 700,
    }
    inputs = make_inputs(
        [op("Account", "query")],
        window_start=start,
        window_end=start + timedelta(days=days - 1),
        days_observed=days,
        calls_by_day=calls,
    )
    plan = plan_of(inputs)
    assert (plan.evidence_window.cadence, plan.evidence_window.cycles) == ("month_end", 2)


def test_no_operations_or_no_calls_is_insufficient() -> None:
    result = refusal_of(make_inputs([], calls_by_day={}))
    assert any(r.startswith("No operation on any object was observed") for r in result.reasons)
    assert any(r.startswith("No API call by this user and app") for r in result.reasons)


def test_insufficient_evidence_comes_with_invariant_failures_too() -> None:
    human = person({"Account": "r"})
    result = refusal_of(make_inputs([op("Account", "delete")], days=5, human=human))
    assert result.status == "insufficient_evidence"
    assert any("Delete on Account" in r for r in result.reasons)


@pytest.mark.parametrize(
    ("active", "observed", "expected"),
    [
        ([START + timedelta(days=i) for i in range(14)], 14, ("daily", 1, 14)),
        # Weekdays only: the weekend is the longest pause, 3 days.
        (
            [
                START + timedelta(days=i)
                for i in range(28)
                if (START + timedelta(days=i)).weekday() < 5
            ],
            28,
            ("daily", 3, 9),
        ),
        ([START + timedelta(days=i) for i in (0, 7, 14, 21)], 28, ("weekly", 7, 4)),
        ([START + timedelta(days=i) for i in (0, 1, 7, 8, 14, 15)], 21, ("weekly", 7, 3)),
        ([START + timedelta(days=i) for i in (0, 11, 13, 27)], 30, ("irregular", 14, 2)),
        (
            [date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 30)],
            62,
            ("month_end", 28, 2),
        ),
        ([START], 30, ("unknown", None, 1)),
        ([], 30, ("none", None, 0)),
    ],
)
def test_cadence_reading(
    active: list[date], observed: int, expected: tuple[str, int | None, int]
) -> None:
    since_first = observed - (active[0] - START).days if active and active[0] >= START else observed
    r = read_cadence(active, since_first, observed, DEFAULTS)
    assert (r.cadence, r.period_days, r.cycles) == expected


# ---------------------------------------------------------------------- other refusals


def test_a_dedicated_integration_user_is_not_planned() -> None:
    f = finding(verdict="dedicated_integration", license="Salesforce Integration")
    result = refusal_of(make_inputs([op("Account", "query")], finding=f))
    assert (
        result.status == "refused" and "already a dedicated integration user" in result.reasons[0]
    )


def test_a_person_is_not_planned() -> None:
    result = refusal_of(
        make_inputs([op("Account", "query")], finding=finding(verdict="human_interactive"))
    )
    assert "working interactively" in result.reasons[0]


def test_handovers_own_traffic_is_never_planned() -> None:
    result = refusal_of(make_inputs([op("Account", "query")], finding=finding(verdict="handover")))
    assert result.status == "refused" and "handover's own traffic" in result.reasons[0]


def test_the_human_access_must_be_the_findings_user() -> None:
    other = admin(user_id="005000000000000AAA", username="sam@x.com")
    result = refusal_of(make_inputs([op("Account", "query")], human=other))
    assert "a bug in the caller" in result.reasons[0]


def test_unclear_findings_are_planned_with_a_warning() -> None:
    plan = plan_of(make_inputs([op("Account", "query")], finding=finding(verdict="unclear")))
    assert any("confirm with the human" in n for n in plan.notes)


# ---------------------------------------------------------------------- names


API_NAME = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]*(?<!_)$")
EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")


@pytest.mark.parametrize(
    "app_name",
    [
        "MuleSoft NetSuite Connector",
        "DataLoaderBatch/59.0.0",
        "__Weird   App__ v2 ",
        "123 Sync",
        "Ünïcødé Ságá → Export",
        "A" * 200,
        "a b c " * 40,
        "___",
    ],
)
def test_names_follow_salesforce_rules(app_name: str) -> None:
    s = DEFAULTS
    ps_name = naming.permission_set_name(app_name, "f-3fa1b2c4d5e6", s)
    assert API_NAME.match(ps_name) and len(ps_name) <= 80, ps_name
    assert ps_name.startswith("HO_") and ps_name.endswith("_3fa1b2c4")
    assert len(naming.permission_set_label(app_name)) <= 80
    user = naming.username(app_name, "loomis-logistics.com", s)
    assert EMAIL.match(user) and len(user) <= 80 and user == user.lower(), user
    alias = naming.alias(app_name, s)
    assert 1 <= len(alias) <= 8 and alias == alias.lower()


def test_the_plan_names_its_user_and_permission_set_from_the_finding() -> None:
    plan = plan_of(make_inputs([op("Account", "query")]))
    assert plan.user.username == "svc.mulesoft-netsuite-connector@loomis-logistics.com"
    assert plan.user.alias == "svcmules"
    assert plan.user.email == "salesforce-integrations@loomis-logistics.com"
    assert (plan.user.first_name, plan.user.last_name) == (
        "Integration",
        "MuleSoft NetSuite Connector",
    )
    assert plan.permission_set.name == "HO_MuleSoft_NetSuite_Connector_3fa1b2c4"
    assert plan.permission_set.label == "MuleSoft NetSuite Connector integration (handover)"
    assert len(plan.permission_set.description) <= 255
    # More evidence, same names: apply updates rather than creating twins.
    again = plan_of(make_inputs([op("Account", "query"), op("Order", "create")]))
    assert (again.user.username, again.permission_set.name) == (
        plan.user.username,
        plan.permission_set.name,
    )


def test_username_template_and_org_domain() -> None:
    plan = plan_of(
        make_inputs([op("Account", "query")], org_domain="Loomis.Example"),
        username_template="int-{app}.sandbox@{domain}",
        owner_mailbox="sf-owners@{domain}",
    )
    assert plan.user.username == "int-mulesoft-netsuite-connector.sandbox@loomis.example"
    assert plan.user.email == "sf-owners@loomis.example"


def test_a_template_that_cannot_give_a_username_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no room for the app"):
        naming.username(
            "App", "d" * 72 + ".com", PlanSettings(username_template="svc.{app}@{domain}")
        )
    with pytest.raises(ConfigError, match="not an email address"):
        naming.username("App", "localhost", DEFAULTS)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username_template", "svc@{domain}"),
        ("username_template", "svc.{app}.{org}@{domain}"),
        ("username_template", "svc.{app}"),
        ("permission_set_prefix", "1HO"),
        ("permission_set_prefix", "H_O"),
        ("alias_prefix", "Service"),
    ],
)
def test_plan_settings_are_validated(field: str, value: str) -> None:
    with pytest.raises(ValueError):
        PlanSettings(**{field: value})


def test_plan_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOVER_PLAN__MIN_DAYS_OBSERVED", "21")
    monkeypatch.setenv("HANDOVER_PLAN__ALLOW_VIEW_ALL_MODIFY_ALL", "true")
    s = Settings().plan
    assert (s.min_days_observed, s.allow_view_all_modify_all) == (21, True)


# ---------------------------------------------------------------------- hash and JSON


def _loomis_like_ops() -> list[OperationEvidence]:
    return [
        op("Account", "query", 1000),
        op("Product2", "query", 990),
        op("Order", "upsert", 3000),
        op("Order", "create", 1000),
        op("OrderItem", "create", 3000),
        op("Order", "update", 1500),
        op("OrderItem", "delete", 200),
    ]


def test_same_inputs_same_plan_and_hash() -> None:
    a = plan_of(make_inputs(_loomis_like_ops(), fields=[fe("Account.Phone")]))
    b = plan_of(make_inputs(_loomis_like_ops(), fields=[fe("Account.Phone")]))
    assert a.hash == b.hash and len(a.hash) == 64
    assert plan_json(a) == plan_json(b)
    assert plan_hash(a) == a.hash


def test_reordered_and_respelt_inputs_give_the_same_hash() -> None:
    ops = _loomis_like_ops()
    field_ev = [fe("Account.Phone"), fe("Account.Industry"), fe("Order.PoNumber", "edit")]
    a = plan_of(make_inputs(ops, fields=field_ev))
    shuffled = list(reversed(ops))
    # The same calls logged in two rows, and an object spelt in another case.
    split = [
        op("ACCOUNT", "query", 400, example="query Account"),
        op("account", "query", 600, example="query Account"),
    ]
    b = plan_of(
        make_inputs(
            [o for o in shuffled if o.object != "Account"] + split,
            fields=list(reversed(field_ev)),
            calls_by_day=dict(reversed(list(every_day(30).items()))),
        )
    )
    assert a.hash == b.hash
    assert plan_json(a) == plan_json(b)


def test_one_more_operation_changes_the_hash() -> None:
    a = plan_of(make_inputs(_loomis_like_ops()))
    b = plan_of(make_inputs([*_loomis_like_ops(), op("Contact", "query", 1)]))
    c = plan_of(make_inputs([*_loomis_like_ops()[:-1], op("OrderItem", "delete", 201)]))
    assert len({a.hash, b.hash, c.hash}) == 3


def test_the_hash_survives_a_json_round_trip() -> None:
    plan = plan_of(make_inputs(_loomis_like_ops(), fields=[fe("Account.Phone")]))
    again = AccessPlan.model_validate_json(plan.model_dump_json())
    assert again == plan
    assert plan_hash(again) == plan.hash


def test_the_hash_ignores_the_headline_but_not_the_content() -> None:
    plan = plan_of(make_inputs(_loomis_like_ops()))
    assert plan_hash(plan.model_copy(update={"headline": "reworded"})) == plan.hash
    edited = plan.model_copy(
        update={
            "permission_set": plan.permission_set.model_copy(update={"name": "HO_Other_00000000"})
        }
    )
    assert plan_hash(edited) != plan.hash


def test_json_contract() -> None:
    data = plan_json(plan_of(make_inputs([op("Account", "query")], fields=[fe("Account.Phone")])))
    assert {"status", "user", "permission_set", "blockers", "evidence_window", "hash", "headline",
            "provenance", "field_level_evidence"} <= set(data)  # fmt: skip
    assert {"username", "alias", "email", "profile", "license", "permission_set_license"} <= set(
        data["user"]
    )
    ps = data["permission_set"]
    assert {"name", "label", "license", "description", "object_permissions", "field_permissions",
            "system_permissions", "connected_app_access"} <= set(ps)  # fmt: skip
    assert ps["object_permissions"][0] == {
        "object": "Account", "read": True, "create": False, "edit": False, "delete": False,
        "view_all": False, "modify_all": False,
    }  # fmt: skip
    assert ps["field_permissions"] == [{"field": "Account.Phone", "read": True, "edit": False}]
    assert {"start", "end", "days_observed", "gap_days", "cadence", "cycles"} <= set(
        data["evidence_window"]
    )
    assert data["evidence_window"]["start"] == "2026-10-05"


def test_refusal_json_contract() -> None:
    data = plan_json(refusal_of(make_inputs([op("Account", "query")], days=3)))
    assert data["status"] == "insufficient_evidence"
    assert data["reasons"] and "permission_set" not in data and "hash" not in data


# ---------------------------------------------------------------------- Loomis: exact plans


def _expected_flags(calls: list[Any], masters: dict[str, list[str]]) -> dict[str, set[str]]:
    """The brief's mapping, written independently of handover.planning."""
    direct = {"query": {"read"}, "create": {"create"}, "update": {"edit"},
              "upsert": {"create", "edit"}, "delete": {"delete", "edit"}}  # fmt: skip
    out: dict[str, set[str]] = {}
    for c in calls:
        out.setdefault(c.object, set()).update(direct[c.operation] | {"read"})
    for detail in list(out):
        for master in masters.get(detail, []):
            out.setdefault(master, set()).add("read")
    return out


@pytest.fixture(scope="module")
def loomis() -> Any:
    from emulators.salesforce.loader import build_org
    from emulators.salesforce.scenario import load_scenario

    scenario = load_scenario(LOOMIS)
    org = build_org(scenario).org
    # Loomis has 5 Integration seats, one taken by the Shipping Label Service: enough for
    # the demo's migrations one at a time, not for applying all five plans side by side.
    org.find_one("UserLicense", Name="Salesforce Integration")["TotalLicenses"] = 20
    org.find_one("PermissionSetLicense", DeveloperName="SalesforceAPIIntegrationPsl")[
        "TotalLicenses"
    ] = 20
    return scenario, org


def _org_facts(org: Any) -> dict[str, Any]:
    """What the gateway reads from describe, as PlanInputs wants it."""
    data = [o for o in org.schema if o.permissionable]
    return {
        "grantable_objects": frozenset(o.name for o in data if o.integration_grantable),
        "public_objects": frozenset(o.name for o in org.schema if o.access == "public"),
        "permissionable_fields": {
            o.name: [f.name for f in o.fields.values() if f.permissionable] for o in data
        },
        "readonly_fields": {
            o.name: [
                f.name
                for f in o.fields.values()
                if f.permissionable and (f.calculated or f.auto_number or not f.updateable)
            ]
            for o in data
        },
        "master_detail": {
            o.name: [f.reference_to[0] for f in o.fields.values() if f.cascade_delete]
            for o in data
            if any(f.cascade_delete for f in o.fields.values())
        },
    }


def _human_access(org: Any, username: str) -> HumanAccess:
    """The emulator's effective access of a user, as the gateway would report it."""
    user = org.user_by_username(username)
    eff = org.access_of(user["Id"])
    schema = org.schema
    fields = {}
    for key, (read, edit) in eff.fields.items():
        obj, name = key.split(".", 1)
        o = schema.get(obj)
        fields[f"{o.name}.{o.get_field(name).name}"] = FieldAccess(read=read, edit=edit)
    objects = {
        schema.get(name).name: ObjectAccess(
            read=a.read,
            create=a.create,
            edit=a.edit,
            delete=a.delete,
            view_all=a.view_all,
            modify_all=a.modify_all,
            view_all_fields=a.view_all_fields,
        )
        for name, a in eff.objects.items()
    }
    sets = [org.get(i) for i in eff.permission_set_ids]
    return HumanAccess(
        user_id=user["Id"],
        username=user["Username"],
        name=f"{user['FirstName']} {user['LastName']}",
        profile=org.get(user["ProfileId"])["Name"],
        license=eff.license_name,
        permission_sets=sorted(ps["Label"] for ps in sets if not ps.get("IsOwnedByProfile")),
        system_permissions=frozenset(eff.system),
        objects=objects,
        fields=fields,
        reachable_objects=sum(1 for o in schema if o.permissionable and eff.object(o.name).read),
    )


def _loomis_inputs(
    scenario: Any, org: Any, workload: Any, *, logged: str = "as_loomis"
) -> PlanInputs:
    """Evidence as the usage store would give it for one workload over 30 days: one
    OperationEvidence per call kind; field lists for queries where Loomis's logs carry them
    (the SOAP API file's QUERY), or, with logged="reads_and_writes", for every call."""
    human = _human_access(org, workload.username)
    app = org.connected_app_by_name(workload.app)
    name = workload.app if app else (workload.client_name or workload.app)
    key = f"app:{app['Id']}" if app else f"client:{name}"
    ops = [
        op(c.object, c.operation, max(1, int(c.weight * 1000)), example=f"{c.operation} {c.object}")
        for c in workload.calls
    ]
    field_ev: list[FieldEvidence] = []
    for c in workload.calls:
        if c.operation == "query" and (workload.api_family == "SOAP" or logged != "as_loomis"):
            field_ev += [fe(f"{c.object}.{f}") for f in c.fields]
        if c.operation in ("create", "update", "upsert") and logged == "reads_and_writes":
            written = list(c.fields) + ([c.external_id_field] if c.external_id_field else [])
            field_ev += [fe(f"{c.object}.{f}", "edit") for f in written]
    f = finding(
        finding_id="f-" + hashlib.sha256(workload.name.encode()).hexdigest()[:12],
        user_id=human.user_id,
        username=human.username,
        app_name=name,
        app_key=key,
        connected_app_id=app["Id"] if app else None,
        profile=human.profile,
    )
    return make_inputs(
        ops,
        fields=field_ev,
        human=human,
        finding=f,
        field_evidence_available=True,
        **_org_facts(org),
    )


def _true_positives() -> list[Any]:
    from emulators.salesforce.scenario import load_scenario

    return [
        w for w in load_scenario(LOOMIS).workloads if w.ground_truth == "integration_under_human"
    ]


def _apply(org: Any, plan: AccessPlan) -> str:
    """Provision the plan through the emulator's platform rules, in the reference's order
    (user, PSL, permission set, object and field permissions, assignment, app access)."""
    ctx = org.admin_context()
    u = plan.user
    profile = org.find_one("Profile", Name=u.profile)
    user_id = org.create(ctx, "User", {
        "Username": u.username, "FirstName": u.first_name, "LastName": u.last_name,
        "Email": u.email, "Alias": u.alias, "TimeZoneSidKey": u.time_zone,
        "LocaleSidKey": u.locale, "EmailEncodingKey": u.email_encoding,
        "LanguageLocaleKey": u.language, "ProfileId": profile["Id"],
    })  # fmt: skip
    ps = plan.permission_set
    psl = org.find_one("PermissionSetLicense", DeveloperName=ps.license)
    org.create(
        ctx,
        "PermissionSetLicenseAssign",
        {"AssigneeId": user_id, "PermissionSetLicenseId": psl["Id"]},
    )
    ps_id = org.create(ctx, "PermissionSet", {
        "Name": ps.name, "Label": ps.label, "Description": ps.description, "LicenseId": psl["Id"],
        **{f"Permissions{p}": True for p in ps.system_permissions},
    })  # fmt: skip
    for p in ps.object_permissions:
        org.create(ctx, "ObjectPermissions", {
            "ParentId": ps_id, "SobjectType": p.object, "PermissionsRead": p.read,
            "PermissionsCreate": p.create, "PermissionsEdit": p.edit, "PermissionsDelete": p.delete,
            "PermissionsViewAllRecords": p.view_all, "PermissionsModifyAllRecords": p.modify_all,
        })  # fmt: skip
    for fp in ps.field_permissions:
        org.create(ctx, "FieldPermissions", {
            "ParentId": ps_id, "SobjectType": fp.field.split(".")[0], "Field": fp.field,
            "PermissionsRead": fp.read, "PermissionsEdit": fp.edit,
        })  # fmt: skip
    org.create(ctx, "PermissionSetAssignment", {"AssigneeId": user_id, "PermissionSetId": ps_id})
    for app in ps.connected_app_access:
        org.create(ctx, "SetupEntityAccess", {"ParentId": ps_id, "SetupEntityId": app.app_id})
    return str(user_id)


@pytest.mark.parametrize("workload", _true_positives(), ids=lambda w: w.name)
def test_loomis_plans_grant_exactly_what_each_workload_does(loomis: Any, workload: Any) -> None:
    scenario, org = loomis
    facts = _org_facts(org)
    plan = plan_of(_loomis_inputs(scenario, org, workload))
    assert plan.status == "ready"
    assert flags(plan) == _expected_flags(workload.calls, facts["master_detail"])
    assert plan.permission_set.system_permissions == ["ApiEnabled"]


@pytest.mark.parametrize("workload", _true_positives(), ids=lambda w: w.name)
def test_loomis_plans_are_accepted_by_the_platform_and_cover_every_call(
    loomis: Any, workload: Any
) -> None:
    scenario, org = loomis
    plan = plan_of(_loomis_inputs(scenario, org, workload))
    user_id = _apply(org, plan)  # raises the platform's error if any rule is broken
    access = org.access_of(user_id)
    for call in workload.calls:
        obj = org.schema.get(call.object)
        acc = access.object(obj.name)
        can = {"query": acc.read, "create": acc.create, "update": acc.edit,
               "upsert": acc.create and acc.edit, "delete": acc.delete}[call.operation]  # fmt: skip
        assert can, (call.object, call.operation)
        written = call.operation in ("create", "update", "upsert")
        for name in [*call.fields, *([call.external_id_field] if call.external_id_field else [])]:
            fdef = obj.get_field(name)
            if fdef.permissionable:
                read, edit = access.field(obj.name, fdef.name)
                assert edit if written else read, (call.object, call.operation, name)


@pytest.mark.parametrize("workload", _true_positives(), ids=lambda w: w.name)
def test_loomis_field_permissions_are_the_logged_fields_when_the_logs_show_them(
    loomis: Any, workload: Any
) -> None:
    scenario, org = loomis
    plan = plan_of(_loomis_inputs(scenario, org, workload, logged="reads_and_writes"))
    permissionable = _org_facts(org)["permissionable_fields"]
    expected: dict[str, str] = {}
    for c in workload.calls:
        written = c.operation in ("create", "update", "upsert")
        for name in [*c.fields, *([c.external_id_field] if c.external_id_field else [])]:
            if name in permissionable[c.object] and (written or c.operation == "query"):
                path = f"{c.object}.{name}"
                expected[path] = "rw" if written or expected.get(path) == "rw" else "r"
    assert field_flags(plan) == expected
    assert plan.field_level_evidence == "observed"


def test_loomis_soap_batch_reads_exactly_its_queried_fields(loomis: Any) -> None:
    scenario, org = loomis
    (batch,) = [w for w in _true_positives() if w.api_family == "SOAP"]
    plan = plan_of(_loomis_inputs(scenario, org, batch), field_fallback="none")
    queried = {
        f"{c.object}.{f}"
        for c in batch.calls
        if c.operation == "query"
        for f in c.fields
        if f in _org_facts(org)["permissionable_fields"][c.object]
    }
    assert {f for f, a in field_flags(plan).items() if "r" in a} == queried
    assert {c.object: c.always_accessible for c in plan.field_coverage} == {
        "Account": ["Id", "Name"],
        "Contact": ["FirstName", "Id", "LastName"],
    }


def test_loomis_headline_reads_as_the_diff(loomis: Any) -> None:
    scenario, org = loomis
    (mule,) = [w for w in _true_positives() if w.app == "MuleSoft NetSuite Connector"]
    plan = plan_of(_loomis_inputs(scenario, org, mule))
    assert plan.headline == (
        "Dana Reyes had System Administrator + 1 permission set: Modify All Data, 8 objects; "
        "the integration needs Read on Account and Product2; Create / Edit on Order; "
        "Create / Edit / Delete on OrderItem"
    )


def test_headline_without_a_count_of_objects() -> None:
    human = person({"Account": "r"}, reachable_objects=0, permission_sets=[])
    plan = plan_of(make_inputs([op("Account", "query")], human=human))
    assert plan.headline == (
        "Olivia Bennett had Standard User; the integration needs Read on Account"
    )
