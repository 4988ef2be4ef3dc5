"""Slack Block Kit, checked in one place: the limits Slack enforces on what handover's
templates can produce (messages and modals), and the text helpers every Slack template uses.

Every template rendered for Slack goes through ``block_kit_problems`` (messages) or
``view_problems`` (modals); a problem is a template bug, so renderers raise on any.
Limits: https://docs.slack.dev/reference/block-kit/blocks. A message that breaks one is
refused by Slack as a whole.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS, MAX_VIEW_BLOCKS = 50, 100
MAX_HEADER, MAX_SECTION_TEXT, MAX_FIELD, MAX_FIELDS = 150, 3000, 2000, 10
MAX_CONTEXT, MAX_ACTIONS = 10, 25
MAX_BUTTON_TEXT, MAX_BUTTON_VALUE, MAX_ID = 75, 2000, 255
MAX_CONFIRM_TITLE, MAX_CONFIRM_TEXT, MAX_CONFIRM_BUTTON = 100, 300, 30
MAX_VIEW_TITLE, MAX_PRIVATE_METADATA, MAX_INPUT_LABEL, MAX_INPUT_LENGTH = 24, 3000, 2000, 3000


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


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else ""


def _button(i: int, j: int, el: dict[str, Any]) -> list[str]:
    where = f"block {i} element {j}"
    problems = []
    text = el.get("text") or {}
    if text.get("type") != "plain_text" or not 0 < len(_text(text)) <= MAX_BUTTON_TEXT:
        problems.append(f"{where}: button text must be plain_text of 1 to {MAX_BUTTON_TEXT}")
    if len(str(el.get("value", ""))) > MAX_BUTTON_VALUE:
        problems.append(f"{where}: button value over {MAX_BUTTON_VALUE} characters")
    if el.get("style") not in (None, "primary", "danger"):
        problems.append(f"{where}: button style must be primary or danger")
    confirm = el.get("confirm")
    if confirm is not None:
        limits = {
            "title": MAX_CONFIRM_TITLE,
            "text": MAX_CONFIRM_TEXT,
            "confirm": MAX_CONFIRM_BUTTON,
            "deny": MAX_CONFIRM_BUTTON,
        }
        for key, limit in limits.items():
            if not 0 < len(_text(confirm.get(key))) <= limit:
                problems.append(f"{where}: confirm {key} must be 1 to {limit} characters")
    return problems


def _block(i: int, block: dict[str, Any]) -> list[str]:
    kind, problems = block.get("type"), []
    size = len(_text(block.get("text")))
    if len(str(block.get("block_id", ""))) > MAX_ID:
        problems.append(f"block {i}: block_id over {MAX_ID} characters")
    if kind == "header" and (
        (block.get("text") or {}).get("type") != "plain_text" or size > MAX_HEADER
    ):
        problems.append(f"block {i}: header must be plain_text of at most {MAX_HEADER} characters")
    if kind == "section":
        if size > MAX_SECTION_TEXT:
            problems.append(f"block {i}: section text of {size} characters, max {MAX_SECTION_TEXT}")
        fields = block.get("fields", [])
        if len(fields) > MAX_FIELDS:
            problems.append(f"block {i}: {len(fields)} section fields, max {MAX_FIELDS}")
        if any(len(_text(f)) > MAX_FIELD for f in fields):
            problems.append(f"block {i}: a section field over {MAX_FIELD} characters")
        if "text" not in block and not fields:
            problems.append(f"block {i}: a section needs text or fields")
    if kind == "context" and not 0 < len(block.get("elements", [])) <= MAX_CONTEXT:
        problems.append(f"block {i}: context needs 1 to {MAX_CONTEXT} elements")
    if kind == "context" and any(
        len(_text(e)) > MAX_SECTION_TEXT for e in block.get("elements", [])
    ):
        problems.append(f"block {i}: a context element over {MAX_SECTION_TEXT} characters")
    if kind == "actions":
        elements = block.get("elements", [])
        if not 0 < len(elements) <= MAX_ACTIONS:
            problems.append(f"block {i}: actions need 1 to {MAX_ACTIONS} elements")
        ids = [e.get("action_id") for e in elements]
        if len(set(ids)) != len(ids):
            problems.append(f"block {i}: action_ids must be unique within the block")
        if sum(1 for e in elements if e.get("style") == "primary") > 1:
            problems.append(f"block {i}: at most one primary button")
        for j, el in enumerate(elements):
            if len(str(el.get("action_id", ""))) > MAX_ID:
                problems.append(f"block {i} element {j}: action_id over {MAX_ID} characters")
            if el.get("type") == "button":
                problems += _button(i, j, el)
    if kind == "input":
        label = block.get("label") or {}
        if label.get("type") != "plain_text" or not 0 < len(_text(label)) <= MAX_INPUT_LABEL:
            problems.append(f"block {i}: input label must be plain_text of 1 to {MAX_INPUT_LABEL}")
        element = block.get("element") or {}
        if int(element.get("max_length") or 0) > MAX_INPUT_LENGTH:
            problems.append(f"block {i}: input max_length over {MAX_INPUT_LENGTH}")
    return problems


def _blocks(blocks: list[dict[str, Any]], limit: int) -> list[str]:
    problems = []
    if len(blocks) > limit:
        problems.append(f"{len(blocks)} blocks, Slack takes {limit}")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(set(ids)) != len(ids):
        problems.append("block_ids must be unique")
    for i, block in enumerate(blocks):
        problems += _block(i, block)
    return problems


def block_kit_problems(blocks: list[dict[str, Any]], *, text: str | None = None) -> list[str]:
    """What Slack would refuse in a message (the limits handover's templates can reach)."""
    problems = [] if text and text.strip() else ["no fallback text"]
    return problems + _blocks(blocks, MAX_BLOCKS)


def view_problems(view: dict[str, Any]) -> list[str]:
    """What Slack would refuse in a modal (views.open / views.update)."""
    problems = [] if view.get("type") == "modal" else ["a view's type must be modal"]
    for key in ("title", "submit", "close"):
        if key in view or key == "title":
            obj = view.get(key) or {}
            if obj.get("type") != "plain_text" or not 0 < len(_text(obj)) <= MAX_VIEW_TITLE:
                problems.append(f"{key} must be plain_text of 1 to {MAX_VIEW_TITLE} characters")
    blocks = view.get("blocks", [])
    if any(b.get("type") == "input" for b in blocks) and "submit" not in view:
        problems.append("a modal with inputs needs a submit button")
    if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA:
        problems.append(f"private_metadata over {MAX_PRIVATE_METADATA} characters")
    if len(str(view.get("callback_id", ""))) > MAX_ID:
        problems.append(f"callback_id over {MAX_ID} characters")
    return problems + _blocks(blocks, MAX_VIEW_BLOCKS)
