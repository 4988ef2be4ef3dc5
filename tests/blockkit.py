"""The one test of "Slack would take this message": handover's own Block Kit check, and
slack_sdk's Block Kit models, an independent reading of the same limits."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from handover.blockkit import block_kit_problems


def assert_slack_accepts(blocks: list[dict[str, Any]], text: str) -> None:
    assert block_kit_problems(blocks, text=text) == []
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, f"slack_sdk does not know block {raw}"
        block.validate_json()  # slack_sdk's own limits (header 150, section 3000, fields 10, ...)
