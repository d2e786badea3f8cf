"""A watcher in the test's own process, on a clock the test moves, with a real RQ worker.

The fault tests of time (``test_clock.py``) and of edits (``test_restore.py``) drive it;
``in_process`` (in ``conftest.py``) starts one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import redis

from scheduler.core.clock import Clock
from scheduler.core.runs import RunStatus
from scheduler.engine.embedded import WorkerPool
from scheduler.engine.watcher import Watcher, WatcherOptions
from scheduler.store import Store
from tests.faults.harness import merged_rows
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import REPO


class MovableClock:
    """Real time, from an instant the test sets: ``now = base + (monotonic - set_at)``."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self.set(start)

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._base, self._mono = instant, time.monotonic()

    def jump(self, delta: timedelta) -> None:
        self.set(self.now() + delta)

    def now(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=time.monotonic() - self._mono)


@dataclass
class InProcess:
    watcher: Watcher
    clock: MovableClock
    data: Path
    jobs: Path

    def move_to(self, instant: datetime) -> None:
        self.clock.set(instant)
        self.watcher._wake.set()  # the loop sleeps at most 1 s anyway; this saves the wait


Start = Callable[[datetime], InProcess]


def succeeded_at(run: InProcess, job: str, instant: datetime) -> bool:
    row = next(
        (r for r in merged_rows([run.data], job).values() if r.scheduled_for == instant), None
    )
    return row is not None and row.status is RunStatus.succeeded


@contextmanager
def running_watcher(
    options: WatcherOptions, conn: redis.Redis, clock: Clock, url: str, *, logs: Path
) -> Iterator[Watcher]:
    """A watcher on its own loop thread and one RQ worker process, ready; both stopped after."""
    made: list[Watcher] = []

    def main() -> None:
        # SQLite connections belong to the thread that opens them: the loop's.
        store = Store(options.data_dir / "scheduler.db")
        made.append(Watcher(options, store=store, conn=conn, clock=clock))
        try:
            made[0].run()
        finally:
            store.close()

    pool = WorkerPool(url, count=1, queues=["default"], cwd=REPO, log_dir=logs)
    pool.start()
    thread = threading.Thread(target=main, name="watcher-under-test", daemon=True)
    thread.start()
    try:
        watcher = wait_for(lambda: made[0] if made else None, timeout=10, message="a watcher")
        assert watcher.ready.wait(20)
        yield watcher
    finally:
        if made:
            made[0].stop()
        thread.join(15)
        pool.stop(timeout=2)
