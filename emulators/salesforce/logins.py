"""Recording logins: the Session a successful login creates and the LoginHistory row +
Login event every login attempt leaves (``org.record_login``), with the labels of each flow
as SOQL returns them (reference 1.1, 2.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from .eventlog.events import LoginEvent, new_key, new_request_id
from .org import AppConfig, Org
from .sessions import Session, expiry, new_access_token

OAUTH = "Remote Access 2.0"
SOAP_API = "Other Apex API"
# The Login event shows API_VERSION 9998.0 for OAuth logins (reference 2.5).
OAUTH_API_VERSION = "9998.0"


@dataclass(frozen=True)
class LoginRequest:
    """Where a login came from: what the flows check and LoginHistory records."""

    host: str  # the Host header without port, lower-case ("login.salesforce.com")
    source_ip: str
    user_agent: str = ""
    uri: str = "/services/oauth2/token"


@dataclass(frozen=True)
class Flow:
    """The LoginHistory labels of one flow."""

    login_type: str
    sub_type: str | None
    api_type: str | None
    api_version: str | None


JWT_BEARER = Flow(OAUTH, None, "N/A", OAUTH_API_VERSION)
CLIENT_CREDENTIALS = Flow(OAUTH, "OAuth Client Credentials", "N/A", OAUTH_API_VERSION)
USERNAME_PASSWORD = Flow(OAUTH, "OAuth Username-Password", "N/A", OAUTH_API_VERSION)
WEB_SERVER = Flow(OAUTH, "OAuth Web Server", "N/A", OAUTH_API_VERSION)


def soap_partner(api_version: str) -> Flow:
    """SOAP login() on the partner endpoint, at the version of its URL."""
    return Flow(SOAP_API, None, "SOAP Partner", api_version)


def browser_labels(user_agent: str) -> tuple[str, str]:
    """LoginHistory Browser and Platform labels; API clients show as Unknown."""
    ua = user_agent or ""
    browser = "Unknown"
    for name in ("Edge", "Chrome", "Firefox", "Safari"):
        if name in ua:
            browser = name
            break
    platform = "Unknown"
    for marker, label in (("Windows", "Windows"), ("Mac OS X", "Mac OSX"), ("Linux", "Linux")):
        if marker in ua and browser != "Unknown":
            platform = label
            break
    return browser, platform


def login_event(
    org: Org,
    user: dict,
    req: LoginRequest,
    flow: Flow,
    status: str,
    application: str,
    *,
    login_key: str = "",
    session_key: str = "",
) -> LoginEvent:
    """The facts of one login attempt, for LoginHistory and the Login event log."""
    now = org.clock.now()
    browser, platform = browser_labels(req.user_agent)
    return LoginEvent(
        timestamp=now,
        request_id=new_request_id(now),
        user_id=user["Id"],
        username=user["Username"],
        login_type=flow.login_type,
        login_sub_type=flow.sub_type,
        status=status,
        application=application,
        api_type=flow.api_type,
        api_version=flow.api_version,
        browser=browser,
        platform=platform,
        source_ip=req.source_ip,
        login_url=req.host,
        login_key=login_key,
        session_key=session_key,
        uri=req.uri,
        user_type=user.get("UserType") or "Standard",
        user_agent=req.user_agent or None,
    )


def record_failure(
    org: Org, user: dict, req: LoginRequest, flow: Flow, status: str, application: str
) -> None:
    """A failed login: a LoginHistory row and a Login event carrying the failure."""
    org.record_login(login_event(org, user, req, flow, status, application))


def new_session(
    org: Org,
    user: dict,
    req: LoginRequest,
    login_type: str,
    app: AppConfig | None,
    *,
    refresh_token: str | None = None,
    client_name: str | None = None,
) -> Session:
    """A new access token for ``user``, stored in ``org.sessions``."""
    now = org.clock.now()
    session = Session(
        token=new_access_token(org.org_id),
        user_id=user["Id"],
        created=now,
        expires=expiry(now),
        login_type=login_type,
        source_ip=req.source_ip,
        session_key=new_key(),
        login_key=new_key(),
        app_id=app.app_id if app else None,
        app_name=app.name if app else None,
        client_name=client_name,
        refresh_token=refresh_token,
    )
    # OAuth sessions are "Oauth2" AuthSessions; a SOAP login() session is an "API" one.
    org.add_session(session, session_type="Oauth2" if login_type == OAUTH else "API")
    return session


def succeed(
    org: Org,
    user: dict,
    req: LoginRequest,
    flow: Flow,
    app: AppConfig | None,
    *,
    refresh_token: str | None = None,
    application: str | None = None,
    client_name: str | None = None,
) -> Session:
    """A successful login: the session plus its "Success" LoginHistory row and Login event."""
    session = new_session(
        org, user, req, flow.login_type, app, refresh_token=refresh_token, client_name=client_name
    )
    app_label = application or (app.name if app else "N/A")
    history_id = org.record_login(
        login_event(
            org,
            user,
            req,
            flow,
            "Success",
            app_label,
            login_key=session.login_key,
            session_key=session.session_key,
        )
    )
    row = org.table("AuthSession").get(session.auth_session_id or "")
    if row is not None:
        row["LoginHistoryId"] = history_id
    return session
