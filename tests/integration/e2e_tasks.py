"""Tasks that the real RQ workers of the end-to-end watcher tests import and run.

Each execution leaves a side effect on disk (one appended line), so a test can count how
many times a task really ran, independently of what the scheduler recorded.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def append(path: str, label: str) -> str:
    """Append one line ``<label> <pid> <monotonic ns>`` to ``path``; return the label.

    One line per execution: the file's line count is how many times the task ran.
    """
    line = f"{label} {os.getpid()} {time.monotonic_ns()}\n"
    # One write() on an O_APPEND file: concurrent workers never interleave their lines.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return label


def fail() -> None:
    """Raise ``ValueError("boom")``."""
    raise ValueError("boom")


def slow(seconds: float, path: str = "", label: str = "slow") -> float:
    """Sleep ``seconds``; with ``path``, append ``<label> start`` before and ``<label> done``
    after, so a test sees when the run began and ended."""
    if path:
        append(path, f"{label}-start")
    time.sleep(seconds)
    if path:
        append(path, f"{label}-done")
    return seconds


def lines(path: Path) -> list[str]:
    """The lines ``append`` wrote to ``path`` (none when the file does not exist yet)."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def labels(path: Path) -> list[str]:
    """The label of every line ``append`` wrote to ``path``, in order."""
    return [line.split(" ", 1)[0] for line in lines(path)]


def record_params(path: str, **params: object) -> dict[str, object]:
    """Append the params this run received as one JSON line to ``path``; return them."""
    import json

    append(path, json.dumps(params, sort_keys=True, separators=(",", ":")))
    return params


def leak(path: str, token: str) -> dict[str, object]:
    """Prove the secret arrived (its SHA-256 on a line of ``path``), then try to leak it
    through the result."""
    import hashlib

    append(path, hashlib.sha256(token.encode()).hexdigest())
    return {"token": token, "note": f"the token is {token}"}


def leak_fail(token: str) -> None:
    """Fail with the secret in the error message."""
    raise ValueError(f"refused with token {token}")
