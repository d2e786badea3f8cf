"""Fixtures of the fault-injection suite: a Redis of each test's own, which a test may stop
and restart on the same address; a watcher in the test's process on a clock it moves; and
the ``faults`` marker on every test here."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis

from scheduler.engine.embedded import EmbeddedRedis
from scheduler.engine.leader import LeaderElector, RedisLease
from scheduler.engine.watcher import WatcherOptions
from tests.faults.inprocess import InProcess, MovableClock, Start, running_watcher


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
    """Start (once) a watcher in this process at an instant; stopped at teardown."""
    url = redis_server.url
    assert url is not None
    with contextlib.ExitStack() as stack:

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
            running = running_watcher(options, conn, clock, url, logs=tmp_path / "logs")
            return InProcess(stack.enter_context(running), clock, data, jobs)

        yield start
