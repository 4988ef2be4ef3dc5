"""`handover approvals serve` as a process: configured from HANDOVER_* variables, over the
SQL gate book in the store, verifying Slack's signature, answering a click on a gate it
does not know with a reply that says so."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from slack_sdk import WebClient

from emulators.slack import RunningSlack, Workspace, start_in_thread
from emulators.slack.clicks import build_click, send
from tests.approvals.conftest import eventually

ROOT = Path(__file__).resolve().parents[2]
HANDOVER = Path(sys.executable).with_name("handover")
UNKNOWN_GATE = [
    {"type": "actions", "block_id": "gate", "elements": [
        {"type": "button", "action_id": "gate_approve", "text": {"type": "plain_text", "text": "Approve"},
         "value": '{"migration_id": "m-00000000dead", "gate": "cutover"}'},
    ]},
]  # fmt: skip


@pytest.fixture
def slack() -> Iterator[RunningSlack]:
    running = start_in_thread(Workspace(seed=5))
    yield running
    running.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_service_runs_from_settings_and_verifies_clicks(
    slack: RunningSlack, tmp_path: Path
) -> None:
    port = _free_port()
    dana = slack.state.user_by_name("dana.okafor")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOVER_")} | {
        "HANDOVER_SLACK__TOKEN": slack.bot_token,
        "HANDOVER_SLACK__BASE_URL": slack.base_url,
        "HANDOVER_APPROVALS__SIGNING_SECRET": slack.signing_secret,
        "HANDOVER_APPROVALS__TOKEN_KEY": "k" * 32,
        "HANDOVER_APPROVALS__APPROVERS": dana.id,
        "HANDOVER_APPROVALS__PREFECT_API_URL": "http://127.0.0.1:9/api",
        "HANDOVER_STORE__URL": f"sqlite:///{tmp_path}/handover.db",
    }
    proc = subprocess.Popen(
        [str(HANDOVER), "approvals", "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                return httpx.get(f"{url}/healthz").json() == {"ok": True}
            except httpx.HTTPError:
                return False

        eventually(healthy, timeout=60, what="the service answers")
        assert (tmp_path / "handover.db").exists()
        ws = slack.state  # a message with a gate button the service has never seen
        client = WebClient(token=slack.bot_token, base_url=slack.base_url)
        msg = client.chat_postMessage(channel="#handover", text="old gate", blocks=UNKNOWN_GATE)
        where = {
            "channel": msg["channel"],
            "ts": msg["ts"],
            "action_id": "gate_approve",
            "user": dana.id,
        }
        assert (
            send(build_click(ws, f"{url}/slack/actions", signing_secret="forged", **where)).status
            == 401
        )
        assert send(build_click(ws, f"{url}/slack/actions", **where)).status == 200
        reply = eventually(
            lambda: [e.text for e in slack.state.ephemeral if e.user == dana.id], what="reply"
        )
        assert "not known to the approval service" in reply[-1]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
        assert slack.bot_token not in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
