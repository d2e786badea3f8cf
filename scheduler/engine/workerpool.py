"""A pool of RQ worker processes against one Redis, for `scheduler run` without services.

The workers run in a session of their own, so a Ctrl-C in the terminal reaches only the
watcher, which then stops them (letting running jobs finish) before the embedded Redis.
They do not outlive it either: each ``scheduler worker`` is told the pool's pid
(``scheduler.worker.lifeline``) and stops, with its work horse, once that process is gone,
even when it died of SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import structlog

from scheduler.core.errors import WorkerPoolError
from scheduler.engine.processes import (
    STOP_TIMEOUT,
    child_pids,
    group_pids,
    send_signal,
    wait_all,
    wait_group,
)
from scheduler.worker.lifeline import PARENT_PID_ENV

# The logger's name from before the engine/ layout: log pipelines filter on it.
log = structlog.get_logger("scheduler.embedded")

# RQ ignores a second SIGTERM that comes within a second of the first (rq.worker.base,
# request_force_stop), so the forcing signal waits at least this long.
_RQ_DUPLICATE_SIGNAL_WINDOW = 1.1
_COLD_SHUTDOWN_GRACE = 3.0
#: Seconds what a stopped worker left in its process group has between SIGTERM and SIGKILL.
_LEFTOVER_GRACE = 1.0


def rq_worker_command(redis_url: str, queues: Sequence[str] = ("default",)) -> list[str]:
    """A plain ``rq worker`` command line for this interpreter."""
    return [sys.executable, "-m", "rq.cli", "worker", "--url", redis_url, *queues]


def scheduler_worker_command(redis_url: str, queues: Sequence[str] = ("default",)) -> list[str]:
    """The ``scheduler worker`` command line for this interpreter (the pool's default)."""
    return [sys.executable, "-m", "scheduler", "worker", "--redis-url", redis_url, *queues]


class WorkerPool:
    """``count`` worker processes running ``command`` against ``redis_url``.

    ``command`` defaults to :func:`scheduler_worker_command`. Children inherit the
    environment plus ``env``, run in ``cwd`` (default: the current directory) and find
    modules there (it is put first on PYTHONPATH). With ``log_dir`` each writes its output to
    ``log_dir/worker-N.log``; without, to this process's stdout and stderr. ``scheduler
    worker`` children stop by themselves within seconds when this process is gone; plain
    ``rq worker`` ones do not.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        count: int,
        queues: Sequence[str] = ("default",),
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        command: Sequence[str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        if count < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {count}")
        self.redis_url = redis_url
        self.count = count
        self.queues = list(queues)
        self.command = list(command or scheduler_worker_command(redis_url, queues))
        self.env = dict(env or {})
        self.cwd = cwd
        self.log_dir = log_dir
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers started and not yet stopped (dead ones included)."""
        return [proc.pid for proc in self._procs]

    def start(self) -> None:
        """Spawn the workers; does nothing when they are already started."""
        if self._procs:
            return
        self._procs = [self._spawn(slot) for slot in range(self.count)]
        log.info("workers.started", count=self.count, pids=self.pids, queues=self.queues)

    def alive(self) -> int:
        """How many workers are running."""
        return sum(proc.poll() is None for proc in self._procs)

    def restart_dead(self) -> int:
        """Respawn every worker that has exited; return how many were respawned."""
        respawned = 0
        for slot, proc in enumerate(self._procs):
            if proc.poll() is not None:
                log.warning("workers.died", pid=proc.pid, exit_code=proc.returncode)
                self._procs[slot] = self._spawn(slot)
                respawned += 1
        return respawned

    def stop(self, timeout: float = STOP_TIMEOUT, *, hurry: threading.Event | None = None) -> None:
        """Stop every worker; idempotent.

        A first SIGTERM asks RQ workers for a warm shutdown (finish the current job, then
        exit). Those still running after ``timeout`` seconds, or once ``hurry`` is set, get
        a second SIGTERM, a cold shutdown that kills their job, and after a few more
        seconds SIGKILL, with their work horses. So it returns within about ``timeout + 4``
        seconds.
        """
        procs, self._procs = self._procs, []
        running = [proc for proc in procs if proc.poll() is None]
        first_signal = time.monotonic()
        for proc in running:
            send_signal(proc.pid, signal.SIGTERM)
        running = wait_all(running, first_signal + timeout, hurry=hurry)
        if running:
            time.sleep(max(0.0, first_signal + _RQ_DUPLICATE_SIGNAL_WINDOW - time.monotonic()))
            log.warning("workers.cold_shutdown", pids=[proc.pid for proc in running])
            for proc in running:
                send_signal(proc.pid, signal.SIGTERM)
            running = wait_all(running, time.monotonic() + _COLD_SHUTDOWN_GRACE)
        for proc in running:
            log.warning("workers.killed", pid=proc.pid)
            for child in child_pids(proc.pid):  # work horses run in a group of their own
                send_signal(child, signal.SIGKILL, group=True)
                send_signal(child, signal.SIGKILL)
            send_signal(proc.pid, signal.SIGKILL, group=True)
            proc.wait()
        for proc in procs:
            _end_group(proc.pid)
        if procs:
            log.info("workers.stopped", count=len(procs))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self, slot: int) -> subprocess.Popen[bytes]:
        cwd = (self.cwd or Path.cwd()).resolve()
        env = {**os.environ, **self.env, PARENT_PID_ENV: str(os.getpid())}
        env["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(cwd), env.get("PYTHONPATH", "")) if part
        )
        output: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"worker-{slot}.log").open("ab")
        try:
            return subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise WorkerPoolError(self.command, str(exc)) from exc
        finally:
            if output is not None:
                output.close()


def _end_group(pgid: int) -> None:
    """End what a stopped worker left in its process group (it leads one of its own).

    RQ's worker forks its scheduler process into its group; a worker stopped while it was
    still starting exits without stopping that fork, which would then live on for seconds
    (until its own lifeline sees the watcher gone).
    """
    if not group_pids(pgid):
        return
    send_signal(pgid, signal.SIGTERM, group=True)
    if wait_group(pgid, time.monotonic() + _LEFTOVER_GRACE):
        return
    send_signal(pgid, signal.SIGKILL, group=True)
    wait_group(pgid, time.monotonic() + _LEFTOVER_GRACE)  # a kill takes effect a moment later
