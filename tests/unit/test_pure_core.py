"""The core is pure: it works in an interpreter where I/O, threads and services cannot load."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from importgraph import modules

CORE = Path(__file__).resolve().parents[2] / "scheduler" / "core"
FORBIDDEN = ("redis", "rq", "sqlite3", "watchdog", "click", "threading", "subprocess", "structlog")

# Run in a fresh interpreter: the third-party libraries the core builds on are loaded
# first (croniter and cron_descriptor use threads of their own), then every forbidden
# module is made unimportable (None in sys.modules), then the core is imported and used.
PROGRAM = """
import importlib, pkgutil, sys
import croniter, cron_descriptor, pydantic_core
from pydantic import *  # its names load lazily: load them all before the block
forbidden = {forbidden!r}
saved = {{n: m for n, m in sys.modules.items() if n.split(".")[0] in forbidden}}
for name in saved:
    del sys.modules[name]
for name in forbidden:
    sys.modules[name] = None
try:
    import scheduler.core
    names = [m.name for m in pkgutil.walk_packages(scheduler.core.__path__, "scheduler.core.")]
    for name in names:
        importlib.import_module(name)
    from datetime import UTC, datetime
    from scheduler.core.describe import describe_cron
    from scheduler.core.jobschedule import build_schedule
    from scheduler.core.models import JobSpec
    from scheduler.core.schedule import next_runs
    spec = JobSpec.model_validate({{
        "name": "pure", "task": "examples.bots:birthday",
        "schedule": {{"cron": "30 2 * * *", "timezone": "Europe/Paris"}},
    }})
    runs = next_runs(build_schedule(spec), datetime(2026, 10, 24, tzinfo=UTC), 2)
    print(len(names), describe_cron("30 2 * * *"), *[r.isoformat() for r in runs])
finally:
    for name in forbidden:
        del sys.modules[name]
    sys.modules.update(saved)
"""


def test_core_imports_and_runs_with_io_and_threads_unimportable() -> None:
    """Every core module imports, and a DST-night cron computes, with those modules blocked."""
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(forbidden=FORBIDDEN)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    count, *rest = done.stdout.split()
    assert int(count) == len([m for m in modules(CORE) if m != "core"])
    # 02:30 Paris each night, once on the fall-back night (25 Oct 2026) at the first pass.
    assert rest[-2:] == ["2026-10-24T00:30:00+00:00", "2026-10-25T00:30:00+00:00"]


def test_no_core_module_names_a_forbidden_module_anywhere() -> None:
    """Not even a lazy import inside a function: the core stays free of I/O for good."""
    found = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            found += [
                f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in FORBIDDEN
            ]
    assert found == []
