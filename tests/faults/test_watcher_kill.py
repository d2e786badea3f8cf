"""Fault: the watcher is killed (kill -9) at random points around a dispatch, then restarted.

One watcher on a 1 s job, killed three times: just before an instant (while the runs due
next are being staged), within a few milliseconds of it (the dispatch pipeline), and just
after it (recording the runs). The points, and how long it stays down, come from a seeded
random generator (``FAULT_SEED``, default 6), so a failure replays. Its workers finish their
task and stop by themselves, as after a real crash; each life starts its own.

Invariant: every instant from the first to the last is recorded exactly once, executed at
most once, and executed unless recorded missed (the misfire policy's call for instants that
passed while nothing ran).
"""

from __future__ import annotations

import math
import os
import random
import time
from datetime import timedelta
from pathlib import Path

from scheduler.engine.embedded import EmbeddedRedis
from tests.faults.harness import (
    assert_each_instant_once,
    fleet,
    job_file,
    stop_job,
    wait_done,
    wait_more_done,
)
from tests.integration.test_watcher_e2e import write

SECOND = timedelta(seconds=1)
#: Offsets from an instant, in seconds, for each point of the dispatch cycle.
POINTS = {
    "before": (-0.45, -0.05),  # the runs due next are being staged (within PREPARE_AHEAD)
    "during": (0.0, 0.02),  # the dispatch pipeline is in flight
    "after": (0.03, 0.3),  # the runs are being recorded and the next ones computed
}


def sleep_until(wall: float) -> None:
    """Wait for a wall-clock instant: the fault's timing, not a synchronisation."""
    time.sleep(max(0.0, wall - time.time()))


def test_kill_9_at_random_points_of_a_dispatch(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    """Killed before, during and after a dispatch and restarted: no instant twice, none lost."""
    assert redis_server.url is not None
    rng = random.Random(int(os.environ.get("FAULT_SEED", "6")))
    out = tmp_path / "out.txt"
    points = list(POINTS)
    rng.shuffle(points)
    with fleet(tmp_path, redis_server.url) as group:
        path = write(tmp_path / "jobs" / "tick.yaml", job_file("tick", out, "interval: 1s"))
        watcher = group.start("life0")
        wait_done(out, 2)
        for life, point in enumerate(points, start=1):
            low, high = POINTS[point]
            instant = math.ceil(time.time()) + 1
            sleep_until(instant + rng.uniform(low, high))
            watcher.kill9()
            sleep_until(time.time() + rng.uniform(0.5, 2.5))  # instants pass while it is down
            watcher = group.start(f"life{life}")
            wait_more_done(out, 2, what=f"runs after the restart that followed {point!r}")
        rows, through = stop_job(path, [watcher], "tick")
    verdict = assert_each_instant_once(rows, out, every=SECOND, through=through)
    assert verdict.executed >= 8, verdict
