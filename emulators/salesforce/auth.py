"""Authentication backend: the OAuth 2.0 grants and SOAP login() (revocation and the
identity service live in ``identity.py`` and are re-exported here). No HTTP here: each grant takes plain values, returns a Session (stored in
``org.sessions``) or raises OAuthError / SoapFault with Salesforce's codes and wording
(reference section 4.1), and records the login as LoginHistory + a Login event.

Where the reference is silent the chosen wording is marked "(unverified)".
Secrets (passwords, client secrets, tokens) never go into error messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from datetime import timedelta

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from .exceptions import OAuthError, SoapFault
from .identity import identity, identity_url, revoke, userinfo
from .logins import (
    CLIENT_CREDENTIALS,
    JWT_BEARER,
    OAUTH,
    USERNAME_PASSWORD,
    WEB_SERVER,
    Flow,
    LoginRequest,
    new_session,
    record_failure,
    soap_partner,
    succeed,
)
from .org import AppConfig, Org
from .sessions import AuthCode, RefreshGrant, Session, new_refresh_token
from .sessions import new_key as new_delete_token

# revoke and identity live in identity.py, the login bookkeeping in logins.py; the token
# endpoint's callers find everything here.
__all__ = [
    "LoginRequest",
    "authorization_code",
    "authorize",
    "authorize_client",
    "client_credentials",
    "identity",
    "identity_url",
    "jwt_bearer",
    "password",
    "refresh",
    "revoke",
    "soap_login",
    "token",
    "token_body",
    "userinfo",
]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The generic login hosts: they serve every org, so org-specific flows refuse them.
LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})
AUTH_CODE_TTL = timedelta(minutes=15)  # Salesforce authorization codes live 15 minutes
# How far ahead of the wall clock a signer may set exp (3 minutes is conventional).
JWT_MAX_LIFETIME = timedelta(hours=1)

# LoginHistory.Status of a frozen user's login, as the LOGIN_STATUS table pairs it with
# LOGIN_ERROR_USER_FROZEN. The OAuth error_description is unverified; the username-password
# flow answers as for a wrong password, so it does not tell who is frozen (also unverified).
FROZEN = "User is frozen"
FROZEN_DESCRIPTION = "user is frozen"
# LoginHistory.Status texts for failures the reference's status list doesn't cover. (unverified)
_API_DISABLED = "Failed: API disabled for user"
_NOT_APPROVED = "Failed: Not approved for access"
_INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
_MUST_USE_TOKEN = (
    "Invalid username, password, security token; or user locked out. Are you at a new "
    "location? When accessing Salesforce--either via a desktop client or the API--from "
    "outside of your company's trusted networks, you must add a security token to your "
    "password to log in. To get a new token, log into Salesforce and click Setup | My "
    "Settings | Personal | Reset My Security Token."
)


# ---------------------------------------------------------------------- token endpoint


def token(
    org: Org, form: Mapping[str, str], basic: tuple[str, str] | None, req: LoginRequest
) -> Session:
    """POST /services/oauth2/token: dispatch on grant_type. ``basic`` is the decoded
    Authorization: Basic (client_id, client_secret), when sent."""
    grant = form.get("grant_type", "")
    client_id = form.get("client_id") or (basic[0] if basic else "")
    client_secret = form.get("client_secret") or (basic[1] if basic else None)
    if not grant:
        raise OAuthError("invalid_request", "grant type is missing")
    if grant == JWT_GRANT:
        return jwt_bearer(org, form.get("assertion", ""), req)
    if grant == "client_credentials":
        return client_credentials(org, client_id, client_secret, req, scope=form.get("scope"))
    if grant == "password":
        return password(
            org, client_id, client_secret, form.get("username", ""), form.get("password", ""), req
        )
    if grant == "refresh_token":
        return refresh(org, client_id, client_secret, form.get("refresh_token", ""), req)
    if grant == "authorization_code":
        return authorization_code(
            org, client_id, client_secret, form.get("code", ""), form.get("redirect_uri", ""), req
        )
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def jwt_bearer(org: Org, assertion: str, req: LoginRequest) -> Session:
    """JWT bearer: RS256 signed with the key whose certificate the app holds (reference 4.2)."""
    if not assertion:
        raise OAuthError("invalid_request", "assertion is missing")  # (unverified)
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None  # (unverified)
    app = _app(org, str(claims.get("iss") or ""))
    user = org.user_by_username(str(claims.get("sub") or ""))
    if app.certificate_pem is None:
        # The app has no "Use digital signatures" certificate to check against. (unverified)
        raise OAuthError("invalid_client", "invalid client credentials")
    try:
        # exp and aud are checked by hand: exp may be a string (simple-salesforce sends one)
        # and must be compared with the org's simulated clock, not the wall clock.
        jwt.decode(
            assertion,
            _public_key(app.certificate_pem),
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_aud": False},
        )
    except (jwt.PyJWTError, ValueError):  # ValueError: the stored certificate is unreadable
        if user is not None:
            record_failure(org, user, req, JWT_BEARER, "Failed: Signature Invalid", app.name)
        raise OAuthError("invalid_grant", "invalid assertion") from None  # (unverified)
    aud = claims.get("aud")
    if not any(
        a in _audiences(org)
        for a in (aud if isinstance(aud, list) else [aud])
        if isinstance(a, str)
    ):
        raise OAuthError("invalid_grant", "audience is invalid")
    if not _unexpired(org, _epoch(claims.get("exp"))):
        # The description commonly reported for a JWT whose exp has passed. (unverified)
        raise OAuthError("invalid_grant", "expired authorization code")
    if user is None:
        # Unknown usernames are indistinguishable from unapproved ones. (unverified)
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    _check_user(org, user, req, JWT_BEARER, app.name)
    _check_app_access(org, app, user, req, JWT_BEARER)
    return succeed(org, user, req, JWT_BEARER, app)


def client_credentials(
    org: Org,
    client_id: str,
    client_secret: str | None,
    req: LoginRequest,
    *,
    scope: str | None = None,
) -> Session:
    """Client credentials: the app's Run-As user, only on the My Domain host (reference 4.3)."""
    if req.host in LOGIN_HOSTS:
        raise OAuthError("invalid_grant", "request not supported on this domain")
    if scope is not None:
        raise OAuthError("invalid_request", "scope parameter not supported")
    app = _app(org, client_id)
    _check_secret(app, client_secret)
    user = (
        org.user_by_username(app.client_credentials_user) if app.client_credentials_user else None
    )
    if user is None:
        raise OAuthError("invalid_grant", "no client credentials user enabled")
    _check_user(org, user, req, CLIENT_CREDENTIALS, app.name)
    if not org.access_of(user["Id"]).has("ApiUserOnly"):
        # Salesforce requires an API Only execution user; the wording is ours. (unverified)
        raise OAuthError(
            "invalid_grant", "client credentials user must have the API Only user permission"
        )
    # The reference lists invalid_app_access for client credentials too (4.1).
    _check_app_access(org, app, user, req, CLIENT_CREDENTIALS)
    return succeed(org, user, req, CLIENT_CREDENTIALS, app)


def password(
    org: Org,
    client_id: str,
    client_secret: str | None,
    username: str,
    secret: str,
    req: LoginRequest,
) -> Session:
    """OAuth username-password: ``secret`` is the password with the security token appended."""
    app = _app(org, client_id)
    _check_secret(app, client_secret)
    user = org.user_by_username(username)
    if user is None:
        raise OAuthError("invalid_grant", "authentication failure")
    status = _password_status(org, user, secret)
    if status != "Success":
        record_failure(org, user, req, USERNAME_PASSWORD, status, app.name)
        raise OAuthError("invalid_grant", "authentication failure")
    _check_user(org, user, req, USERNAME_PASSWORD, app.name, frozen="authentication failure")
    _check_app_access(org, app, user, req, USERNAME_PASSWORD)
    return succeed(org, user, req, USERNAME_PASSWORD, app)


def refresh(
    org: Org, client_id: str, client_secret: str | None, refresh_token: str, req: LoginRequest
) -> Session:
    """A new access token from a refresh grant. Real orgs write no LoginHistory row and no
    Login event for it; the grant's UseCount/LastUsedDate (OauthToken) move instead."""
    app = _app(org, client_id)
    if client_secret is not None:
        _check_secret(app, client_secret)
    with org.lock:
        grant = org.refresh_grants.get(refresh_token)
        if grant is None or grant.revoked or grant.app_id != app.app_id:
            raise OAuthError("invalid_grant", "expired access/refresh token")
        user = org.table("User").get(grant.user_id)
        if user is None or not user.get("IsActive"):
            raise OAuthError("invalid_grant", "inactive user")  # (unverified)
        if org.user_login(user["Id"]).get("IsFrozen"):
            # A refresh is no login (no LoginHistory row), but a frozen user gets no token.
            raise OAuthError("invalid_grant", FROZEN_DESCRIPTION)  # (unverified)
        if not org.access_of(user["Id"]).has("ApiEnabled"):
            raise OAuthError("invalid_grant", "API is disabled for this User")  # (unverified)
        if app.admin_approved and not preauthorized(org, app.app_id, user["Id"]):
            # Removing a user's pre-authorization also stops their refresh tokens, so a
            # cut-over can't be undone by an old grant. (unverified: assumed enforced here too)
            raise OAuthError("invalid_app_access", "user is not admin approved to access this app")
        now = org.clock.now()
        grant.use_count += 1
        grant.last_used = now
        org.sync_oauth_token(grant)
        return new_session(org, user, req, OAUTH, app, refresh_token=grant.token)


def authorize_client(org: Org, client_id: str, redirect_uri: str) -> AppConfig:
    """The checks of GET /services/oauth2/authorize made before anything may redirect."""
    app = _app(org, client_id)
    if redirect_uri != app.callback_url:
        # (unverified wording)
        raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
    return app


def authorize(org: Org, app: AppConfig, username: str, redirect_uri: str, req: LoginRequest) -> str:
    """The user (named by the emulator-only header, standing in for the login page and the
    Allow button) approves ``app``; returns the authorization code."""
    user = org.user_by_username(username)
    if user is None:
        raise OAuthError("access_denied", "end-user denied authorization")  # (unverified)
    _check_user(org, user, req, WEB_SERVER, app.name, error="access_denied")
    if org.access_of(user["Id"]).has("ApiUserOnly"):
        # API-only users can't use the login page (reference 3.1). (error text unverified)
        record_failure(org, user, req, WEB_SERVER, "Failed: API-only user", app.name)
        raise OAuthError("access_denied", "API-only users can't log in interactively")
    if app.admin_approved and not preauthorized(org, app.app_id, user["Id"]):
        record_failure(org, user, req, WEB_SERVER, _NOT_APPROVED, app.name)
        # The error code seen in authorize redirects. (unverified)
        raise OAuthError("OAUTH_APP_ACCESS_DENIED", "user is not admin approved to access this app")
    code = "aPrx" + secrets.token_urlsafe(48)
    with org.lock:
        org.auth_codes[code] = AuthCode(
            code, app.app_id, user["Id"], redirect_uri, org.clock.now() + AUTH_CODE_TTL
        )
    return code


def authorization_code(
    org: Org,
    client_id: str,
    client_secret: str | None,
    code: str,
    redirect_uri: str,
    req: LoginRequest,
) -> Session:
    """Web-server flow, second leg: the code becomes an access token plus (with the
    RefreshToken scope) a refresh grant, i.e. an OauthToken row."""
    app = _app(org, client_id)
    _check_secret(app, client_secret)
    with org.lock:
        pending = org.auth_codes.pop(code, None)  # single use, even when the exchange fails
    if pending is None or pending.app_id != app.app_id or pending.expires <= org.clock.now():
        raise OAuthError("invalid_grant", "expired authorization code")
    if redirect_uri != pending.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri must match configuration")  # (unverified)
    user = org.table("User").get(pending.user_id)
    if user is None:
        raise OAuthError("invalid_grant", "expired authorization code")
    _check_user(org, user, req, WEB_SERVER, app.name)
    refresh_token = None
    if "RefreshToken" in app.scopes or "OfflineAccess" in app.scopes:
        now = org.clock.now()
        grant = RefreshGrant(
            token=new_refresh_token(),
            delete_token=new_delete_token(40),
            user_id=user["Id"],
            app_id=app.app_id,
            app_name=app.name,
            created=now,
            last_used=now,
            use_count=1,
        )
        with org.lock:
            org.refresh_grants[grant.token] = grant
            org.sync_oauth_token(grant)
        refresh_token = grant.token
    return succeed(org, user, req, WEB_SERVER, app, refresh_token=refresh_token)


def soap_login(
    org: Org,
    username: str,
    secret: str,
    client_name: str | None,
    api_version: str,
    req: LoginRequest,
) -> Session:
    """SOAP login() (partner): LoginHistory "Other Apex API" / "SOAP Partner", the
    Application being the CallOptions client name."""
    flow = soap_partner(api_version)
    application = client_name or "N/A"
    user = org.user_by_username(username)
    if user is None:
        raise SoapFault("INVALID_LOGIN", _INVALID_LOGIN)
    status = _password_status(org, user, secret)
    if status == "Success" and not user.get("IsActive"):
        status = "User is inactive"
    if status == "Success" and org.user_login(user["Id"]).get("IsFrozen"):
        status = FROZEN  # the fault is INVALID_LOGIN, as for a wrong password (unverified)
    if status != "Success":
        record_failure(org, user, req, flow, status, application)
        code = (
            "LOGIN_MUST_USE_SECURITY_TOKEN"
            if status.endswith("token required")
            else "INVALID_LOGIN"
        )
        raise SoapFault(code, _MUST_USE_TOKEN if code != "INVALID_LOGIN" else _INVALID_LOGIN)
    if not org.access_of(user["Id"]).has("ApiEnabled"):
        record_failure(org, user, req, flow, _API_DISABLED, application)
        raise SoapFault("API_CURRENTLY_DISABLED", "API is disabled for this User")
    return succeed(org, user, req, flow, None, application=application, client_name=client_name)


# ---------------------------------------------------------------------- responses


def scope_string(app: AppConfig | None, *, refresh: bool) -> str:
    """The token response's ``scope``: the app's scopes as OAuth scope strings."""
    names = {
        "Basic": "id",
        "Api": "api",
        "Web": "web",
        "Full": "full",
        "Chatter": "chatter_api",
        "RefreshToken": "refresh_token",
        "OfflineAccess": "refresh_token",
        "OpenID": "openid",
        "Profile": "profile",
        "Email": "email",
        "Address": "address",
        "Phone": "phone",
        "CustomApplications": "visualforce",
        "CustomPermissions": "custom_permissions",
        "Lightning": "lightning",
        "Content": "content",
    }
    out: list[str] = []
    for s in app.scopes if app else ["Api"]:
        value = names.get(s, s.lower())
        if value == "refresh_token" and not refresh:
            continue
        if value not in out:
            out.append(value)
    return " ".join(out)


def token_body(
    org: Org, session: Session, instance_url: str, *, refresh_token: str | None = None
) -> dict[str, str]:
    """The success JSON of the token endpoint (reference 4.1)."""
    app = org.apps.get(session.app_id) if session.app_id else None
    issued_at = str(int(session.created.timestamp() * 1000))
    ident = identity_url(org, session.user_id)
    body = {"access_token": session.token}
    if refresh_token:
        body["refresh_token"] = refresh_token
    # "signature" proves id+issued_at came from Salesforce: HMAC-SHA256 keyed with the secret.
    if app is not None and app.consumer_secret:
        mac = hmac.new(app.consumer_secret.encode(), (ident + issued_at).encode(), hashlib.sha256)
        body["signature"] = base64.b64encode(mac.digest()).decode()
    body.update(
        {
            "scope": scope_string(app, refresh=refresh_token is not None),
            "instance_url": instance_url,
            "id": ident,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
    )
    return body


# ---------------------------------------------------------------------- helpers


def preauthorized(org: Org, app_id: str, user_id: str) -> bool:
    """Admin pre-authorization: a SetupEntityAccess row for the app whose parent is one of
    the user's permission sets (the profile's own set counts: it is assigned too)."""
    ps_ids = org.access_of(user_id).permission_set_ids
    return any(
        row.get("ParentId") in ps_ids for row in org.find("SetupEntityAccess", SetupEntityId=app_id)
    )


def approved(org: Org, app_id: str, user_id: str) -> bool:
    """Self-authorization: the user approved the app before (a live refresh grant)."""
    return any(
        g.app_id == app_id and g.user_id == user_id and not g.revoked
        for g in org.refresh_grants.values()
    )


def _app(org: Org, client_id: str) -> AppConfig:
    app = org.app_by_consumer_key(client_id) if client_id else None
    if app is None:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    return app


def _check_secret(app: AppConfig, secret: str | None) -> None:
    if (
        not app.consumer_secret
        or not secret
        or not hmac.compare_digest(app.consumer_secret.encode(), secret.encode())
    ):
        raise OAuthError("invalid_client", "invalid client credentials")


def _password_status(org: Org, user: dict, secret: str) -> str:
    """LoginHistory.Status of a password check (the security token is appended)."""
    if org.user_login(user["Id"]).get("IsPasswordLocked"):
        return "Password Lockout"  # locked out: even the right password is refused
    pw = org.passwords.get(user["Id"], "")
    token = org.security_tokens.get(user["Id"], "")
    if pw and hmac.compare_digest((pw + token).encode(), secret.encode()):
        return "Success"
    if pw and token and hmac.compare_digest(pw.encode(), secret.encode()):
        return "Failed: API security token required"
    return "Invalid Password"


def _check_user(
    org: Org,
    user: dict,
    req: LoginRequest,
    flow: Flow,
    application: str,
    *,
    error: str = "invalid_grant",
    frozen: str = FROZEN_DESCRIPTION,
) -> None:
    if not user.get("IsActive"):
        record_failure(org, user, req, flow, "User is inactive", application)
        raise OAuthError(error, "inactive user")  # (unverified)
    if org.user_login(user["Id"]).get("IsFrozen"):
        # "If a user's account is frozen, they can't log in" (ObjRef UserLogin), in every flow.
        record_failure(org, user, req, flow, FROZEN, application)
        raise OAuthError(error, frozen)
    if not org.access_of(user["Id"]).has("ApiEnabled"):
        record_failure(org, user, req, flow, _API_DISABLED, application)
        raise OAuthError(error, "API is disabled for this User")  # (unverified)


def _check_app_access(org: Org, app: AppConfig, user: dict, req: LoginRequest, flow: Flow) -> None:
    if app.admin_approved:
        if not preauthorized(org, app.app_id, user["Id"]):
            record_failure(org, user, req, flow, _NOT_APPROVED, app.name)
            raise OAuthError("invalid_app_access", "user is not admin approved to access this app")
    elif flow is JWT_BEARER and not approved(org, app.app_id, user["Id"]):
        record_failure(org, user, req, flow, _NOT_APPROVED, app.name)
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")


def _audiences(org: Org) -> set[str]:
    return {
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        f"https://{org.my_domain}",
    }


def _unexpired(org: Org, exp: float | None) -> bool:
    """Whether a JWT's exp is still ahead. The org's clock is simulated, but the systems
    that sign assertions (simple-salesforce: the wall clock + 3 minutes) may live on the
    wall clock, and the demo and tests run the org's clock ahead of it or behind it. So exp
    counts as ahead when it lies within a JWT's lifetime after the org's now or after the
    wall clock's now: whichever clock the signer used, an assertion that expired on it is
    refused, as long as the two clocks are more than that lifetime apart."""
    if exp is None:
        return False
    lifetime = JWT_MAX_LIFETIME.total_seconds()
    return any(now < exp <= now + lifetime for now in (org.clock.now().timestamp(), time.time()))


def _epoch(value: object) -> float | None:
    """A JWT NumericDate, also when sent as a string (simple-salesforce does)."""
    if not isinstance(value, int | float | str) or isinstance(value, bool):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _public_key(certificate_pem: str) -> RSAPublicKey | str:
    """The RS256 verification key of the app's certificate ("" when it isn't RSA: no match)."""
    key = x509.load_pem_x509_certificate(certificate_pem.encode()).public_key()
    return key if isinstance(key, RSAPublicKey) else ""
