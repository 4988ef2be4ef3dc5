"""The stack's processes: started in their own session, stopped by process group (what
they started goes too), never a pid that is no longer ours."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from handover.cli.processes import alive, failed, kill, spawn, stop, wait_until
from handover.errors import StackError

# A parent that starts a child in a session of its own and prints the child's pid: the
# worker and its flow runs (Prefect isolates each run's process group).
PARENT = "import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True); print(c.pid, flush=True); time.sleep(120)"


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def _child_pid(log: Path) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = [ln for ln in log.read_text().splitlines() if ln.strip().isdigit()]
        if lines:
            return int(lines[-1])
        time.sleep(0.05)
    raise AssertionError(f"no child pid in {log}: {log.read_text()}")


def test_stop_ends_the_process_and_what_it_started_in_other_sessions(tmp_path: Path) -> None:
    started, popen = spawn(
        "worker", [sys.executable, "-c", PARENT], env=os.environ, log=tmp_path / "w.log", cwd=tmp_path
    )  # fmt: skip
    child = _child_pid(started.log)
    assert os.getpgid(started.pid) == started.pid  # its own group, not ours
    assert os.getpgid(started.pid) != os.getpgid(0)
    assert os.getpgid(child) == child  # out of the parent's group, as a flow run is
    assert alive(started) and _pid_running(child)
    assert stop([started], grace=5) == ["worker"]
    popen.wait(timeout=5)
    deadline = time.monotonic() + 5
    while _pid_running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(started) and not _pid_running(child)
    assert stop([started]) == []  # harmless the second time


def test_a_pid_that_is_not_the_started_process_is_left_alone(tmp_path: Path) -> None:
    started, popen = spawn(
        "approvals", [sys.executable, "-c", "import time; time.sleep(60)"],
        env=os.environ, log=tmp_path / "a.log", cwd=tmp_path,
    )  # fmt: skip
    try:
        impostor = replace(started, marker="not-its-start-time")
        assert started.marker is not None and not alive(impostor)
        assert stop([impostor], grace=1) == []
        assert popen.poll() is None  # untouched
    finally:
        kill(started)
        popen.wait(timeout=5)


def test_waiting_names_the_part_and_its_log(tmp_path: Path) -> None:
    started, popen = spawn(
        "prefect-server", [sys.executable, "-c", "print('address already in use'); raise SystemExit(3)"],
        env=os.environ, log=tmp_path / "s.log", cwd=tmp_path,
    )  # fmt: skip
    with pytest.raises(StackError) as exc:
        wait_until(started, popen, lambda: False, timeout=30, what="answer /api/health")
    message = str(exc.value)
    assert "prefect-server exited with code 3 before answer /api/health" in message
    assert str(tmp_path / "s.log") in message and "address already in use" in message
    assert exc.value.part == "prefect-server"
    assert "did not answer in time" in str(failed(started, "did not answer in time"))


def test_a_kill_is_at_once_and_reaches_every_session_below(tmp_path: Path) -> None:
    started, popen = spawn(
        "worker", [sys.executable, "-c", PARENT], env=os.environ, log=tmp_path / "w.log", cwd=tmp_path
    )  # fmt: skip
    child = _child_pid(started.log)
    kill(started)
    assert popen.wait(timeout=5) == -9
    deadline = time.monotonic() + 5
    while _pid_running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _pid_running(child)
