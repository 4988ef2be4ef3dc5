"""Folding what the org says about access (pure): a human's permission sets into their
effective access, describes into permissionable / read-only fields and masters, and
describeGlobal into the objects permission sets can carry."""

from __future__ import annotations

from typing import Any

from handover.salesforce.access import data_objects, fold_describe, fold_human_access

USER = {"Id": "0055g00000Ops01AAA", "Username": "ops@acme.example", "Name": "Otto Ops",
        "Profile": {"Name": "Sales", "UserLicense": {"Name": "Salesforce"}}}  # fmt: skip


def assignment(ps_id: str | None, name: str, profile: bool = False, group: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {"PermissionSetId": ps_id, "PermissionSetGroupId": group,
            "PermissionSet": {"Name": name, "IsOwnedByProfile": profile} if ps_id else None}  # fmt: skip


def obj_row(ps: str, obj: str, **flags: bool) -> dict[str, Any]:
    names = {"read": "PermissionsRead", "create": "PermissionsCreate", "edit": "PermissionsEdit",
             "delete": "PermissionsDelete", "view_all": "PermissionsViewAllRecords"}  # fmt: skip
    return {"ParentId": ps, "SobjectType": obj, **{names[k]: v for k, v in flags.items()}}


def test_access_is_the_union_of_the_profile_and_every_permission_set() -> None:
    assignments = [
        assignment("0PS1", "X00e5g", profile=True),
        assignment("0PS2", "Marketing_User"),
        assignment("0PS3", "Group_PS", group="0PG1"),  # a group with its own permission set
    ]
    sets: list[dict[str, Any]] = [
        {"Id": "0PS1", "PermissionsApiEnabled": True, "PermissionsViewSetup": False},
        {"Id": "0PS2", "PermissionsExportReport": True},
        {"Id": "0PS3"},
    ]
    objects = [
        obj_row("0PS1", "Lead", read=True),
        obj_row("0PS2", "Lead", read=True, create=True, edit=True),
        obj_row("0PS2", "Contact", read=False),
    ]
    fields = [
        {"ParentId": "0PS1", "Field": "Lead.Email", "PermissionsRead": True, "PermissionsEdit": False},
        {"ParentId": "0PS2", "Field": "Lead.Email", "PermissionsRead": True, "PermissionsEdit": True},
    ]  # fmt: skip
    h = fold_human_access(USER, assignments, sets, objects, fields, data_object_count=40)
    assert (h.username, h.name, h.profile, h.license) == (
        "ops@acme.example", "Otto Ops", "Sales", "Salesforce",
    )  # fmt: skip
    assert h.permission_sets == ["Marketing_User"]  # the profile's own set is the profile
    assert h.permission_set_groups == ["0PG1"]
    assert h.system_permissions == {"ApiEnabled", "ExportReport"}
    lead = h.object_access("lead")
    assert (lead.read, lead.create, lead.edit, lead.delete) == (True, True, True, False)
    assert not h.object_access("Contact").read
    assert h.field_access("Lead", "Email").edit and not h.field_access("Lead", "Phone").read
    assert h.reachable_objects == 1  # only Lead is readable
    assert len(h.notes) == 1 and "0PG1" in h.notes[0] and "group's own" in h.notes[0]


def test_an_unexpanded_group_is_said_not_dropped_and_modify_all_reaches_everything() -> None:
    assignments = [assignment("0PS1", "X00e", profile=True), assignment(None, "", group="0PG9")]
    h = fold_human_access(
        USER, assignments, [{"Id": "0PS1", "PermissionsModifyAllData": True}], [], [], 412
    )
    assert h.modify_all_data and h.object_access("Anything__c").modify_all
    assert h.reachable_objects == 412
    assert h.permission_set_groups == ["0PG9"] and h.permission_sets == []
    assert "not expanded" in h.notes[0] and "refused, never widened" in h.notes[0]


def field(name: str, **kw: Any) -> dict[str, Any]:
    base = {"name": name, "permissionable": True, "createable": True, "updateable": True,
            "calculated": False, "autoNumber": False, "cascadeDelete": False, "referenceTo": []}  # fmt: skip
    return {**base, **kw}


def test_describe_gives_permissionable_read_only_fields_and_masters() -> None:
    d = {"name": "Allocation__c", "fields": [
        field("Id", permissionable=False),
        field("Name", permissionable=False),  # required: no field-level security
        field("Total__c", calculated=True, createable=False, updateable=False),
        field("Number__c", autoNumber=True, createable=False, updateable=False),
        field("Notes__c"),
        field("Order__c", permissionable=False, cascadeDelete=True, referenceTo=["Order"]),
        field("Product__c", permissionable=False, cascadeDelete=True, referenceTo=["Product2"]),
        field("Account__c", referenceTo=["Account"]),  # a lookup: no master
    ]}  # fmt: skip
    permissionable, readonly, masters = fold_describe(d)
    assert permissionable == ["Account__c", "Notes__c", "Number__c", "Total__c"]
    assert readonly == ["Number__c", "Total__c"]
    assert masters == ["Order", "Product2"]  # a junction object has two


def test_data_objects_from_describe_global() -> None:
    def entry(name: str, **kw: Any) -> dict[str, Any]:
        return {"name": name, "queryable": True, "layoutable": True, "customSetting": False,
                "deprecatedAndHidden": False, **kw}  # fmt: skip

    g = {"sobjects": [
        entry("Account"), entry("Order"), entry("Shipment__c"),
        entry("PermissionSet", layoutable=False),  # setup objects are not layoutable
        entry("Rates__c", customSetting=True), entry("Routing__mdt"), entry("Alert__e"),
        entry("Archive__x"), entry("Old", deprecatedAndHidden=True),
        entry("Secret", queryable=False),
    ]}  # fmt: skip
    assert data_objects(g) == ["Account", "Order", "Shipment__c"]
    # Where the org lists ObjectPermissions' SobjectType values, only those.
    assert data_objects(g, ["account", "Shipment__c", "Case"]) == ["Account", "Shipment__c"]
