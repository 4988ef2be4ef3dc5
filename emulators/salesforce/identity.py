"""Token revocation and the identity service (/id/{org}/{user}, /services/oauth2/userinfo).

No HTTP here: ``http/oauth.py`` authenticates the bearer token and renders the JSON.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from .exceptions import OAuthError
from .org import Org
from .sessions import Session


def identity_url(org: Org, user_id: str) -> str:
    """The token response's ``id``: always on login.salesforce.com, 18-character ids."""
    return f"https://login.salesforce.com/id/{org.org_id}/{user_id}"


def revoke(org: Org, token_value: str) -> None:
    """POST /services/oauth2/revoke: an access token ends that session; a refresh token or
    an OauthToken DeleteToken ends the grant (its OauthToken row disappears) and every
    session issued from it."""
    if not token_value:
        raise OAuthError("unsupported_token_type", "Token type not supported")  # (unverified: when)
    with org.lock:
        session = org.sessions.get(token_value)
        if session is not None:
            if session.revoked:
                raise OAuthError("invalid_token", "Token was invalid")
            session.revoked = True
            return
        grant = org.refresh_grants.get(token_value) or next(
            (
                g
                for g in org.refresh_grants.values()
                if hmac.compare_digest(g.delete_token, token_value)
            ),
            None,
        )
        if grant is None or grant.revoked:
            raise OAuthError("invalid_token", "Token was invalid")
        grant.revoked = True
        org.sync_oauth_token(grant)
        for s in org.sessions.values():
            if s.refresh_token == grant.token:
                s.revoked = True


def identity(org: Org, session: Session, base_url: str) -> dict:
    """The identity URL's JSON (the shape of SwiftlySalesforce IdentityResponse*.json)."""
    user = org.table("User")[session.user_id]
    oid15 = org.org_id[:15]
    v = "{version}"
    return {
        "id": identity_url(org, user["Id"]),
        "asserted_user": True,
        "user_id": user["Id"],
        "organization_id": org.org_id,
        "username": user["Username"],
        "nick_name": user.get("CommunityNickname") or user["Username"].split("@", 1)[0],
        "display_name": user.get("Name") or user["LastName"],
        "email": user.get("Email"),
        "email_verified": True,
        "first_name": user.get("FirstName"),
        "last_name": user.get("LastName"),
        "timezone": user.get("TimeZoneSidKey"),
        "photos": {
            "picture": f"{base_url}/profilephoto/005/F",
            "thumbnail": f"{base_url}/profilephoto/005/T",
        },
        "addr_street": None,
        "addr_city": None,
        "addr_state": None,
        "addr_country": "US",
        "addr_zip": None,
        "mobile_phone": None,
        "mobile_phone_verified": False,
        "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None},
        "urls": {
            "enterprise": f"{base_url}/services/Soap/c/{v}/{oid15}",
            "metadata": f"{base_url}/services/Soap/m/{v}/{oid15}",
            "partner": f"{base_url}/services/Soap/u/{v}/{oid15}",
            "rest": f"{base_url}/services/data/v{v}/",
            "sobjects": f"{base_url}/services/data/v{v}/sobjects/",
            "search": f"{base_url}/services/data/v{v}/search/",
            "query": f"{base_url}/services/data/v{v}/query/",
            "recent": f"{base_url}/services/data/v{v}/recent/",
            "tooling_soap": f"{base_url}/services/Soap/T/{v}/{oid15}",
            "tooling_rest": f"{base_url}/services/data/v{v}/tooling/",
            "profile": f"{base_url}/{user['Id']}",
            "feeds": f"{base_url}/services/data/v{v}/chatter/feeds",
            "groups": f"{base_url}/services/data/v{v}/chatter/groups",
            "users": f"{base_url}/services/data/v{v}/chatter/users",
            "feed_items": f"{base_url}/services/data/v{v}/chatter/feed-items",
            "feed_elements": f"{base_url}/services/data/v{v}/chatter/feed-elements",
            "custom_domain": f"https://{org.my_domain}",
        },
        "active": bool(user.get("IsActive")),
        "user_type": (user.get("UserType") or "Standard").upper(),
        "language": user.get("LanguageLocaleKey"),
        "locale": user.get("LocaleSidKey"),
        "utcOffset": _utc_offset_ms(user.get("TimeZoneSidKey"), org.clock.now()),
        "last_modified_date": _iso(user.get("LastModifiedDate")),
        "is_app_installed": session.app_id is not None,
    }


def userinfo(org: Org, session: Session, base_url: str) -> dict:
    """GET /services/oauth2/userinfo: the OpenID Connect view of the same user."""
    ident = identity(org, session, base_url)
    user = org.table("User")[session.user_id]
    return {
        "sub": ident["id"],
        "user_id": ident["user_id"],
        "organization_id": ident["organization_id"],
        "preferred_username": ident["username"],
        "nickname": ident["nick_name"],
        "name": ident["display_name"],
        "email": ident["email"],
        "email_verified": True,
        "given_name": ident["first_name"],
        "family_name": ident["last_name"],
        "zoneinfo": ident["timezone"],
        "photos": ident["photos"],
        "profile": ident["urls"]["profile"],
        "picture": ident["photos"]["picture"],
        "address": {"country": "US"},
        "is_salesforce_integration_user": org.license_of(user) == "Salesforce Integration",
        "urls": ident["urls"],
        "active": ident["active"],
        "user_type": ident["user_type"],
        "language": ident["language"],
        "locale": ident["locale"],
        "utcOffset": ident["utcOffset"],
        "updated_at": ident["last_modified_date"],
        "is_app_installed": ident["is_app_installed"],
    }


def _utc_offset_ms(tz_name: str | None, when: datetime) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        offset = when.astimezone(ZoneInfo(tz_name or "GMT")).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds() * 1000) if offset else 0


def _iso(value: object) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else None
