"""The workspace behind the Slack emulator: users, channels, messages, tokens, and the rules
of the Web API methods handover uses.

Each served method is a ``Workspace`` method named after Slack's (``chat_postMessage`` for
``chat.postMessage``, as slack_sdk names them). It takes the caller's ``Token`` and the request
parameters and returns the success body without ``ok``; a failure raises ``SlackError`` with
Slack's own error code, which the HTTP layer sends as ``{"ok": false, "error": ...}``.
The objects and their JSON forms live in ``entities.py``, Block Kit checks in ``blocks.py``,
modals (views.*) in ``views.py``, the fault switches in ``faults.py``.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .blocks import message_content, normalise_blocks
from .entities import Channel, Ephemeral, Message, Token, Trigger, User, Usergroup, View
from .exceptions import SlackError
from .faults import Faults
from .views import ViewsApi

# The scope each method needs (None: any valid token). From the methods' docs pages.
SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.getPermalink": None,
    "conversations.info": "channels:read",
    "conversations.join": "channels:join",
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
    "usergroups.users.list": "usergroups:read",
    "views.open": None,
    "views.update": None,
}
NO_AUTH = {"api.test"}  # api.test answers without a token, as on slack.com
SERVED = frozenset(SCOPES) | NO_AUTH
BOT_SCOPES = (
    "chat:write",
    "channels:read",
    "channels:join",
    "users:read",
    "users:read.email",
    "usergroups:read",
)
APPROVERS_HANDLE = "handover-approvers"  # the user group of the scenario's approvers


@dataclass
class ApiCall:
    """One request as the emulator saw it (never the token: only whose it was)."""

    method: str
    params: dict[str, Any]
    status: int
    error: str | None
    token_user: str | None


class Workspace(ViewsApi):
    """All the state of one emulated Slack workspace; reset by building a new one."""

    def __init__(
        self,
        *,
        team_name: str = "Loomis Logistics",
        domain: str = "loomis-logistics",
        bot_name: str = "handover",
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        with_defaults: bool = True,
    ) -> None:
        self._ids = random.Random(seed)  # ids repeat across runs; secrets below never do
        self.clock = clock
        self.lock = threading.RLock()
        self.team_id, self.team_name, self.domain = self.new_id("T"), team_name, domain
        self.app_id = self.new_id("A")
        self.signing_secret = secrets.token_hex(16)
        self.verification_token = secrets.token_urlsafe(18)  # legacy "token" of payloads
        self.public_url = ""  # set by the server: where response_url hooks are served
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: list[Message] = []
        self.tokens: dict[str, Token] = {}
        self.calls: list[ApiCall] = []
        self.hooks: dict[str, dict[str, Any]] = {}  # response_url id -> where it points
        self.hook_posts: list[dict[str, Any]] = []  # what was sent to response_urls
        self.ephemeral: list[Ephemeral] = []
        self.usergroups: dict[str, Usergroup] = {}
        self.triggers: dict[str, Trigger] = {}
        self.views: dict[str, View] = {}
        self.actions_url: str | None = None  # the app's Request URL, for /__emulator/click
        self.faults = Faults()
        self._last_ts = 0.0
        self.bot = self.add_user(bot_name, real_name=bot_name.title(), is_bot=True)
        self.bot_token = self.issue_token(self.bot.id, BOT_SCOPES, prefix="xoxb")
        if with_defaults:
            self._seed_defaults()

    # -- set-up (tests and the demo) ------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return prefix + "".join(self._ids.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=10))

    def add_user(
        self,
        name: str,
        *,
        email: str = "",
        real_name: str = "",
        user_id: str | None = None,
        **flags: Any,
    ) -> User:
        with self.lock:
            if user_id is not None and user_id in self.users:
                raise ValueError(f"user id {user_id} is taken (by {self.users[user_id].name})")
            is_bot = bool(flags.get("is_bot"))
            user = User(
                id=user_id or self.new_id("U"),
                team_id=self.team_id,
                name=name,
                real_name=real_name or name,
                email=email,
                bot_id=self.new_id("B") if is_bot else None,
                app_id=self.app_id if is_bot else None,
                updated=int(self.clock()),
                **flags,
            )
            self.users[user.id] = user
            return user

    def add_channel(
        self,
        name: str,
        *,
        private: bool = False,
        bot_member: bool = True,
        members: tuple[str, ...] = (),
    ) -> Channel:
        with self.lock:
            chan = Channel(
                id=self.new_id("G" if private else "C"),
                name=name,
                is_private=private,
                created=int(self.clock()),
                creator=next(iter(self.users)),
                members=set(members) | ({self.bot.id} if bot_member else set()),
            )
            self.channels[chan.id] = chan
            return chan

    def add_usergroup(self, handle: str, users: list[str], *, name: str = "") -> Usergroup:
        with self.lock:
            unknown = [u for u in users if u not in self.users]
            if unknown:
                raise ValueError(f"user group {handle}: unknown users {unknown}")
            group = Usergroup(
                id=self.new_id("S"),
                team_id=self.team_id,
                name=name or handle,
                handle=handle,
                users=list(users),
            )
            self.usergroups[group.id] = group
            return group

    def usergroup_by_handle(self, handle: str) -> Usergroup | None:
        return next((g for g in self.usergroups.values() if g.handle == handle), None)

    def issue_token(self, user_id: str, scopes: tuple[str, ...], *, prefix: str = "xoxp") -> str:
        value = f"{prefix}-{self._ids.randrange(10**11, 10**12)}-{self._ids.randrange(10**12, 10**13)}-{secrets.token_hex(12)}"
        self.tokens[value] = Token(value=value, user_id=user_id, scopes=frozenset(scopes))
        return value

    def revoke(self, token: str) -> None:
        self.tokens[token].revoked = True

    def _seed_defaults(self) -> None:
        humans: list[tuple[str, str, str, dict[str, Any]]] = [
            ("dana.okafor", "Dana Okafor", "dana.okafor@loomis.example", {"is_admin": True}),
            ("sam.ruiz", "Sam Ruiz", "sam.ruiz@loomis.example", {}),
            ("lee.former", "Lee Former", "lee.former@loomis.example", {"deleted": True}),
        ]
        for name, real, email, flags in humans:
            self.add_user(name, real_name=real, email=email, **flags)
        self.seed_channels()
        self.add_usergroup(APPROVERS_HANDLE, [self.user_by_name("dana.okafor").id])

    def seed_channels(self) -> None:
        """The channels every emulated workspace has; everyone active is in the public ones."""
        everyone = tuple(u.id for u in self.users.values() if not u.deleted and not u.is_bot)
        self.add_channel("general", members=everyone).is_general = True
        self.add_channel("handover", members=everyone)
        self.add_channel("random", bot_member=False, members=everyone)
        self.add_channel("security-private", private=True, bot_member=False, members=everyone[1:2])

    # -- lookups (for tests) --------------------------------------------------------------

    def user_by_name(self, name: str) -> User:
        """A user by id or handle (``dana.okafor``); LookupError names the known ones."""
        found = next((u for u in self.users.values() if name in (u.id, u.name)), None)
        if found is None:
            raise LookupError(
                f"no user {name!r}; known: {sorted(u.name for u in self.users.values())}"
            )
        return found

    def channel_by_name(self, name: str) -> Channel:
        found = next((c for c in self.channels.values() if c.name == name.lstrip("#")), None)
        if found is None:
            raise LookupError(
                f"no channel {name!r}; known: {sorted(c.name for c in self.channels.values())}"
            )
        return found

    def message(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    def message_by_ts(self, ts: str) -> Message | None:
        """A message by its ts alone (the emulator's ts are unique across channels)."""
        return next((m for m in self.messages if m.ts == ts), None)

    def posted(self, channel: str | None = None) -> list[Message]:
        """Messages as they stand now, oldest first (optionally in one channel id or name)."""
        with self.lock:
            if channel is None:
                return list(self.messages)
            chan = self.channels.get(channel) or self.channel_by_name(channel)
            return [m for m in self.messages if m.channel == chan.id]

    # -- authentication -------------------------------------------------------------------

    def authorize(self, method: str, token: str | None) -> Token | None:
        if method in NO_AUTH:
            return None
        if not token:
            raise SlackError("not_authed")
        tok = self.tokens.get(token)
        if tok is None:
            raise SlackError("invalid_auth")
        if tok.revoked:
            raise SlackError("token_revoked")
        if self.users[tok.user_id].deleted:
            raise SlackError("account_inactive")
        needed = SCOPES[method]
        if needed and needed not in tok.scopes:
            raise SlackError("missing_scope", needed=needed, provided=",".join(sorted(tok.scopes)))
        return tok

    # -- api.test / auth.test -------------------------------------------------------------

    def api_test(self, token: Token | None, params: dict[str, Any]) -> dict[str, Any]:
        args = {k: v for k, v in params.items() if k != "token"}
        if "error" in args:
            raise SlackError(str(args["error"]), args=args)
        return {"args": args} if args else {}

    def auth_test(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users[token.user_id]
        body = {
            "url": f"https://{self.domain}.slack.com/",
            "team": self.team_name,
            "user": user.name,
            "team_id": self.team_id,
            "user_id": user.id,
        }
        if user.bot_id:
            body["bot_id"] = user.bot_id
        return body | {"is_enterprise_install": False}

    # -- chat.* ---------------------------------------------------------------------------

    def chat_postMessage(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._postable_channel(token, params.get("channel"))
        text, blocks, attachments = message_content(params)
        if not text and not blocks and not attachments:
            raise SlackError("no_text")
        thread_ts = params.get("thread_ts") or None
        if thread_ts and self.message(chan.id, str(thread_ts)) is None:
            raise SlackError("thread_not_found")
        user = self.users[token.user_id]
        msg = Message(
            channel=chan.id,
            ts=self._next_ts(),
            user=user.id,
            team=self.team_id,
            text=text,
            blocks=normalise_blocks(blocks or [], self.new_id),
            attachments=attachments or [],
            bot_id=user.bot_id,
            app_id=user.app_id,
            thread_ts=str(thread_ts) if thread_ts else None,
            metadata=params.get("metadata") if isinstance(params.get("metadata"), dict) else None,
        )
        self.messages.append(msg)
        return {"channel": chan.id, "ts": msg.ts, "message": msg.to_api(user.bot_profile())}

    def chat_update(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._readable_channel(token, params.get("channel"), names=False)
        msg = self.message(chan.id, str(params.get("ts") or ""))
        if msg is None:
            raise SlackError("message_not_found")
        if msg.user != token.user_id:
            raise SlackError("cant_update_message")
        text, blocks, attachments = message_content(params)
        if not text and not blocks and not attachments and not msg.blocks:
            raise SlackError("no_text")
        msg.text = text
        # As on slack.com: leaving out blocks keeps the old ones; [] removes them.
        if blocks is not None:
            msg.blocks = normalise_blocks(blocks, self.new_id)
        if attachments is not None:
            msg.attachments = attachments
        msg.edited = {"user": token.user_id, "ts": self._next_ts()}
        msg.updates.append(_snapshot(msg, via="chat.update", ts=msg.edited["ts"]))
        api = msg.to_api(self.users[msg.user].bot_profile())
        api.pop("ts", None)  # chat.update's message carries no ts (see the recorded key set)
        return {"channel": chan.id, "ts": msg.ts, "text": msg.text, "message": api}

    def chat_postEphemeral(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._postable_channel(token, params.get("channel"))
        user = self.users.get(str(params.get("user") or ""))
        # Slack answers user_not_in_channel both for a stranger and for an unknown id.
        if user is None or user.deleted or user.id not in chan.members:
            raise SlackError("user_not_in_channel")
        text, blocks, attachments = message_content(params)
        if not text and not blocks and not attachments:
            raise SlackError("no_text")
        thread_ts = str(params.get("thread_ts") or "") or None
        note = Ephemeral(
            channel=chan.id,
            user=user.id,
            ts=self._next_ts(),
            text=text,
            blocks=normalise_blocks(blocks or [], self.new_id),
            thread_ts=thread_ts,
        )
        self.ephemeral.append(note)
        return {"message_ts": note.ts}

    def chat_getPermalink(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._readable_channel(token, params.get("channel"), names=False)
        ts = str(params.get("message_ts") or "")
        if self.message(chan.id, ts) is None:
            raise SlackError("message_not_found")
        link = f"https://{self.domain}.slack.com/archives/{chan.id}/p{ts.replace('.', '')}"
        return {"channel": chan.id, "permalink": link}

    # -- conversations.* ------------------------------------------------------------------

    def conversations_info(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._readable_channel(token, params.get("channel"), names=False)
        with_count = _truthy(params.get("include_num_members"))
        return {"channel": chan.to_api(token.user_id, num_members=with_count)}

    def conversations_join(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._readable_channel(token, params.get("channel"), names=False)
        if chan.is_private or chan.is_im:
            raise SlackError("method_not_supported_for_channel_type")
        if chan.is_archived:
            raise SlackError("is_archived")
        already = token.user_id in chan.members
        chan.members.add(token.user_id)
        body: dict[str, Any] = {"channel": chan.to_api(token.user_id)}
        if already:
            body |= {"warning": "already_in_channel"}
            body["response_metadata"] = {"warnings": ["already_in_channel"]}
        return body

    # -- users.* --------------------------------------------------------------------------

    def users_info(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        locale = _truthy(params.get("include_locale"))
        return {"user": user.to_api(with_email="users:read.email" in token.scopes, locale=locale)}

    def users_lookupByEmail(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email") or "").strip().lower()
        # Deactivated accounts are not found by email; users.info still shows them.
        user = next(
            (
                u
                for u in self.users.values()
                if u.email.lower() == email and email and not u.deleted
            ),
            None,
        )
        if user is None:
            raise SlackError("users_not_found")
        return {"user": user.to_api(with_email=True)}

    # -- usergroups.* ---------------------------------------------------------------------

    def usergroups_users_list(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(str(params.get("usergroup") or ""))
        if group is None or (group.disabled and not _truthy(params.get("include_disabled"))):
            raise SlackError("no_such_subteam")
        return {"users": list(group.users)}

    # -- response_url (what a click's response_url points at) -----------------------------

    def new_response_url(self, channel: str, ts: str, user: str) -> str:
        hook = f"{self.team_id}/{self._ids.randrange(10**12, 10**13)}/{secrets.token_urlsafe(18)}"
        self.hooks[hook] = {"channel": channel, "ts": ts, "user": user, "uses": 0}
        return f"{self.public_url}/actions/{hook}"

    def respond(self, hook: str, body: dict[str, Any]) -> None:
        """A POST to a response_url: replace or delete the source message, or reply."""
        target = self.hooks.get(hook)
        if target is None:
            raise SlackError("invalid_response_url", status=404)
        target["uses"] += 1
        self.hook_posts.append({"hook": hook, **body})
        msg = self.message(target["channel"], target["ts"])
        if msg is not None and _truthy(body.get("delete_original")):
            self.messages.remove(msg)
        elif msg is not None and _truthy(body.get("replace_original")):
            text, blocks, _ = message_content(body)
            msg.text, msg.blocks = text, normalise_blocks(blocks or [], self.new_id)
            msg.updates.append(_snapshot(msg, via="response_url", ts=self._next_ts()))

    # -- rules shared by the methods ------------------------------------------------------

    def _find_channel(self, ref: Any, *, names: bool) -> Channel | None:
        ref = str(ref or "").strip()
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users:  # posting to a user id opens (or reuses) the DM with them
            return self._im_with(ref)
        if names and ref:
            name = ref.lstrip("#")
            return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)
        return None

    def _readable_channel(self, token: Token, ref: Any, *, names: bool) -> Channel:
        chan = self._find_channel(ref, names=names)
        # A private channel the caller is not in does not exist for them.
        if chan is None or ((chan.is_private or chan.is_im) and token.user_id not in chan.members):
            raise SlackError("channel_not_found")
        return chan

    def _postable_channel(self, token: Token, ref: Any) -> Channel:
        chan = self._readable_channel(token, ref, names=True)
        if chan.is_archived:
            raise SlackError("is_archived")
        if token.user_id not in chan.members and "chat:write.public" not in token.scopes:
            raise SlackError("not_in_channel")
        return chan

    def _im_with(self, user_id: str) -> Channel:
        for chan in self.channels.values():
            if chan.is_im and chan.members == {self.bot.id, user_id}:
                return chan
        chan = Channel(
            id=self.new_id("D"),
            name=user_id,
            is_im=True,
            created=int(self.clock()),
            creator=self.bot.id,
            members={self.bot.id, user_id},
        )
        self.channels[chan.id] = chan
        return chan

    def _next_ts(self) -> str:
        # Message ts are unique per channel and sortable: never reuse a microsecond.
        now = max(self.clock(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"


def _snapshot(msg: Message, *, via: str, ts: str) -> dict[str, Any]:
    return {"ts": ts, "via": via, "text": msg.text, "blocks": [dict(b) for b in msg.blocks]}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


__all__ = [
    "SERVED",
    "ApiCall",
    "Channel",
    "Ephemeral",
    "Message",
    "SlackError",
    "Token",
    "User",
    "Usergroup",
    "View",
    "Workspace",
]
