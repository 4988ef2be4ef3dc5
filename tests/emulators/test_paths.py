"""What the org does before routing (issue 12): ``//services/...`` is served like
``/services/...`` (jsforce, under the Salesforce CLI, sends every request that way), and a
path or method nothing serves answers Salesforce's JSON error array, not plain text."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceResourceNotFound

from emulators.salesforce.client import connect

NOT_FOUND = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


@pytest.fixture
def http(info: dict[str, Any]) -> requests.Session:
    s = requests.Session()
    s.verify = str(info["ca_bundle"])
    s.trust_env = False
    s.headers["Authorization"] = f"Bearer {info['access_token']}"
    return s


def test_leading_double_slash_is_served(http: requests.Session, info: dict[str, Any]) -> None:
    base = info["instance_url"] + "/"  # as the CLI stores it; paths are joined onto it
    versions = http.get(base + "/services/data")
    assert versions.status_code == 200 and versions.json()[0]["version"] == "31.0"
    query = http.get(base + "/services/data/v59.0/query", params={"q": "SELECT Id FROM User"})
    assert query.status_code == 200 and query.json()["totalSize"] > 0
    created = http.post(base + "/services/data/v59.0/sobjects/Account", json={"Name": "Slash"})
    assert created.status_code == 201
    record = http.get(base + f"/services/data/v59.0/sobjects/Account/{created.json()['id']}")
    assert record.json()["Name"] == "Slash"
    # URLs in answers stay single-slash paths, which the CLI joins onto its base again.
    assert record.json()["attributes"]["url"].startswith("/services/data/v59.0/")


@pytest.mark.parametrize(
    "path",
    ["/nothing/here", "/services/nothing", "/services/data/v59.0/nothing", "/services/data/v12.0/"],
)
def test_unknown_paths_answer_salesforce_json(
    http: requests.Session, info: dict[str, Any], path: str
) -> None:
    answer = http.get(info["instance_url"] + path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json;charset=UTF-8"
    assert answer.headers["sforce-limit-info"].startswith("api-usage=")
    assert answer.json() == NOT_FOUND


def test_a_method_a_resource_does_not_serve(http: requests.Session, info: dict[str, Any]) -> None:
    answer = http.delete(info["instance_url"] + "/services/data/")
    assert answer.status_code == 405
    assert answer.json() == [
        {
            "message": "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD",
            "errorCode": "METHOD_NOT_ALLOWED",
        }
    ]


def test_unknown_apex_rest_resource_through_simple_salesforce(info: dict[str, Any]) -> None:
    sf = connect(info)
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.apexecute("Nothing/here", method="GET")
    assert missing.value.content == [
        {"message": "Could not find a match for URL", "errorCode": "NOT_FOUND"}
    ]
