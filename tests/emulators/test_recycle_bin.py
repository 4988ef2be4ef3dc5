"""Deleting a data record moves it to the Recycle Bin, as a real org does (issue 12): query
and retrieve no longer see it, queryAll does with IsDeleted = true, and master-detail
children go with it. Setup objects are deleted for good. Through simple-salesforce."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from emulators.salesforce.client import connect


@pytest.fixture
def sf(info: dict[str, Any]) -> Salesforce:
    return connect(info)


def _ids(sf: Salesforce, soql: str, *, include_deleted: bool = False) -> dict[str, bool]:
    records = sf.query_all(soql, include_deleted=include_deleted)["records"]
    return {r["Id"]: r["IsDeleted"] for r in records}


def test_deleted_record_is_seen_by_query_all_only(sf: Salesforce) -> None:
    kept = sf.Account.create({"Name": "Kept Freight"})["id"]
    binned = sf.Account.create({"Name": "Binned Freight"})["id"]
    sf.Account.delete(binned)

    soql = "SELECT Id, IsDeleted FROM Account"
    assert _ids(sf, soql) == {kept: False}
    assert _ids(sf, soql, include_deleted=True) == {kept: False, binned: True}
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 1
    where = f"SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true AND Id = '{binned}'"
    assert _ids(sf, where, include_deleted=True) == {binned: True}

    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(binned)
    with pytest.raises(SalesforceResourceNotFound) as again:
        sf.Account.delete(binned)
    assert again.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as edit:
        sf.Account.update(binned, {"Name": "Back"})
    assert edit.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_a_deleted_parent_cannot_be_referenced(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Gone Freight"})["id"]
    sf.Account.delete(account)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Contact.create({"LastName": "Orphan", "AccountId": account})
    assert refused.value.content == [
        {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": ["AccountId"]}
    ]


def test_master_detail_children_go_to_the_bin_with_their_parent(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Order Freight"})["id"]
    order = sf.Order.create(
        {"AccountId": account, "EffectiveDate": "2026-10-01", "Status": "Draft"}
    )["id"]
    lines = [
        sf.OrderItem.create({"OrderId": order, "Quantity": q, "UnitPrice": 10.0})["id"]
        for q in (1, 2)
    ]
    sf.Order.delete(order)

    soql = "SELECT Id, IsDeleted FROM OrderItem"
    assert _ids(sf, soql) == {}
    assert _ids(sf, soql, include_deleted=True) == dict.fromkeys(lines, True)


def test_collections_delete_also_recycles(sf: Salesforce) -> None:
    ids = [sf.Account.create({"Name": f"Bulk {i}"})["id"] for i in range(2)]
    results = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids)})
    assert [r["success"] for r in results] == [True, True]
    assert _ids(sf, "SELECT Id, IsDeleted FROM Account", include_deleted=True) == dict.fromkeys(
        ids, True
    )


def test_setup_rows_are_deleted_for_good(sf: Salesforce, info: dict[str, Any]) -> None:
    user = sf.query("SELECT Id FROM User WHERE Username = 'jane.doe@tiny.example.com'")
    ps = sf.PermissionSet.create({"Name": "Bin_Test", "Label": "Bin Test"})["id"]
    assignment = sf.PermissionSetAssignment.create(
        {"AssigneeId": user["records"][0]["Id"], "PermissionSetId": ps}
    )["id"]
    sf.PermissionSetAssignment.delete(assignment)
    soql = f"SELECT Id FROM PermissionSetAssignment WHERE Id = '{assignment}'"
    assert sf.query_all(soql, include_deleted=True)["records"] == []
