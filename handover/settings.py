"""All configuration in one typed object. Every knob has an env var HANDOVER_*
(nested sections as HANDOVER_SECTION__FIELD). Built at the entry points and passed down."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    retry_base_delay_seconds: float = Field(
        2.0, description="First retry delay; each further retry doubles it (with jitter)."
    )
    read_only: bool = Field(
        False,
        description="Discovery-only mode: every call to the org that could change it (anything but a read, besides logging in) is refused before it is sent, and migrations (dry runs included) refuse to start. For a first install, or an identity granted read permissions only.",
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

    window_days: int = Field(
        30,
        description="Days of API event logs (and the store's history of them) a discovery run evaluates.",
    )
    login_window_days: int = Field(
        180,
        ge=1,
        description="Days of login history a discovery run evaluates (LoginHistory goes back six months, so the first run already sees them; the free event logs, one day).",
    )
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


_PLACEHOLDER = re.compile(r"{([^{}]*)}")


class PlanSettings(BaseModel):
    """Knobs of the least-privilege planner (see handover/plan.py)."""

    username_template: str = Field(
        "svc.{app}@{domain}",
        description="Username of the new Integration User: {app} is the app's name as a slug, {domain} the org's mail domain (default: the human's). Usernames are unique across all Salesforce orgs: add a sandbox suffix where needed.",
    )
    owner_mailbox: str = Field(
        "salesforce-integrations@{domain}",
        description="Email of the new user: the mailbox of the team that owns integrations ({domain} as above). Never the human's.",
    )
    alias_prefix: str = Field(
        "svc", description="Start of the new user's alias (at most 8 characters in all)."
    )
    first_name: str = Field(
        "Integration", description="First name of the new user (the last name is the app's)."
    )
    permission_set_prefix: str = Field(
        "HO",
        description="Start of the permission set's API name: HO_<App>_<finding digits>.",
    )
    time_zone: str = Field("GMT", description="TimeZoneSidKey of the new user.")
    locale: str = Field("en_US", description="LocaleSidKey of the new user.")
    language: str = Field("en_US", description="LanguageLocaleKey of the new user.")
    email_encoding: str = Field("UTF-8", description="EmailEncodingKey of the new user.")
    min_days_observed: int = Field(
        14,
        ge=1,
        description="Days of ingested logs a plan needs at least: fewer is insufficient evidence.",
    )
    max_gap_days: int = Field(
        2,
        ge=0,
        description="Reported gap days (logs known lost) a plan tolerates in its window; they are listed in the plan. Days with no ingestion record at all are never tolerated.",
    )
    min_cycles: int = Field(
        2,
        ge=1,
        description="Full cycles of the integration's cadence (daily, weekly, month-end, ...) the logs must cover since it was first seen.",
    )
    daily_active_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of observed days with calls at or above which the cadence is daily (its cycle: the longest pause between active days).",
    )
    weekly_max_interval: int = Field(
        9,
        ge=5,
        description="Longest pause between active days (days) up to which a less-than-daily integration is weekly.",
    )
    month_end_days: int = Field(
        3,
        ge=1,
        le=10,
        description="Days at each side of a month's turn: an integration active only there runs at month-end (cycle: 28 days).",
    )
    allow_view_all_modify_all: bool = Field(
        False,
        description="Let a plan grant View All / Modify All on an object when observed calls reached records outside the user's sharing; otherwise that is a blocker.",
    )
    field_fallback: Literal["object", "none"] = Field(
        "object",
        description="Field permissions on an object whose calls the logs list no fields for (no event log records what a write sets): 'object' grants every field the human had on that object (reads, and edits when the integration writes it), 'none' grants no field, so only fields without field-level security are usable.",
    )
    # Salesforce publishes no queryable list of what the Integration licence + PSL can
    # carry, and probing it would mean writing to the org while planning. So the grantable
    # objects are describeGlobal's permissionable data objects minus this list.
    non_grantable_objects: list[str] = Field(
        default_factory=lambda: ["User", "Campaign", "CampaignMember", "Idea"],
        description="Objects the Salesforce Integration licence + Salesforce API Integration permission set licence cannot carry; plans list them as blockers. UNVERIFIED default (User is a setup object; Campaign and Idea need user feature licences the Integration user lacks): extend it with what your org refuses (HANDOVER_PLAN__NON_GRANTABLE_OBJECTS takes a JSON list).",
    )

    @field_validator("username_template", "owner_mailbox")
    @classmethod
    def _email_template(cls, value: str) -> str:
        unknown = set(_PLACEHOLDER.findall(value)) - {"app", "domain"}
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{sorted(unknown)[0]}}}: use {{app}} and {{domain}}"
            )
        if value.count("@") != 1:
            raise ValueError("must be an email address template, e.g. svc.{app}@{domain}")
        return value

    @field_validator("username_template")
    @classmethod
    def _names_the_app(cls, value: str) -> str:
        # Without the app, two integrations of one org would get the same username.
        if "{app}" not in value.split("@", 1)[0]:
            raise ValueError("the part before @ must contain {app}")
        return value

    @field_validator("permission_set_prefix")
    @classmethod
    def _api_name_start(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,19}", value):
            raise ValueError("1 to 20 letters or digits, starting with a letter")
        return value

    @field_validator("alias_prefix")
    @classmethod
    def _alias_start(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9]{0,7}", value):
            raise ValueError("at most 7 lower-case letters or digits")
        return value


_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


class ApprovalsSettings(BaseModel):
    """The approval service (`handover approvals serve`) and the gates it decides."""

    host: str = Field(
        "127.0.0.1",
        description="Interface the approval service listens on (Slack reaches it through your proxy or tunnel).",
    )
    port: int = Field(8787, ge=1, le=65535, description="Port of the approval service.")
    approvers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Slack user ids who may approve or reject gates (U0123ABCD), comma-separated or a JSON list. With approver_group, either qualifies.",
    )
    approver_group: str | None = Field(
        None,
        description="Slack user group id (S0123ABCD) whose members may approve or reject gates; read with usergroups.users.list (scope usergroups:read).",
    )
    two_person_decommission: bool = Field(
        True,
        description="The decommission gate needs two different approvers (the first approval is recorded and the message asks for one more).",
    )
    gate_ttl_hours: float = Field(
        24.0,
        gt=0,
        le=24 * 30,
        description="A gate nobody decides within this many hours is resumed as expired by the reaper; the migration then changes nothing after that gate.",
    )
    token_key: SecretStr | None = Field(
        None,
        description='Secret the approval service signs decisions with and the flows verify them with (at least 16 bytes; the same value for both). Generate one: python -c "import secrets; print(secrets.token_hex(32))".',
    )
    signing_secret: SecretStr | None = Field(
        None,
        description="The Slack app's signing secret (Basic Information > App Credentials): every request to /slack/actions is verified with it.",
    )
    prefect_api_url: str = Field(
        "http://127.0.0.1:4200/api",
        description="Prefect API the service resumes flow runs through (PREFECT_API_URL of the flows).",
    )
    prefect_api_auth: SecretStr | None = Field(
        None,
        description="'user:password' when the Prefect server requires basic auth (PREFECT_SERVER_API_AUTH_STRING).",
    )
    reaper_interval_seconds: float = Field(
        30.0,
        gt=0,
        description="How often the service looks for expired gates, undelivered decisions and verification windows that ended.",
    )
    hold_seconds: float = Field(
        30.0,
        ge=0,
        le=900,
        description="How long a migration run from a deployment keeps its process at a gate, checking for a decision, before it suspends: a decision within it goes on at once; a later one restarts the suspended run (a new process, a few seconds). 0: suspend at once.",
    )
    poll_seconds: float = Field(
        10.0,
        ge=0.1,
        le=300,
        description="How often a waiting migration run checks: whether its gate was decided (a run started outside a deployment waits holding its process; deployment runs hold none, the approval service resumes them), and the org's clock while it watches for the verification window to end.",
    )

    @field_validator("approvers", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError(
                        'not a JSON list: write ["U0123ABCD", "U0456EFGH"] or U0123ABCD,U0456EFGH'
                    ) from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("approvers")
    @classmethod
    def _user_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _SLACK_USER_ID.match(v)]
        if bad:
            raise ValueError(
                f"{bad} are not Slack user ids (U0123ABCD: a person's profile > ... > Copy member ID); names and emails are not accepted, they can change"
            )
        return value

    @field_validator("approver_group")
    @classmethod
    def _group_id(cls, value: str | None) -> str | None:
        if value is not None and not _SLACK_GROUP_ID.match(value):
            raise ValueError(
                f"{value!r} is not a Slack user group id (S0123ABCD), the handle (@team) is not accepted"
            )
        return value

    @field_validator("token_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 16:
            raise ValueError(
                'shorter than 16 bytes; generate one with python -c "import secrets; print(secrets.token_hex(32))"'
            )
        return value


class StackSettings(BaseModel):
    """`handover up`: the local stack (Prefect server, worker, approval service, emulators)."""

    state_dir: Path = Field(
        Path(".handover"),
        description="Where `handover up` keeps up.json, logs, the approval-token key and the emulators' files (relative: to the directory `handover up` runs in).",
    )
    prefect_host: str = Field("127.0.0.1", description="Interface the Prefect server listens on.")
    prefect_port: int = Field(
        4200, ge=1, le=65535, description="Port of the Prefect server (API and UI)."
    )
    work_pool: str = Field(
        "handover",
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="The process work pool the deployments run on (prefect.yaml names it too).",
    )
    worker_query_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="How often the worker asks for runs (PREFECT_WORKER_QUERY_SECONDS): a gate approved in Slack continues within this many seconds.",
    )
    salesforce_port: int = Field(
        0, ge=0, le=65535, description="HTTPS port of the Salesforce emulator (0: a free one)."
    )
    slack_port: int = Field(
        0, ge=0, le=65535, description="HTTP port of the Slack emulator (0: a free one)."
    )
    startup_timeout_seconds: float = Field(
        300.0,
        gt=0,
        description="How long `handover up` waits for each part to answer (the emulator's backfill included) before it gives up and stops what it started.",
    )
    prefect_database_url: SecretStr | None = Field(
        None,
        description="The Prefect server's database (PREFECT_SERVER_DATABASE_CONNECTION_URL), e.g. postgresql+asyncpg://prefect:...@db/prefect; unset: PREFECT_SERVER_DATABASE_CONNECTION_URL from the environment, else SQLite under PREFECT_HOME. Given to the server process only, never written to up.json or a log.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=16,
        description="How many process workers `handover up` starts on the pool (parts worker, worker-2, ...): migrations of different integrations run at once.",
    )
    worker_limit: int | None = Field(
        None,
        ge=1,
        description="Most flow runs one worker runs at once (prefect worker start --limit); unset: no limit. A run waiting at a gate holds no slot.",
    )


SinkChoice = Literal["prefect-secret", "file", "operator"]


class CutoverSettings(BaseModel):
    """Where a migration hands the new credentials over (JWT bearer: the new username;
    username-password and SOAP: the username and a new password)."""

    sink: SinkChoice = Field(
        "prefect-secret",
        description="Credential sink: prefect-secret (a Prefect Secret block the external system reads), file (a JSON file it reads: the keys that change are rewritten in place) or operator (a Secret block and a Slack step: a person switches the external system and confirms).",
    )
    sink_target: str | None = Field(
        None,
        description="The sink's target: for file, the path of the external system's credentials file (required); for prefect-secret and operator, the Secret block name (default handover-<migration id>-credentials).",
    )
    secrets_dir: Path = Field(
        Path(".handover/secrets"),
        description="Where the file sink keeps what it must not lose and may not store anywhere else: the credentials it replaced (for rollback) and the new user's generated password, one 0600 file each per migration, removed when the migration ends.",
    )


class VerifySettings(BaseModel):
    """Verification after the cutover: static (the new user's access read back) and live
    (the integration's traffic over a window, against the plan's baseline)."""

    window_hours: float = Field(
        24.0,
        gt=0,
        le=24 * 14,
        description="Length of the live verification window. Cover at least one cycle of the integration (a nightly job needs 24 hours): a window without its run is inconclusive or fails on volume.",
    )
    settle_minutes: float = Field(
        120.0,
        ge=0,
        description="The window starts this long after the cutover (rounded up to the hour): sessions opened before it may run on under the human until they end.",
    )
    volume_tolerance: float = Field(
        0.5,
        gt=0,
        description="Each object x operation must run within this share of the baseline's volume for the window (0.5: between half and one and a half times).",
    )
    success_tolerance: float = Field(
        0.05,
        ge=0,
        le=1,
        description="The window's success rate may fall at most this far below the baseline's.",
    )
    min_expected_calls: float = Field(
        5.0,
        ge=0,
        description="Operations expected fewer times than this in the window are named, not judged on volume.",
    )
    poll_seconds: float = Field(
        60.0,
        ge=0,
        description="How long the flow watches the org's clock for the window to end (and its event logs to appear) before it records a wake-up and stops waiting in-process; the approval service's reaper resumes it.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HANDOVER_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    store: StoreSettings = StoreSettings()
    salesforce: SalesforceSettings = SalesforceSettings()
    slack: SlackSettings = SlackSettings()
    detection: DetectionSettings = DetectionSettings()
    plan: PlanSettings = PlanSettings()
    approvals: ApprovalsSettings = ApprovalsSettings()
    cutover: CutoverSettings = CutoverSettings()
    verify: VerifySettings = VerifySettings()
    stack: StackSettings = StackSettings()
