"""``scheduler run`` as a user starts it: a real process with its embedded Redis and workers,
and what is left of it in the process table (procfs, so Linux only).

Shared by the shutdown faults (``tests/faults/test_shutdown.py``) and the console output
tests (``tests/cli/test_run_console.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.integration.helpers import wait_for

REPO = Path(__file__).resolve().parents[2]


def run_env() -> dict[str, str]:
    """This environment for a child ``scheduler run``: the repository on PYTHONPATH (tasks),
    unbuffered output, and no Redis URL nor SCHEDULER_* settings (the embedded Redis)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEDULER_")}
    env.pop("REDIS_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class EmbeddedRun:
    """``python -m scheduler run`` in ``root`` (jobs in ``root/jobs``, data in ``root/data``)
    with the embedded Redis, in a session of its own; its output goes to ``root/run.out``."""

    def __init__(self, root: Path, *args: str, workers: int = 1) -> None:
        self.root = root
        self.jobs = root / "jobs"
        self.data = root / "data"
        self.out = root / "run.out"
        self.jobs.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "scheduler", "run", "--jobs-dir", str(self.jobs)]
        argv += ["--data-dir", str(self.data), "--workers", str(workers), *args]
        with self.out.open("ab") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=REPO,
                env=run_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def lines(self) -> list[str]:
        """Complete output lines so far."""
        return self.text().split("\n")[:-1]

    def records(self) -> list[dict[str, Any]]:
        """The output lines that are JSON objects (``--log-format json``)."""
        found = []
        for line in self.lines():
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    found.append(value)
        return found

    def wait_for_text(self, text: str, *, timeout: float = 20) -> None:
        """Wait until a complete output line contains ``text``."""

        def seen() -> bool:
            if any(text in line for line in self.lines()):
                return True
            assert self.proc.poll() is None, f"exited with {self.proc.returncode}\n{self.tail()}"
            return False

        wait_for(seen, timeout=timeout, message=lambda: f"{text!r} in the output\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.lines()[-n:])

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM and wait; the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def close(self) -> None:
        """Kill whatever is left of this run (a test that failed half-way)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        kill_all(processes_mentioning(str(self.data)))


def _proc_table() -> dict[int, tuple[int, str, str]]:
    """{pid: (parent pid, state letter, command line)} of every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            table[int(entry.name)] = (int(fields[1]), fields[0], command)
    return table


def descendants(pid: int) -> dict[int, str]:
    """{pid: command line} of every live process below ``pid`` (children, theirs, ...)."""
    table = _proc_table()
    found: dict[int, str] = {}
    parents = {pid}
    while parents:
        children = {p for p, (ppid, state, _) in table.items() if ppid in parents and state != "Z"}
        children -= found.keys()
        found.update({p: table[p][2] for p in children})
        parents = children
    return found


def processes_mentioning(text: str) -> dict[int, str]:
    """{pid: command line} of every live process (zombies aside) whose command line holds
    ``text``: what a run on a data dir of that name left running."""
    me = os.getpid()
    return {
        pid: command
        for pid, (_, state, command) in _proc_table().items()
        if text in command and state != "Z" and pid != me
    }


def still_running(known: dict[int, str]) -> dict[int, str]:
    """Those of ``known`` (pid: command line) still running the same command."""
    table = _proc_table()
    return {
        pid: command
        for pid, command in known.items()
        if pid in table and table[pid][1] != "Z" and table[pid][2] == command
    }


def kill_all(pids: Sequence[int] | dict[int, str]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
