"""An emergency revoke as org writes (pure): every OAuth token found revoked, every live
session ended, optionally each user frozen. Each write has an idempotency key, so a
revoke that stopped half way runs again to the same end, and the ledger records each.

Revocation has no inverse (a token revoked stays revoked): these writes are never rolled
back. Freezing is undone only by the rotation, once new credentials are in place.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigError
from ..migration.actions import freeze_action, revoke_token_action
from ..models.migration import OauthTokenInfo, WriteAction
from ..models.revoke import RevokeOrder


def check_order(order: RevokeOrder) -> RevokeOrder:
    if bool(order.app) == bool(order.username):
        raise ConfigError(
            "name exactly one of --app NAME (every user's tokens of that connected app) or "
            "--user USERNAME (every token of that user)"
        )
    return order


def revoke_actions(
    order: RevokeOrder,
    tokens: Iterable[OauthTokenInfo],
    session_users: Iterable[str],
    usernames: dict[str, str],
    freeze_users: Iterable[str] = (),
) -> list[WriteAction]:
    """Tokens first (the grants that let anyone mint new sessions), then the sessions
    already live, then the freezes. ``usernames``: user id -> username, for people."""
    app = order.app
    actions = [
        revoke_token_action(
            "revoke",
            f"revoke:token:{t.token_hash}",
            t,
            t.user_id,
            usernames.get(t.user_id, t.user_id),
        )
        for t in sorted(tokens, key=lambda t: (t.user_id, t.token_hash))
    ]
    for uid in sorted(set(session_users)):
        match = {"UsersId": uid, **({"Application": app} if app else {})}
        actions.append(
            WriteAction(
                step="revoke",
                key=f"revoke:end-sessions:{uid}",
                action="delete",
                object="AuthSession",
                target=f"{usernames.get(uid, uid)}'s sessions" + (f" of {app}" if app else ""),
                match=match,
            )
        )
    for uid in sorted(set(freeze_users)):
        actions.append(
            freeze_action("revoke", f"revoke:freeze:{uid}", uid, usernames.get(uid, uid))
        )
    return actions


def still_open(order: RevokeOrder, frozen: bool) -> list[str]:
    """What a revoke does not stop, said plainly: a credential that mints new sessions
    (a JWT key, a password, a client secret) still works until it is rotated, unless the
    user is frozen."""
    if frozen:
        return [
            "Frozen: nothing logs in as these users until they are unfrozen; the rotation "
            "(`--rotate`) unfreezes the integration user once its new credentials are in place."
        ]
    return [
        f"Revoking the tokens and sessions of {order.what()} does not stop a leaked JWT key, "
        "password or client secret from logging in again: rotate the credentials now "
        "(`--rotate`), or freeze the user (`--freeze`) until they are rotated."
    ]
