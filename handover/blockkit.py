"""Slack Block Kit, checked in one place: the limits Slack enforces on what handover's
templates can produce, and the text helpers every Slack template uses.

Limits: https://docs.slack.dev/reference/block-kit/blocks (50 blocks a message, header
150 characters of plain_text, section text 3,000, a section field 2,000, 1 to 10
context elements). A message that breaks one is refused by Slack as a whole.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS, MAX_HEADER, MAX_SECTION_TEXT, MAX_FIELD, MAX_CONTEXT = 50, 150, 3000, 2000, 10


def mrkdwn(value: Any) -> str:
    """Org data shown as mrkdwn: Slack's three control characters escaped, anything else
    shown as typed."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_target(url: Any) -> str:
    """A URL inside ``<url|label>``: escaped, and its "|" (which would end it) encoded."""
    return mrkdwn(url).replace("|", "%7C")


def clip(value: Any, limit: int) -> str:
    """``value`` cut to ``limit`` characters, with an ellipsis when cut."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def block_kit_problems(blocks: list[dict[str, Any]], *, text: str | None = None) -> list[str]:
    """What Slack would refuse in a message (the limits handover's templates can reach)."""
    problems = [] if text and text.strip() else ["no fallback text"]
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks, Slack takes {MAX_BLOCKS}")
    for i, block in enumerate(blocks):
        kind, body = block.get("type"), block.get("text") or {}
        size = len(body.get("text", ""))
        if kind == "header" and (body.get("type") != "plain_text" or size > MAX_HEADER):
            problems.append(
                f"block {i}: header must be plain_text of at most {MAX_HEADER} characters"
            )
        if kind == "section" and size > MAX_SECTION_TEXT:
            problems.append(f"block {i}: section text of {size} characters, max {MAX_SECTION_TEXT}")
        if kind == "section" and any(
            len(f.get("text", "")) > MAX_FIELD for f in block.get("fields", [])
        ):
            problems.append(f"block {i}: a section field over {MAX_FIELD} characters")
        if kind == "context" and not 0 < len(block.get("elements", [])) <= MAX_CONTEXT:
            problems.append(f"block {i}: context needs 1 to {MAX_CONTEXT} elements")
    return problems
