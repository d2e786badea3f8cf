"""A backup taken under load, restored with the watcher stopped: ``history`` matches.

The backup is taken while the watcher dispatches every second (so it writes all the time).
Runs go on after it. Then the watcher stops, the backup is restored, and the watcher starts
again on it: the restore set the data dir's place on the results stream back to the
backup's instant, so the restarted watcher reads again what the backup lacks, and
``history`` ends equal to what it was before the restore, run for run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scheduler.engine.embedded import EmbeddedRedis
from tests.faults.harness import fleet, job_file, stop_job, wait_more_done
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import write

REPO = Path(__file__).resolve().parents[2]


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "scheduler", *args, "--data-dir", "data"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def history(root: Path) -> list[tuple[str, str, str | None]]:
    proc = cli(root, "history", "--limit", "100000", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return sorted((r["run_id"], r["status"], r["finished_at"]) for r in json.loads(proc.stdout))


def test_backup_under_load_restores_to_the_same_history(
    tmp_path: Path, redis_server: EmbeddedRedis
) -> None:
    assert redis_server.url is not None
    url = redis_server.url
    out = tmp_path / "out.txt"
    with fleet(tmp_path, url) as group:
        watcher = group.start()
        path = write(tmp_path / "jobs" / "tick.yaml", job_file("tick", out, "interval: 1s"))
        wait_more_done(out, 3)
        made = cli(tmp_path, "backup", str(tmp_path / "backup.db"), "--format", "json")
        assert made.returncode == 0, made.stderr
        in_backup = json.loads(made.stdout)["runs"]
        assert in_backup >= 3
        wait_more_done(out, 3)  # runs the backup does not hold
        stop_job(path, [watcher], "tick")
        before = history(tmp_path)
        assert len(before) > in_backup
        refused = cli(tmp_path, "restore", str(tmp_path / "backup.db"), "--redis-url", url)
        assert refused.returncode == 1, refused.stdout
        assert "a watcher is running" in refused.stderr
        watcher.close()
        restored = cli(
            tmp_path, "restore", str(tmp_path / "backup.db"), "--redis-url", url, "--format", "json"
        )
        assert restored.returncode == 0, restored.stderr
        assert json.loads(restored.stdout)["stream_rewind_to"]
        assert len(history(tmp_path)) == in_backup
        again = group.start("again")
        wait_for(
            lambda: history(tmp_path) == before,
            timeout=30,
            message=lambda: f"history after restore {history(tmp_path)} == before {before}",
        )
        assert again.running, again.tail()
