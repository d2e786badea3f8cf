"""Fault: another process holds the SQLite file locked (a backup, a curious ``sqlite3``
shell with an open write transaction) while the watcher dispatches every second.

The issue asks for 5 s; the lock here lasts 8 s, beyond SQLite's usual 5 s busy timeout,
which is what used to crash the watcher ("database is locked") at 5 s and a few ms.

Invariant: the watcher neither crashes nor loses a record: the instants due while the file
was locked go out late, once the lock is gone, and are recorded; each is executed once, or
skipped by the overlap policy (the late runs go out together, and ``forbid``, the default,
lets the first of them run).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.engine.embedded import EmbeddedRedis
from tests.faults.harness import (
    assert_each_instant_once,
    fleet,
    job_file,
    ran_or_overlap_skipped,
    stop_job,
    wait_done,
    wait_more_done,
)
from tests.integration.test_watcher_e2e import write

SECOND = timedelta(seconds=1)
LOCKED_FOR = 8.0

_LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", flush=True)
"""


def test_sqlite_locked_by_another_process(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    """An exclusive lock held 8 s: no crash, and every instant recorded, run at most once."""
    assert redis_server.url is not None
    out = tmp_path / "out.txt"
    with fleet(tmp_path, redis_server.url) as group:
        watcher = group.start()
        path = write(tmp_path / "jobs" / "tick.yaml", job_file("tick", out, "interval: 1s"))
        wait_done(out, 2)
        locker = subprocess.Popen(
            [sys.executable, "-c", _LOCKER, str(watcher.data / "scheduler.db"), str(LOCKED_FOR)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert locker.stdout is not None
            assert locker.stdout.readline().strip() == "locked"
            locked_at = datetime.now(UTC)
            assert locker.stdout.readline().strip() == "released"
            assert locker.wait(10) == 0
        finally:
            if locker.poll() is None:
                locker.kill()
        assert watcher.running, watcher.tail()
        wait_more_done(out, 3, timeout=15)
        rows, through = stop_job(path, [watcher], "tick")
        assert watcher.running, watcher.tail()
    verdict = assert_each_instant_once(
        rows,
        out,
        every=SECOND,
        through=through,
        allow=ran_or_overlap_skipped,
    )
    during = [r for r in rows.values() if locked_at < r.scheduled_for <= locked_at + 6 * SECOND]
    assert len(during) >= 6
    assert verdict.missed == 0, verdict
