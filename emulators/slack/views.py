"""Modals: views.open (exchanging a click's trigger_id) and views.update, as slack.com rules them.

A trigger_id comes with each click (``clicks.py`` issues it), works for one views.open, and
only within 3 seconds: a second use is ``exchanged_trigger_id``, a late one
``expired_trigger_id``, an unknown one ``invalid_trigger_id`` (the codes of the views.open
reference). A view that breaks Block Kit's modal limits is ``invalid_arguments`` with one
``response_metadata.messages`` entry per problem, as on slack.com. views.update finds the
view by ``view_id`` or ``external_id`` (``not_found`` otherwise) and refuses a stale ``hash``
with ``hash_conflict``.

``ViewsApi`` is a mixin of ``Workspace``: it shares its lock, clock, ids and users.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from .blocks import _text_object, block_kit_errors, normalise_blocks
from .entities import Token, Trigger, User, View
from .exceptions import SlackError

TRIGGER_LIFETIME = 3.0  # seconds
MAX_VIEW_BLOCKS = 100
MAX_TITLE = 24  # title, submit and close texts
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255


class ViewsApi:
    # What the mixin uses of its host, the Workspace.
    clock: Callable[[], float]
    team_id: str
    app_id: str
    users: dict[str, User]
    triggers: dict[str, Trigger]
    views: dict[str, View]
    new_id: Callable[[str], str]

    def new_trigger(self, user_id: str) -> str:
        """A trigger_id for an interaction by ``user_id`` (``N.N.hex``, as Slack's look)."""
        now = self.clock()
        trigger_id = f"{int(now)}{secrets.randbelow(10**6):06d}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = Trigger(id=trigger_id, user_id=user_id, issued_at=now)
        return trigger_id

    def view_by_trigger(self, trigger_id: str) -> View | None:
        return next((v for v in self.views.values() if v.trigger_id == trigger_id), None)

    def views_open(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        body = _view_argument(params.get("view"))
        trigger = self.triggers.get(str(params.get("trigger_id") or ""))
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self.clock() - trigger.issued_at > TRIGGER_LIFETIME:
            raise SlackError("expired_trigger_id")
        _check_view(body)
        trigger.used = True
        bot = self.users[token.user_id]
        view = View(
            id=self.new_id("V"),
            team_id=self.team_id,
            app_id=self.app_id,
            bot_id=bot.bot_id or "",
            user_id=trigger.user_id,
            trigger_id=trigger.id,
            body=body | {"blocks": normalise_blocks(body.get("blocks", []), self.new_id)},
            hash=self._view_hash(),
        )
        self.views[view.id] = view
        return {"view": view.to_api()}

    def views_update(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        body = _view_argument(params.get("view"))
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if view_id:
            view = self.views.get(str(view_id))
        else:
            view = next(
                (
                    v
                    for v in self.views.values()
                    if external_id and v.body.get("external_id") == external_id
                ),
                None,
            )
        if view is None:
            raise SlackError("not_found")
        if params.get("hash") and params["hash"] != view.hash:
            raise SlackError("hash_conflict")
        _check_view(body)
        view.body = body | {"blocks": normalise_blocks(body.get("blocks", []), self.new_id)}
        view.hash = self._view_hash()
        view.updates.append({"hash": view.hash, "view": dict(view.body)})
        return {"view": view.to_api()}

    def _view_hash(self) -> str:
        return f"{int(self.clock())}.{secrets.token_hex(4)}"


def _view_argument(value: Any) -> dict[str, Any]:
    """The ``view`` argument: an object (JSON bodies) or a string holding one (form posts)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] missing required field: view"]},
        )
    return value


def _check_view(view: dict[str, Any]) -> None:
    errors: list[str] = []
    if view.get("type") != "modal":
        errors.append("must be one of [modal, home] [json-pointer:/view/type]")
    for key in ("title", "submit", "close"):
        if key in view or key == "title":
            errors += _text_object(view.get(key), f"/view/{key}", MAX_TITLE, plain_only=True)
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        errors.append("must provide an array [json-pointer:/view/blocks]")
        blocks = []
    errors += block_kit_errors(blocks, max_blocks=MAX_VIEW_BLOCKS, pointer="/view/blocks")
    if (
        any(b.get("type") == "input" for b in blocks if isinstance(b, dict))
        and "submit" not in view
    ):
        errors.append(
            "must provide submit when the view has input blocks [json-pointer:/view/submit]"
        )
    if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA:
        errors.append(
            f"must be less than {MAX_PRIVATE_METADATA + 1} characters [json-pointer:/view/private_metadata]"
        )
    if len(str(view.get("callback_id", ""))) > MAX_CALLBACK_ID:
        errors.append(
            f"must be less than {MAX_CALLBACK_ID + 1} characters [json-pointer:/view/callback_id]"
        )
    if errors:
        raise SlackError(
            "invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
        )
