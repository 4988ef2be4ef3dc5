"""Sessions (access tokens), refresh tokens, and the daily API request counter."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

SESSION_SECONDS = 7200


@dataclass
class Session:
    token: str = field(repr=False)
    user_id: str
    created: datetime
    expires: datetime
    login_type: str  # LoginHistory label ("Remote Access 2.0", "Other Apex API", "Application")
    source_ip: str
    session_key: str
    login_key: str
    app_id: str | None = None  # ConnectedApplication Id
    app_name: str | None = None
    client_name: str | None = None
    refresh_token: str | None = None  # the grant this session came from, if any
    revoked: bool = False
    # Its AuthSession row: deleting that row ends the session (org.add_session).
    auth_session_id: str | None = None

    def valid_at(self, now: datetime) -> bool:
        return not self.revoked and now < self.expires


@dataclass
class RefreshGrant:
    """A refresh-token grant: what an OauthToken row represents."""

    token: str = field(repr=False)
    delete_token: str = field(repr=False)
    user_id: str
    app_id: str
    app_name: str
    created: datetime
    last_used: datetime
    use_count: int = 0
    revoked: bool = False


@dataclass
class AuthCode:
    """A pending web-server-flow authorization code (single use, short-lived)."""

    code: str
    app_id: str
    user_id: str
    redirect_uri: str
    expires: datetime


def new_access_token(org_id: str) -> str:
    # Real tokens look like "00D5g000000abcD!AQ4AQ...": the org id, '!', an opaque part.
    return f"{org_id[:15]}!AQ{secrets.token_urlsafe(72)}"


def new_refresh_token() -> str:
    return "5Aep861" + secrets.token_urlsafe(60)


def new_key(n: int = 16) -> str:
    return secrets.token_urlsafe(n)[:n]


@dataclass
class ApiCounter:
    """Daily API requests, org-wide and per connected app (what /limits and the header show)."""

    limit: int
    day: date | None = None
    used: int = 0
    per_app: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _roll(self, today: date) -> None:
        if self.day != today:
            self.day, self.used, self.per_app = today, 0, {}

    def try_consume(self, today: date, app_name: str | None, n: int = 1) -> bool:
        """Count one request; False when the daily limit is already reached."""
        with self._lock:
            self._roll(today)
            if self.used + n > self.limit:
                return False
            self.used += n
            if app_name:
                self.per_app[app_name] = self.per_app.get(app_name, 0) + n
            return True

    def consume_up_to(self, today: date, app_name: str | None, n: int) -> int:
        """Count up to ``n`` requests made at once; returns how many fit under the limit."""
        with self._lock:
            self._roll(today)
            allowed = max(0, min(n, self.limit - self.used))
            self.used += allowed
            if app_name and allowed:
                self.per_app[app_name] = self.per_app.get(app_name, 0) + allowed
            return allowed

    def snapshot(self, today: date) -> tuple[int, dict[str, int]]:
        with self._lock:
            self._roll(today)
            return self.used, dict(self.per_app)

    def add_backfilled(self, today: date, n: int) -> None:
        with self._lock:
            self._roll(today)
            self.used += n


def expiry(now: datetime) -> datetime:
    return now + timedelta(seconds=SESSION_SECONDS)
