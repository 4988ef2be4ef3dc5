"""Run the Slack emulator over HTTP on loopback: in a background thread on a free port
(tests, the demo) or in the foreground (``handover emulator slack``).

Plain HTTP on purpose: slack_sdk takes any ``base_url``, and a WebClient pointed at
``http://127.0.0.1:PORT/api/`` is otherwise exactly the production client.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from .models import APPROVERS_HANDLE, Workspace
from .responses import build_app


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class RunningSlack:
    """A started emulator: where it listens, the secrets a client needs, and its state."""

    workspace: Workspace
    host: str
    port: int
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What ``WebClient(base_url=...)`` and ``HANDOVER_SLACK__BASE_URL`` take."""
        return f"{self.url}/api/"

    @property
    def bot_token(self) -> str:
        return self.workspace.bot_token

    @property
    def signing_secret(self) -> str:
        return self.workspace.signing_secret

    @property
    def state(self) -> Workspace:
        return self.workspace

    def info(self) -> dict[str, Any]:
        """The connection facts other processes read (the CLI's ``--info`` file)."""
        ws = self.workspace
        group = ws.usergroup_by_handle(APPROVERS_HANDLE)
        return {
            "base_url": self.base_url,
            "bot_token": ws.bot_token,
            "signing_secret": ws.signing_secret,
            "url": self.url,
            "messages_url": f"{self.url}/__emulator/messages",
            "click_url": f"{self.url}/__emulator/click",
            "actions_url": ws.actions_url,
            "team_id": ws.team_id,
            "team_name": ws.team_name,
            "app_id": ws.app_id,
            "bot_user_id": ws.bot.id,
            "channels": {c.name: c.id for c in ws.channels.values() if not c.is_im},
            "approver_group": group.id if group else None,
            "users": [
                {"id": u.id, "name": u.name, "email": u.email}
                for u in ws.users.values()
                if not u.is_bot and not u.deleted
            ],
        }

    def write_info(self, path: Path) -> None:
        """Write ``info()`` as JSON, readable by the owner only (it holds the bot token)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(self.info(), indent=2))
        tmp.replace(path)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.server = self.thread = None


def start_in_thread(
    workspace: Workspace | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float = 15.0,
) -> RunningSlack:
    """Start serving ``workspace`` (a fresh default one if None) and return once it listens."""
    workspace = workspace or Workspace()
    running = RunningSlack(workspace=workspace, host=host, port=port or free_port(host))
    workspace.public_url = running.url
    config = uvicorn.Config(
        build_app(workspace),
        host=host,
        port=running.port,
        log_level="warning",
        access_log=False,  # access lines would carry query strings, which may hold a token
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"slack-emulator-{running.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(
                f"the Slack emulator did not start on {host}:{running.port}; is the port free?"
            )
        time.sleep(0.02)
    running.server, running.thread = server, thread
    return running


def serve_forever(
    workspace: Workspace | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    info_path: Path | None = None,
    actions_url: str | None = None,
    on_ready: Callable[[RunningSlack], None] | None = None,
) -> None:
    """Serve until Ctrl-C or SIGTERM. The info file is written only once the port accepts
    calls (a process waiting for it can connect straight away) and removed on the way out,
    so its presence means "running"."""
    workspace = workspace or Workspace()
    workspace.actions_url = actions_url
    running = start_in_thread(workspace, host=host, port=port)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if info_path is not None:
            running.write_info(info_path)
        if on_ready is not None:
            on_ready(running)
        while not stop.wait(0.5):
            if running.thread is None or not running.thread.is_alive():
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        running.stop()
        if info_path is not None:
            info_path.unlink(missing_ok=True)
