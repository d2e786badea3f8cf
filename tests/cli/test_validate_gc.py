"""``validate`` turns the garbage collector off while it builds the catalog: the CLI leaves
it off up to its ``os._exit`` (turned back on, its first pass would walk everything built),
and an in-process caller gets it back as it was."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from scheduler.cli.app import cli
from tests.cli.conftest import PROJECT

# The CLI's own entry point, with os._exit saying how the collector stood when it ended.
_CLI = """
import gc, os, sys
exit_now = os._exit
def reporting_exit(code):
    sys.stderr.write(f"collector enabled at exit: {gc.isenabled()}\\n")
    sys.stderr.flush()
    exit_now(code)
os._exit = reporting_exit
sys.argv = ["scheduler", "validate", sys.argv[1]]
from scheduler.cli.app import main
main()
"""


def test_an_in_process_call_gives_the_collector_back(workdir: Path) -> None:
    assert gc.isenabled()
    result = CliRunner().invoke(cli, ["validate", str(workdir / "valid")])
    assert result.exit_code == 0, result.output
    assert gc.isenabled()
    result = CliRunner().invoke(cli, ["validate", str(workdir / "invalid")])
    assert result.exit_code == 1, result.output
    assert gc.isenabled()


def test_an_in_process_call_leaves_a_collector_found_off_off(workdir: Path) -> None:
    gc.disable()
    try:
        result = CliRunner().invoke(cli, ["validate", str(workdir / "valid")])
        assert result.exit_code == 0, result.output
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_cli_ends_with_the_collector_still_off(workdir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _CLI, str(workdir / "valid")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "collector enabled at exit: False" in proc.stderr
