"""CLIENT_NAME in the event logs is what the call's Sforce-Call-Options header said, and
empty without one (reference §2: "Includes values passed via the Sforce-Call-Options
header"); the emulator once filled in "handover emulator" for its admin session."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from emulators.salesforce.client import connect, session_for
from emulators.salesforce.org import Org


def test_client_name_comes_from_the_header_only(info: dict[str, Any], org: Org) -> None:
    plain = connect(info)
    plain.query("SELECT Id FROM Account")
    session = session_for(info)
    session.headers["Sforce-Call-Options"] = "client=erp-sync/2.1"
    tagged = connect(info, session=session)
    tagged.query("SELECT Id FROM Contact")

    org.clock.advance(timedelta(days=1, hours=5))
    (usage,) = plain.query("SELECT Id FROM EventLogFile WHERE EventType = 'ApiTotalUsage'")[
        "records"
    ]
    body = plain.EventLogFile.get_base64(usage["Id"], base64_field="LogFile").decode()
    rows = {r["ENTITY_NAME"]: r["CLIENT_NAME"] for r in csv.DictReader(io.StringIO(body))}
    assert rows == {"Account": "", "Contact": "erp-sync/2.1"}
