"""Scenario files: an org (users, licences, apps, data) and the workloads that run against it.

The YAML keys of a workload are a contract read by later issues and acceptance checks:
``name``, ``app``, ``username``, ``ground_truth`` and ``calls`` (each with ``object`` and
``operation``; a query also lists ``fields``). Everything else has defaults. Unknown keys
are refused. ``slack_users`` belongs to the Slack workspace beside the org: validated here,
read by the Slack emulator.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

GroundTruth = Literal["integration_under_human", "dedicated_integration", "human_interactive"]
Operation = Literal["query", "create", "update", "upsert", "delete"]
AuthFlow = Literal[
    "jwt_bearer", "client_credentials", "refresh_token", "password", "soap_login", "ui"
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ApiFamily = Literal["REST", "SOAP", "Bulk", "Bulk2"]  # Bulk API 1.0, 2.0


class Call(_Model):
    object: str
    operation: Operation
    fields: list[str] = Field(default_factory=list)
    where: str | None = None  # query filter (SOQL text after WHERE)
    external_id_field: str | None = None  # for upsert
    # Relative weight of this call within the workload's call mix.
    weight: float = 1.0
    # The API this call goes through when it is not the workload's: one integration reading
    # over REST and writing through the Bulk API.
    api_family: ApiFamily | None = None

    @model_validator(mode="after")
    def _query_needs_fields(self) -> Call:
        if self.operation == "query" and not self.fields:
            raise ValueError(f"a query call on {self.object} must list its fields")
        if self.operation == "upsert" and not self.external_id_field:
            raise ValueError(f"an upsert call on {self.object} must name its external_id_field")
        return self


class Schedule(_Model):
    """When the workload runs. ``calls_per_hour`` spread over its active hours, on its days:
    the ``weekdays``, narrowed to ``days_of_month`` when given (a month-end job: [-1]), or
    exactly the ``dates`` of one-off runs."""

    calls_per_hour: float = 60
    hours: list[int] = Field(default_factory=lambda: list(range(24)))  # UTC hours active
    weekdays: list[int] = Field(default_factory=lambda: list(range(7)))  # 0 = Monday
    # 1..31, or -1..-7 counted from the month's end (-1: its last day).
    days_of_month: list[int] = Field(default_factory=list)
    dates: list[date] = Field(default_factory=list)  # one-off runs on exactly these days
    # Re-authenticate every N minutes (a new login: LoginHistory row, Login event).
    login_every_minutes: int = 60
    jitter: float = 0.1

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: list[int]) -> list[int]:
        if any(h < 0 or h > 23 for h in v):
            raise ValueError("hours are 0..23 (UTC)")
        return v

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in v):
            raise ValueError("weekdays are 0..6 (0 = Monday)")
        return v

    @field_validator("days_of_month")
    @classmethod
    def _days_of_month(cls, v: list[int]) -> list[int]:
        if any(not (1 <= d <= 31 or -7 <= d <= -1) for d in v):
            raise ValueError("days_of_month are 1..31, or -1..-7 from the month's end")
        return v

    @model_validator(mode="after")
    def _one_way_to_name_days(self) -> Schedule:
        # Keys that could not take effect together are refused, not silently ignored.
        if self.dates and (self.days_of_month or sorted(set(self.weekdays)) != list(range(7))):
            raise ValueError(
                "dates name the days of one-off runs: leave weekdays and days_of_month out"
            )
        return self

    def runs_on(self, day: date) -> bool:
        """Whether the workload runs on ``day`` at all."""
        if self.dates:
            return day in self.dates
        if day.weekday() not in self.weekdays:
            return False
        if not self.days_of_month:
            return True
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day in self.days_of_month or day.day - last - 1 in self.days_of_month


class Workload(_Model):
    name: str
    app: str  # connected app name, or the API client name when there is no app
    username: str
    ground_truth: GroundTruth
    calls: list[Call]
    auth: AuthFlow = "jwt_bearer"
    api_family: ApiFamily = "REST"  # each call's, unless the call names its own

    def family_of(self, call: Call) -> ApiFamily:
        return call.api_family or self.api_family

    client_name: str | None = None  # Sforce-Call-Options client=...
    user_agent: str = "python-requests/2.32"
    source_ips: list[str] = Field(default_factory=lambda: ["203.0.113.10"])
    schedule: Schedule = Field(default_factory=Schedule)
    description: str = ""
    # Refresh-token workloads: how long before the scenario starts the person clicked Allow.
    # The token was used on the same schedule ever since, so its OauthToken UseCount holds
    # the uses from before any backfill too (a first run sees the token's whole life).
    token_granted_days_ago: int | None = None

    @model_validator(mode="after")
    def _token_age_needs_a_token(self) -> Workload:
        if self.token_granted_days_ago is not None and self.auth != "refresh_token":
            raise ValueError(
                f"workload {self.name}: token_granted_days_ago is for refresh_token workloads "
                f"(auth is {self.auth}: no OauthToken row)"
            )
        if self.token_granted_days_ago is not None and self.token_granted_days_ago < 1:
            raise ValueError(f"workload {self.name}: token_granted_days_ago must be at least 1")
        return self

    @property
    def token_age_days(self) -> int:
        """Days between the refresh token's grant and the scenario's start."""
        return self.token_granted_days_ago or 180


class ConnectedAppSpec(_Model):
    name: str
    label: str | None = None
    consumer_key: str
    consumer_secret: str | None = None
    admin_approved: bool = True  # "Admin approved users are pre-authorized"
    # Profiles / permission sets (by name) pre-authorized for the app.
    profiles: list[str] = Field(default_factory=list)
    permission_sets: list[str] = Field(default_factory=list)
    certificate: bool = False  # JWT: uses digital signatures (a key pair is generated)
    client_credentials_user: str | None = None
    scopes: list[str] = Field(default_factory=lambda: ["Api", "RefreshToken"])
    callback_url: str = "https://login.salesforce.com/services/oauth2/success"
    internal: bool = False


class UserSpec(_Model):
    username: str
    first_name: str | None = None
    last_name: str
    email: str | None = None
    alias: str | None = None
    profile: str
    active: bool = True
    title: str | None = None
    department: str | None = None
    permission_sets: list[str] = Field(default_factory=list)
    permission_set_licenses: list[str] = Field(default_factory=list)
    password: str | None = None
    # A leaver: HR says gone, the account is kept active only for an integration. Nobody
    # signs in as a leaver, so a leaver has no UI logins and no Slack account (both refused).
    leaver: bool = False
    # Interactive (UI) logins per weekday; 0 for API-only accounts.
    ui_logins_per_day: float = 0
    # The UTC hours the user's UI logins fall in (their working day); default 07-17.
    ui_login_hours: list[int] | None = None
    # The user's last UI login, before the scenario starts (a leaver's last day, an admin
    # who moved on to other tools): a LoginHistory row when within its six months, and
    # LastLoginDate. Nothing after it, so ui_logins_per_day must be 0.
    last_ui_login: datetime | None = None
    manager: str | None = None  # a username: becomes User.ManagerId

    @model_validator(mode="after")
    def _leavers_do_not_sign_in(self) -> UserSpec:
        if self.leaver and self.ui_logins_per_day:
            raise ValueError(f"{self.username} is a leaver: ui_logins_per_day must be 0")
        if self.last_ui_login is not None and self.ui_logins_per_day:
            raise ValueError(
                f"{self.username} has a last_ui_login: nothing comes after it, so "
                "ui_logins_per_day must be 0"
            )
        if self.ui_login_hours is not None and not self.ui_logins_per_day:
            raise ValueError(
                f"{self.username}: ui_login_hours without ui_logins_per_day would do nothing"
            )
        _check_hours(self.ui_login_hours)
        return self


def _check_hours(hours: list[int] | None) -> None:
    if hours is not None and (not hours or any(h < 0 or h > 23 for h in hours)):
        raise ValueError("ui_login_hours are 0..23 (UTC), at least one")


class UserGroupSpec(_Model):
    """Many similar human users at once (``count`` of them), for realistic org sizes."""

    prefix: str
    count: int
    profile: str
    department: str | None = None
    ui_logins_per_day: float = 1.5
    ui_login_hours: list[int] | None = None  # as UserSpec's
    permission_sets: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _hours_of_logins(self) -> UserGroupSpec:
        _check_hours(self.ui_login_hours)
        return self


class ObjectPermissionSpec(_Model):
    object: str
    read: bool = True
    create: bool = False
    edit: bool = False
    delete: bool = False
    view_all: bool = False
    modify_all: bool = False


class PermissionSetSpec(_Model):
    name: str
    label: str | None = None
    license: str | None = None  # PSL developer name or user licence name
    system_permissions: list[str] = Field(default_factory=list)
    objects: list[ObjectPermissionSpec] = Field(default_factory=list)
    fields: dict[str, Literal["read", "edit"]] = Field(
        default_factory=dict
    )  # "Account.Industry": "edit"


class ProfileSpec(PermissionSetSpec):
    user_license: str = "Salesforce"


class LicenseSpec(_Model):
    name: str
    total: int


class CustomObjectSpec(_Model):
    name: str
    key_prefix: str
    fields: list[dict] = Field(default_factory=list)


class OrgSpec(_Model):
    name: str
    my_domain: str  # e.g. loomis.my.salesforce.com
    edition: Literal["Enterprise", "Unlimited", "Performance", "Developer"] = "Enterprise"
    event_monitoring: bool = False
    # Real-Time Event Monitoring (Shield / the add-on): the ApiEvent object, every API query
    # with its text, queryable with SOQL.
    real_time_event_monitoring: bool = False
    daily_api_limit: int = 100_000
    # Event log retention in days: 1 for the free types without Event Monitoring.
    event_log_retention_days: int | None = None
    start: datetime
    admin_username: str
    user_licenses: list[LicenseSpec] = Field(default_factory=list)
    permission_set_licenses: list[LicenseSpec] = Field(default_factory=list)


_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class SlackUserSpec(_Model):
    """A member of the org's Slack workspace (the Slack emulator reads these with its own
    loader): the admins who approve handover's gates, and the people whose accounts are
    migrated, under the same email as their Salesforce user."""

    id: str  # a Slack user id, e.g. U0LOOMIS01
    name: str
    email: str
    approver: bool = False

    @field_validator("id")
    @classmethod
    def _slack_id(cls, v: str) -> str:
        if not _SLACK_USER_ID.match(v):
            raise ValueError(f"{v!r} is not a Slack user id (U or W, then capitals and digits)")
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if "@" not in v.strip("@"):
            raise ValueError(f"{v!r} is not an email address")
        return v


class Scenario(_Model):
    org: OrgSpec
    profiles: list[ProfileSpec] = Field(default_factory=list)
    permission_sets: list[PermissionSetSpec] = Field(default_factory=list)
    users: list[UserSpec] = Field(default_factory=list)
    user_groups: list[UserGroupSpec] = Field(default_factory=list)
    connected_apps: list[ConnectedAppSpec] = Field(default_factory=list)
    custom_objects: list[CustomObjectSpec] = Field(default_factory=list)
    data: dict[str, list[dict]] = Field(default_factory=dict)  # object -> records to seed
    workloads: list[Workload] = Field(default_factory=list)
    slack_users: list[SlackUserSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _last_logins_are_history(self) -> Scenario:
        for u in self.users:
            if u.last_ui_login is not None and u.last_ui_login >= self.org.start:
                raise ValueError(
                    f"{u.username}: last_ui_login must be before the scenario's start "
                    f"({self.org.start.isoformat()})"
                )
        return self

    @model_validator(mode="after")
    def _leavers_have_no_slack_account(self) -> Scenario:
        left = {u.username.lower() for u in self.users if u.leaver}
        left |= {(u.email or "").lower() for u in self.users if u.leaver} - {""}
        listed = sorted(s.email for s in self.slack_users if s.email.lower() in left)
        if listed:
            raise ValueError(f"slack_users: {listed} left the company (leaver): no Slack account")
        return self

    @model_validator(mode="after")
    def _slack_users_are_unique(self) -> Scenario:
        for what, values in (
            ("id", [u.id for u in self.slack_users]),
            ("email", [u.email.lower() for u in self.slack_users]),
        ):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"slack_users: each {what} must be unique: {repeated}")
        return self

    @property
    def retention_days(self) -> int:
        if self.org.event_log_retention_days is not None:
            return self.org.event_log_retention_days
        return 30 if self.org.event_monitoring else 1


class ScenarioError(ValueError):
    pass


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; errors name the file and the bad key."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {p}") from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"{p}: not valid YAML: {e}") from None
    try:
        return Scenario.model_validate(raw)
    except Exception as e:  # pydantic.ValidationError: keep its field paths
        raise ScenarioError(f"{p}: invalid scenario:\n{e}") from None
