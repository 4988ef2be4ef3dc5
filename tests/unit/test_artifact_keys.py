"""What every report needs from Prefect: artifact keys Prefect accepts, one per finding
for plans, and a run link only where a UI serves it."""

from __future__ import annotations

import re

import pytest

from tasks.plan import permissions_artifact_key, plan_artifact_key
from tasks.report import artifact_key, run_url

PREFECT_KEY = re.compile(r"^[a-z0-9-]+$")  # keys Prefect accepts (reference §1.6)


def test_keys_are_what_prefect_accepts() -> None:
    assert artifact_key("access-plan", "f-b9466bf7984b") == "access-plan-f-b9466bf7984b"
    assert (
        artifact_key("Discovery Report", "Loomis Prod (EU)!") == "discovery-report-loomis-prod-eu"
    )
    for key in (artifact_key("A_B", "c.d", "--e--"), artifact_key("Ünïcode", "x")):
        assert PREFECT_KEY.match(key), key
    with pytest.raises(ValueError, match="no artifact key"):
        artifact_key("!!", "")


def test_plans_are_keyed_per_finding() -> None:
    assert plan_artifact_key("f-b9466bf7984b") == "access-plan-f-b9466bf7984b"
    assert permissions_artifact_key("f-b9466bf7984b") == "access-plan-f-b9466bf7984b-permissions"
    assert plan_artifact_key("f-000000000001") != plan_artifact_key("f-000000000002")


def test_no_run_link_outside_a_run() -> None:
    assert run_url() is None
