"""A child's tie to the process that started it, so that nothing outlives ``scheduler run``.

Two mechanisms, Linux first and harmless elsewhere:

- :func:`parent_death_signal` asks the kernel (``prctl(PR_SET_PDEATHSIG)``) to signal this
  process when its parent dies, even by SIGKILL. The embedded ``redis-server`` gets it
  between fork and exec, an RQ work horse right after its fork (``worker.rqworker``).
- :func:`hold`, in a worker the watcher's pool started, watches the parent: once it is gone,
  the worker logs ``worker.parent_gone``, stops as RQ would on a Ctrl-C, warm then cold, and
  is killed if still there. Its output is dropped from then on: it went to the watcher's
  terminal or pipe, and would be tracebacks of a worker losing its Redis.

Linux delivers the death signal when the parent *thread* that forked ends, not the process:
start such children from a thread that lives as long as they should (the main thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import structlog

#: Environment variable naming the pid of the process a pool's worker must not outlive.
PARENT_PID_ENV = "SCHEDULER_WORKER_PARENT_PID"
#: How often (seconds) a worker looks whether its parent is still there.
POLL_S = 0.5
#: Once the parent is gone: seconds a running task has to finish (RQ's warm shutdown) before
#: RQ's cold shutdown kills it, then seconds before the worker and its forks are SIGKILLed.
WARM_S = 3.0
COLD_S = 2.0

_PR_SET_PDEATHSIG = 1

log = structlog.get_logger("scheduler.worker")


class _Key:
    """What multiprocessing keys after-fork callbacks by (it keeps only a weak reference)."""


_REGISTRY_KEY = _Key()


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


# Looked up once, in the parent: a child between fork and exec must not load a library.
_prctl = _load_prctl()


def parent_death_signal(sig: signal.Signals) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies.

    Returns False where that is not available (not Linux). Safe between fork and exec.
    """
    if _prctl is None:
        return False
    return int(_prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0


def bind_to(parent: int, sig: signal.Signals) -> None:
    """``sig`` when ``parent`` dies, and exit now if it already has (it may have died before
    the kernel was asked). For a ``preexec_fn`` or the child side of a fork."""
    parent_death_signal(sig)
    if os.getppid() != parent:
        os._exit(1)


def hold(parent: int) -> None:
    """Stop this worker once ``parent`` is no longer its parent (it died, even of SIGKILL).

    The watch runs on a daemon thread: SIGTERM to itself (RQ's warm shutdown: the running
    task may finish), another after :data:`WARM_S` (cold: RQ kills its work horse), then
    SIGKILL to its process group after :data:`COLD_S`. RQ's scheduler process, which this
    worker forks, watches ``parent`` too: it outlives a worker killed alone, as RQ means
    it to (it moves retries waiting out their backoff), but not the watcher.
    """
    threading.Thread(
        target=_watch,
        args=(lambda: os.getppid() != parent, parent, (WARM_S, COLD_S)),
        name="lifeline",
        daemon=True,
    ).start()

    def in_forked_process(_: object) -> None:
        threading.Thread(
            target=_watch,
            args=(lambda: not pid_alive(parent), parent, (COLD_S,)),
            name="lifeline",
            daemon=True,
        ).start()

    # Run in children made by multiprocessing (RQ's scheduler), not in plain forks (horses).
    multiprocessing.util.register_after_fork(_REGISTRY_KEY, in_forked_process)


def hold_from_env() -> None:
    """:func:`hold` the parent named in :data:`PARENT_PID_ENV`, if any.

    The variable is removed, so that processes this one starts (tasks) do not inherit it.
    """
    value = os.environ.pop(PARENT_PID_ENV, None)
    if value is None:
        return
    with contextlib.suppress(ValueError):
        parent = int(value)
        if os.getppid() != parent:
            os._exit(1)  # started by a process that is already gone
        hold(parent)


def pid_alive(pid: int | None) -> bool:
    """Whether ``pid`` names a running process (a zombie counts as gone)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except OSError:
        return True  # no procfs (macOS): trust kill(0)
    return state != "Z"


def _watch(gone: Callable[[], bool], parent: int, graces: tuple[float, ...]) -> None:
    """Wait until ``gone()``; then SIGTERM this process once per grace period, and SIGKILL
    it (with its process group when it leads one) after the last."""
    while not gone():
        time.sleep(POLL_S)
    log.warning("worker.parent_gone", parent=parent, stop_within_s=sum(graces))
    _silence()
    me = os.getpid()
    for grace in graces:
        os.kill(me, signal.SIGTERM)
        time.sleep(grace)
    if os.getpgrp() == me:
        os.killpg(me, signal.SIGKILL)
    os.kill(me, signal.SIGKILL)


def _silence() -> None:
    # The output went to the watcher's terminal or pipe; what follows there is the noise of
    # a worker going down without it (and, with the embedded Redis, without Redis).
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
