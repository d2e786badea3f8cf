"""Fault: Redis stops for 10 seconds under a running watcher and its workers, then restarts.

Redis keeps its append-only file, as a restarted service would. The watcher must not exit:
it logs the outage, backs off, steps down when its lease runs out, and when Redis answers
again leads again and resumes from the shared resume point.

Invariant: no instant runs twice; every instant from the first to the last is recorded,
executed, or (for those due during the outage) whatever the misfire policy says: run late,
or recorded missed. None is silently lost.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.engine.embedded import EmbeddedRedis
from tests.faults import fault_tasks
from tests.faults.harness import assert_each_instant_once, fleet, job_file, stop_job, wait_done
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import write

SECOND = timedelta(seconds=1)
OUTAGE = 10.0


def test_redis_down_10_s_then_back(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    """The watcher survives a 10 s Redis outage and resumes with no duplicate and no gap."""
    url = redis_server.url
    assert url is not None
    out = tmp_path / "out.txt"
    with fleet(tmp_path, url) as group:
        watcher = group.start(lease="4s")
        path = write(tmp_path / "jobs" / "tick.yaml", job_file("tick", out, "interval: 1s"))
        wait_done(out, 2)

        redis_server.stop()
        down = time.monotonic()
        watcher.wait_event("redis.unavailable", timeout=5)
        # Longer than the lease: the watcher must step down rather than dispatch blind.
        watcher.wait_event("leader.lost", timeout=OUTAGE, reason="lease_expired")
        wait_for(
            lambda: time.monotonic() - down >= OUTAGE,
            timeout=OUTAGE + 1,
            message="the outage lasting its 10 s",
        )
        assert watcher.running, watcher.tail()
        assert redis_server.start() == url
        back = datetime.now(UTC)
        watcher.wait_event("redis.recovered", timeout=15)
        wait_for(lambda: len(watcher.find("leader.acquired")) >= 2, timeout=10, message="leads")

        def after_restart() -> int:
            return sum(
                1
                for rid in fault_tasks.executions(out)
                if datetime.fromisoformat(_instant(rid)) > back
            )

        wait_for(lambda: after_restart() >= 2, timeout=20, message="two runs after the restart")
        rows, through = stop_job(path, [watcher], "tick", timeout=30)
        assert watcher.running
    verdict = assert_each_instant_once(rows, out, every=SECOND, through=through)
    assert verdict.executed >= 4, verdict


def _instant(run_id: str) -> str:
    """The UTC instant in a run id (``tick--20261128T164110Z``) as ISO-8601."""
    stamp = run_id.rpartition("--")[2]
    return (
        f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}+00:00"
    )
