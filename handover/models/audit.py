"""Types of the access audit (pydantic, immutable): what a dedicated Integration User holds,
what it used and was denied over the window, and the proposal made of it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import FrozenModel

Flag = Literal["read", "create", "edit", "delete", "view_all", "modify_all"]


class HeldObject(FrozenModel):
    """One object permission row of a permission set the user holds (its flags set)."""

    permission_set_id: str
    permission_set: str
    owned_by_profile: bool = False
    object: str
    flags: list[Flag]


class Usage(FrozenModel):
    """Calls on (object, operation) over the window: successful, or denied with a status."""

    object: str
    operation: str
    calls: int
    status: str = "ok"  # "ok", or the status the event logs record for a denied call


class Change(FrozenModel):
    """A change to one object permission row: flags removed or added, with why."""

    kind: Literal["remove", "add"]
    permission_set_id: str
    permission_set: str
    object: str
    flags: list[Flag]
    reason: str


class Risk(FrozenModel):
    permission: str  # "Modify All Data", "View All on Order", "API Enabled (profile)"
    where: str  # the permission set or profile granting it
    level: Literal["high", "medium"]
    reason: str


class UserAudit(FrozenModel):
    """One Integration User's review: the report's row, and the proposal when it has one."""

    user_id: str
    username: str
    source: Literal["handover", "discovery"]  # made by a migration, or classified dedicated
    apps: list[str]
    held: list[HeldObject]
    system_permissions: list[str] = Field(default_factory=list)
    used: list[Usage] = Field(default_factory=list)
    denied: list[Usage] = Field(default_factory=list)
    changes: list[Change] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)
    evidence: str = ""  # the window, days observed, cadence, as people read it
    not_judged: list[str] = Field(default_factory=list)  # why no removal could be proposed
    hash: str = ""  # of the proposal (the changes and who they apply to): the gate binds it

    @property
    def proposes(self) -> bool:
        return bool(self.changes)

    def headline(self) -> str:
        removed = sum(len(c.flags) for c in self.changes if c.kind == "remove")
        added = sum(len(c.flags) for c in self.changes if c.kind == "add")
        if not self.changes:
            return f"{self.username}: no change proposed"
        return f"{self.username}: remove {removed} unused permissions, add {added} denied"
