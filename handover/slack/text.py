"""Text for Slack: org data made safe for mrkdwn, clipped to Block Kit's limits, and times
shown in each reader's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def mrkdwn(value: Any) -> str:
    """Slack's three control characters escaped; anything else in org data shown as typed."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_target(url: Any) -> str:
    return mrkdwn(url).replace("|", "%7C")


def clip(value: Any, limit: int) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


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
