"""The emulator checked by a second real client nobody here wrote: the Salesforce CLI.

Everyday admin commands against Loomis Logistics, logged in with an access token as a new
user would (issue 12): org display, limits, queries (plain, parent relationships, COUNT(),
one that pages past 2,000 rows), a record's life from create to the Recycle Bin, describe,
and the download of an event log file through `sf api request rest`. The CLI is jsforce
underneath: it joins paths onto an instance URL ending in `/` (so every request starts
`//services/...`) and asks for `query?columns=true` before printing a result.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from emulators.salesforce.client import connect
from emulators.salesforce.http.common import SUPPORTED_VERSIONS
from emulators.salesforce.server import RunningEmulator
from tests.emulators.sf_cli.conftest import ALIAS, EXTRA_LEADS, SfCli

LOOMIS_LEADS = 8
LOOMIS_ACCOUNTS = 12
CLI_CLIENT = "sfdx toolbelt:"  # the Sforce-Call-Options client jsforce sends for the CLI


def test_org_display_says_connected_with_the_latest_api_version(
    sf: SfCli, loomis: RunningEmulator
) -> None:
    shown = sf.ok("org", "display", "--target-org", ALIAS).result
    assert shown["connectedStatus"] == "Connected"
    assert shown["apiVersion"] == SUPPORTED_VERSIONS[-1]
    assert shown["id"] == loomis.org.org_id
    assert shown["username"] == loomis.loaded.scenario.org.admin_username
    assert shown["instanceUrl"].rstrip("/") == loomis.instance_url


def test_list_limits(sf: SfCli, loomis: RunningEmulator) -> None:
    limits = {row["name"]: row for row in sf.ok("org", "list", "limits").result}
    daily = limits["DailyApiRequests"]
    assert daily["max"] == loomis.org.daily_api_limit
    assert 0 < daily["remaining"] < daily["max"]  # the CLI's own calls count
    assert limits["PermissionSets"]["max"] == 1500


def test_query_plain(sf: SfCli) -> None:
    found = sf.ok("data", "query", "-q", "SELECT Id, Name FROM Account ORDER BY Name").result
    assert found["totalSize"] == LOOMIS_ACCOUNTS and found["done"] is True
    names = [r["Name"] for r in found["records"]]
    assert names == sorted(names) and "Cascade Outdoor Supply" in names


def test_query_parent_relationships_name_their_columns(sf: SfCli) -> None:
    """The CSV header comes from the column metadata (query?columns=true): one column per
    path through Owner and Owner.Profile, filled from the nested records."""
    out = sf.ok(
        "data",
        "query",
        "--result-format",
        "csv",
        "-q",
        "SELECT Name, Owner.Name, Owner.Profile.Name FROM Account "
        "WHERE Industry = 'Technology' ORDER BY Name",
        json_out=False,
    ).stdout
    rows = list(csv.reader(io.StringIO(out.strip())))
    assert rows[0] == ["Name", "Owner.Name", "Owner.Profile.Name"]
    assert rows[1:] == [["Meridian Electronics", "Sam Whitfield", "System Administrator"]]


def test_query_child_subquery_and_aggregate_columns(sf: SfCli) -> None:
    out = sf.ok(
        "data",
        "query",
        "--result-format",
        "csv",
        "-q",
        "SELECT Name, (SELECT LastName FROM Contacts) FROM Account "
        "WHERE Name = 'Northwind Traders'",
        json_out=False,
    ).stdout
    # The CLI's CSV spreads each child row over numbered columns, from the sub-query's
    # aggregate column and its joinColumns.
    assert list(csv.reader(io.StringIO(out.strip()))) == [
        ["Name", "Contacts.totalSize", "Contacts.records.0.LastName"],
        ["Northwind Traders", "1", "Brooks"],
    ]
    out = sf.ok(
        "data",
        "query",
        "--result-format",
        "csv",
        "-q",
        "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry ORDER BY Industry",
        json_out=False,
    ).stdout
    rows = list(csv.reader(io.StringIO(out.strip())))
    assert rows[0] == ["Industry", "count(Id)"]
    assert ["Retail", "7"] in rows[1:]


def test_query_count(sf: SfCli) -> None:
    found = sf.ok("data", "query", "-q", "SELECT COUNT() FROM Lead").result
    assert found["totalSize"] == LOOMIS_LEADS + EXTRA_LEADS
    assert found["records"] == []


def test_query_pages_past_2000_rows(sf: SfCli) -> None:
    found = sf.ok("data", "query", "-q", "SELECT Id, LastName FROM Lead").result
    total = LOOMIS_LEADS + EXTRA_LEADS
    assert found["totalSize"] == total and found["done"] is True
    assert len({r["Id"] for r in found["records"]}) == total  # every page, no row twice


def test_record_lifecycle_ends_in_the_recycle_bin(sf: SfCli) -> None:
    created = sf.ok(
        "data", "create", "record", "--sobject", "Account", "--values", "Name='CLI Freight'"
    ).result
    assert created["success"] is True
    record_id = created["id"]

    got = sf.ok("data", "get", "record", "--sobject", "Account", "--record-id", record_id)
    assert got.result["Name"] == "CLI Freight" and got.result["IsDeleted"] is False

    sf.ok(
        "data",
        "update",
        "record",
        "--sobject",
        "Account",
        "--record-id",
        record_id,
        "--values",
        "Name='CLI Freight Renamed' Industry=Technology",
    )
    sf.ok("data", "delete", "record", "--sobject", "Account", "--record-id", record_id)
    gone = sf.run("data", "get", "record", "--sobject", "Account", "--record-id", record_id)
    assert gone.returncode != 0 and "NOT_FOUND" in gone.stdout

    soql = f"SELECT Id, Name, Industry, IsDeleted FROM Account WHERE Id = '{record_id}'"
    binned = sf.ok("data", "query", "--all-rows", "-q", soql).result
    assert [(r["Name"], r["Industry"], r["IsDeleted"]) for r in binned["records"]] == [
        ("CLI Freight Renamed", "Technology", True)
    ]


def test_get_record_by_where_shows_a_seeded_record_whole(
    sf: SfCli, loomis: RunningEmulator
) -> None:
    got = sf.ok(
        "data", "get", "record", "--sobject", "Account", "--where", "Name='Northwind Traders'"
    ).result
    admin = loomis.org.user_by_username(loomis.loaded.scenario.org.admin_username)
    assert got["ERP_Id__c"] == "CUST10232"
    assert got["CreatedById"] == got["LastModifiedById"] == admin["Id"]


def test_sobject_describe_and_list(sf: SfCli) -> None:
    described = sf.ok("sobject", "describe", "--sobject", "Account").result
    assert described["name"] == "Account" and described["keyPrefix"] == "001"
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["Name"]["type"] == "string" and fields["OwnerId"]["referenceTo"] == ["User"]

    listed = sf.ok("sobject", "list", "--sobject", "all").result
    assert {"Account", "Lead", "EventLogFile", "PermissionSet"} <= set(listed)


def test_event_log_file_download_and_client_names(
    sf: SfCli, loomis: RunningEmulator, tmp_path
) -> None:
    """Today's calls (the CLI's and a header-less simple-salesforce query) are published in
    tomorrow's ApiTotalUsage file, which `sf api request rest` downloads byte for byte.
    CLIENT_NAME is what Sforce-Call-Options said: the CLI's client, or nothing."""
    day = loomis.org.clock.now().date()
    sf.ok("data", "query", "-q", "SELECT Id FROM Account LIMIT 1")
    connect(loomis.info()).query("SELECT Id FROM Contact LIMIT 1")
    loomis.org.clock.advance(timedelta(days=1, hours=5))

    soql = (
        "SELECT Id, LogDate, LogFileLength FROM EventLogFile "
        f"WHERE EventType = 'ApiTotalUsage' AND LogDate = {day.isoformat()}T00:00:00Z"
    )
    (elf,) = sf.ok("data", "query", "-q", soql).result["records"]
    target = tmp_path / "ApiTotalUsage.csv"
    sf.ok(
        "api",
        "request",
        "rest",
        f"/services/data/v{SUPPORTED_VERSIONS[-1]}/sobjects/EventLogFile/{elf['Id']}/LogFile",
        "--stream-to-file",
        str(target),
        json_out=False,
    )
    body = target.read_bytes()
    assert body == loomis.org.events.content(elf["Id"])
    assert len(body) == elf["LogFileLength"]

    rows = list(csv.DictReader(io.StringIO(body.decode())))
    clients = {(r["ENTITY_NAME"], r["CLIENT_NAME"]) for r in rows}
    assert ("Account", CLI_CLIENT) in clients
    assert ("Contact", "") in clients
    assert all(r["CLIENT_NAME"] in (CLI_CLIENT, "") for r in rows)


# APIs the CLI reaches that the emulator does not serve: each answers 404 NOT_FOUND where a
# real org answers. Strict, so an emulator that learns one turns its test red.
NOT_EMULATED = [
    pytest.param(
        ("data", "search", "-q", "FIND {Northwind} IN NAME FIELDS RETURNING Account(Name)"),
        id="sosl-search",
        marks=pytest.mark.xfail(strict=True, reason="SOSL search (GET search?q=) is not emulated"),
    ),
    pytest.param(
        ("data", "query", "--use-tooling-api", "-q", "SELECT Id, Name FROM ApexClass"),
        id="tooling-query",
        marks=pytest.mark.xfail(
            strict=True, reason="the Tooling API (tooling/query) is not emulated"
        ),
    ),
    pytest.param(
        (
            "data",
            "export",
            "bulk",
            "-q",
            "SELECT Id FROM Account",
            "--output-file",
            "x.csv",
            "--wait",
            "1",
        ),
        id="bulk2-export",
        marks=pytest.mark.xfail(
            strict=True,
            reason="Bulk API 2.0 (jobs/query, jobs/ingest) is not emulated; only its event-log rows are",
        ),
    ),
    pytest.param(
        ("org", "list", "metadata", "--metadata-type", "PermissionSet"),
        id="metadata-list",
        marks=pytest.mark.xfail(
            strict=True,
            reason="the Metadata API serves only the calls handover makes (no listMetadata)",
        ),
    ),
]


@pytest.mark.parametrize("args", NOT_EMULATED)
def test_apis_the_emulator_does_not_serve(sf: SfCli, args: tuple[str, ...]) -> None:
    sf.ok(*args)
