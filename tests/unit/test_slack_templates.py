"""The Slack digest template, rendered with fixture findings and held to Block Kit's limits.

Every block must also parse with slack_sdk's Block Kit models and pass their own validation,
an independent reading of the same limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from handover.blockkit import block_kit_problems
from handover.models import Evidence, Finding
from handover.slack.digest import MAX_FINDINGS, RenderedMessage, digest_findings, render_digest
from tests.blockkit import assert_slack_accepts

RUN_URL = "http://127.0.0.1:4200/runs/flow-run/7061181e-0000-4000-8000-000000000001"
SECRET = "xoxb-111-222-NOT-FOR-SLACK"

MakeFinding = Callable[..., Finding]


@pytest.fixture
def make_finding() -> MakeFinding:
    counter = iter(range(10_000))

    def make(**overrides: Any) -> Finding:
        i = next(counter)
        fields: dict[str, Any] = {
            "finding_id": f"f-{i:012x}",
            "org_id": "00D5g000004abcdEAA",
            "user_id": f"0055g00000{i:05d}AAA",
            "username": f"sales.ops{i}@loomis.example",
            "app_name": "MuleSoft NetSuite Sync",
            "app_key": f"app:0H45g00000{i:05d}AAA",
            "connected_app_id": f"0H45g00000{i:05d}AAA",
            "verdict": "integration_under_human",
            "score": 0.91 - i / 1000,
            "evidence": [
                Evidence(key="calls_per_day", label="API calls a day", value=4200, weight=0.3),
                # A value that must never reach Slack: the digest shows reasons, not raw evidence.
                Evidence(key="note", label="Note", value=SECRET, weight=0.0),
            ],
            "reasons": [
                "Calls every 15 minutes, around the clock, weekends included",
                "98% of calls come from 2 server IPs",
                "No browser login in 41 days while API traffic continues",
            ],
            "license": "Salesforce",
            "profile": "System Administrator",
            "window_start": date(2024, 5, 1),
            "window_end": date(2024, 5, 30),
            "total_calls": 126_000 + i,
            "is_new": True,
        }
        return Finding(**(fields | overrides))

    return make


def _assert_slack_accepts(message: RenderedMessage) -> None:
    assert_slack_accepts(message.blocks, message.text)  # fallback text set, limits held
    assert SECRET not in json.dumps(message.model_dump())


def _all_text(message: RenderedMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def test_no_findings_renders_a_quiet_digest() -> None:
    message = render_digest([], org_name="Loomis Logistics", run_url=None)
    _assert_slack_accepts(message)
    assert message.blocks[0]["text"]["text"].startswith("No new integrations")
    assert "no new integrations" in message.text
    assert "Prefect" not in _all_text(message)  # nothing to link without a run


def test_one_finding_shows_who_what_and_why(make_finding: MakeFinding) -> None:
    finding = make_finding()
    message = render_digest([finding], org_name="Loomis Logistics", run_url=RUN_URL)
    _assert_slack_accepts(message)
    text = _all_text(message)
    for shown in (finding.username, finding.app_name, "Integration running under a human account"):
        assert shown in text
    assert finding.finding_id in text and "126,000 API calls" in text
    assert "No browser login in 41 days" in text
    assert f"<{RUN_URL}|Open the Prefect run>" in text
    assert "1 new integration running" in message.text
    assert "more in the" not in text


def test_sixty_findings_show_the_top_ones_and_count_the_rest(make_finding: MakeFinding) -> None:
    findings = digest_findings([make_finding() for _ in range(60)])
    message = render_digest(findings, org_name="Loomis Logistics", run_url=RUN_URL)
    _assert_slack_accepts(message)
    sections = [b for b in message.blocks if b["type"] == "section"][1:]  # after the intro
    assert len(sections) == MAX_FINDINGS
    assert findings[0].username in sections[0]["text"]["text"]  # best first
    overflow = f"+{60 - MAX_FINDINGS} more in the <{RUN_URL}|Prefect report>"
    assert overflow in _all_text(message)
    assert "60 new integrations" in message.text


def test_overflow_without_a_run_url_names_the_report_plainly(make_finding: MakeFinding) -> None:
    findings = [make_finding() for _ in range(MAX_FINDINGS + 3)]
    message = render_digest(findings, org_name="Loomis", run_url=None)
    _assert_slack_accepts(message)
    assert "+3 more in the Prefect report" in _all_text(message)


def test_org_data_is_escaped_for_mrkdwn(make_finding: MakeFinding) -> None:
    finding = make_finding(app_name="Sync <!channel> & Co", username="a>b@loomis.example")
    message = render_digest([finding], org_name="R&D <Sandbox>", run_url=RUN_URL + "?a=1&b=2")
    _assert_slack_accepts(message)
    text = _all_text(message)
    assert "Sync &lt;!channel&gt; &amp; Co" in text and "a&gt;b@loomis.example" in text
    assert "<!channel>" not in text  # no accidental @channel ping from org data
    assert "?a=1&amp;b=2|Open the Prefect run>" in text
    # plain_text headers are shown literally, so they are not escaped
    assert message.blocks[0]["text"]["text"].endswith("R&D <Sandbox>")


def test_long_values_are_clipped_to_block_kit_limits(make_finding: MakeFinding) -> None:
    long_reason = "x" * 5000
    finding = make_finding(reasons=[long_reason] * 3, app_name="A" * 2500, username="u" * 900)
    message = render_digest([finding], org_name="O" * 400, run_url=RUN_URL)
    _assert_slack_accepts(message)
    assert message.blocks[0]["text"]["text"].endswith("…")


def test_digest_findings_keeps_only_new_integrations_under_humans(
    make_finding: MakeFinding,
) -> None:
    keep_low = make_finding(score=0.61)
    keep_high = make_finding(score=0.97)
    dropped = [
        make_finding(is_new=False),
        make_finding(verdict="dedicated_integration"),
        make_finding(verdict="human_interactive"),
        make_finding(verdict="unclear"),
    ]
    assert digest_findings([keep_low, *dropped, keep_high]) == [keep_high, keep_low]


def test_block_kit_problems_catches_what_slack_refuses() -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}
    too_many = [{"type": "divider"}] * 51
    assert len(block_kit_problems([header, section], text="t")) == 2
    assert block_kit_problems(too_many, text="t") == ["51 blocks, Slack takes 50"]
    assert block_kit_problems([], text="  ") == ["no fallback text"]
