"""``scheduler next`` loads only what it uses (issue 13: under 200 ms, interpreter included).

Checked in a fresh interpreter, as a user runs it: after a real ``next`` on the fixture jobs,
none of the modules of the commands it does not run (Redis, RQ, the records, the web, the
logging set-up) is in ``sys.modules``. The time itself is a benchmark figure
(bench/validate.py), not asserted here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

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

# The command ends the process with os._exit (no teardown): the modules are listed then.
_PROBE = """
import json, os, sys
sys.argv = ["scheduler", "next", "nightly-report", "--jobs-dir", sys.argv[1], "--count", "1"]
end = os._exit

def listed(code):
    print(json.dumps(sorted(sys.modules)), flush=True)
    end(code)

os._exit = listed
from scheduler.cli import main
main()
raise AssertionError("next returned instead of ending the process")
"""


def modules_after_next(jobs_dir: Path = FIXTURES / "valid", **env: str) -> set[str]:
    """The modules in ``sys.modules`` after one ``next`` in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(jobs_dir)],
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


def test_next_on_plain_schedules_imports_neither_croniter_nor_tomllib() -> None:
    """The fixture's crons are plain (a day's table, or a date croniter need not confirm)
    and it has no settings file: croniter and the TOML parser stay out."""
    loaded = modules_after_next()
    assert "croniter" not in loaded
    assert "tomllib" not in loaded


def test_pydantic_plugins_allowed_are_still_discovered() -> None:
    """``PYDANTIC_DISABLE_PLUGINS=""`` lets pydantic look for plugins as it always does."""
    assert "importlib.metadata" in modules_after_next(PYDANTIC_DISABLE_PLUGINS="")


def test_next_on_plain_jobs_imports_no_pydantic(tmp_path: Path) -> None:
    """A jobs.d of plain documents (a cron, interval, daily or weekly schedule in a zone,
    params, queue, jitter) is read without the job model: ``next`` imports no pydantic."""
    # The valid fixture's jobs but its one-shot `at` (which the model reads).
    found = (FIXTURES / "valid").rglob("*.y*ml")
    plain = [f for f in found if f.name != "at.yaml" and not f.name.startswith(".")]
    for file in plain:
        shutil.copy(file, tmp_path / f"{file.parent.name}-{file.name}")
    loaded = modules_after_next(tmp_path)
    assert "scheduler.config.loader" in loaded
    # Their packages, which any module of theirs imports first (the CLI's stand-in for
    # pydantic's plugin loader, app._without_plugin_discovery, is no import of pydantic).
    assert {"pydantic", "pydantic_core"} & loaded == set()


# Every module `next` imports before it validates a document (issue 13).
_LOADERS = (
    "scheduler.cli.app",
    "scheduler.cli.commands.jobs",
    "scheduler.cli.report",
    "scheduler.config.catalog",
    "scheduler.core.describe",
    "scheduler.engine.api",
)


def test_next_modules_import_no_pydantic() -> None:
    """The job model (pydantic) is imported by the first document it validates, not with
    the CLI, the loader, the job or the report: a job built without it never pays for it."""
    program = f"import json, sys\nfor m in {_LOADERS!r}: __import__(m)\n"
    program += "print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", program],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = set(json.loads(proc.stdout))
    assert set(_LOADERS) <= loaded
    pulled = sorted(m for m in loaded if m.split(".")[0] in ("pydantic", "pydantic_core"))
    assert pulled == []
