"""The plan's cutover section from login evidence (and the route an operator names), the
cutover writes of each route, and the runbook's order."""

from __future__ import annotations

import pytest

from handover.errors import ConfigError, MigrationError
from handover.migration.actions import cutover_actions
from handover.migration.steps import GATES, RUNBOOK, STEPS, gate_before, next_item
from handover.models import AccessPlan, CutoverSpec
from handover.models.migration import SECRET_PLACEHOLDER
from handover.planning.canonical import plan_hash
from handover.planning.cutover import auth_pattern_of, check_route, cutover_spec, with_route
from handover.render import render_plan_markdown
from tests.migration.plans import make_plan

APP = "0H4000000000001AAA"


def spec(logins: dict[str, int], **kw):
    return cutover_spec(app_name="Warehouse Connector", connected_app_id=APP, logins=logins, **kw)


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("Remote Access 2.0|OAuth Client Credentials", "client_credentials"),
        ("Remote Access 2.0|OauthClientCredentials", "client_credentials"),  # API name
        ("Remote Access 2.0", "jwt_bearer"),  # JWT bearer has no subtype
        ("Remote Access 2.0|OAuth Username-Password", "username_password"),
        ("Other Apex API", "soap_login"),
        ("Partner Product", "soap_login"),
        ("Remote Access 2.0|OAuth Web Server", "refresh_token"),
        ("Application", None),  # the person's own browser login
    ],
)
def test_login_labels(key: str, pattern: str | None) -> None:
    assert auth_pattern_of(key) == pattern


def test_client_credentials_repoint_the_run_as_user() -> None:
    s = spec({"Remote Access 2.0|OAuth Client Credentials": 60, "Application": 40})
    assert (s.auth_pattern, s.route, s.sink) == ("client_credentials", "run_as", None)
    assert s.evidence == ["60 login(s) Remote Access 2.0 / OAuth Client Credentials"]
    (action,) = cutover_actions(make_plan(), s)
    assert (action.key, action.object, action.after) == (
        "cutover:run-as:warehouse-connector",
        "ConnectedApp",
        {"oauthClientCredentialUser": "svc-erp@tiny.example.com"},
    )


def test_jwt_hands_the_new_username_to_the_sink() -> None:
    s = spec({"Remote Access 2.0": 30}, sink="file")
    assert (s.route, s.sink) == ("username", "file")
    assert "pre-authorized" in s.old_path
    (action,) = cutover_actions(make_plan(), s)
    assert (action.key, action.object, action.after) == (
        "cutover:credentials", "Credentials", {"username": "svc-erp@tiny.example.com"},
    )  # fmt: skip


def test_password_routes_set_a_password_then_hand_both_over() -> None:
    s = spec({"Other Apex API": 14})
    assert (s.auth_pattern, s.route, s.sink) == ("soap_login", "password", "prefect-secret")
    assert any("retired in Summer '27" in n for n in s.notes)
    password, creds = cutover_actions(make_plan(), s)
    assert (password.action, password.after) == (
        "set_password",
        {"NewPassword": SECRET_PLACEHOLDER},
    )
    assert creds.after == {"username": "svc-erp@tiny.example.com", "password": SECRET_PLACEHOLDER}


def test_a_refresh_token_integration_is_blocked_with_the_routes_that_exist() -> None:
    s = spec({}, token_uses=300, token_rows=1)
    assert (s.auth_pattern, s.route) == ("refresh_token", "blocked")
    assert s.alternatives == ["jwt_bearer", "client_credentials"]
    assert "cannot consent" in (s.blocker or "") and "JWT bearer on Warehouse Connector" in (
        s.blocker or ""
    )
    assert s.evidence == ["1 OAuth refresh token(s), used 300 time(s)"]
    with pytest.raises(MigrationError, match="cannot consent"):
        cutover_actions(make_plan(), s)


def test_no_evidence_is_blocked_and_says_what_to_do() -> None:
    s = spec({"Application": 12})
    assert (s.auth_pattern, s.route) == ("unknown", "blocked")
    assert "Run discovery with LoginHistory" in (s.blocker or "")


def test_mixed_evidence_takes_the_main_path_and_says_so() -> None:
    s = spec({"Remote Access 2.0": 50, "Remote Access 2.0|OAuth Username-Password": 3})
    assert s.auth_pattern == "jwt_bearer"
    assert "also seen: OAuth username-password (3)" in s.notes[0]


def test_client_credentials_without_a_connected_app_is_blocked() -> None:
    s = cutover_spec(app_name="curl", connected_app_id=None,
                     logins={"Remote Access 2.0|OAuth Client Credentials": 5})  # fmt: skip
    assert s.blocked and "not a connected app" in (s.blocker or "")


def test_the_runbook_order() -> None:
    assert [(i.kind, i.name) for i in RUNBOOK if not i.when] == [
        ("gate", "plan"), ("step", "provision"), ("gate", "cutover"), ("step", "cutover"),
        ("step", "verify"), ("gate", "decommission"), ("step", "decommission"),
    ]  # fmt: skip
    assert GATES == ("plan", "cutover", "operator", "inconclusive", "decommission", "freeze")
    assert STEPS == ("provision", "cutover", "verify", "decommission", "freeze")
    assert [gate_before(s) for s in ("provision", "cutover", "decommission", "freeze")] == [
        "plan", "cutover", "decommission", "freeze",
    ]  # fmt: skip
    assert next_item("provision", "step").name == "cutover"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="no step 'deploy'"):
        gate_before("deploy")


# ---------------------------------------------------------------------- the plan's section


def _plan_with(cutover: CutoverSpec | None, route: str | None = None) -> AccessPlan:
    from tests.unit.test_plan import make_inputs, op, plan_of

    return plan_of(make_inputs([op("Order", "create", 50)], cutover=cutover, route=route))


REFRESH = cutover_spec(
    app_name="HubSpot", connected_app_id=APP, logins={}, token_uses=300, token_rows=1
)


def test_the_plan_carries_its_cutover_and_the_hash_binds_it() -> None:
    bare = _plan_with(None)
    assert bare.cutover is None and "cutover" not in content_without_cutover(bare)
    jwt = _plan_with(spec({"Remote Access 2.0": 30}))
    assert jwt.cutover is not None and jwt.cutover.route == "username"
    assert jwt.hash != bare.hash and plan_hash(jwt) == jwt.hash
    # A plan saved before plans carried a cutover keeps its hash when read back.
    assert plan_hash(AccessPlan.model_validate_json(bare.model_dump_json())) == bare.hash


def content_without_cutover(plan: AccessPlan) -> dict[str, object]:
    from handover.planning.canonical import HASHED_WHEN_SET

    dumped = plan.model_dump(mode="json")
    return {k: v for k, v in dumped.items() if not (k in HASHED_WHEN_SET and v is None)}


def test_a_refresh_token_plan_is_blocked_until_a_route_is_named() -> None:
    blocked = _plan_with(REFRESH)
    assert blocked.status == "ready" and blocked.cutover is not None and blocked.cutover.blocked
    markdown = render_plan_markdown(blocked)
    assert "**The cutover is blocked**" in markdown
    assert "`--route jwt_bearer` or `--route client_credentials`" in markdown

    jwt = _plan_with(REFRESH, "jwt_bearer")
    c = jwt.cutover
    assert c is not None and (c.route, c.chosen_route, c.auth_pattern) == (
        "username", "jwt_bearer", "refresh_token",
    )  # fmt: skip
    assert c.blocker is None and c.alternatives == []
    assert f"signing its assertion with the username {jwt.user.username}" in c.notes[-1]
    assert jwt.hash != blocked.hash
    (action,) = cutover_actions(jwt, c)
    assert action.after == {"username": jwt.user.username}

    cc = _plan_with(REFRESH, "client_credentials")
    assert cc.cutover is not None and (cc.cutover.route, cc.cutover.sink) == ("run_as", None)
    assert "Enable the client credentials flow on HubSpot" in cc.cutover.notes[-1]
    markdown = render_plan_markdown(cc)
    assert "## Cutover" in markdown and "(named by the operator)" in markdown


def test_a_route_that_cannot_be_taken_says_what_to_do() -> None:
    with pytest.raises(ConfigError, match="jwt_bearer or client_credentials"):
        check_route("oauth_web")
    no_app = cutover_spec(app_name="curl", connected_app_id=None, logins={}, token_rows=1)
    with pytest.raises(ConfigError, match="choose jwt_bearer"):
        with_route(no_app, "client_credentials", new_username="svc@x.example")
    assert check_route(None) is None and check_route("jwt_bearer") == "jwt_bearer"


def test_the_cutover_shows_in_slack_within_block_kit() -> None:
    from handover.render import render_plan_blocks

    for plan in (_plan_with(REFRESH), _plan_with(REFRESH, "jwt_bearer")):
        blocks = render_plan_blocks(plan)
        fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
        cutover = next(f for f in fields if f.startswith("*Cutover*"))
        assert ("Blocked" in cutover) == (plan.cutover is not None and plan.cutover.blocked)
