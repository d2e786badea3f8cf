"""Small real tasks that integration tests enqueue through ``scheduler.runner.run``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

NOT_CALLABLE = 42


class Opaque:
    """A result that JSON cannot encode."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return f"Opaque({self.label!r})"


class Greeter:
    """Holds a task as a static method, to test dotted references after the colon."""

    @staticmethod
    def hello(name: str) -> str:
        return f"hello {name}"


def ok_dict(n: int = 1, pad: int = 0) -> dict[str, Any]:
    """Return a JSON-friendly dict; ``pad`` adds that many characters to make it large."""
    return {"n": n, "squares": [i * i for i in range(n)], "pad": "x" * pad}


def ok_opaque(label: str = "thing") -> Opaque:
    """Return an object that is not JSON-serialisable."""
    return Opaque(label)


def fail(message: str = "boom") -> None:
    """Raise ValueError with ``message``."""
    raise ValueError(message)


def fail_deep(depth: int) -> None:
    """Raise ValueError from ``depth`` nested calls, for a long traceback."""
    if depth <= 0:
        raise ValueError("deep boom")
    fail_deep(depth - 1)


def append_line(path: str, line: str) -> int:
    """Append ``line`` to the file at ``path``; return the number of lines it now has."""
    file = Path(path)
    with file.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    return len(file.read_text(encoding="utf-8").splitlines())


def nap(seconds: float = 0.05) -> float:
    """Sleep ``seconds`` and return it."""
    time.sleep(seconds)
    return seconds
