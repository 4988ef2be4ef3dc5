"""The plan's cutover section: how the integration logs in today (LoginHistory labels per
(user, app), OauthToken rows) decides how it moves to the new user.

| auth pattern                  | route    | the old path until decommission           |
|-------------------------------|----------|-------------------------------------------|
| client credentials            | run_as   | none: the app's Run-As is one user        |
| JWT bearer                    | username | the human stays pre-authorized            |
| OAuth username-password, SOAP | password | the human's password still works          |
| refresh token                 | blocked  | (an Integration User can't consent)       |

LoginType / LoginSubType values are the labels SOQL returns ("Remote Access 2.0",
"OAuth Client Credentials"; reference 1.1), compared folded so API names match too. A
refresh-token grant leaves no LoginHistory row when used: only OauthToken.UseCount moves.

An operator may name the route (``with_route``: ``jwt_bearer`` or ``client_credentials``)
for an integration whose own pattern has none; the plan then records the choice and says
what the external system must be switched to.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError
from ..models.migration import ROUTE_CHOICES, AuthPattern, CutoverSpec, RouteChoice, SinkKind
from ..signals import fold, split_login_key

_LABELS: dict[AuthPattern, str] = {
    "client_credentials": "OAuth client credentials",
    "jwt_bearer": "OAuth JWT bearer",
    "username_password": "OAuth username-password",
    "soap_login": "SOAP login() with a password",
    "refresh_token": "OAuth refresh token",
    "unknown": "no recognisable login",
}
# Interactive OAuth flows: a person consented once and the integration lives on the grant.
_CONSENT_SUBTYPES = {
    "oauthrefreshtoken",
    "oauthwebserver",
    "oauthuseragent",
    "oauthuseragentidtoken",
    "oauthhybridwebserver",
    "oauthhybriduseragent",
    "oauthhybridrefreshtoken",
}


def auth_pattern_of(login_key: str) -> AuthPattern | None:
    """The pattern one "LoginType|LoginSubType" label pair shows (None: a person's own login,
    or nothing an integration does)."""
    login_type, sub_type = split_login_key(login_key)
    kind, sub = login_type.strip().lower(), fold(sub_type)
    if kind in ("other apex api", "partner product"):
        return "soap_login"
    if kind != "remote access 2.0":
        return None
    if sub == "oauthclientcredentials":
        return "client_credentials"
    if sub in ("", "oauthjwtbearer"):
        # JWT bearer logins carry no subtype (reference 1.1, unverified).
        return "jwt_bearer"
    if sub == "oauthusernamepassword":
        return "username_password"
    if sub in _CONSENT_SUBTYPES:
        return "refresh_token"
    return None


def cutover_spec(
    *,
    app_name: str,
    connected_app_id: str | None,
    logins: Mapping[str, int],
    token_uses: int | None = None,
    token_rows: int = 0,
    sink: SinkKind = "prefect-secret",
) -> CutoverSpec:
    """The cutover of the (human, app) pair. ``logins``: successful logins by
    "LoginType|LoginSubType" label (UsageProfile.logins); ``token_uses`` / ``token_rows``:
    the pair's OauthToken UseCount and rows. ``sink``: where new credentials go."""
    by_pattern: dict[AuthPattern, int] = {}
    evidence = []
    for key, n in sorted(logins.items()):
        seen = auth_pattern_of(key)
        if seen is None or n <= 0:
            continue
        by_pattern[seen] = by_pattern.get(seen, 0) + n
        evidence.append(f"{n} login(s) {key.replace('|', ' / ').rstrip(' /')}")
    if token_rows or token_uses:
        # Each use of a refresh grant is a run of the integration that left no login row.
        evidence.append(f"{token_rows} OAuth refresh token(s), used {token_uses or 0} time(s)")
        uses = token_uses or token_rows
        by_pattern["refresh_token"] = by_pattern.get("refresh_token", 0) + uses
    common = {
        "app_name": app_name,
        "connected_app_id": connected_app_id,
        "evidence": evidence,
        "logins": dict(logins),
        "token_uses": token_uses,
    }
    if not by_pattern:
        return CutoverSpec(
            auth_pattern="unknown",
            route="blocked",
            sink=None,
            blocker=f"no login of {app_name} by this user in the evidence (LoginHistory, OAuth "
            "tokens): the way it authenticates is unknown. Run discovery with LoginHistory "
            "ingested over a window that includes the integration's runs, then plan again.",
            **common,
        )
    pattern = max(by_pattern, key=lambda p: (by_pattern[p], p))
    notes = []
    if len(by_pattern) > 1:
        others = ", ".join(
            f"{_LABELS[p]} ({n})" for p, n in sorted(by_pattern.items()) if p != pattern
        )
        notes.append(
            f"Mostly {_LABELS[pattern]} ({by_pattern[pattern]} logins); also seen: {others}. "
            "Only the main path is cut over: check the others before decommission."
        )
    if pattern == "client_credentials":
        if connected_app_id is None:
            return _blocked(pattern, f"{app_name} is not a connected app known to the org", common)
        return CutoverSpec(
            auth_pattern=pattern,
            route="run_as",
            sink=None,
            old_path="none: the app's client-credentials Run-As is one user (rollback sets it back)",
            notes=notes,
            **common,
        )
    if pattern == "jwt_bearer":
        return CutoverSpec(
            auth_pattern=pattern,
            route="username",
            sink=sink,
            old_path="the human stays pre-authorized for the app until decommission",
            notes=notes,
            **common,
        )
    if pattern in ("username_password", "soap_login"):
        if pattern == "soap_login":
            notes.append(
                "SOAP login() is disabled in new orgs and retired in Summer '27: move the "
                "integration to JWT bearer or client credentials when it can."
            )
        return CutoverSpec(
            auth_pattern=pattern,
            route="password",
            sink=sink,
            old_path="the human's password keeps working until decommission",
            notes=notes,
            **common,
        )
    return _blocked(pattern, None, common)


def _blocked(pattern: AuthPattern, why: str | None, common: dict) -> CutoverSpec:
    app = common["app_name"]
    if pattern == "refresh_token":
        blocker = (
            f"{app} runs on a refresh token the human granted by consenting interactively; an "
            "Integration User is API-only and cannot consent, so no token can be issued to it. "
            f"Routes that exist: JWT bearer on {app} (upload a certificate, the new user "
            f"pre-authorized through its permission set) or client credentials on {app} (Run-As "
            "the new user), when the external system supports one of them. Switch it to one, "
            "let discovery see it, and plan again."
        )
    else:
        blocker = f"{_LABELS[pattern]} cannot be cut over: {why}."
    return CutoverSpec(
        auth_pattern=pattern,
        route="blocked",
        sink=None,
        blocker=blocker,
        alternatives=["jwt_bearer", "client_credentials"] if pattern == "refresh_token" else [],
        **common,
    )


def check_route(route: str | None) -> RouteChoice | None:
    """``route`` as a plan or migrate parameter: one of ROUTE_CHOICES, or None."""
    if route is None or route == "":
        return None
    if route not in ROUTE_CHOICES:
        raise ConfigError(
            f"route {route!r} is not one handover can cut over to: choose "
            f"{' or '.join(ROUTE_CHOICES)} (the flow the external system will use)"
        )
    return route  # type: ignore[return-value]


def with_route(spec: CutoverSpec, route: RouteChoice | None, *, new_username: str) -> CutoverSpec:
    """``spec`` with the route an operator named: the plan records it, and says what the
    external system must be switched to. No route, or the one the evidence shows: as is."""
    if route is None:
        return spec
    app = spec.app_name
    if route == "jwt_bearer":
        if spec.route == "username":
            return spec
        return spec.model_copy(
            update={
                "route": "username",
                "sink": spec.sink or "prefect-secret",
                "blocker": None,
                "alternatives": [],
                "chosen_route": route,
                "old_path": f"the human's {_LABELS[spec.auth_pattern]} keeps working until "
                "decommission",
                "notes": [
                    *spec.notes,
                    f"Route chosen by the operator: JWT bearer. Switch {app} in the external "
                    f"system to the JWT bearer flow (a certificate uploaded to the connected "
                    f"app, admin-approved users pre-authorized), signing its assertion with "
                    f"the username {new_username}. handover pre-authorizes {new_username} "
                    "through the permission set and hands the username over.",
                ],
            }
        )
    if spec.connected_app_id is None:
        raise ConfigError(
            f"route client_credentials needs a connected app, and {app} is not one the org "
            "knows: choose jwt_bearer, or plan without a route"
        )
    if spec.route == "run_as":
        return spec
    return spec.model_copy(
        update={
            "route": "run_as",
            "sink": None,
            "blocker": None,
            "alternatives": [],
            "chosen_route": route,
            "old_path": f"the human's {_LABELS[spec.auth_pattern]} keeps working until "
            "decommission",
            "notes": [
                *spec.notes,
                f"Route chosen by the operator: client credentials. Enable the client "
                f"credentials flow on {app} and switch the external system to it (the app's "
                f"consumer key and secret); handover makes {new_username} the app's Run-As "
                "user.",
            ],
        }
    )
