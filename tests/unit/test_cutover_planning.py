"""The plan's cutover section from login evidence, the cutover writes of each route, and
the runbook's order."""

from __future__ import annotations

import pytest

from handover.errors import MigrationError
from handover.migration.actions import cutover_actions
from handover.migration.steps import GATES, RUNBOOK, STEPS, gate_before, next_item
from handover.models.migration import SECRET_PLACEHOLDER
from handover.planning.cutover import auth_pattern_of, cutover_spec
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
