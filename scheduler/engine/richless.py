"""Importing structlog without rich, for the processes whose logs need none of it.

``import structlog`` imports ``structlog.dev``, and it and ``structlog.tracebacks`` import
rich where it is installed (here a dev dependency, through schemathesis: 0.08 s of every
start) for console tracebacks and the repr of a traceback's locals. JSON lines (the
watcher's, the workers') and the web process's plain lines need neither, and are then what
they are in production, where rich is absent. Shared by ``cli.log`` and ``web``, which may
not import each other.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def without_rich() -> Iterator[None]:
    """Within: ``import rich`` fails, unless structlog or rich is imported already."""
    if "structlog" in sys.modules or "rich" in sys.modules:
        yield
        return
    sys.modules["rich"] = None  # type: ignore[assignment]  # `import rich`: ImportError
    try:
        yield
    finally:
        del sys.modules["rich"]
