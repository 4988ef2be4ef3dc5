"""What the Slack emulator tests share: an approval message and a running workspace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from emulators.slack import RunningSlack, Workspace, start_in_thread

APPROVAL_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*etl-bot* wants a new identity"}},
    {
        "type": "actions",
        "block_id": "approval",
        "elements": [
            {"type": "button", "action_id": "approve", "style": "primary", "value": "gate-1",
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "reject", "style": "danger", "value": "gate-1",
             "text": {"type": "plain_text", "text": "Reject"}},
        ],
    },
]  # fmt: skip


@pytest.fixture
def slack() -> Iterator[RunningSlack]:
    running = start_in_thread(Workspace(seed=7))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(slack: RunningSlack) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.base_url)
