"""The Slack Web API calls the gates and the approval service make, typed and translated.

Built over an injected slack_sdk ``WebClient`` (``client.build_client``: slack.com or the
emulator); every call goes through ``translate.translated`` so callers see handover errors
that say what to do, never slack_sdk's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from .translate import translated


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str
    email: str | None  # None when the token lacks users:read.email or the user has none
    deleted: bool
    is_bot: bool


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


class SlackGateway:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(
        self, channel: str, *, text: str, blocks: list[dict[str, Any]], thread_ts: str | None = None
    ) -> Posted:
        with translated(f"posting to Slack channel {channel}"):
            resp = self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
        return Posted(channel=str(resp["channel"]), ts=str(resp["ts"]))

    def update(self, posted: Posted, *, text: str, blocks: list[dict[str, Any]]) -> None:
        with translated(f"updating Slack message {posted.ts} in {posted.channel}"):
            self.client.chat_update(channel=posted.channel, ts=posted.ts, text=text, blocks=blocks)

    def post_ephemeral(
        self, channel: str, user: str, *, text: str, thread_ts: str | None = None
    ) -> None:
        with translated(f"replying to {user} in Slack channel {channel}"):
            self.client.chat_postEphemeral(
                channel=channel, user=user, text=text, thread_ts=thread_ts
            )

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        with translated("opening a Slack dialog"):
            resp = self.client.views_open(trigger_id=trigger_id, view=view)
        return str(resp["view"]["id"])

    def user(self, user_id: str) -> SlackUser:
        with translated(f"reading Slack user {user_id}"):
            found = self.client.users_info(user=user_id)["user"]
        profile = found.get("profile") or {}
        return SlackUser(
            id=str(found["id"]),
            name=str(found.get("real_name") or found.get("name") or found["id"]),
            email=str(profile["email"]).strip().lower() if profile.get("email") else None,
            deleted=bool(found.get("deleted")),
            is_bot=bool(found.get("is_bot")) or found.get("id") == "USLACKBOT",
        )

    def group_members(self, group_id: str) -> list[str]:
        with translated(f"reading the members of Slack user group {group_id}"):
            return [str(u) for u in self.client.usergroups_users_list(usergroup=group_id)["users"]]
