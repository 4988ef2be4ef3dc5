"""The migration's writes against a fresh tiny org per test (tests/emulators/conftest.py),
through the real simple-salesforce client over HTTPS."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.salesforce import client
from handover.salesforce.gateway import SalesforceGateway
from tests.emulators.conftest import creds, emulator, info, org  # noqa: F401  (fixtures)


@pytest.fixture
def gateway(info: dict[str, Any]) -> SalesforceGateway:  # noqa: F811
    """The admin's gateway, as the migration's tasks open it."""
    return SalesforceGateway(client.connect(info), org_name="tiny")
