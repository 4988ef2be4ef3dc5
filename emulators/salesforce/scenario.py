"""Scenario files: an org (users, licences, apps, data) and the workloads that run against it.

The YAML keys of a workload are a contract read by later issues and acceptance checks:
``name``, ``app``, ``username``, ``ground_truth`` and ``calls`` (each with ``object`` and
``operation``; a query also lists ``fields``). Everything else has defaults. Unknown keys
are refused. ``slack_users`` belongs to the Slack workspace beside the org: validated here,
read by the Slack emulator.
"""

from __future__ import annotations

import re
from datetime import datetime
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


class Call(_Model):
    object: str
    operation: Operation
    fields: list[str] = Field(default_factory=list)
    where: str | None = None  # query filter (SOQL text after WHERE)
    external_id_field: str | None = None  # for upsert
    # Relative weight of this call within the workload's call mix.
    weight: float = 1.0

    @model_validator(mode="after")
    def _query_needs_fields(self) -> Call:
        if self.operation == "query" and not self.fields:
            raise ValueError(f"a query call on {self.object} must list its fields")
        if self.operation == "upsert" and not self.external_id_field:
            raise ValueError(f"an upsert call on {self.object} must name its external_id_field")
        return self


class Schedule(_Model):
    """When the workload runs. ``calls_per_hour`` spread over its active hours."""

    calls_per_hour: float = 60
    hours: list[int] = Field(default_factory=lambda: list(range(24)))  # UTC hours active
    weekdays: list[int] = Field(default_factory=lambda: list(range(7)))  # 0 = Monday
    # Re-authenticate every N minutes (a new login: LoginHistory row, Login event).
    login_every_minutes: int = 60
    jitter: float = 0.1

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: list[int]) -> list[int]:
        if any(h < 0 or h > 23 for h in v):
            raise ValueError("hours are 0..23 (UTC)")
        return v


class Workload(_Model):
    name: str
    app: str  # connected app name, or the API client name when there is no app
    username: str
    ground_truth: GroundTruth
    calls: list[Call]
    auth: AuthFlow = "jwt_bearer"
    api_family: Literal["REST", "SOAP", "Bulk", "Bulk2"] = "REST"  # Bulk API 1.0, 2.0
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
    # signs in as a leaver, so UI logins are refused; a leaver has no Slack account either.
    leaver: bool = False
    # Interactive (UI) logins per weekday; 0 for API-only accounts.
    ui_logins_per_day: float = 0
    manager: str | None = None  # a username: becomes User.ManagerId

    @model_validator(mode="after")
    def _leavers_do_not_sign_in(self) -> UserSpec:
        if self.leaver and self.ui_logins_per_day:
            raise ValueError(f"{self.username} is a leaver: ui_logins_per_day must be 0")
        return self


class UserGroupSpec(_Model):
    """Many similar human users at once (``count`` of them), for realistic org sizes."""

    prefix: str
    count: int
    profile: str
    department: str | None = None
    ui_logins_per_day: float = 1.5
    permission_sets: list[str] = Field(default_factory=list)


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
