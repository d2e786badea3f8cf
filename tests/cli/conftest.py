"""Black-box runs of ``python -m scheduler`` on the fixture trees under tests/cli/fixtures/.

Every run goes through :func:`run_cli`, which also checks the contract that no input makes
a command print a Python traceback. The fixture trees are copied once per session into a
temporary working directory, so the paths the CLI prints are short and relative
(``valid/cron.yaml``) and nothing a command might write lands in the source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROJECT = Path(__file__).resolve().parents[2]
DEFAULT_TIMEOUT = 30.0


class CliResult(NamedTuple):
    """What one CLI run did: exit code, standard output, standard error (text)."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Standard output parsed as JSON (standard error is not part of it)."""
        return json.loads(self.out)


def run_cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> CliResult:
    """Run ``python -m scheduler ARGS`` in ``cwd``; assert no traceback reached either stream.

    ``env`` entries are added to a cleaned copy of the environment (no
    ``SCHEDULER_JOBS_DIR`` inherited from the caller); a value of ``""`` removes a variable.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEDULER_")}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT), os.environ.get("PYTHONPATH", "")) if p
    )
    full_env["PYTHONIOENCODING"] = "utf-8"
    for key, value in (env or {}).items():
        if value == "":
            full_env.pop(key, None)
        else:
            full_env[key] = value
    proc = subprocess.run(
        [sys.executable, "-m", "scheduler", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory holding copies of the fixture trees: valid/, invalid/, dst/."""
    root = tmp_path_factory.mktemp("cli")
    for tree in ("valid", "invalid", "dst"):
        shutil.copytree(FIXTURES / tree, root / tree)
    return root


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    """A fresh working directory with no jobs.d/ in it."""
    return tmp_path


@pytest.fixture(scope="session")
def cli(workdir: Path) -> Callable[..., CliResult]:
    """:func:`run_cli` with the fixture working directory as the default ``cwd``."""

    def run(
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> CliResult:
        return run_cli(*args, cwd=workdir if cwd is None else cwd, env=env, timeout=timeout)

    return run
