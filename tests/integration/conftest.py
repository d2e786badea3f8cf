"""Shared fixtures of the integration tests: a real Redis, flushed around every test.

The server is ``REDIS_URL`` when that is set (its current database is flushed before and
after each test, as in RQ's own tests), else an :class:`~scheduler.engine.embedded.EmbeddedRedis`
started once per session in a temporary directory, so a machine without a Redis service
still runs the whole suite. Under pytest-xdist each worker process is a session of its own:
an embedded server each, or on ``REDIS_URL`` a database each (``gw1`` the URL's database + 1),
so that one worker's flush never empties another's. To wait in a test, use
:func:`tests.integration.helpers.wait_for`.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator

import pytest
import redis

from scheduler.engine.embedded import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the session's Redis: ``REDIS_URL``, else an embedded one (not flushed here)."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield worker_database(url, os.environ.get("PYTEST_XDIST_WORKER", ""))
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    try:
        yield server.start()
    finally:
        server.stop()


def worker_database(url: str, worker: str) -> str:
    """``url`` moved to the database of xdist worker ``gwN`` (its own + N); as is outside xdist."""
    if not worker.startswith("gw"):
        return url
    offset = int(worker[2:])
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    if parts.scheme == "unix" or "db" in query:
        db = int(query.pop("db", ["0"])[0]) + offset
        query_text = urllib.parse.urlencode({**{k: v[0] for k, v in query.items()}, "db": db})
        if parts.scheme == "unix":  # urlunsplit would drop the "//" of an empty host
            return f"unix://{parts.netloc}{parts.path}?{query_text}"
        return urllib.parse.urlunsplit(parts._replace(query=query_text))
    db = int(parts.path.strip("/") or 0) + offset
    return urllib.parse.urlunsplit(parts._replace(path=f"/{db}"))


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
