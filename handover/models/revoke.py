"""Types of the emergency revoke and the rotation after it (pydantic, immutable). Tokens
appear only as the hash of their DeleteToken, credentials never."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from .base import FrozenModel

RotationKind = Literal["password", "certificate", "client_secret"]


class RevokeOrder(FrozenModel):
    """What to cut off: every OAuth token of an app, or of a user; optionally freeze."""

    app: str | None = None
    username: str | None = None
    freeze: bool = False
    requested_by: str  # "cli:<os user>", or the Slack user id who clicked "Revoke now"

    def what(self) -> str:
        return f"app {self.app}" if self.app else f"user {self.username}"


class RevokedUser(FrozenModel):
    user_id: str
    username: str
    tokens: int = 0  # OAuth tokens revoked
    sessions: int = 0  # live sessions ended
    frozen: bool = False


class RevokeReport(FrozenModel):
    """What an emergency revoke did, as recorded in the ledger and printed."""

    revoke_id: str
    org_id: str
    order: RevokeOrder
    users: list[RevokedUser] = Field(default_factory=list)
    tokens_revoked: int = 0
    sessions_ended: int = 0
    started_at: datetime
    seconds: float  # from the start to the last token revoked (and sessions ended)
    notes: list[str] = Field(default_factory=list)  # what a revoke alone does not stop

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")


class RotationReport(FrozenModel):
    """New credentials handed to the integration's sink, and whether it is back."""

    revoke_id: str
    app_name: str
    username: str
    kinds: list[RotationKind]
    sink: str  # the sink kind and where, never the values
    unfrozen: bool = False
    back: bool | None = None  # None: not checked yet
    reasons: list[str] = Field(default_factory=list)
