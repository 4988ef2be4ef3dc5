"""The workspace a scenario's ``slack_users`` make, and ``python -m emulators.slack`` as a
process: the info file appears once it serves and goes when it stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slack_sdk import WebClient

from emulators.slack.scenario import SlackScenarioError, workspace_from_scenario

ROOT = Path(__file__).resolve().parents[3]
USERS = """
org: {name: Loomis Logistics}
slack_users:
  - {id: U0LOOMIS01, name: Sam Whitfield, email: sam.whitfield@loomis-logistics.com, approver: true}
  - {id: U0LOOMIS02, name: Priya Natarajan, email: priya.natarajan@loomis-logistics.com, approver: true}
  - {id: U0LOOMIS03, name: Dana Reyes, email: dana.reyes@loomis-logistics.com, approver: false}
"""


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_slack_users_become_the_workspace(tmp_path: Path) -> None:
    ws = workspace_from_scenario(_scenario(tmp_path, USERS))
    sam = ws.users["U0LOOMIS01"]
    assert (sam.name, sam.real_name, sam.email) == (
        "sam.whitfield", "Sam Whitfield", "sam.whitfield@loomis-logistics.com",
    )  # fmt: skip
    group = ws.usergroup_by_handle("handover-approvers")
    assert group is not None and group.users == ["U0LOOMIS01", "U0LOOMIS02"]
    handover = ws.channel_by_name("handover")
    assert {"U0LOOMIS01", "U0LOOMIS02", "U0LOOMIS03", ws.bot.id} <= handover.members
    assert ws.domain == "loomis-logistics" and ws.team_name == "Loomis Logistics"


def test_no_slack_users_is_the_default_workspace(tmp_path: Path) -> None:
    ws = workspace_from_scenario(_scenario(tmp_path, "org: {name: Acme}\n"))
    assert ws.team_name == "Acme" and ws.user_by_name("dana.okafor")
    assert workspace_from_scenario(None).user_by_name("sam.ruiz")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("slack_users: []\n", "non-empty list"),
        ("slack_users:\n  - {id: U1X, name: A, email: a@x.example, title: boss}\n", "unknown keys"),
        ("slack_users:\n  - {id: bob, name: A, email: a@x.example}\n", "not a Slack user id"),
        ("slack_users:\n  - {id: U1X, name: A}\n", "missing email"),
        (
            "slack_users:\n  - {id: U1X, name: A, email: a@x.example, approver: yes-ish}\n",
            "true or false",
        ),
        (
            "slack_users:\n  - {id: U1X, name: A, email: a@x.example}\n"
            "  - {id: U1X, name: B, email: b@x.example}\n",
            "id 'u1x' appears twice",
        ),
        (
            "slack_users:\n  - {id: U1X, name: A, email: a@x.example}\n"
            "  - {id: U2X, name: B, email: A@x.example}\n",
            "email 'a@x.example' appears twice",
        ),
    ],
)
def test_bad_slack_users_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SlackScenarioError, match=message):
        workspace_from_scenario(_scenario(tmp_path, text))


def test_the_emulator_process_serves_until_sigterm(tmp_path: Path) -> None:
    info = tmp_path / "slack.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.slack", "--port", "0", "--info", str(info),
         "--actions-url", "http://127.0.0.1:9/slack/actions",
         "--scenario", str(_scenario(tmp_path, USERS))],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("HANDOVER_")},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not info.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no info file within 30 s"
            time.sleep(0.05)
        facts = json.loads(info.read_text())
        assert oct(info.stat().st_mode & 0o777) == "0o600"  # it holds the bot token
        client = WebClient(token=facts["bot_token"], base_url=facts["base_url"])
        assert client.auth_test()["team"] == "Loomis Logistics"
        assert client.users_info(user="U0LOOMIS03")["user"]["real_name"] == "Dana Reyes"
        assert facts["actions_url"] == "http://127.0.0.1:9/slack/actions"
        assert facts["signing_secret"] and facts["approver_group"].startswith("S")
        assert facts["click_url"].endswith("/__emulator/click")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert not info.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_bad_scenario_exits_2_with_the_reason(tmp_path: Path) -> None:
    bad = _scenario(tmp_path, "slack_users: [1]\n")
    done = subprocess.run(
        [sys.executable, "-m", "emulators.slack", "--scenario", str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "expected a mapping" in done.stderr
