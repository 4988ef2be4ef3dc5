"""Names a person reads in the Prefect UI: each run is named after what it works on
(`discover-loomis-logistics`, `plan-mulesoft-netsuite-connector`), not Prefect's random
two words. A name is never worth failing a run for: without the facts, the parameter."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prefect.runtime import flow_run

from handover.settings import Settings
from handover.store.finding_book import FindingBook


def slug(prefix: str, name: str) -> str:
    return f"{prefix}-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "run")


def discovery_run_name() -> str:
    """``discover-<org>``: the org's name from the emulator's info file, else the orgs
    file's entry (or the default org)."""
    params = flow_run.parameters
    name = params.get("org")
    try:
        if params.get("emulator_info"):
            name = json.loads(Path(params["emulator_info"]).read_text()).get("org_name")
        name = name or Settings().salesforce.default_org
    except Exception:
        pass
    return slug("discover", str(name or "org"))


def plan_run_name() -> str:
    """``plan-<app>``: the app of the finding, as the latest discovery saw it."""
    finding_id = str(flow_run.parameters.get("finding_id") or "finding")
    name = finding_id
    try:
        with FindingBook(Settings().store.url) as book:
            name = book.resolve(finding_id).app_name
    except Exception:
        pass
    return slug("plan", name)
