"""Taking away the human's path to the app, through the gateway's session: their OAuth
tokens for that app (revoked with the row's DeleteToken; OauthToken has no delete), their
sessions of it (AuthSession rows deleted), the app access granted to them
(SetupEntityAccess rows, read here with who holds each), and freezing the account
(UserLogin.IsFrozen).

Tokens never leave this module: callers see an OauthToken row as ``OauthTokenInfo`` with
a hash of its DeleteToken, and name the token to revoke by that hash. The DeleteToken goes
in the form body of the revoke request, never in a URL, a log line or an error message.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .. import ids
from ..errors import SalesforceGatewayError
from ..models.migration import AppGrant, OauthTokenInfo
from .gateway import SalesforceGateway, parse_sf_datetime
from .provision import Records, soql_literal
from .translate import oauth_error, translated

TOKEN_FIELDS = (
    "AppName, UserId, UseCount, LastUsedDate, CreatedDate, DeleteToken, AppMenuItem.ApplicationId"
)


def token_hash(delete_token: str) -> str:
    """How a token is named outside this module (ledger keys, plans, Slack)."""
    return hashlib.sha256(delete_token.encode()).hexdigest()[:16]


def _uid(value: str) -> str:
    if not ids.is_valid_id(value):
        raise SalesforceGatewayError(f"{value!r} is not a Salesforce user id")
    return ids.to18(value)


class HumanPaths:
    def __init__(self, gateway: SalesforceGateway) -> None:
        self.gateway = gateway
        self._sf = gateway.raw()
        self._records = Records(gateway)

    # ------------------------------------------------------------------ OAuth tokens

    def _token_rows(self, user_id: str) -> list[dict[str, Any]]:
        return self.gateway.query_all(
            f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE UserId = '{_uid(user_id)}'",
            what="reading the human's OAuth tokens",
        )

    def tokens(self, user_id: str) -> list[OauthTokenInfo]:
        """The user's OAuth tokens, every app (decommission.py picks this app's)."""
        return [_token_info(r) for r in self._token_rows(user_id)]

    def app_tokens(self, app_name: str) -> list[OauthTokenInfo]:
        """Every user's OAuth tokens of the app (an emergency revoke takes them all)."""
        rows = self.gateway.query_all(
            f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE AppName = {soql_literal(app_name)}",
            what=f"reading the OAuth tokens of {app_name}",
        )
        return [_token_info(r) for r in rows]

    def token(self, user_id: str, hash_: str) -> OauthTokenInfo | None:
        return next((t for t in self.tokens(user_id) if t.token_hash == hash_), None)

    def revoke(self, user_id: str, hash_: str) -> bool:
        """Revoke the user's token named by ``hash_``: POST /services/oauth2/revoke with its
        DeleteToken (the grant and its access tokens end). False when it is already gone."""
        row = next(
            (r for r in self._token_rows(user_id) if token_hash(str(r["DeleteToken"])) == hash_),
            None,
        )
        if row is None:
            return False
        what = f"revoking {row.get('AppName')} token {hash_} of {user_id}"
        with translated(what):
            self.gateway.api_calls += 1
            resp = self._sf.session.post(
                f"https://{self._sf.sf_instance}/services/oauth2/revoke",
                data={"token": row["DeleteToken"]},
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        if resp.status_code != 200:
            try:
                body = resp.json()
            except ValueError:
                body = {}
            raise oauth_error(what, resp.status_code, body)
        return True

    # ------------------------------------------------------------------ sessions

    def sessions(self, user_id: str, application: str | None) -> list[dict[str, Any]]:
        """The user's live sessions that logged in through ``application``, or all of them
        (None: an emergency revoke of the user). LoginHistory's Application can't be
        filtered on: matched here."""
        rows = self.gateway.query_all(
            "SELECT Id, UsersId, SessionType, LoginHistory.Application FROM AuthSession "
            f"WHERE UsersId = '{_uid(user_id)}'",
            what="reading the human's sessions",
        )
        out = []
        for r in rows:
            came_through = str(((r.get("LoginHistory") or {}).get("Application")) or "")
            if application is None or came_through.casefold() == application.casefold():
                out.append({"Id": r["Id"], "UsersId": r["UsersId"], "Application": came_through})
        return out

    def app_sessions(self, app_name: str) -> list[dict[str, Any]]:
        """Every user's live sessions that logged in through ``app_name``."""
        rows = self.gateway.query_all(
            "SELECT Id, UsersId, LoginHistory.Application FROM AuthSession",
            what=f"reading the live sessions of {app_name}",
        )
        wanted = app_name.casefold()
        return [
            {"Id": r["Id"], "UsersId": r["UsersId"], "Application": app_name}
            for r in rows
            if str(((r.get("LoginHistory") or {}).get("Application")) or "").casefold() == wanted
        ]

    def end_sessions(self, session_ids: list[str]) -> None:
        for sid in session_ids:
            self._records.delete("AuthSession", sid, what=f"ending session {sid}")

    # ------------------------------------------------------------------ freezing

    def login_state(self, user_id: str) -> dict[str, Any] | None:
        """The user's UserLogin row ({"Id", "UserId", "IsFrozen"}), None if the org has none."""
        rows = self._records.find("UserLogin", {"UserId": _uid(user_id)}, ["IsFrozen"])
        return rows[0] if rows else None

    def set_frozen(self, user_id: str, frozen: bool) -> str:
        row = self.login_state(user_id)
        if row is None:
            raise SalesforceGatewayError(
                f"freezing {user_id}: the org has no UserLogin row for this user; freeze the "
                "account in Setup > Users instead."
            )
        verb = "freezing" if frozen else "unfreezing"
        self._records.update("UserLogin", row["Id"], {"IsFrozen": frozen}, what=f"{verb} {user_id}")
        return str(row["Id"])

    # ------------------------------------------------------------------ app access

    def app_grants(self, app_id: str) -> list[AppGrant]:
        """Every SetupEntityAccess row granting the app, with the users holding its parent
        permission set (a profile's own set: everyone on the profile)."""
        aid = _uid(app_id)
        rows = self.gateway.query_all(
            "SELECT Id, ParentId, SetupEntityId, Parent.Name, Parent.IsOwnedByProfile, "
            f"Parent.ProfileId FROM SetupEntityAccess WHERE SetupEntityId = '{aid}'",
            what="reading who has access to the app (SetupEntityAccess)",
        )
        profile_ids = sorted(
            {str((r.get("Parent") or {}).get("ProfileId")) for r in rows if _owned(r)}
        )
        profiles = {}
        if profile_ids:
            listed = ", ".join(soql_literal(p) for p in profile_ids)
            profiles = {
                p["Id"]: p["Name"]
                for p in self.gateway.query_all(
                    f"SELECT Id, Name FROM Profile WHERE Id IN ({listed})",
                    what="reading the profiles granted the app",
                )
            }
        out = []
        for r in rows:
            parent = r.get("Parent") or {}
            holders = self.gateway.query_all(
                f"SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = "
                f"{soql_literal(r['ParentId'])}",
                what="reading who holds a permission set granting the app",
            )
            name = (
                profiles.get(str(parent.get("ProfileId")), str(parent.get("Name") or ""))
                if _owned(r)
                else str(parent.get("Name") or r["ParentId"])
            )
            out.append(
                AppGrant(
                    sea_id=str(r["Id"]),
                    parent_id=str(r["ParentId"]),
                    setup_entity_id=str(r["SetupEntityId"]),
                    permission_set=name,
                    owned_by_profile=_owned(r),
                    holders=sorted({str(h["AssigneeId"]) for h in holders}),
                )
            )
        return out


def _token_info(r: dict[str, Any]) -> OauthTokenInfo:
    menu = r.get("AppMenuItem") or {}
    return OauthTokenInfo(
        token_hash=token_hash(str(r["DeleteToken"])),
        user_id=str(r["UserId"]),
        app_name=str(r.get("AppName") or ""),
        app_id=menu.get("ApplicationId") if isinstance(menu, dict) else None,
        use_count=int(r.get("UseCount") or 0),
        last_used=parse_sf_datetime(r.get("LastUsedDate")),
        created=parse_sf_datetime(r.get("CreatedDate")),
    )


def _owned(row: dict[str, Any]) -> bool:
    return bool((row.get("Parent") or {}).get("IsOwnedByProfile"))
