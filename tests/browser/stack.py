"""The live stack the tests from outside run against: a private Redis, ``scheduler run``
(one real RQ worker) and ``scheduler web`` as real processes, on one jobs dir.

The watcher is the end-to-end suite's :class:`WatcherProcess`; the web servers are
``python -m scheduler web`` on a free loopback port, one with a token (actions allowed)
and one without (read-only). The jobs cover what the pages must show: a plain job to run
now, one to pause, a ``<script>`` in a description and in a task's error, a broken file,
and enough filler jobs for the page to scroll.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from scheduler.core.runs import RunStatus
from scheduler.store import RunRow
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import (
    TASKS,
    WatcherProcess,
    child_env,
    line_of,
    runs,
    scheduler_cli,
    write,
)

TOKEN = "test-token-\u00e9t\u00e9"
#: In a description and, through the task's error, in a run's error and traceback.
SCRIPT = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
#: The broken file: a cron with a bad field on this line.
BROKEN = "name: broken\ntask: tests.integration.e2e_tasks:append\nschedule:\n  cron: 99 * * * *\n"
BROKEN_LINE = line_of(BROKEN, "cron:")
FILLERS = 60
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo")


def job_file(
    name: str,
    task: str,
    *,
    description: str,
    params: dict[str, object],
    daily: str = "03:00",
    zone: str = "UTC",
) -> str:
    """One job running ``e2e_tasks.<task>`` once a day; JSON values are valid YAML."""
    lines = [f"name: {name}", f"description: {json.dumps(description)}", f"task: {TASKS}:{task}"]
    lines += ["params:", *(f"  {k}: {json.dumps(v)}" for k, v in params.items())]
    lines += ["schedule:", f'  daily: "{daily}"', f"  timezone: {zone}"]
    return "\n".join(lines) + "\n"


def write_jobs(jobs: Path, out: Path) -> None:
    """The session's job files (see the module docstring). Every job is due once a day at
    a time far from now, so only the runs the tests make appear while they run."""
    far = (datetime.now(UTC) + timedelta(hours=12)).hour
    append = {"path": str(out), "label": "ran"}
    daily = f"{far:02d}:00"
    text = job_file("report", "append", description="Daily report", params=append, daily=daily)
    write(jobs / "report.yaml", text)
    text = job_file("pausable", "append", description="To pause", params=append, daily=daily)
    write(jobs / "pausable.yaml", text)
    text = job_file("audit", "leak_fail", description=SCRIPT, params={"token": SCRIPT}, daily=daily)
    write(jobs / "audit.yaml", text)
    for i in range(FILLERS):
        name = f"sync-{i:02d}"  # after the others by name: they stay on the first page
        # Spread over the next 24 h and a few zones, so the timeline has something to show.
        at = f"{(far + 1 + i * 7) % 24:02d}:{(i * 13) % 60:02d}"
        zone = ZONES[i % len(ZONES)]
        text = job_file(
            name, "append", description=f"Sync shard {i}", params=append, daily=at, zone=zone
        )
        write(jobs / "sync" / f"{name}.yaml", text)
    write(jobs / "broken.yaml", BROKEN)


def free_port() -> int:
    """A loopback TCP port nobody listens on now (the server binds it right after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class WebProcess:
    """``python -m scheduler web`` on a free port; output in ``root/<name>.out``."""

    def __init__(self, root: Path, redis_url: str, *, name: str, token: str | None) -> None:
        self.root = root
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = root / f"{name}.out"
        env = {k: v for k, v in child_env().items() if k != "SCHEDULER_WEB_TOKEN"}
        if token is not None:
            env["SCHEDULER_WEB_TOKEN"] = token
        argv = [sys.executable, "-m", "scheduler", "web", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--jobs-dir", str(root / "jobs")]
        argv += ["--data-dir", str(root / "data"), "--redis-url", redis_url]
        with self.out.open("ab") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def tail(self, n: int = 30) -> str:
        lines = self.out.read_text(errors="replace").splitlines() if self.out.exists() else []
        return "\n".join(lines[-n:])

    def wait_serving(self, timeout: float = 30) -> None:
        """Wait until ``/healthz`` answers (any status: the watcher may not be healthy yet)."""

        def answers() -> bool:
            assert self.proc.poll() is None, f"{self.name} exited\n{self.tail()}"
            try:
                httpx.get(f"{self.url}/healthz", timeout=2)
            except httpx.TransportError:
                return False
            return True

        wait_for(answers, timeout=timeout, message=lambda: f"{self.name} serving\n{self.tail()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@dataclass
class Stack:
    root: Path
    redis_url: str
    watcher: WatcherProcess
    web: WebProcess  # with the token
    readonly: WebProcess  # without one
    out: Path  # the ``append`` task's side effects

    @property
    def data(self) -> Path:
        return self.root / "data"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``scheduler ARGS --jobs-dir jobs --data-dir data --redis-url URL`` in the root."""
        common = ["--jobs-dir", "jobs", "--data-dir", "data", "--redis-url", self.redis_url]
        return scheduler_cli(self.root, *args, *common)

    def final_runs(self, job: str, count: int = 1, *, timeout: float = 20) -> list[RunRow]:
        """Wait until ``job`` has ``count`` finished runs in SQLite; return its runs."""
        final = {RunStatus.succeeded, RunStatus.failed}

        def finished() -> list[RunRow]:
            rows = runs(self.data, job)
            return rows if len([r for r in rows if r.status in final]) >= count else []

        return wait_for(
            finished,
            timeout=timeout,
            message=lambda: f"{count} finished runs of {job}\n{self.watcher.tail()}",
        )


@contextlib.contextmanager
def live_stack(root: Path, redis_url: str) -> Iterator[Stack]:
    """Start the watcher and both web servers on a fresh jobs dir; stop them all after."""
    out = root / "ran.txt"
    write_jobs(root / "jobs", out)
    watcher = WatcherProcess(root, redis_url, name="watcher", workers=1)
    servers: list[WebProcess] = []
    try:
        watcher.start()
        watcher.wait_started(timeout=60)
        servers.append(WebProcess(root, redis_url, name="web", token=TOKEN))
        servers.append(WebProcess(root, redis_url, name="web-ro", token=None))
        for server in servers:
            server.wait_serving()
        running = Stack(root, redis_url, watcher, servers[0], servers[1], out)
        # The failed run whose error holds the <script> (the tests wait for it to finish).
        triggered = running.cli("trigger", "audit")
        assert triggered.returncode == 0, triggered.stderr
        yield running
    finally:
        for server in servers:
            server.close()
        watcher.close()
