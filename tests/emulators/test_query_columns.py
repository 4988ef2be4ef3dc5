"""``GET query?q=...&columns=true``: the column metadata the Salesforce CLI reads before it
prints a result (issue 12), asked for here through simple-salesforce's ``restful``.

Expected shapes follow salesforcecli/plugin-data's test fixtures (``queryFieldsExemplars``:
a plain query, a parent relationship, a child sub-query, an aggregate); the CLI-side test is
tests/emulators/sf_cli.
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from emulators.salesforce.client import connect

COLUMN_KEYS = {
    "aggregate",
    "apexType",
    "booleanType",
    "columnName",
    "custom",
    "displayName",
    "foreignKeyName",
    "insertable",
    "joinColumns",
    "numberType",
    "textType",
    "updatable",
}


@pytest.fixture
def sf(info: dict[str, Any]) -> Salesforce:
    sf = connect(info)
    account = sf.Account.create({"Name": "Acme Freight", "Industry": "Retail"})["id"]
    sf.Contact.create({"LastName": "Patel", "AccountId": account})
    sf.Opportunity.create(
        {
            "Name": "Acme Q1",
            "StageName": "Prospecting",
            "CloseDate": "2026-12-01",
            "AccountId": account,
            "Amount": 1000,
        }
    )
    return sf


def columns(sf: Salesforce, soql: str) -> dict[str, Any]:
    return sf.restful("query", params={"q": soql, "columns": "true"})


def _walk(cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for col in cols for c in (col, *_walk(col["joinColumns"]))]


def test_plain_query(sf: Salesforce) -> None:
    meta = columns(sf, "SELECT Id, Name FROM Account")
    assert set(meta) == {"columnMetadata", "entityName", "groupBy", "idSelected", "keyPrefix"}
    assert (meta["entityName"], meta["groupBy"], meta["idSelected"], meta["keyPrefix"]) == (
        "Account",
        False,
        True,
        "001",
    )
    ident, name = meta["columnMetadata"]
    assert all(set(c) == COLUMN_KEYS for c in meta["columnMetadata"])
    assert (ident["columnName"], ident["apexType"], ident["textType"]) == ("Id", "Id", False)
    assert (ident["insertable"], ident["updatable"], ident["joinColumns"]) == (False, False, [])
    assert (name["columnName"], name["displayName"], name["apexType"]) == ("Name", "Name", "String")
    assert (name["textType"], name["numberType"], name["aggregate"]) == (True, False, False)


def test_parent_relationships_share_one_join_column(sf: Salesforce) -> None:
    meta = columns(sf, "SELECT Name, Owner.Name, Owner.Email, Owner.Profile.Name FROM Account")
    assert meta["idSelected"] is False
    name, owner = meta["columnMetadata"]
    assert name["columnName"] == "Name"
    assert (owner["columnName"], owner["displayName"], owner["foreignKeyName"]) == (
        "Owner",
        "Owner",
        "OwnerId",
    )
    assert (owner["apexType"], owner["aggregate"], owner["textType"]) == (None, False, False)
    assert [c["columnName"] for c in owner["joinColumns"]] == ["Name", "Email", "Profile"]
    profile = owner["joinColumns"][2]
    assert profile["foreignKeyName"] == "ProfileId"
    assert [c["columnName"] for c in profile["joinColumns"]] == ["Name"]
    assert all(set(c) == COLUMN_KEYS for c in _walk(meta["columnMetadata"]))


def test_child_subquery_is_an_aggregate_column(sf: Salesforce) -> None:
    meta = columns(sf, "SELECT Name, (SELECT LastName, Email FROM Contacts) FROM Account")
    _, contacts = meta["columnMetadata"]
    assert (contacts["columnName"], contacts["aggregate"], contacts["apexType"]) == (
        "Contacts",
        True,
        None,
    )
    last, email = contacts["joinColumns"]
    assert (last["columnName"], last["insertable"], last["updatable"]) == ("LastName", True, True)
    assert email["columnName"] == "Email"


def test_aggregate_query(sf: Salesforce) -> None:
    meta = columns(
        sf,
        "SELECT AccountId, AVG(Amount), COUNT(Id) n, MAX(Name) FROM Opportunity GROUP BY AccountId",
    )
    assert (meta["entityName"], meta["groupBy"], meta["idSelected"]) == (
        "Opportunity",
        True,
        False,
    )
    account, avg, count, top = meta["columnMetadata"]
    assert (account["columnName"], account["apexType"], account["aggregate"]) == (
        "AccountId",
        "Id",
        False,
    )
    assert (account["insertable"], account["updatable"]) == (True, True)
    summary = [(c["columnName"], c["displayName"], c["numberType"]) for c in (avg, count, top)]
    assert summary == [
        ("expr0", "avg(Amount)", True),
        ("n", "count(Id)", True),
        ("expr1", "max(Name)", False),
    ]
    assert all(c["aggregate"] and c["apexType"] is None for c in (avg, count, top))
    # The names are the keys of the AggregateResult records themselves.
    (row,) = sf.query(
        "SELECT AccountId, AVG(Amount), COUNT(Id) n, MAX(Name) FROM Opportunity GROUP BY AccountId"
    )["records"]
    assert set(row) - {"attributes"} == {"AccountId", "expr0", "n", "expr1"}


def test_count_only_has_no_columns(sf: Salesforce) -> None:
    meta = columns(sf, "SELECT COUNT() FROM Account")
    assert (meta["columnMetadata"], meta["entityName"]) == ([], "Account")


def test_a_query_that_cannot_run_fails_as_the_query_would(sf: Salesforce) -> None:
    soql = "SELECT Id, Nope__c FROM Account"
    with pytest.raises(SalesforceMalformedRequest) as plain:
        sf.query(soql)
    with pytest.raises(SalesforceMalformedRequest) as cols:
        columns(sf, soql)
    assert cols.value.content == plain.value.content
    assert cols.value.content[0]["errorCode"] == "INVALID_FIELD"
