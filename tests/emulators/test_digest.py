"""post_digest against the Slack emulator: it posts, skips, or fails quietly, never raises."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from pydantic import SecretStr

from emulators.slack import RunningSlack, Workspace, start_in_thread
from handover.models import Evidence, Finding
from handover.settings import SlackSettings
from handover.slack import build_client, post_digest
from handover.slack.digest import MAX_FINDINGS, SKIPPED_NOT_CONFIGURED, SKIPPED_NOTHING_NEW

RUN_URL = "http://127.0.0.1:4200/runs/flow-run/0b0e5a54-0000-4000-8000-000000000001"


@pytest.fixture
def slack() -> Iterator[RunningSlack]:
    running = start_in_thread(Workspace(seed=11))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def settings(slack: RunningSlack) -> SlackSettings:
    return SlackSettings(
        token=SecretStr(slack.bot_token), channel="#handover", base_url=slack.base_url
    )


def finding(i: int = 0, **overrides: Any) -> Finding:
    fields: dict[str, Any] = {
        "finding_id": f"f-{i:012x}",
        "org_id": "00D5g000004abcdEAA",
        "user_id": f"0055g00000{i:05d}AAA",
        "username": f"sales.ops{i}@loomis.example",
        "app_name": "MuleSoft NetSuite Sync",
        "app_key": "app:0H45g000000001AAA",
        "verdict": "integration_under_human",
        "score": 0.9 - i / 1000,
        "evidence": [
            Evidence(key="calls_per_day", label="API calls a day", value=4200, weight=0.3)
        ],
        "reasons": ["Calls every 15 minutes, around the clock"],
        "window_start": date(2024, 5, 1),
        "window_end": date(2024, 5, 30),
        "total_calls": 126_000,
        "is_new": True,
    }
    return Finding(**(fields | overrides))


def _post(settings: SlackSettings, findings: list[Finding], **kwargs: Any) -> Any:
    return post_digest(settings, findings, org_name="Loomis Logistics", run_url=RUN_URL, **kwargs)


def test_posts_the_new_findings(slack: RunningSlack, settings: SlackSettings) -> None:
    result = _post(
        settings, [finding(0), finding(1, is_new=False), finding(2, verdict="human_interactive")]
    )
    assert result.status == "posted" and result.ok and result.error is None
    assert (result.shown, result.omitted) == (1, 0)
    channel = slack.state.channel_by_name("handover")
    assert result.channel == channel.id and str(result) == f"posted 1 new finding to {channel.id}"
    message = slack.state.posted("handover")[-1]
    assert message.ts == result.ts and message.user == slack.state.bot.id
    assert message.text.startswith("handover found 1 new integration")  # the fallback is set
    shown = str(message.blocks)
    assert "sales.ops0@loomis.example" in shown and "MuleSoft NetSuite Sync" in shown
    assert "Integration running under a human account" in shown
    assert "sales.ops1@" not in shown and "sales.ops2@" not in shown
    assert slack.bot_token not in str(message.blocks) + message.text


def test_sixty_findings_fit_one_message(slack: RunningSlack, settings: SlackSettings) -> None:
    result = _post(settings, [finding(i) for i in range(60)])
    assert result.status == "posted" and (result.shown, result.omitted) == (
        MAX_FINDINGS,
        60 - MAX_FINDINGS,
    )
    assert "(+40 more in the report)" in result.detail
    message = slack.state.posted("handover")[-1]  # the emulator enforces Block Kit limits too
    assert len(message.blocks) <= 50 and "+40 more in the" in str(message.blocks[-3])


def test_skipped_when_slack_is_not_configured(slack: RunningSlack) -> None:
    for unconfigured in (
        SlackSettings(),
        SlackSettings(channel="#handover"),
        SlackSettings(token=SecretStr("xoxb-1")),
    ):
        result = _post(unconfigured, [finding()])
        assert (result.status, result.detail, result.ok) == (
            "skipped",
            SKIPPED_NOT_CONFIGURED,
            True,
        )
    assert slack.state.calls == []


def test_skipped_when_nothing_is_new(slack: RunningSlack, settings: SlackSettings) -> None:
    result = _post(settings, [finding(is_new=False)])
    assert (result.status, result.detail) == ("skipped", SKIPPED_NOTHING_NEW)
    assert slack.state.posted() == []
    quiet = _post(settings, [], post_when_empty=True)
    assert (
        quiet.status == "posted"
        and "no new integrations" in slack.state.posted("handover")[-1].text
    )


def test_slack_errors_come_back_as_a_failed_result(
    slack: RunningSlack, settings: SlackSettings
) -> None:
    wrong_channel = settings.model_copy(update={"channel": "#does-not-exist"})
    result = _post(wrong_channel, [finding()])
    assert (result.status, result.error, result.ok) == ("failed", "channel_not_found", False)
    assert result.detail.startswith("failed: channel_not_found (check HANDOVER_SLACK__CHANNEL")
    not_member = _post(settings.model_copy(update={"channel": "#random"}), [finding()])
    assert not_member.error == "not_in_channel" and "/invite" in not_member.detail
    bad_token = _post(
        settings.model_copy(update={"token": SecretStr("xoxb-0-0-wrong")}), [finding()]
    )
    assert bad_token.error == "invalid_auth"
    slack.state.faults.error("chat.postMessage", "fatal_error")
    assert _post(settings, [finding()]).error == "fatal_error"
    slack.state.faults.clear()
    slack.state.faults.http_status("*", 503)
    down = _post(settings, [finding()])
    assert (down.status, down.error) == ("failed", "http_503")
    assert slack.bot_token not in repr(down) + str(down)


def test_a_rate_limit_is_waited_out(slack: RunningSlack, settings: SlackSettings) -> None:
    slack.state.faults.rate_limit("chat.postMessage", times=1, retry_after=1)
    result = _post(settings, [finding()])
    assert result.status == "posted"
    assert [c.status for c in slack.state.calls] == [429, 200]


def test_slack_down_is_a_failed_result(slack: RunningSlack, settings: SlackSettings) -> None:
    slack.stop()
    result = _post(settings, [finding()])
    assert (result.status, result.error) == ("failed", "connection_error")
    assert "HANDOVER_SLACK__BASE_URL" in result.detail


def test_an_injected_client_is_used(slack: RunningSlack, settings: SlackSettings) -> None:
    client = build_client(settings)
    assert _post(settings, [finding()], client=client).status == "posted"
    assert client.base_url == slack.base_url
