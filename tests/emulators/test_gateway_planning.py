"""The gateway's planning reads against the Loomis emulator over HTTPS: a human's effective
access, describes, what the Integration licence can carry, the connected app. Each read
is counted and none writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.salesforce import client
from emulators.salesforce.server import RunningEmulator, prepare, start_in_thread
from handover.errors import SalesforceGatewayError
from handover.ids import to18
from handover.salesforce import SalesforceGateway
from handover.salesforce import gateway as gateway_module

LOOMIS = Path(__file__).resolve().parents[2] / "emulators" / "scenarios" / "loomis.yaml"
DATA_OBJECTS = ["Account", "Case", "Contact", "Lead", "Opportunity", "Order", "OrderItem",
                "Product2"]  # fmt: skip


@pytest.fixture(scope="module")
def loomis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = start_in_thread(prepare(LOOMIS, state_dir=tmp_path_factory.mktemp("loomis")))
    yield running
    running.stop()


@pytest.fixture
def gateway(loomis: RunningEmulator) -> SalesforceGateway:
    return SalesforceGateway(client.connect(loomis.info()), org_name="Loomis")


def user_id(loomis: RunningEmulator, username: str) -> str:
    user = loomis.org.user_by_username(username)
    assert user is not None
    return str(user["Id"])


def test_a_standard_user_with_a_permission_set(
    loomis: RunningEmulator, gateway: SalesforceGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    olivia = user_id(loomis, "olivia.bennett@loomis-logistics.com")
    h = gateway.human_access(olivia)
    assert (h.username, h.profile, h.license) == (
        "olivia.bennett@loomis-logistics.com", "Standard User", "Salesforce",
    )  # fmt: skip
    assert h.permission_sets == ["Marketing_User"] and h.permission_set_groups == []
    assert "ApiEnabled" in h.system_permissions and not h.modify_all_data
    lead = h.object_access("Lead")
    assert lead.read and lead.create and lead.edit and lead.view_all and not lead.modify_all
    assert h.field_access("Lead", "Email").edit
    assert 0 < h.reachable_objects <= len(DATA_OBJECTS) and h.notes == []
    # Batched IN lists give the same access, one query per batch.
    calls = gateway.api_calls
    monkeypatch.setattr(gateway_module, "IN_BATCH", 1)
    assert gateway.human_access(olivia) == h
    assert gateway.api_calls - calls > 5


def test_modify_all_data_reaches_every_data_object(
    loomis: RunningEmulator, gateway: SalesforceGateway
) -> None:
    h = gateway.human_access(user_id(loomis, "dana.reyes@loomis-logistics.com"))
    assert h.profile == "System Administrator" and h.modify_all_data
    assert h.permission_sets == ["MuleSoft_Integration_Access"]
    assert h.reachable_objects == len(DATA_OBJECTS)
    assert h.object_access("OrderItem").delete and h.field_access("Order", "Description").edit


def test_describes_grantable_objects_and_the_app(
    loomis: RunningEmulator, gateway: SalesforceGateway
) -> None:
    d = gateway.describe_objects(["Order", "orderitem", "NoSuchThing__c"])
    assert set(d.permissionable_fields) == {"Order", "OrderItem"}  # the org's spelling
    assert "Description" in d.permissionable_fields["Order"]
    assert "AccountId" not in d.permissionable_fields["Order"]  # required: no FLS
    assert d.master_detail == {"OrderItem": ["Order"]}
    calls = gateway.api_calls
    assert gateway.describe("Order/../../limits") is None  # a name from the logs, not a path
    assert gateway.api_calls == calls
    assert gateway.data_objects() == DATA_OBJECTS
    assert gateway.grantable_objects(["case", "User"]) == set(DATA_OBJECTS) - {"Case"}
    app = loomis.org.connected_app_by_name("MuleSoft NetSuite Connector")
    assert app is not None
    found = gateway.connected_app(app["Id"])
    assert found is not None and found["Name"] == "MuleSoft NetSuite Connector"
    assert gateway.connected_app(to18("0H45g0000000000")) is None


def test_ids_are_checked_before_they_reach_soql(gateway: SalesforceGateway) -> None:
    with pytest.raises(SalesforceGatewayError, match="not a Salesforce user id"):
        gateway.human_access("005' OR Name != '")
    with pytest.raises(SalesforceGatewayError, match="no user"):
        gateway.human_access(to18("0055g0000000000"))
