"""Text for Slack: org data made safe for mrkdwn and clipped to Block Kit's limits (the
helpers live with the Block Kit checker), and times shown in each reader's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from handover.blockkit import clip, link_target, mrkdwn

__all__ = ["clip", "link_target", "mention", "mrkdwn", "when"]


def when(moment: datetime | None) -> str:
    """A time as Slack shows it to each reader in their zone, with a UTC fallback for
    clients that cannot (``<!date^epoch^{date_short_pretty} {time}|2026-11-02 14:05 UTC>``)."""
    if moment is None:
        return "an unknown time"
    utc = moment.astimezone(UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def mention(user_id: str) -> str:
    return f"<@{user_id}>"
