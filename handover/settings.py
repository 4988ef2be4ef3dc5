"""All configuration in one typed object. Every knob has an env var HANDOVER_*
(nested sections as HANDOVER_SECTION__FIELD). Built at the entry points and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseModel):
    url: str = Field(
        "sqlite:///.handover/handover.db",
        description="SQLAlchemy URL of the handover store (SQLite file or PostgreSQL).",
    )


class SalesforceSettings(BaseModel):
    orgs_file: Path = Field(
        Path("handover-orgs.toml"),
        description="The org connection config file (several orgs by name).",
    )
    default_org: str | None = Field(None, description="Org name used when --org is not given.")
    api_version: str = Field("59.0", description="Salesforce REST API version.")
    timeout_seconds: float = Field(60.0, description="HTTP timeout per Salesforce call.")
    retries: int = Field(
        4,
        description="Retries of transient Salesforce errors (503, UNABLE_TO_LOCK_ROW, REQUEST_LIMIT_EXCEEDED).",
    )


class SlackSettings(BaseModel):
    token: SecretStr | None = Field(
        None, description="Bot token (xoxb-...). Slack is skipped when unset."
    )
    channel: str | None = Field(None, description="Channel id or name for digests and approvals.")
    base_url: str = Field(
        "https://slack.com/api/",
        description="Slack Web API base URL (the bundled emulator in tests and the demo).",
    )

    @property
    def configured(self) -> bool:
        return self.token is not None and bool(self.channel)


class DetectionSettings(BaseModel):
    """Thresholds of the human-vs-integration classification (see handover/detect.py)."""

    window_days: int = Field(30, description="Days of history a discovery run evaluates.")
    min_calls_per_day: float = Field(
        50.0, description="Average API calls per active day above which traffic looks automated."
    )
    min_active_day_share: float = Field(
        0.5, description="Share of observed days with calls above which use looks scheduled."
    )
    off_hours_share: float = Field(
        0.3,
        description="Share of calls outside business hours (business_hours_start to business_hours_end UTC, weekdays) that looks automated.",
    )
    regular_hours_share: float = Field(
        0.8, description="Share of calls in the few busiest hours that marks a fixed schedule."
    )
    ip_concentration: float = Field(
        0.9, description="Share of calls from the top 2 source IPs that marks a server."
    )
    non_interactive_login_share: float = Field(
        0.8, description="Share of logins that are API/OAuth, not browser."
    )
    dormant_ui_days: int = Field(
        30,
        description="No interactive login for this many days while API traffic continues: a kept-alive account.",
    )
    integration_score: float = Field(
        0.6, description="Score at or above which a pair under a human licence is an integration."
    )
    human_score: float = Field(
        0.35, description="Score at or below which a pair is human interactive use."
    )
    min_days_observed: int = Field(
        7,
        ge=1,
        description="Fewer ingested days than this is thin evidence: the score is held back toward 0.5 and thin_evidence_score applies.",
    )
    thin_evidence_score: float = Field(
        0.9,
        description="Score an integration under a human needs when the evidence is thin (fewer than min_days_observed days).",
    )
    business_hours_start: int = Field(
        8,
        ge=0,
        le=23,
        description="First UTC hour of the working day (set to the org's main time zone; start > end wraps past midnight).",
    )
    business_hours_end: int = Field(
        18, ge=1, le=24, description="UTC hour the working day ends (exclusive)."
    )
    peak_hours: int = Field(
        3,
        ge=1,
        le=24,
        description="How many busiest hours of the day regular_hours_share is measured over.",
    )
    working_day_share: float = Field(
        0.9,
        description="Share of calls inside the busiest window as long as the business day, wherever it falls, at or above which calls spread over the hours look like a person's working day in some time zone.",
    )
    round_the_clock_hours: int = Field(
        20,
        ge=1,
        le=24,
        description="Calls in at least this many distinct UTC hours of the day: nobody works round the clock.",
    )
    regular_daily_cv: float = Field(
        0.25,
        description="Coefficient of variation of daily call counts at or below which traffic is machine-steady.",
    )
    irregular_daily_cv: float = Field(
        0.75,
        description="Coefficient of variation of daily call counts at or above which traffic looks like a person's.",
    )
    weekend_ratio: float = Field(
        0.5,
        description="Weekend calls per day over weekday calls per day at or above which the traffic ignores the working week.",
    )
    weekday_only_ratio: float = Field(
        0.1,
        description="Weekend calls per day over weekday calls per day at or below which the traffic follows the working week.",
    )
    human_ip_count: int = Field(
        4,
        ge=2,
        description="Distinct source IPs at or above which, with no dominant pair, calls look like a person on the move.",
    )
    token_uses_per_day: float = Field(
        12.0,
        description="OauthToken uses per observed day at or above which a refresh token is used by a machine (every two hours round the clock).",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HANDOVER_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    store: StoreSettings = StoreSettings()
    salesforce: SalesforceSettings = SalesforceSettings()
    slack: SlackSettings = SlackSettings()
    detection: DetectionSettings = DetectionSettings()
