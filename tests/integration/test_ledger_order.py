"""The scheduler's steps that record outside a long batch still commit a ledger row only
after its entry is published: a watcher killed at the publishing (simulated by a flush
that never returns) leaves its SQLite file without the row, as the other watchers are.

Real job files, real SQLite, real Redis; the watcher's parts driven on a fixed clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import redis

from scheduler.core.clock import FixedClock
from scheduler.core.runs import run_id
from tests.integration.test_bursts import T, job_file, make_watcher
from tests.integration.test_watcher_e2e import runs, write


def row(root: Path, rid: str) -> dict[str, object]:
    [found] = [r.as_json() for r in runs(root / "data") if r.run_id == rid]
    return found


class Killed(BaseException):
    """The process dying where it is raised: nothing after it runs, nothing commits."""


def test_a_released_run_is_committed_only_once_published(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    clock = FixedClock(T - timedelta(seconds=30))
    root = tmp_path / "w"
    write(root / "jobs" / "q.yaml", job_file("q", overlap="queue_one"))
    watcher = make_watcher(root, redis_conn, clock)
    clock.set(T)
    watcher.scheduler.dispatch_due(clock.now())
    clock.set(T + timedelta(minutes=1))
    watcher.scheduler.dispatch_due(clock.now())  # held back behind the first, still queued
    held = run_id("q", T + timedelta(minutes=1))
    before = row(root, held)
    assert before["reason"] == "waiting"
    watcher.gate._untrack("q", run_id("q", T))  # the first ended (as the results reader says)

    def killed() -> None:
        raise Killed

    watcher.ledger.flush = killed  # type: ignore[method-assign]
    with pytest.raises(Killed):
        watcher.scheduler.release_waiting(clock.now())
    # Its entry never reached the stream: neither may its row reach the file.
    assert row(root, held) == before
