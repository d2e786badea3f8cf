"""Shared fixtures of the integration tests: a real Redis, flushed around every test.

The server is ``REDIS_URL`` when that is set (its current database is flushed before and
after each test, as in RQ's own tests), else an :class:`~scheduler.engine.embedded.EmbeddedRedis`
started once per session in a temporary directory, so a machine without a Redis service
still runs the whole suite. To wait in a test, use :func:`tests.integration.helpers.wait_for`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from scheduler.engine.embedded import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the session's Redis: ``REDIS_URL``, else an embedded one (not flushed here)."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    try:
        yield server.start()
    finally:
        server.stop()


def _flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """URL of an empty Redis database, flushed again after the test."""
    _flush(redis_server_url)
    yield redis_server_url
    _flush(redis_server_url)


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the empty database of :func:`redis_url` (bytes responses, as RQ uses)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
