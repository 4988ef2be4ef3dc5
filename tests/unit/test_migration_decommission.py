"""Decommission eligibility, each decision as (ok, reason), and the writes it allows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handover.errors import MigrationError
from handover.migration.actions import decommission_actions, freeze_actions
from handover.migration.decommission import decommission_plan, freeze_eligibility
from handover.models.migration import AccountUse, AppGrant, OauthTokenInfo

HUMAN = "005000000000001AAA"
OTHER = "005000000000003AAA"
APP = "0H4000000000001AAA"
NEW_PS = "0PS000000000009AAA"


def token(
    h: str, *, app: str = "MuleSoft NetSuite Connector", app_id: str | None = APP, user: str = HUMAN
) -> OauthTokenInfo:
    return OauthTokenInfo(token_hash=h, user_id=user, app_name=app, app_id=app_id, use_count=40,
                          last_used=datetime(2026, 9, 30, tzinfo=UTC))  # fmt: skip


def grant(
    sea: str, parent: str, name: str, holders: list[str], *, profile: bool = False
) -> AppGrant:
    return AppGrant(sea_id=sea, parent_id=parent, setup_entity_id=APP, permission_set=name,
                    owned_by_profile=profile, holders=holders)  # fmt: skip


GRANTS = [
    grant("0J0000000000001AAA", "0PS000000000001AAA", "MuleSoft_Integration_Access", [HUMAN]),
    grant("0J0000000000002AAA", "0PS000000000002AAA", "Shared_Access", [HUMAN, OTHER]),
    grant(
        "0J0000000000003AAA",
        "0PS000000000003AAA",
        "System Administrator",
        [HUMAN, OTHER],
        profile=True,
    ),
    grant("0J0000000000004AAA", NEW_PS, "HO_MuleSoft_1a2b3c4d", ["005000000000009AAA"]),
    grant("0J0000000000005AAA", "0PS000000000005AAA", "Someone_Else", [OTHER]),
]


def plan(account: AccountUse | None = None, tokens: list[OauthTokenInfo] | None = None):
    return decommission_plan(
        human_user_id=HUMAN,
        human_username="dana.reyes@loomis-logistics.com",
        app_name="MuleSoft NetSuite Connector",
        connected_app_id=APP,
        tokens=tokens
        if tokens is not None
        else [
            token("a"),
            token("b", app="HubSpot", app_id="0H4000000000002AAA"),
            token("c", user=OTHER),
        ],
        grants=GRANTS,
        account=account or AccountUse(days_observed=14, ui_logins=20),
        integration_parent_ids=[NEW_PS],
    )


def test_only_the_humans_tokens_for_this_app_are_revoked() -> None:
    p = plan()
    assert [t.token_hash for t in p.revocations] == ["a"]
    decisions = {t.token.token_hash: t.decision.pair() for t in p.tokens}
    assert decisions["b"] == (False, "a token of another app (HubSpot): left alone")
    assert decisions["c"][0] is False and "another user" in decisions["c"][1]


def test_a_token_without_app_id_is_matched_by_the_apps_label() -> None:
    p = decommission_plan(
        human_user_id=HUMAN, human_username="dana", app_name="MuleSoft_NetSuite",
        connected_app_id=APP, app_label="MuleSoft NetSuite Connector",
        tokens=[token("a", app_id=None)], grants=[], account=AccountUse(days_observed=14),
    )  # fmt: skip
    assert [t.token_hash for t in p.revocations] == ["a"]


def test_app_access_is_removed_only_when_granted_for_the_integration_alone() -> None:
    p = plan()
    assert [g.permission_set for g in p.access_removals] == ["MuleSoft_Integration_Access"]
    # The new user's set and grants that never reached the human are not the human's path.
    assert {g.grant.permission_set for g in p.grants} == {
        "MuleSoft_Integration_Access", "Shared_Access", "System Administrator",
    }  # fmt: skip
    reports = " | ".join(p.reports)
    assert "profile System Administrator (2 user(s)): a profile's grant is never removed" in reports
    assert "Shared_Access also grants MuleSoft NetSuite Connector to 1 other user(s)" in reports


def test_the_humans_own_use_of_the_app_keeps_the_grant() -> None:
    p = plan(AccountUse(days_observed=14, app_other_use=3))
    assert p.access_removals == []
    assert any(
        "also uses MuleSoft NetSuite Connector themselves (3 login(s)" in r for r in p.reports
    )


@pytest.mark.parametrize(
    ("account", "ok", "says"),
    [
        (AccountUse(days_observed=14, ui_logins=20, last_ui_login=datetime(2026, 9, 30, tzinfo=UTC)),
         False, "20 interactive login(s) in 14 days, last 2026-09-30"),
        (AccountUse(days_observed=14, other_apps={"HubSpot": 400, "DataLoader": 12}),
         False, "HubSpot (400 calls), DataLoader (12 calls)"),
        (AccountUse(days_observed=14, app_other_use=2), False, "does not explain"),
        (AccountUse(days_observed=0), False, "no observed day"),
        (AccountUse(days_observed=14), True, "kept alive for this integration alone"),
    ],
)  # fmt: skip
def test_freeze_only_when_kept_alive_for_the_integration(
    account: AccountUse, ok: bool, says: str
) -> None:
    decision = freeze_eligibility(account)
    assert decision.ok is ok and says in decision.reason


def test_decommission_writes() -> None:
    p = plan()
    keys = [a.key for a in decommission_actions(p)]
    assert keys == [
        "decommission:revoke-token:a",
        "decommission:end-sessions",
        "decommission:app-access:0J0000000000001AAA",
    ]
    acts = decommission_actions(p)
    assert acts[0].match == {
        "UserId": HUMAN,
        "token_hash": "a",
        "app": "MuleSoft NetSuite Connector",
    }
    assert acts[2].match == {"ParentId": "0PS000000000001AAA", "SetupEntityId": APP}
    with pytest.raises(MigrationError, match="may not be frozen: 20 interactive"):
        freeze_actions(p)
    (freeze,) = freeze_actions(plan(AccountUse(days_observed=14)))
    assert (freeze.key, freeze.step, freeze.object, freeze.after) == (
        "decommission:freeze", "freeze", "UserLogin", {"IsFrozen": True},
    )  # fmt: skip
