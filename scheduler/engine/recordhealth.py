"""The watcher's records when SQLite refuses them (a full disk, a damaged file).

Dispatch goes on (the store keeps what it cannot write: ``store.resilient``). This part
plays the waiting writes again every :data:`RETRY_EVERY`, logs the failure once per
:data:`LOG_EVERY` (not once per event), and publishes it in Redis under
:func:`status_key` for ``scheduler health``, which may not be able to read the file.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import structlog

from scheduler.engine.results import results_group
from scheduler.store.resilient import ResilientStore

log = structlog.get_logger("scheduler.records")

RETRY_EVERY = 5.0
LOG_EVERY = 60.0
#: The Redis key lives this long after the watcher last refreshed it (every heartbeat).
STATUS_TTL = 30
STATUS_KEY = "scheduler:records:"


def status_key(group: str) -> str:
    """The Redis key of one data dir's records status (its results consumer group)."""
    return STATUS_KEY + group


class RecordHealth:
    """Retries, logs and publishes the state of ``store``'s writes (see module)."""

    def __init__(self, store: ResilientStore, conn: redis.Redis, *, group: str, watcher: str):
        self._store = store
        self._conn = conn
        self._key = status_key(group)
        self._watcher = watcher
        self._next_retry = 0.0
        self._next_log = 0.0
        self._published = False

    def check(self) -> None:
        """Called every heartbeat: retry when due, log at most once a minute, publish."""
        store = self._store
        if store.failure is None and not self._published:
            return
        mono = time.monotonic()
        since = store.failing_since
        if store.failure is not None and mono >= self._next_retry:
            self._next_retry = mono + RETRY_EVERY
            waiting = store.waiting
            if store.retry():
                log.info(
                    "records.recovered",
                    replayed=waiting,
                    failing_for_s=None if since is None else round(time.time() - since, 1),
                )
                self._next_log = 0.0
        if store.failure is None:
            with contextlib.suppress(redis.RedisError):
                self._conn.delete(self._key)
            self._published = False
            return
        if mono >= self._next_log:
            self._next_log = mono + LOG_EVERY
            log.error(
                "records.failing",
                error=store.failure,
                waiting=store.waiting,
                dropped=store.dropped,
                since=_iso(store.failing_since),
            )
        status = {
            "ok": False,
            "error": store.failure,
            "since": _iso(store.failing_since),
            "waiting": store.waiting,
            "watcher": self._watcher,
            "at": datetime.now(UTC).isoformat(),
        }
        with contextlib.suppress(redis.RedisError):
            self._conn.set(self._key, json.dumps(status), ex=STATUS_TTL)
            self._published = True


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def records_status(data_dir: Path, conn: Any | None) -> dict[str, Any] | None:
    """What the watcher published about its records failing (``recordhealth``), or None."""
    if conn is None:
        return None
    import redis

    try:
        raw = conn.get(status_key(results_group(data_dir)))
    except redis.RedisError:
        return None
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
