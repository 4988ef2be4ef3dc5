"""What discovery sees and concludes: users, apps, a (user, app) pair's usage profile,
the listed event log files, and the findings with their evidence."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from .base import FrozenModel

Verdict = Literal[
    "integration_under_human", "dedicated_integration", "human_interactive", "unclear", "handover"
]
VERDICTS: tuple[Verdict, ...] = (
    "integration_under_human",
    "dedicated_integration",
    "human_interactive",
    "unclear",
    "handover",  # handover's own calls, as the user it connects as: never flagged or planned
)

INTEGRATION_LICENSE = "Salesforce Integration"
# The client name handover puts on every call it makes (Sforce-Call-Options), so the event
# logs tell its own traffic apart from the traffic it judges.
HANDOVER_CLIENT = "handover"
# What the rows of a finding's evidence rest on, each with its own depth of history: the
# API event logs (a day per daily run on a free-logs org), the logins (LoginHistory goes
# back months), the refresh token's own dates, or nothing that accrues.
Basis = Literal["api", "logins", "token", "none"]


class UserInfo(FrozenModel):
    """A Salesforce user as the discovery snapshot saw it."""

    user_id: str  # 18 characters
    username: str
    name: str = ""
    email: str = ""
    license: str = ""  # Profile.UserLicense.Name
    profile: str = ""
    is_active: bool = True
    last_login: datetime | None = None
    title: str | None = None
    department: str | None = None

    @property
    def is_integration_license(self) -> bool:
        return self.license == INTEGRATION_LICENSE


class AppRef(FrozenModel):
    """What an API call was made through: a connected app, or else the API client name."""

    key: str  # "app:<18-char ConnectedApplication Id>" | "client:<name>" | "none"
    name: str  # the connected app's name, or the client name, or "(unknown client)"
    connected_app_id: str | None = None

    @staticmethod
    def for_app(app_id: str, name: str) -> AppRef:
        return AppRef(key=f"app:{app_id}", name=name, connected_app_id=app_id)

    @staticmethod
    def for_client(client_name: str | None) -> AppRef:
        if not client_name:
            return AppRef(key="none", name="(unknown client)")
        return AppRef(key=f"client:{client_name}", name=client_name)


class TokenGrant(FrozenModel):
    """One OauthToken row (a refresh-token grant) of the pair: its own use count and dates."""

    use_count: int
    created: datetime | None = None
    last_used: datetime | None = None


class UsageProfile(FrozenModel):
    """Everything observed for one (user, app or client) pair over the evidence window.

    Built from the usage store's per-day aggregates; the input of ``detect.classify``.
    """

    org_id: str
    user: UserInfo
    app: AppRef
    window_start: date
    window_end: date
    days_observed: int  # days in the window whose logs were ingested
    gap_days: list[date] = Field(default_factory=list)  # days whose logs were missed
    days_active: int = 0  # days with at least one API call
    total_calls: int = 0
    calls_by_day: dict[date, int] = Field(default_factory=dict)
    hour_counts: list[int] = Field(default_factory=lambda: [0] * 24)  # UTC hours, window total
    weekday_counts: list[int] = Field(default_factory=lambda: [0] * 7)  # Monday first
    api_families: dict[str, int] = Field(default_factory=dict)
    operations: dict[str, int] = Field(default_factory=dict)  # "Order.create" -> calls
    status_codes: dict[str, int] = Field(default_factory=dict)
    source_ips: dict[str, int] = Field(default_factory=dict)
    # Logins attributed to this app (LoginHistory.Application / Login events), by
    # "LoginType|LoginSubType" label, e.g. "Remote Access 2.0|OAuth Client Credentials",
    # over the login window: every day of login history the store holds, up to
    # DetectionSettings.login_window_days (LoginHistory reaches back months, the free event
    # logs one day). Per label also the days with logins and the UTC hours they fell in.
    logins: dict[str, int] = Field(default_factory=dict)
    login_days: dict[str, list[date]] = Field(default_factory=dict)
    login_hours: dict[str, list[int]] = Field(default_factory=dict)
    # The login history behind those: its first day, and how many days of it the login
    # window holds (0: the store holds no login history at all).
    login_history_since: date | None = None
    login_days_covered: int = 0
    # The pair's refresh-token grants (OauthToken rows): use counts with their own dates.
    token_grants: list[TokenGrant] = Field(default_factory=list)
    # The same user's interactive (browser) logins in the window, any app, and the latest
    # one in all the login history the store holds (None: none there).
    user_ui_logins: int = 0
    user_last_ui_login: datetime | None = None
    # Whether the user can reach the app through a pre-authorization (SetupEntityAccess).
    preauthorized: bool | None = None
    # The pair is handover itself: the user it connects as, calling as HANDOVER_CLIENT.
    is_handover: bool = False

    @property
    def token_use_count(self) -> int | None:
        """OauthToken.UseCount over the pair's grants; None when it holds none."""
        return sum(g.use_count for g in self.token_grants) if self.token_grants else None


class Evidence(FrozenModel):
    """One signal behind a verdict: shown to people as a row (label, value, why)."""

    key: str
    label: str
    value: Any
    weight: float  # signed contribution to the integration score
    detail: str = ""
    basis: Basis = "none"  # what the row rests on: its weight is held back while that is thin


class Finding(FrozenModel):
    finding_id: str
    org_id: str
    user_id: str
    username: str
    app_name: str
    app_key: str
    connected_app_id: str | None = None
    verdict: Verdict
    score: float  # 0..1: how strongly this looks like an integration running as this user
    evidence: list[Evidence]
    reasons: list[str] = Field(default_factory=list)
    license: str = ""
    profile: str = ""
    window_start: date
    window_end: date
    total_calls: int = 0
    is_new: bool = False

    def evidence_dict(self) -> dict[str, Any]:
        return {e.key: e.value for e in self.evidence}


@dataclass(frozen=True)
class EventLogFileMeta:
    """One EventLogFile row as the org lists it (the CSV itself is fetched separately):
    what the gateway lists, the ingest downloads and the usage store records."""

    file_id: str  # 0AT..., 15 or 18 characters
    event_type: str  # "ApiTotalUsage", "Login", "RestApi", ...
    log_date: date  # the UTC day the file covers
    length: int | None = None  # LogFileLength, bytes
    interval: str = "Daily"
    sequence: int = 0


def finding_id(org_id: str, user_id: str, app_key: str) -> str:
    """Stable across runs: the same pair always gets the same id."""
    digest = hashlib.sha256(f"{org_id[:15]}|{user_id[:15]}|{app_key}".encode()).hexdigest()
    return f"f-{digest[:12]}"
