"""The background processes of `handover up`: started each in its own session, with its
output in a log file, and stopped by pid.

Its own session makes each process the leader of its own process group, so a signal to
the group reaches what it started too (the worker's flow runs, the server's uvicorn
workers) and nothing else; and a terminal's Ctrl-C, sent to the terminal's group, no
longer reaches it once `handover up` has returned.

A pid is only signalled while it is still the process `up` started: the start time the
OS gives the process is recorded beside the pid and compared before every signal, so a
pid the OS handed to something else after a crash is left alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from handover.errors import StackError

POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Started:
    """A process `up` started: which part of the stack it is, and how to find it again."""

    part: str
    pid: int
    marker: str | None  # the OS's start time of the process; None where it cannot be read
    log: Path


def spawn(
    part: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    log: Path,
    cwd: Path,
) -> tuple[Started, subprocess.Popen[bytes]]:
    """Start ``argv`` in the background in its own session, output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {part}: {' '.join(argv)}\n".encode())
        out.flush()
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise StackError(
                f"{part} could not be started ({argv[0]}: {exc.strerror}); is the "
                "virtualenv complete? Run `make install`.",
                part=part,
                log=str(log),
            ) from exc
    return Started(part, proc.pid, start_marker(proc.pid), log), proc


def start_marker(pid: int) -> str | None:
    """When the OS started ``pid`` (Linux: /proc; elsewhere: ps), or None if unknown."""
    fields = _proc_stat(pid)
    if fields is not None:
        return fields[19]  # field 22 of /proc/PID/stat: starttime, in clock ticks since boot
    if Path("/proc/self/stat").exists() or sys.platform == "win32":
        return None  # Linux without that pid: gone
    try:
        out = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def _proc_stat(pid: int) -> list[str] | None:
    """/proc/PID/stat from field 3 (state) on; the command name (field 2) may hold spaces
    and parentheses, so the split is after its last ')'."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(proc: Started) -> bool:
    """The process is running and is still the one that was started (not a reused pid)."""
    try:
        os.kill(proc.pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or the pid is someone else's now
        return False
    fields = _proc_stat(proc.pid)
    if fields is not None and fields[0] in ("Z", "X"):
        return False  # exited, not yet reaped by its parent
    return proc.marker is None or start_marker(proc.pid) == proc.marker


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children first). Prefect's worker starts each flow run
    in a session of its own, out of the worker's group: stopping the worker must reach
    them too, or a flow run would go on writing after `down`."""
    try:
        out = subprocess.run(
            ["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            children.setdefault(int(parts[1]), []).append(int(parts[0]))
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop(0)
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def _signal_tree(proc: Started, sig: signal.Signals) -> None:
    """``sig`` to the process's group and to the group of each process below it that leads
    its own (a flow run's session). A group is only signalled through its own leader, so
    never one that is someone else's."""
    for pid in [proc.pid, *descendants(proc.pid)]:
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            elif pid == proc.pid:
                os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop(procs: Sequence[Started], *, grace: float = 10.0) -> list[str]:
    """SIGTERM to each process group, in the order given; SIGKILL to whatever is still
    there after ``grace`` seconds. Returns the parts that were running."""
    running = [p for p in procs if alive(p)]
    for proc in running:
        _signal_tree(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in running):
        _reap()
        time.sleep(POLL_SECONDS)
    for proc in running:
        if alive(proc):
            _signal_tree(proc, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in running):
        _reap()
        time.sleep(POLL_SECONDS)
    return [p.part for p in running]


def kill(proc: Started) -> None:
    """SIGKILL the process and everything below it at once: a crash (the crash test's)."""
    if alive(proc):
        _signal_tree(proc, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and alive(proc):
            _reap()
            time.sleep(POLL_SECONDS / 5)


def _reap() -> None:
    """Collect our own exited children, so a stopped one is not kept as a zombie (which
    would still answer signal 0)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def tail(log: Path, lines: int = 12) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def wait_until(
    started: Started,
    popen: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
) -> None:
    """Wait for ``ready()``; a StackError naming the part and its log when the process
    exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        code = popen.poll()
        if code is not None:
            raise failed(started, f"exited with code {code} before {what}")
        if ready():
            return
        if time.monotonic() > deadline:
            raise failed(started, f"did not {what} within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def failed(started: Started, why: str) -> StackError:
    last = tail(started.log)
    return StackError(
        f"{started.part} {why}; its log: {started.log}" + (f"\n{last}" if last else ""),
        part=started.part,
        log=str(started.log),
    )
