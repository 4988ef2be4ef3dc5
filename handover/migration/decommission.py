"""Decommission eligibility: what may be taken from the human once the integration runs
as the new user, each decision as (ok, reason).

- OAuth tokens: the human's tokens for this app only; other apps' tokens are left alone.
- App access (SetupEntityAccess): removed only when granted for the integration alone, i.e.
  through a permission set nobody else holds and the human does not otherwise use the app
  through. A profile's grant reaches everyone on the profile: never removed, reported.
- Freeze: only when the evidence says the account is kept alive for this integration alone
  (no interactive login, no other API use in the window), and then behind its own gate.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models.migration import (
    AccountUse,
    AppGrant,
    DecommissionPlan,
    Eligibility,
    GrantDecision,
    OauthTokenInfo,
    TokenDecision,
)


def _same_id(a: str | None, b: str | None) -> bool:
    # 15- and 18-character forms of one id share their first 15 characters.
    return bool(a and b and a[:15] == b[:15])


def token_decision(
    token: OauthTokenInfo,
    *,
    human_user_id: str,
    app_names: Sequence[str],
    connected_app_id: str | None,
) -> Eligibility:
    if not _same_id(token.user_id, human_user_id):
        return Eligibility(
            ok=False, reason=f"a token of another user ({token.user_id}): left alone"
        )
    if connected_app_id and token.app_id:
        same_app = _same_id(token.app_id, connected_app_id)
    else:
        # OauthToken.AppMenuItem.ApplicationId is empty for some apps: the name decides.
        same_app = token.app_name.casefold() in {n.casefold() for n in app_names}
    if not same_app:
        return Eligibility(
            ok=False, reason=f"a token of another app ({token.app_name}): left alone"
        )
    used = f", last used {token.last_used:%Y-%m-%d}" if token.last_used else ""
    return Eligibility(
        ok=True,
        reason=f"the human's {token.app_name} token ({token.use_count} uses{used}): revoked",
    )


def grant_decision(
    grant: AppGrant, *, human_user_id: str, app_name: str, account: AccountUse
) -> Eligibility:
    others = [h for h in grant.holders if not _same_id(h, human_user_id)]
    if grant.owned_by_profile:
        return Eligibility(
            ok=False,
            reason=f"{app_name} is granted to the profile {grant.permission_set} "
            f"({len(grant.holders)} user(s)): a profile's grant is never removed by handover. "
            "Remove it in Setup if nobody on the profile needs the app.",
        )
    if others:
        return Eligibility(
            ok=False,
            reason=f"permission set {grant.permission_set} also grants {app_name} to "
            f"{len(others)} other user(s): kept.",
        )
    if account.app_other_use:
        return Eligibility(
            ok=False,
            reason=f"the human also uses {app_name} themselves ({account.app_other_use} "
            f"login(s) the integration does not explain): {grant.permission_set} kept.",
        )
    return Eligibility(
        ok=True,
        reason=f"permission set {grant.permission_set} grants {app_name} to the human alone, "
        "for the integration: its app access is removed.",
    )


def freeze_eligibility(account: AccountUse) -> Eligibility:
    if account.days_observed <= 0:
        return Eligibility(
            ok=False, reason="no observed day of evidence: the account is not frozen"
        )
    if account.ui_logins:
        last = f", last {account.last_ui_login:%Y-%m-%d}" if account.last_ui_login else ""
        return Eligibility(
            ok=False,
            reason=f"{account.ui_logins} interactive login(s) in {account.days_observed} days"
            f"{last}: a person still works in this account.",
        )
    if account.other_apps:
        busiest = sorted(account.other_apps.items(), key=lambda kv: (-kv[1], kv[0]))
        listed = ", ".join(f"{name} ({n} calls)" for name, n in busiest[:5])
        return Eligibility(
            ok=False,
            reason=f"the account also carries calls through {listed}: other work still runs "
            "under it.",
        )
    if account.app_other_use:
        return Eligibility(
            ok=False,
            reason=f"{account.app_other_use} login(s) through the app the integration does not "
            "explain.",
        )
    return Eligibility(
        ok=True,
        reason=f"no interactive login and no other API use in {account.days_observed} observed "
        "days: the account is kept alive for this integration alone.",
    )


def decommission_plan(
    *,
    human_user_id: str,
    human_username: str,
    app_name: str,
    connected_app_id: str | None,
    tokens: Sequence[OauthTokenInfo],
    grants: Sequence[AppGrant],
    account: AccountUse,
    app_label: str | None = None,
    integration_parent_ids: Sequence[str] = (),
) -> DecommissionPlan:
    """The decisions for one integration. ``grants``: the SetupEntityAccess rows of the
    app; those of ``integration_parent_ids`` (the new user's set) and those not reaching the
    human are not the human's path and are left out. ``app_label``: OauthToken.AppName is
    the app's label, which may differ from its name."""
    names = [n for n in (app_name, app_label) if n]
    token_decisions = [
        TokenDecision(
            token=t,
            decision=token_decision(
                t, human_user_id=human_user_id, app_names=names, connected_app_id=connected_app_id
            ),
        )
        for t in tokens
    ]
    grant_decisions = [
        GrantDecision(
            grant=g,
            decision=grant_decision(
                g, human_user_id=human_user_id, app_name=app_name, account=account
            ),
        )
        for g in grants
        if not any(_same_id(g.parent_id, p) for p in integration_parent_ids)
        and any(_same_id(h, human_user_id) for h in g.holders)
    ]
    return DecommissionPlan(
        human_user_id=human_user_id,
        human_username=human_username,
        app_name=app_name,
        connected_app_id=connected_app_id,
        tokens=token_decisions,
        grants=grant_decisions,
        freeze=freeze_eligibility(account),
    )
