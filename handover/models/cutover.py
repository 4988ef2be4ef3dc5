"""The plan's cutover section: how an integration moves from the human to the new user,
judged from how it logs in today (``handover.planning.cutover``). Its own module because
the plan (``plan.py``) carries it and the migration's types (``migration.py``) build on
the plan."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import FrozenModel

AuthPattern = Literal[
    "client_credentials",
    "jwt_bearer",
    "username_password",
    "soap_login",
    "refresh_token",
    "unknown",
]
# run_as: the connected app's client-credentials Run-As user is re-pointed (Metadata API).
# username: the external system gets the new username (JWT bearer). password: the new user
# gets a password, the external system gets both. blocked: no route (see CutoverSpec.blocker).
CutoverRoute = Literal["run_as", "username", "password", "blocked"]
SinkKind = Literal["prefect-secret", "file", "operator"]
# What an operator may name for an integration whose own pattern has no route (a refresh
# token): the flow the external system will be switched to.
RouteChoice = Literal["jwt_bearer", "client_credentials"]
ROUTE_CHOICES: tuple[str, ...] = ("jwt_bearer", "client_credentials")
SINK_KINDS: tuple[str, ...] = ("prefect-secret", "file", "operator")


class CutoverSpec(FrozenModel):
    """How the integration moves to the new user, judged from how it logs in today."""

    auth_pattern: AuthPattern
    route: CutoverRoute
    sink: SinkKind | None  # where new credentials go; None: nothing to hand over
    app_name: str
    connected_app_id: str | None = None
    blocker: str | None = None  # why there is no route, and what to do (route "blocked")
    alternatives: list[str] = Field(default_factory=list)  # routes offered when blocked
    old_path: str = ""  # what keeps working for the human until decommission
    evidence: list[str] = Field(default_factory=list)  # the facts behind the pattern, worded
    logins: dict[str, int] = Field(default_factory=dict)  # "LoginType|LoginSubType" -> logins
    token_uses: int | None = None  # OauthToken.UseCount for the pair (refresh grants)
    notes: list[str] = Field(default_factory=list)  # what else people should know
    # The route an operator named (plan --route) instead of the observed pattern's; None:
    # the route follows the evidence.
    chosen_route: RouteChoice | None = None

    @property
    def blocked(self) -> bool:
        return self.route == "blocked"
