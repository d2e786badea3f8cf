"""``python -m scheduler.web`` leaves rich unimported (structlog imports it for console
tracebacks where it is installed: here a dev dependency), as the watcher's JSON logging
does, and still logs an exception with its traceback. Checked in a fresh interpreter, its
main run up to serving (``uvicorn.Server.run`` replaced)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_PROBE = """
import json, sys
import uvicorn

def served(self, sockets=None):
    import structlog
    try:
        1 / 0
    except ZeroDivisionError:
        structlog.get_logger("probe").exception("probe.failed")
    print(json.dumps({"rich": "rich" in sys.modules}))

uvicorn.Server.run = served
from scheduler.web.__main__ import main
main(["--jobs-dir", sys.argv[1], "--data-dir", sys.argv[2], "--port", "0"])
"""
PROJECT = Path(__file__).resolve().parents[2]


def test_the_web_process_logs_without_rich(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.d"
    jobs.mkdir()
    (jobs / "a.yaml").write_text("name: a\ntask: a.b:c\nschedule:\n  interval: 1h\n", "utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(jobs), str(tmp_path / "data")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(proc.stdout.splitlines()[-1]) == {"rich": False}
    assert "probe.failed" in proc.stdout
    assert "ZeroDivisionError" in proc.stdout
