"""Fixtures of the fault-injection suite: a Redis of each test's own, which a test may stop
and restart on the same address; a watcher in the test's process on a clock it moves; and
the ``faults`` marker on every test here."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis

from scheduler.embedded import EmbeddedRedis, WorkerPool
from scheduler.leader import LeaderElector, RedisLease
from scheduler.store import Store
from scheduler.watcher import Watcher, WatcherOptions
from tests.faults.inprocess import InProcess, MovableClock, Start
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import REPO


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A private Redis (append-only file on) serving ``tmp_path/redis``; stopped at the end.

    ``redis_server.url`` is its address; ``stop()`` then ``start()`` brings it back on the
    same unix socket with its data, as a restarted Redis service would.
    """
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def in_process(tmp_path: Path, redis_server: EmbeddedRedis) -> Iterator[Start]:
    started: list[tuple[Watcher, threading.Thread, WorkerPool]] = []
    url = redis_server.url
    assert url is not None

    def start(at: datetime) -> InProcess:
        clock = MovableClock(at)
        data, jobs = tmp_path / "data", tmp_path / "jobs"
        data.mkdir(exist_ok=True)
        conn = redis.Redis.from_url(url, socket_timeout=10)
        options = WatcherOptions(
            jobs_dir=jobs,
            data_dir=data,
            leader=LeaderElector(RedisLease(conn), clock=clock, ttl=timedelta(seconds=10)),
        )
        made: list[Watcher] = []

        def main() -> None:
            # SQLite connections belong to the thread that opens them: the loop's.
            store = Store(data / "scheduler.db")
            made.append(Watcher(options, store=store, conn=conn, clock=clock))
            try:
                made[0].run()
            finally:
                store.close()

        pool = WorkerPool(url, count=1, queues=["default"], cwd=REPO, log_dir=tmp_path / "logs")
        pool.start()
        thread = threading.Thread(target=main, name="watcher-under-test", daemon=True)
        thread.start()
        watcher = wait_for(lambda: made[0] if made else None, timeout=10, message="a watcher")
        started.append((watcher, thread, pool))
        assert watcher.ready.wait(20)
        return InProcess(watcher, clock, data, jobs)

    yield start
    for watcher, thread, pool in started:
        watcher.stop()
        thread.join(15)
        pool.stop(timeout=2)
