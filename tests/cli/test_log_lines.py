"""Processes that share stdout (the watcher and its embedded workers) never split a line.

Each JSON log line is written whole, its newline included, in one write: with stdout
unbuffered (PYTHONUNBUFFERED=1, as in the container), a line written in two parts lets
another process's line in between, and a log pipeline reading JSON lines loses both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_LOGGER = """
import sys
from scheduler.cli.log import configure
import structlog
configure("json")
log = structlog.get_logger()
for n in range(int(sys.argv[1])):
    log.info("run.enqueued", job="tick", n=n, who=sys.argv[2])
"""

LINES = 10_000


def test_two_processes_on_one_stdout_write_whole_json_lines(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with out.open("wb") as shared:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _LOGGER, str(LINES), who], stdout=shared, env=env
            )
            for who in ("watcher", "worker")
        ]
        for proc in procs:
            assert proc.wait(timeout=120) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # a split line fails here
    assert len(records) == 2 * LINES
    for who in ("watcher", "worker"):
        assert [r["n"] for r in records if r["who"] == who] == list(range(LINES))
