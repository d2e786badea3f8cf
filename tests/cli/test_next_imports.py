"""``scheduler next`` loads only what it uses (issue 13: under 200 ms, interpreter included).

Checked in a fresh interpreter, as a user runs it: after a real ``next`` on the fixture jobs,
none of the modules of the commands it does not run (Redis, RQ, the records, the web, the
logging set-up) is in ``sys.modules``. The time itself is a benchmark figure
(bench/validate.py), not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.cli.conftest import FIXTURES, PROJECT

NEVER_FOR_NEXT = (
    "rq",
    "redis",
    "structlog",
    "jinja2",
    "sqlite3",
    "difflib",
    "importlib.metadata",  # pydantic's plugin discovery, off in the CLI
    "scheduler.store",
    "scheduler.worker",
    "scheduler.web",
    "scheduler.cli.commands.records",
    "scheduler.cli.commands.run",
    "scheduler.cli.commands.web",
)

_PROBE = """
import json, sys
sys.argv = ["scheduler", "next", "nightly-report", "--jobs-dir", sys.argv[1], "--count", "1"]
from scheduler.cli import main
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)))
"""


def modules_after_next(**env: str) -> set[str]:
    """The modules in ``sys.modules`` after one ``next`` in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(FIXTURES / "valid")],
        cwd=PROJECT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(proc.stdout.splitlines()[-1]))


def test_next_imports_none_of_the_other_commands() -> None:
    loaded = modules_after_next()
    assert "scheduler.cli.commands.jobs" in loaded
    pulled = sorted(
        m for m in loaded for top in NEVER_FOR_NEXT if m == top or m.startswith(top + ".")
    )
    assert pulled == []


def test_pydantic_plugins_allowed_are_still_discovered() -> None:
    """``PYDANTIC_DISABLE_PLUGINS=""`` lets pydantic look for plugins as it always does."""
    assert "importlib.metadata" in modules_after_next(PYDANTIC_DISABLE_PLUGINS="")
