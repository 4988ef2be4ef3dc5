"""Message content as slack.com checks it on chat.postMessage / chat.update (text length,
the blocks and attachments arrays, Block Kit limits), and blocks as Slack stores them.

Slack rejects a message whose blocks break a limit with ``invalid_blocks`` and one message per
problem, ``"<rule> [json-pointer:/blocks/N/...]"`` (the form seen in real error responses).
The limits are Slack's documented ones (50 blocks, header 150, section text 3000, 10 fields
of 2000, 10 context elements, 25 actions elements, button text 75, value 2000, url 3000,
block_id and action_id 255; in modals 100 blocks, input labels 2000). Only the block types
handover sends are checked in depth; any other known type is accepted as is.

On storing, Slack fills in what the sender left out: a ``block_id`` on every block, an
``action_id`` on every button, ``emoji`` on plain_text and ``verbatim`` on mrkdwn. The echo in
the response (and in a click's payload) shows those, so the emulator does too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from .exceptions import SlackError

MAX_BLOCKS = 50
MAX_TEXT = 40_000  # chat.postMessage: longer text is msg_too_long
MAX_ATTACHMENTS = 100
KNOWN_TYPES = {
    "actions", "context", "divider", "file", "header", "image", "input", "markdown",
    "rich_text", "section", "video",
}  # fmt: skip


def _too_long(limit: int, pointer: str) -> str:
    return f"must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _too_many(limit: int, pointer: str) -> str:
    return f"no more than {limit} items allowed [json-pointer:{pointer}]"


def _text_object(obj: Any, pointer: str, limit: int, *, plain_only: bool = False) -> list[str]:
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"must be a text object of type {' or '.join(allowed)} [json-pointer:{pointer}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{pointer}/text]"]
    return [_too_long(limit, f"{pointer}/text")] if len(text) > limit else []


def _element(el: Any, pointer: str) -> list[str]:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        return [f"must be an element object [json-pointer:{pointer}]"]
    errors: list[str] = []
    if len(str(el.get("action_id", ""))) > 255:
        errors.append(_too_long(255, f"{pointer}/action_id"))
    if el["type"] == "button":
        errors += _text_object(el.get("text"), f"{pointer}/text", 75, plain_only=True)
        if len(str(el.get("value", ""))) > 2000:
            errors.append(_too_long(2000, f"{pointer}/value"))
        if len(str(el.get("url", ""))) > 3000:
            errors.append(_too_long(3000, f"{pointer}/url"))
        if el.get("style") not in (None, "primary", "danger"):
            errors.append(f"must be one of [primary, danger] [json-pointer:{pointer}/style]")
    return errors


def _block(block: dict[str, Any], p: str) -> list[str]:
    kind = block["type"]
    errors: list[str] = []
    if kind == "header":
        errors += _text_object(block.get("text"), f"{p}/text", 150, plain_only=True)
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append(f"must provide either text or fields [json-pointer:{p}]")
        if "text" in block:
            errors += _text_object(block["text"], f"{p}/text", 3000)
        fields = block.get("fields", [])
        if len(fields) > 10:
            errors.append(_too_many(10, f"{p}/fields"))
        for i, f in enumerate(fields):
            errors += _text_object(f, f"{p}/fields/{i}", 2000)
        if "accessory" in block:
            errors += _element(block["accessory"], f"{p}/accessory")
    elif kind in ("context", "actions"):
        limit = 10 if kind == "context" else 25
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"must provide at least 1 item [json-pointer:{p}/elements]")
            elements = []
        if len(elements) > limit:
            errors.append(_too_many(limit, f"{p}/elements"))
        for i, el in enumerate(elements):
            ep = f"{p}/elements/{i}"
            if (
                kind == "context"
                and isinstance(el, dict)
                and el.get("type") in ("plain_text", "mrkdwn")
            ):
                errors += _text_object(el, ep, 3000)
            elif kind == "actions" or (isinstance(el, dict) and el.get("type") != "image"):
                errors += _element(el, ep)
    elif kind == "input":
        errors += _text_object(block.get("label"), f"{p}/label", 2000, plain_only=True)
        element = block.get("element")
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            errors.append(f"must provide an element object [json-pointer:{p}/element]")
        elif element["type"] == "plain_text_input":
            if len(str(element.get("action_id", ""))) > 255:
                errors.append(_too_long(255, f"{p}/element/action_id"))
            if int(element.get("max_length") or 0) > 3000:
                errors.append(f"must be at most 3000 [json-pointer:{p}/element/max_length]")
    return errors


def block_kit_errors(
    blocks: list[Any], *, max_blocks: int = MAX_BLOCKS, pointer: str = "/blocks"
) -> list[str]:
    """Every rule the blocks break, in Slack's wording; [] when Slack would accept them.
    Messages take 50 blocks; modals take 100 (``max_blocks``) under ``/view/blocks``."""
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(_too_many(max_blocks, pointer))
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        p = f"{pointer}/{i}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_TYPES:
            errors.append(
                f"unsupported type: {(block or {}).get('type') if isinstance(block, dict) else block!r} [json-pointer:{p}/type]"
            )
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                errors.append(_too_long(255, f"{p}/block_id"))
            if block_id in seen:
                errors.append(f"duplicate block_id [json-pointer:{p}/block_id]")
            seen.add(str(block_id))
        errors += _block(block, p)
    return errors


def normalise_blocks(blocks: list[Any], new_id: Callable[[str], str]) -> list[dict[str, Any]]:
    """The blocks as Slack stores and echoes them (ids filled in, text flags explicit)."""
    out: list[dict[str, Any]] = copy.deepcopy(blocks)
    taken = {b["block_id"] for b in out if "block_id" in b}
    for block in out:
        if "block_id" not in block:
            block_id = new_id("")[:5]
            while block_id in taken:
                block_id = new_id("")[:5]
            taken.add(block_id)
            block["block_id"] = block_id
        _fill(block, new_id)
    return out


def _fill(node: Any, new_id: Callable[[str], str]) -> None:
    if isinstance(node, list):
        for item in node:
            _fill(item, new_id)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "plain_text":
        node.setdefault("emoji", True)
    elif kind == "mrkdwn":
        node.setdefault("verbatim", False)
    elif kind == "button":
        node.setdefault("action_id", new_id("")[:5])
    for key, value in node.items():
        if key != "type":
            _fill(value, new_id)


def _json_list(value: Any, error: str) -> list[Any] | None:
    """Blocks and attachments arrive as JSON arrays, or as strings holding one (form posts)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackError(error) from None
    if not isinstance(value, list):
        raise SlackError(error)
    return value


def message_content(params: dict[str, Any]) -> tuple[str, list[Any] | None, list[Any] | None]:
    """(text, blocks, attachments) of a chat.* call, checked as Slack checks them; blocks
    and attachments are None when left out (chat.update then keeps the old ones)."""
    text = str(params.get("text") or "")
    if len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    blocks = _json_list(params.get("blocks"), "invalid_blocks_format")
    if blocks is not None:
        errors = block_kit_errors(blocks)
        if errors:
            messages = [f"[ERROR] {e}" for e in errors]
            raise SlackError(
                "invalid_blocks", errors=errors, response_metadata={"messages": messages}
            )
    attachments = _json_list(params.get("attachments"), "invalid_attachments")
    if attachments is not None and len(attachments) > MAX_ATTACHMENTS:
        raise SlackError("too_many_attachments")
    return text, blocks, attachments
