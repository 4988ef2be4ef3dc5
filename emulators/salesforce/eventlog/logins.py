"""The logins of one synthetic day: a workload's session logins and the humans' UI logins.

Labels are LoginHistory's (what SOQL returns); ``csvfmt`` turns them into the Login file's
one-letter codes. Refresh-token use is not a login: no LoginHistory row, no Login event.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from .events import LoginEvent, new_key, new_request_id

if TYPE_CHECKING:
    from .synth import DayTask, Session, UiUserCtx, WorkloadCtx

HOUR_MS = 3_600_000

# auth flow -> (LoginHistory.LoginType, LoginSubType); refresh_token logs no login at all.
LOGIN_LABELS: dict[str, tuple[str, str | None]] = {
    "jwt_bearer": ("Remote Access 2.0", None),
    "client_credentials": ("Remote Access 2.0", "OAuth Client Credentials"),
    "password": ("Remote Access 2.0", "OAuth Username-Password"),
    "soap_login": ("Other Apex API", None),
    "ui": ("Application", None),
}
_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
# (LoginHistory.Browser, LoginHistory.Platform, User-Agent) of the human users.
_BROWSERS = [
    ("Chrome 120", "Mac OSX", _MAC + _WEBKIT),
    ("Chrome 120", "Windows 10", _WIN + _WEBKIT),
    ("Edge 120", "Windows 10", _WIN + _WEBKIT + " Edg/120.0.0.0"),
    (
        "Firefox 121",
        "Mac OSX",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
    ),
]


def workload_login(w: WorkloadCtx, task: DayTask, sess: Session) -> LoginEvent:
    spec = w.spec
    login_type, sub_type = LOGIN_LABELS[spec.auth]
    soap, ui = spec.auth == "soap_login", spec.auth == "ui"
    browser, platform, agent = _BROWSERS[0] if ui else ("Unknown", "Unknown", spec.user_agent)
    return LoginEvent(
        timestamp=datetime.combine(task.day, time(0), UTC) + timedelta(milliseconds=sess.login_ms),
        request_id=sess.login_request_id,
        user_id=w.user_id,
        username=w.username,
        login_type=login_type,
        login_sub_type=sub_type,
        status="Success",
        application="Browser"
        if ui
        else (spec.client_name or spec.app)
        if soap
        else (w.app_name or spec.app),
        api_type="SOAP Partner" if soap else "N/A",
        api_version=task.api_version if soap else "N/A",
        browser=browser,
        platform=platform,
        source_ip=sess.ip,
        login_url=task.my_domain,
        login_key=sess.login_key,
        session_key=sess.session_key,
        uri=f"/services/Soap/u/{task.api_version}"
        if soap
        else "/index.jsp"
        if ui
        else "/services/oauth2/token",
        user_agent=agent,
    )


def ui_logins(u: UiUserCtx, task: DayTask) -> list[LoginEvent]:
    """Interactive logins on weekdays, in the user's hours (UTC; office hours unless the
    scenario names them)."""
    if task.day.weekday() >= 5:
        return []
    prof = random.Random(f"{task.seed}|ui|{u.username}")
    browser, platform, agent = prof.choice(_BROWSERS)
    ip = f"198.51.100.{prof.randrange(20, 220)}"
    rng = random.Random(f"{task.seed}|ui|{u.username}|{task.day.isoformat()}")
    n = int(u.per_day) + (rng.random() < u.per_day - int(u.per_day))
    day0 = datetime.combine(task.day, time(0), UTC)
    out = []
    if u.hours is None:
        instants = [rng.randrange(7 * HOUR_MS, 18 * HOUR_MS) for _ in range(n)]
    else:
        hours = sorted(set(u.hours))
        instants = [rng.choice(hours) * HOUR_MS + rng.randrange(HOUR_MS) for _ in range(n)]
    for ms in sorted(instants):
        when = day0 + timedelta(milliseconds=ms)
        out.append(
            LoginEvent(
                timestamp=when,
                request_id=new_request_id(when, rng),
                user_id=u.user_id,
                username=u.username,
                login_type="Application",
                login_sub_type=None,
                status="Success",
                application="Browser",
                api_type="N/A",
                api_version="N/A",
                browser=browser,
                platform=platform,
                source_ip=ip,
                login_url=task.my_domain,
                login_key=new_key(rng),
                session_key=new_key(rng),
                uri="/index.jsp",
                user_agent=agent,
            )
        )
    return out


def last_ui_login(user_id: str, username: str, when: datetime, my_domain: str) -> LoginEvent:
    """A user's last UI login, named by the scenario (``UserSpec.last_ui_login``)."""
    rng = random.Random(f"last-ui|{username}|{when.isoformat()}")
    browser, platform, agent = rng.choice(_BROWSERS)
    return LoginEvent(
        timestamp=when,
        request_id=new_request_id(when, rng),
        user_id=user_id,
        username=username,
        login_type="Application",
        login_sub_type=None,
        status="Success",
        application="Browser",
        api_type="N/A",
        api_version="N/A",
        browser=browser,
        platform=platform,
        source_ip=f"198.51.100.{rng.randrange(20, 220)}",
        login_url=my_domain,
        login_key=new_key(rng),
        session_key=new_key(rng),
        uri="/index.jsp",
        user_agent=agent,
    )


def login_history_row(event: LoginEvent) -> dict[str, Any]:
    """The LoginHistory fields of a login (the backend assigns Id)."""
    return {
        "UserId": event.user_id,
        "LoginTime": event.timestamp,
        "LoginType": event.login_type,
        "LoginSubType": event.login_sub_type,
        "Status": event.status,
        "Application": event.application,
        "ApiType": event.api_type,
        "ApiVersion": event.api_version,
        "Browser": event.browser,
        "Platform": event.platform,
        "SourceIp": event.source_ip,
        "LoginUrl": event.login_url,
        "ClientVersion": event.client_version,
        "TlsProtocol": event.tls_protocol,
        "CipherSuite": event.cipher_suite,
        "CountryIso": "US",
    }
