"""Run the emulated org over HTTPS: in the foreground (``handover emulator serve``) or in a
background thread on a free port (tests). Writes the ``--info`` JSON clients connect with."""

from __future__ import annotations

import json
import secrets
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from .faults import FaultInjector
from .http.app import build_app
from .http.common import Emulator
from .live import LiveClock
from .loader import LoadedOrg, build_org
from .scenario import Scenario, load_scenario
from .sessions import Session, expiry, new_access_token, new_key
from .tls import write_tls_material
from .workloads.credentials import write_credentials


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def admin_session(loaded: LoadedOrg) -> Session:
    """A long-lived session of the scenario's admin (the info file's access_token)."""
    org = loaded.org
    user = org.user_by_username(loaded.scenario.org.admin_username)
    assert user is not None
    now = org.clock.now()
    session = Session(
        token=new_access_token(org.org_id),
        user_id=user["Id"],
        created=now,
        expires=expiry(now) + (expiry(now) - now) * 200,  # survives the demo's clock jumps
        login_type="Application",
        source_ip="127.0.0.1",
        session_key=new_key(),
        login_key=new_key(),
    )
    org.add_session(session, session_type="UI")
    return session


@dataclass
class RunningEmulator:
    emulator: Emulator
    loaded: LoadedOrg
    state_dir: Path
    ca_bundle: Path
    access_token: str
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    @property
    def org(self):
        return self.loaded.org

    @property
    def instance_url(self) -> str:
        return self.emulator.instance_url

    def info(self) -> dict[str, Any]:
        org = self.loaded.org
        return {
            "instance_url": self.instance_url,
            "ca_bundle": str(self.ca_bundle),
            "org_id": org.org_id,
            "org_name": org.name,
            "my_domain": org.my_domain,
            "admin_username": self.loaded.scenario.org.admin_username,
            "access_token": self.access_token,
            "api_version": org.api_version,
            "control_token": self.emulator.control_token,
            "credentials_dir": str(self.state_dir / "credentials"),
            "event_monitoring": org.event_monitoring,
        }

    def write_info(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.info(), indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)

    def write_credentials(self) -> None:
        """The credential source of each workload: one JSON file its external system reads."""
        for name, creds in self.loaded.credentials.items():
            write_credentials(self.state_dir / "credentials", name, creds.as_dict())

    def stop(self) -> None:
        if self.server is not None:
            # Idle keep-alive TLS connections would otherwise hold shutdown for ~10 s.
            self.server.force_exit = True
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)


def prepare(
    scenario: Scenario | str | Path,
    *,
    port: int | None = None,
    state_dir: Path | None = None,
    seed: int = 0,
    follow_wall_clock: bool = False,
) -> RunningEmulator:
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    loaded = build_org(scenario, seed=seed, follow_wall_clock=follow_wall_clock)
    port = port or free_port()
    state_dir = state_dir or Path(tempfile.mkdtemp(prefix="handover-emulator-"))
    ca, _, _ = write_tls_material(
        state_dir / "tls",
        [
            "127.0.0.1",
            "localhost",
            loaded.org.my_domain,
            "login.salesforce.com",
            "test.salesforce.com",
        ],
    )
    emu = Emulator(
        org=loaded.org,
        faults=FaultInjector(seed=seed),
        control_token=secrets.token_urlsafe(24),
        port=port,
    )
    session = admin_session(loaded)
    running = RunningEmulator(
        emulator=emu, loaded=loaded, state_dir=state_dir, ca_bundle=ca, access_token=session.token
    )
    running.write_credentials()
    if scenario.workloads:
        emu.run_workloads = LiveClock(loaded.org, scenario, running.info()).advance
    return running


def _uvicorn(running: RunningEmulator) -> uvicorn.Server:
    tls = running.state_dir / "tls"
    config = uvicorn.Config(
        build_app(running.emulator),
        host="127.0.0.1",
        port=running.emulator.port,
        ssl_certfile=str(tls / "server.pem"),
        ssl_keyfile=str(tls / "server-key.pem"),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        date_header=False,  # responses carry the org's simulated Date instead
        server_header=False,
    )
    return uvicorn.Server(config)


def start_in_thread(running: RunningEmulator, timeout: float = 30.0) -> RunningEmulator:
    server = _uvicorn(running)
    thread = threading.Thread(target=server.run, name="salesforce-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the emulator did not start on port {running.emulator.port}")
        time.sleep(0.05)
    running.server, running.thread = server, thread
    return running


def serve_forever(running: RunningEmulator) -> None:
    server = _uvicorn(running)
    running.server = server
    server.run()
