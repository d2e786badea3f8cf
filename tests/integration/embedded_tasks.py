"""Task functions that the worker processes of the embedded-worker tests import and run."""

from __future__ import annotations

import os
import time
from pathlib import Path


def add(a: int, b: int) -> int:
    return a + b


def worker_pid() -> int:
    """The process id of the work horse that runs this job."""
    return os.getpid()


def sleep_then_touch(seconds: float, started: str, done: str) -> str:
    """Write this process's id to ``started``, sleep, then create ``done``.

    ``started`` appears with the id in it (written aside, then renamed): a test that waits
    for it to exist read it empty once, between its creation and the write."""
    aside = Path(f"{started}.tmp")
    aside.write_text(str(os.getpid()))
    aside.replace(started)
    time.sleep(seconds)
    Path(done).touch()
    return done
