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
    """Write this process's id to ``started``, sleep, then create ``done``."""
    Path(started).write_text(str(os.getpid()))
    time.sleep(seconds)
    Path(done).touch()
    return done
