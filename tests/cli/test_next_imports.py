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

#: A document the plain-document fast path leaves to the model (retries).
RETRIED = """name: retried
task: examples.bots:heartbeat
retries: {max: 2}
schedule: {cron: "0 9 * * *"}
"""

# The command ends the process with os._exit (no teardown): the modules are listed then.
_PROBE = """
import json, os, sys
sys.argv = ["scheduler", "next", sys.argv[2], "--jobs-dir", sys.argv[1], "--count", "1"]
end = os._exit

def listed(code):
    print(json.dumps(sorted(sys.modules)), flush=True)
    end(code)

os._exit = listed
from scheduler.cli import main
main()
raise AssertionError("next returned instead of ending the process")
"""


def modules_after_next(
    jobs_dir: Path = FIXTURES / "valid", name: str = "nightly-report", **env: str
) -> set[str]:
    """The modules in ``sys.modules`` after one ``next NAME`` in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(jobs_dir), name],
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


def test_pydantic_plugins_allowed_are_still_discovered(tmp_path: Path) -> None:
    """``PYDANTIC_DISABLE_PLUGINS=""`` lets pydantic look for plugins as it always does
    (on a document the model reads: the valid fixture's are all plain)."""
    shutil.copytree(FIXTURES / "valid", tmp_path, dirs_exist_ok=True)
    (tmp_path / "retried.yaml").write_text(RETRIED, encoding="utf-8")
    loaded = modules_after_next(tmp_path, PYDANTIC_DISABLE_PLUGINS="")
    assert "pydantic" in loaded
    assert "importlib.metadata" in loaded


WINDOWED = """name: windowed
task: examples.bots:heartbeat
schedule:
  interval: 30s
  timezone: America/Sao_Paulo
  start: 2024-06-01
  end: 2032-01-01T00:00:00
  anchor: "2024-01-01 00:15"
"""


def test_next_on_plain_jobs_imports_no_pydantic(tmp_path: Path) -> None:
    """A jobs.d of plain documents (a cron, interval, daily or weekly schedule or a one-shot
    `at` in a zone, params, queue, jitter, a start/end window, an anchor) is read without
    the job model: ``next`` imports no pydantic."""
    found = (FIXTURES / "valid").rglob("*.y*ml")
    plain = [f for f in found if not f.name.startswith(".")]
    assert "at.yaml" in {f.name for f in plain}
    for file in plain:
        shutil.copy(file, tmp_path / f"{file.parent.name}-{file.name}")
    (tmp_path / "windowed.yaml").write_text(WINDOWED, encoding="utf-8")
    for name in ("nightly-report", "one-shot", "windowed"):  # each described, its runs found
        loaded = modules_after_next(tmp_path, name)
        assert "scheduler.config.loader" in loaded
        # Their packages, which any module of theirs imports first (the CLI's stand-in for
        # pydantic's plugin loader, app._without_plugin_discovery, is no import of pydantic).
        assert {"pydantic", "pydantic_core"} & loaded == set(), name


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
