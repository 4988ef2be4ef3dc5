"""The scenario model refuses what would have no effect or contradict itself, and the
loader applies what it accepts: slack_users (unique ids and emails, Slack-shaped ids),
leavers (nobody signs in as one), managers (User.ManagerId)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulators.salesforce.loader import build_org
from emulators.salesforce.scenario import Scenario, ScenarioError, load_scenario

LOOMIS = Path(__file__).resolve().parents[2] / "emulators" / "scenarios" / "loomis.yaml"


def scenario(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "org": {
            "name": "Model Org",
            "my_domain": "model.my.salesforce.com",
            "start": "2026-11-02T09:00:00Z",
            "admin_username": "admin@model.test",
        },
        "users": [
            {
                "username": "admin@model.test",
                "last_name": "Admin",
                "profile": "System Administrator",
            },
            {"username": "rep@model.test", "last_name": "Rep", "profile": "Standard User"},
        ],
    }
    base.update(extra)
    return base


def slack(uid: str, email: str, approver: bool = False) -> dict[str, Any]:
    return {"id": uid, "name": uid, "email": email, "approver": approver}


@pytest.mark.parametrize(
    ("users", "message"),
    [
        (
            [slack("U01", "a@model.test"), slack("U01", "b@model.test")],
            "each id must be unique: ['U01']",
        ),
        (
            [slack("U01", "A@model.test"), slack("U02", "a@model.test")],
            "each email must be unique: ['a@model.test']",
        ),
        ([slack("u01", "a@model.test")], "is not a Slack user id"),
        ([slack("U01", "nobody")], "is not an email address"),
        ([{**slack("U01", "a@model.test"), "title": "CISO"}], "Extra inputs are not permitted"),
    ],
)
def test_slack_users_are_validated(users: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Scenario.model_validate(scenario(slack_users=users))


def test_a_leaver_does_not_sign_in() -> None:
    data = scenario()
    data["users"][1].update({"leaver": True, "ui_logins_per_day": 2})
    with pytest.raises(ValueError, match="is a leaver: ui_logins_per_day must be 0"):
        Scenario.model_validate(data)


def test_managers_become_manager_ids() -> None:
    data = scenario()
    data["users"][1]["manager"] = "admin@model.test"
    org = build_org(Scenario.model_validate(data)).org
    rep, admin = org.user_by_username("rep@model.test"), org.user_by_username("admin@model.test")
    assert rep is not None and admin is not None and rep["ManagerId"] == admin["Id"]
    data["users"][1]["manager"] = "nobody@model.test"
    with pytest.raises(ValueError, match=r"unknown manager nobody@model\.test"):
        build_org(Scenario.model_validate(data))


def test_loomis_slack_workspace(tmp_path: Path) -> None:
    s = load_scenario(LOOMIS)
    approvers = [u for u in s.slack_users if u.approver]
    assert len(approvers) >= 3
    assert "sam.whitfield@loomis-logistics.com" in {u.email for u in approvers}
    org = build_org(s).org
    migrated = {w.username for w in s.workloads if w.ground_truth == "integration_under_human"}
    people = {u.email.lower(): u for u in s.slack_users}
    leavers = {u.username for u in s.users if u.leaver}
    for username in migrated - leavers:
        # The approval service refuses self-approval by email: the same address on both sides.
        user = org.user_by_username(username)
        assert user is not None
        member = people.get(user["Email"].lower())
        assert member is not None and not member.approver, username
    assert not leavers & set(people)
    # A broken file names itself and the key.
    bad = tmp_path / "bad.yaml"
    bad.write_text(LOOMIS.read_text().replace("id: U0LOOMIS02", "id: U0LOOMIS01"))
    with pytest.raises(ScenarioError, match=r"bad\.yaml: invalid scenario"):
        load_scenario(bad)
