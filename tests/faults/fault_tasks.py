"""Tasks the real RQ workers of the fault suite run; each execution leaves one line on disk.

The line names the RQ job id, which is the run id (job name and scheduled UTC instant), so
a test counts executions per scheduled instant from the side effect alone, whatever the
scheduler recorded.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import rq


def record(path: str, seconds: float = 0.0) -> str:
    """Append ``<run id> done`` to ``path`` (after sleeping ``seconds``); with a sleep,
    ``<run id> start`` first, so a test can see a run in progress. Returns the run id."""
    job = rq.get_current_job()
    rid = job.id if job is not None else "outside-rq"
    if seconds:
        _append(path, f"{rid} start {os.getpid()}")
        time.sleep(seconds)
    _append(path, f"{rid} done {os.getpid()}")
    return rid


def _append(path: str, line: str) -> None:
    # One write() on an O_APPEND file: concurrent workers never interleave their lines.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def executions(path: Path) -> Counter[str]:
    """How many times each run id completed (``done`` lines) according to ``path``."""
    return Counter(run_id for run_id, what in _lines(path) if what == "done")


def started(path: Path) -> Counter[str]:
    """How many times each run id began a slow execution (``start`` lines)."""
    return Counter(run_id for run_id, what in _lines(path) if what == "start")


def _lines(path: Path) -> list[tuple[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [(p[0], p[1]) for p in (line.split() for line in text.splitlines()) if len(p) >= 2]
