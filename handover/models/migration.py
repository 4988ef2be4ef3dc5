"""Types of the migration (pydantic, immutable): the cutover route, the org writes and
their ledger entries, the dry-run preview, the verification verdict and the decommission
decisions, and where a migration stands (``MigrationStatus``). The cutover section of a
plan lives in ``cutover.py`` and is re-exported here.

Secrets never enter these types: a password written by a step appears as
``SECRET_PLACEHOLDER``, an OAuth token only as a hash of its DeleteToken.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from .base import FrozenModel
from .cutover import (
    ROUTE_CHOICES,
    SINK_KINDS,
    AuthPattern,
    CutoverRoute,
    CutoverSpec,
    RouteChoice,
    SinkKind,
)
from .plan import HumanAccess, PermissionSetSpec

# "revoke", "rotate": the emergency revoke and the rotation after it; "audit": an applied
# audit proposal (handover/audit/). They share the ledger with the migrations.
Step = Literal[
    "provision", "cutover", "decommission", "freeze", "rollback", "revoke", "rotate", "audit"
]
# What a write does to its record(s). "restore": put back what a step replaced, from a
# reference (credentials); "revoke": end an OAuth grant (irreversible).
ActionKind = Literal["create", "update", "delete", "set_password", "revoke", "restore"]
LedgerStatus = Literal["planned", "claimed", "done", "failed", "dry_run", "rolled_back"]
Outcome = Literal["successful", "failed", "inconclusive"]

SECRET_PLACEHOLDER = "<new password>"
# Keys whose value is a secret: an action may only carry the placeholder under them.
SECRET_KEYS = frozenset({"newpassword", "password", "consumersecret", "token", "deletetoken"})
REF = "$ref"  # {"$ref": "provision:user"}: the id of the record another action wrote


def ref(key: str) -> dict[str, str]:
    """A value to be replaced, at apply time, by the record id the action ``key`` wrote."""
    return {REF: key}


def ref_key(value: Any) -> str | None:
    if isinstance(value, dict) and set(value) == {REF}:
        return str(value[REF])
    return None


# ---------------------------------------------------------------------- writes and the ledger


class WriteAction(FrozenModel):
    """One org write of the runbook, with its idempotency key (unique in a migration).

    ``match`` is what the probe looks the record up by (its unique key); ``after`` is what
    the record must hold once written. A batch (sObject Collections) has ``record_key``:
    ``after`` is ``{"records": [...]}``, told apart by that field, under the ``match`` parent.
    A record found before this migration wrote anything is taken over only when ``adopt``
    and it holds ``adopt_if``; otherwise the write is refused (WriteConflict)."""

    step: Step
    key: str = Field(pattern=r"^[A-Za-z0-9:._-]+$")
    action: ActionKind
    object: str
    target: str  # what people read: a username, a permission set name, an app
    match: dict[str, Any] = Field(default_factory=dict)
    after: dict[str, Any] = Field(default_factory=dict)
    record_key: str | None = None
    adopt: bool = True
    adopt_if: dict[str, Any] = Field(default_factory=dict)

    @field_validator("after")
    @classmethod
    def _no_secret(cls, value: dict[str, Any]) -> dict[str, Any]:
        for k, v in value.items():
            if k.lower() in SECRET_KEYS and v != SECRET_PLACEHOLDER:
                raise ValueError(
                    f"a write action must not carry a secret ({k}): use SECRET_PLACEHOLDER"
                )
        return value

    @property
    def batch(self) -> bool:
        return self.record_key is not None

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self.after.get("records") or []) if self.batch else []


class Observed(FrozenModel):
    """What a probe found at an action's key: nothing (``state`` None), one record, or for
    a batch ``{"records": [...]}`` with the rows that exist."""

    record_ids: list[str] = Field(default_factory=list)
    state: dict[str, Any] | None = None

    @property
    def exists(self) -> bool:
        if self.state is None:
            return False
        return bool(self.state.get("records")) if "records" in self.state else True


class LedgerEntry(FrozenModel):
    """An action's record in the ledger. ``before`` is the state the first claim saw, kept
    for rollback and never replaced by a later probe; ``claimed_at`` set means this
    migration may have written the record (a claim always precedes a write)."""

    write: WriteAction
    status: LedgerStatus
    before: dict[str, Any] | None = None
    record_ids: list[str] = Field(default_factory=list)
    error: str | None = None
    attempts: int = 0  # writes sent
    claimed_at: datetime | None = None
    updated_at: datetime

    @property
    def key(self) -> str:
        return self.write.key

    @property
    def step(self) -> Step:
        return self.write.step

    @property
    def after(self) -> dict[str, Any]:
        return self.write.after

    @property
    def record_id(self) -> str | None:
        return self.record_ids[0] if self.record_ids else None

    @property
    def ours(self) -> bool:
        return self.claimed_at is not None


class StepPreview(FrozenModel):
    """The dry-run contract: one action as it would be applied."""

    action: ActionKind
    object: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any]

    @classmethod
    def of(cls, entry: LedgerEntry) -> StepPreview:
        w = entry.write
        return cls(
            action=w.action, object=w.object, target=w.target, before=entry.before, after=w.after
        )


class ProvisionFacts(FrozenModel):
    """What the org must tell before a plan becomes writes: the ids the names resolve to."""

    profile_id: str  # the plan's profile (Minimum Access - API Only Integrations)
    permission_set_license_id: str  # SalesforceAPIIntegrationPsl


# ---------------------------------------------------------------------- verification


class TrafficFigures(FrozenModel):
    """One side of the live comparison: an identity's calls through the app over ``days``."""

    days: float = Field(gt=0)
    operations: dict[str, int] = Field(default_factory=dict)  # "Order.create" -> calls
    status_codes: dict[str, int] = Field(default_factory=dict)  # "200" -> calls
    logins: int = 0  # logins / token uses through the app
    # The baseline's days hour by hour, where the store has them: "Order.create" ->
    # {"2026-10-01": 24 calls by UTC hour}. The window is judged against the same hours of
    # those days: a job's runs fall in some hours and not others.
    by_hour: dict[str, dict[str, list[int]]] = Field(default_factory=dict)
    hours_of_day: list[int] = Field(default_factory=list)  # the window's, one per hour (UTC)

    @property
    def calls(self) -> int:
        return sum(self.status_codes.values()) or sum(self.operations.values())

    @property
    def succeeded(self) -> int:
        if not self.status_codes:
            return sum(self.operations.values())
        return sum(n for code, n in self.status_codes.items() if code.startswith(("2", "3")))

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.calls if self.calls else None

    @property
    def error_codes(self) -> set[str]:
        return {code for code, n in self.status_codes.items() if n and code[:1] in ("4", "5")}


class VerificationInputs(FrozenModel):
    planned: PermissionSetSpec
    granted: HumanAccess  # the new user's effective access, read back from the org
    profile: HumanAccess | None = None  # what the new user's profile alone gives
    baseline: TrafficFigures | None = None  # the human through the app, evidence window
    new_user: TrafficFigures | None = None  # the new user through the app, verify window
    human: TrafficFigures | None = None  # the human through the app, verify window


class Check(FrozenModel):
    """One test of the verdict. ``ok`` None: it could not be judged (no traffic)."""

    name: str
    ok: bool | None
    reason: str
    figures: dict[str, Any] = Field(default_factory=dict)


class VerificationResult(FrozenModel):
    outcome: Outcome
    reasons: list[str]  # why, worded for people: every failed or unjudged check
    checks: list[Check]
    figures: dict[str, dict[str, Any]] = Field(default_factory=dict)  # check name -> figures


# ---------------------------------------------------------------------- decommission


class Eligibility(FrozenModel):
    ok: bool
    reason: str

    def pair(self) -> tuple[bool, str]:
        return self.ok, self.reason


class OauthTokenInfo(FrozenModel):
    """An OauthToken row without its tokens: the DeleteToken only as its hash."""

    token_hash: str
    user_id: str
    app_name: str
    app_id: str | None = None  # AppMenuItem.ApplicationId (0H4...), when the org fills it
    use_count: int = 0
    last_used: datetime | None = None
    created: datetime | None = None


class AppGrant(FrozenModel):
    """A SetupEntityAccess row granting the app, with who holds its parent."""

    sea_id: str
    parent_id: str  # the PermissionSet (a profile's own one when owned_by_profile)
    setup_entity_id: str  # the connected app
    permission_set: str  # Name of the set, or the profile's name
    owned_by_profile: bool = False
    holders: list[str] = Field(default_factory=list)  # assignee user ids


class AccountUse(FrozenModel):
    """What the human's account did in the evidence window besides this integration."""

    days_observed: int
    ui_logins: int = 0  # interactive logins, any app
    last_ui_login: datetime | None = None
    other_apps: dict[str, int] = Field(default_factory=dict)  # calls through other apps/clients
    app_other_use: int = 0  # logins through this app the integration does not explain


class TokenDecision(FrozenModel):
    token: OauthTokenInfo
    decision: Eligibility


class GrantDecision(FrozenModel):
    grant: AppGrant
    decision: Eligibility


class DecommissionPlan(FrozenModel):
    human_user_id: str
    human_username: str
    app_name: str
    connected_app_id: str | None = None
    tokens: list[TokenDecision]
    grants: list[GrantDecision]
    freeze: Eligibility

    @property
    def revocations(self) -> list[OauthTokenInfo]:
        return [t.token for t in self.tokens if t.decision.ok]

    @property
    def access_removals(self) -> list[AppGrant]:
        return [g.grant for g in self.grants if g.decision.ok]

    @property
    def reports(self) -> list[str]:
        """What is left in place, and why: said to people instead of changed."""
        return [g.decision.reason for g in self.grants if not g.decision.ok]


# ---------------------------------------------------------------------- where a migration stands

# How a migration ended: null while it is open. failed: verification failed and the
# migration was rolled back automatically; rolled_back: a person chose to roll back (the
# inconclusive gate); rejected / expired: a gate was rejected, or nobody decided in time.
MigrationOutcome = Literal["successful", "failed", "rolled_back", "rejected", "expired"]
MIGRATION_OUTCOMES: tuple[str, ...] = ("successful", "failed", "rolled_back", "rejected", "expired")


class MigrationStatus(FrozenModel):
    """One migration as the ledger holds it (``handover status`` shows these)."""

    migration_id: str
    finding_id: str
    org_id: str
    app_name: str
    human_username: str
    plan_hash: str
    flow_run_id: str | None = None  # the run that last worked on it
    step: str | None = None  # the runbook item it is at (a gate or a step), or "done"
    waiting_at: str | None = None  # the gate it waits at, None when not waiting
    waiting_since: datetime | None = None
    outcome: MigrationOutcome | None = None  # None while open
    outcome_reason: str | None = None
    dry_run: bool = False
    created_at: datetime
    updated_at: datetime

    @property
    def open(self) -> bool:
        return self.outcome is None

    def status_json(self) -> dict[str, Any]:
        """The ``handover status --json`` contract."""
        return {
            "migration_id": self.migration_id,
            "finding_id": self.finding_id,
            "flow_run_id": self.flow_run_id,
            "step": self.step,
            "waiting_at": self.waiting_at,
            "waiting_since": self.waiting_since.isoformat() if self.waiting_since else None,
            "outcome": self.outcome,
        }


__all__ = [
    "MIGRATION_OUTCOMES",
    "REF",
    "ROUTE_CHOICES",
    "SECRET_KEYS",
    "SECRET_PLACEHOLDER",
    "SINK_KINDS",
    "AccountUse",
    "ActionKind",
    "AppGrant",
    "AuthPattern",
    "Check",
    "CutoverRoute",
    "CutoverSpec",
    "DecommissionPlan",
    "Eligibility",
    "GrantDecision",
    "LedgerEntry",
    "LedgerStatus",
    "MigrationOutcome",
    "MigrationStatus",
    "OauthTokenInfo",
    "Observed",
    "Outcome",
    "ProvisionFacts",
    "RouteChoice",
    "SinkKind",
    "Step",
    "StepPreview",
    "TokenDecision",
    "TrafficFigures",
    "VerificationInputs",
    "VerificationResult",
    "WriteAction",
    "ref",
    "ref_key",
]
