"""The watcher's and the workers' JSON logging leaves rich unimported (structlog imports it
for console tracebacks where it is installed: here a dev dependency), and still renders an
exception as a JSON traceback. Checked in a fresh interpreter, in the commands' order:
logging configured, then the watcher's modules."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.cli.conftest import PROJECT

_PROBE = """
import json, sys
from scheduler.cli.log import configure
configure(sys.argv[1])
from scheduler.engine import daemon  # what `scheduler run` imports next
import structlog
try:
    1 / 0
except ZeroDivisionError:
    structlog.get_logger("probe").exception("probe.failed")
print(json.dumps({"rich": "rich" in sys.modules}))
"""


def probe(fmt: str) -> tuple[list[str], bool]:
    """The probe's log lines and whether rich was imported."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, fmt],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    *lines, last = proc.stdout.splitlines()
    return lines, json.loads(last)["rich"]


def test_json_logs_do_without_rich() -> None:
    lines, rich = probe("json")
    assert not rich
    [failed] = [json.loads(line) for line in lines if "probe.failed" in line]
    assert failed["exception"][0]["exc_type"] == "ZeroDivisionError"


@pytest.mark.skipif(importlib.util.find_spec("rich") is None, reason="rich not installed")
def test_console_logs_keep_rich_tracebacks() -> None:
    lines, rich = probe("console")
    assert rich
    assert any("ZeroDivisionError" in line for line in lines)
