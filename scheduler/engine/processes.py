"""Child processes and the signals that stop them, for the embedded Redis and the workers.

Every helper tolerates a process that is already gone: stopping races with exiting.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from scheduler.worker.lifeline import pid_alive

#: Seconds a stopped process has to exit before it gets SIGKILL.
STOP_TIMEOUT = 5.0
#: How often (seconds) a wait looks again whether a process has exited.
POLL = 0.05


def send_signal(pid: int, sig: signal.Signals, *, group: bool = False) -> None:
    """Send ``sig`` to ``pid`` (to its process group with ``group``); a gone one is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def wait_all(
    procs: list[subprocess.Popen[bytes]],
    deadline: float,
    *,
    hurry: threading.Event | None = None,
) -> list[subprocess.Popen[bytes]]:
    """Wait until ``deadline`` (or until ``hurry`` is set) for the processes to exit; return
    those still running."""
    running = [proc for proc in procs if proc.poll() is None]
    while running and time.monotonic() < deadline:
        if hurry is not None and hurry.is_set():
            break
        time.sleep(POLL)
        running = [proc for proc in running if proc.poll() is None]
    return running


def terminate_child(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM our child ``proc``, SIGKILL it after ``timeout`` seconds, and reap it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def terminate_pid(pid: int, timeout: float) -> None:
    """SIGTERM a process that is not our child, SIGKILL it after ``timeout`` seconds."""
    send_signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, time.monotonic() + timeout):
        send_signal(pid, signal.SIGKILL)
        _wait_gone(pid, time.monotonic() + timeout)


def _wait_gone(pid: int, deadline: float) -> bool:
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True


def cmdline(pid: int) -> str:
    """The command line of ``pid`` (from procfs, else ``ps``), or "" when unknown."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        pass
    try:
        result = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout


def wait_group(pgid: int, deadline: float) -> bool:
    """Wait until ``deadline`` (``time.monotonic()``) for process group ``pgid`` to have no
    live process (``group_pids``); True when it has none."""
    while group_pids(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (RQ work horses); empty without procfs."""
    return _live_where(1, pid)


def group_pids(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` that have not exited (zombies left out: in a
    container whose init reaps nothing they would stay forever); empty without procfs."""
    return _live_where(2, pgid)


def _live_where(field: int, value: int) -> list[int]:
    # /proc/PID/stat after the command's ")": state, ppid, pgrp, ...
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = entry.read_text().rpartition(")")[2].split()
            if int(fields[field]) == value and fields[0] != "Z":
                found.append(int(entry.parent.name))
    return found
