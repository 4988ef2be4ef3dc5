"""The workspace's objects (users, conversations, messages, tokens) and the JSON each shows
on the wire. Key names follow the recorded key sets in
``fixtures/recorded/java-slack-sdk/api/*.json`` and the examples of Slack's OpenAPI spec; a key
appears only where slack.com would send it (a bot's profile has ``bot_id``, a person's has
``email`` only for tokens with ``users:read.email``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

# Colours Slack assigns to new members; which one a user gets only needs to be stable.
_COLOURS = ("9f69e7", "4bbe2e", "e7392d", "3c989f", "674b1b", "e96699", "5b89d5", "e0a729")


@dataclass
class Token:
    value: str
    user_id: str
    scopes: frozenset[str]
    revoked: bool = False

    def __repr__(self) -> str:  # a token in a test failure or a log line is a leaked token
        return f"Token(user_id={self.user_id!r}, scopes={sorted(self.scopes)!r}, revoked={self.revoked})"


@dataclass
class User:
    id: str
    team_id: str
    name: str
    real_name: str
    email: str = ""
    title: str = ""
    is_bot: bool = False
    is_admin: bool = False
    is_owner: bool = False
    is_restricted: bool = False
    deleted: bool = False
    bot_id: str | None = None
    app_id: str | None = None
    tz: str = "Europe/London"
    tz_label: str = "Greenwich Mean Time"
    tz_offset: int = 0
    updated: int = 0

    def to_api(self, *, with_email: bool, locale: bool = False) -> dict[str, Any]:
        first, _, last = self.real_name.partition(" ")
        profile: dict[str, Any] = {
            "title": self.title,
            "phone": "",
            "skype": "",
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": "" if self.is_bot else self.name,
            "display_name_normalized": "" if self.is_bot else self.name,
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": hashlib.sha1(self.id.encode(), usedforsecurity=False).hexdigest()[:12],
            "first_name": first,
            "last_name": last,
            "status_text_canonical": "",
            "team": self.team_id,
        }
        if self.email and with_email:
            profile["email"] = self.email
        if self.is_bot:
            profile |= {"api_app_id": self.app_id, "always_active": True, "bot_id": self.bot_id}
        profile |= {
            f"image_{n}": gravatar(self.email or self.id, n) for n in (24, 32, 48, 72, 192, 512)
        }
        body: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": _COLOURS[
                int(hashlib.sha1(self.id.encode(), usedforsecurity=False).hexdigest(), 16)
                % len(_COLOURS)
            ],
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz_label,
            "tz_offset": self.tz_offset,
            "profile": profile,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_owner,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": self.updated,
            "is_email_confirmed": bool(self.email),
            "who_can_share_contact_card": "EVERYONE",
        }
        if not self.is_bot:
            body["has_2fa"] = False
        if locale:
            body["locale"] = "en-GB"
        return body

    def bot_profile(self) -> dict[str, Any] | None:
        """The ``bot_profile`` a bot's messages carry (None for a person's)."""
        if not self.bot_id:
            return None
        icon = "https://a.slack-edge.com/80588/img/plugins/app/bot_{}.png"
        return {
            "id": self.bot_id,
            "app_id": self.app_id,
            "name": self.name,
            "icons": {f"image_{n}": icon.format(n) for n in (36, 48, 72)},
            "deleted": False,
            "updated": self.updated,
            "team_id": self.team_id,
        }


@dataclass
class Channel:
    id: str
    name: str
    created: int
    creator: str
    members: set[str] = field(default_factory=set)
    is_private: bool = False
    is_archived: bool = False
    is_general: bool = False
    is_im: bool = False
    purpose: str = ""
    topic: str = ""

    def to_api(self, viewer: str, *, num_members: bool = False) -> dict[str, Any]:
        if self.is_im:
            other = next((m for m in sorted(self.members) if m != self.creator), self.creator)
            return {
                "id": self.id,
                "created": self.created,
                "is_archived": False,
                "is_im": True,
                "is_org_shared": False,
                "context_team_id": self.creator,
                "updated": self.created * 1000,
                "user": other,
            }
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": self.is_general,
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "pending_connected_team_ids": [],
            "shared_team_ids": [],
            "is_member": viewer in self.members,
            "creator": self.creator,
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
            "previous_names": [],
            "updated": self.created * 1000,
        }
        if num_members:
            body["num_members"] = len(self.members)
        return body


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    team: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Any] = field(default_factory=list)
    bot_id: str | None = None
    app_id: str | None = None
    thread_ts: str | None = None
    edited: dict[str, str] | None = None
    metadata: dict[str, Any] | None = None
    # Every chat.update (and response_url replace) in order: what the message became, when.
    updates: list[dict[str, Any]] = field(default_factory=list)

    def to_api(self, bot_profile: dict[str, Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"user": self.user, "type": "message", "ts": self.ts}
        if self.bot_id:
            body |= {"bot_id": self.bot_id, "app_id": self.app_id}
        body |= {"text": self.text, "team": self.team}
        if bot_profile:
            body["bot_profile"] = bot_profile
        if self.thread_ts:
            body |= {"thread_ts": self.thread_ts, "parent_user_id": self.user}
        if self.edited:
            body["edited"] = dict(self.edited)
        if self.blocks:
            body["blocks"] = [dict(b) for b in self.blocks]
        if self.attachments:
            body["attachments"] = list(self.attachments)
        if self.metadata:
            body["metadata"] = self.metadata
        return body


@dataclass
class Ephemeral:
    """A chat.postEphemeral message: shown to one user in a channel, never stored in history."""

    channel: str
    user: str  # who sees it
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None


@dataclass
class Usergroup:
    id: str
    team_id: str
    name: str
    handle: str
    users: list[str] = field(default_factory=list)
    disabled: bool = False


@dataclass
class Trigger:
    """A trigger_id handed to an app with an interaction: one views.open within 3 seconds."""

    id: str
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class View:
    """A modal opened with views.open, and what happened to it."""

    id: str
    team_id: str
    app_id: str
    bot_id: str
    user_id: str  # who it is open for
    trigger_id: str
    body: dict[str, Any]  # type, title, submit, close, blocks, private_metadata, callback_id, ...
    hash: str
    closed: bool = False
    updates: list[dict[str, Any]] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)

    def to_api(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        """The view object as views.open / views.update answer and view_submission carries it."""
        b = self.body
        return {
            "id": self.id,
            "team_id": self.team_id,
            "type": b.get("type", "modal"),
            "blocks": [dict(x) for x in b.get("blocks", [])],
            "private_metadata": b.get("private_metadata", ""),
            "callback_id": b.get("callback_id", ""),
            "state": state if state is not None else {"values": {}},
            "hash": self.hash,
            "title": b.get("title"),
            "clear_on_close": bool(b.get("clear_on_close", False)),
            "notify_on_close": bool(b.get("notify_on_close", False)),
            "close": b.get("close"),
            "submit": b.get("submit"),
            "previous_view_id": None,
            "root_view_id": self.id,
            "app_id": self.app_id,
            "external_id": b.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }


def gravatar(seed: str, size: int) -> str:
    digest = hashlib.md5(seed.lower().encode(), usedforsecurity=False).hexdigest()
    return f"https://secure.gravatar.com/avatar/{digest}.jpg?s={size}&d=mp"
