"""Discovery-only mode (HANDOVER_SALESFORCE__READ_ONLY): the one session every call to the
org goes through refuses anything but reads and logging in, before sending it; migrations
refuse to start. Nothing listens on the URLs below: a call the guard lets through fails to
connect instead, which is how these tests tell the two apart."""

from __future__ import annotations

import pytest
import requests

from handover.errors import ReadOnlyRefused
from handover.salesforce.connection import _TimeoutSession
from handover.settings import Settings

ORG = "https://127.0.0.1:1"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/services/data/v59.0/sobjects/User"),
        ("PATCH", "/services/data/v59.0/sobjects/User/005000000000001AAA"),
        ("DELETE", "/services/data/v59.0/sobjects/PermissionSet/0PS000000000001AAA"),
        ("POST", "/services/data/v59.0/composite/sobjects"),
        ("POST", "/services/Soap/m/59.0"),  # the Metadata API: updateMetadata and friends
        ("POST", "/services/oauth2/revoke"),  # revoking a token is a write
    ],
)
def test_writes_are_refused_before_they_are_sent(method: str, path: str) -> None:
    session = _TimeoutSession(5, read_only=True)
    with pytest.raises(ReadOnlyRefused, match=f"refused {method} {path}: .*discovery-only"):
        session.request(method, ORG + path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/services/data/v59.0/query?q=SELECT+Id+FROM+User"),
        ("GET", "/services/oauth2/userinfo"),
        ("POST", "/services/oauth2/token"),  # logging in (JWT bearer, client credentials)
    ],
)
def test_reads_and_logins_go_through(method: str, path: str) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        _TimeoutSession(5, read_only=True).request(method, ORG + path)


def test_without_the_mode_writes_go_through() -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        _TimeoutSession(5).request("POST", ORG + "/services/data/v59.0/sobjects/User")


def test_a_migration_refuses_to_start() -> None:
    from flows.migration import refuse_in_discovery_only_mode

    refuse_in_discovery_only_mode(Settings())  # the default: writes allowed
    with pytest.raises(ReadOnlyRefused, match="HANDOVER_SALESFORCE__READ_ONLY"):
        refuse_in_discovery_only_mode(Settings(salesforce={"read_only": True}))  # type: ignore[arg-type]
