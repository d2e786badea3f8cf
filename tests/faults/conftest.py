"""Fixtures of the fault-injection suite: a Redis of each test's own, which a test may stop
and restart on the same address, and the ``faults`` marker on every test here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.embedded import EmbeddedRedis


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
