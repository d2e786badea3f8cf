"""Redis' health as dispatch sees it: after a failure, when to try again (doubling waits)."""

from __future__ import annotations

import time

import structlog

# The scheduler's logger: these lines were always the watcher's.
log = structlog.get_logger("scheduler.watcher")

FIRST_WAIT_S = 0.5
LONGEST_WAIT_S = 10.0


class RedisHealth:
    """Logs the first failure and the recovery once each; spaces the retries meanwhile."""

    def __init__(self) -> None:
        self._ok = True
        self._retry_at = 0.0
        self._backoff = FIRST_WAIT_S

    @property
    def retry_at(self) -> float | None:
        """When (``time.monotonic()`` seconds) to try Redis again; None while it answers."""
        return None if self._ok else self._retry_at

    def failed(self, exc: Exception) -> None:
        if self._ok:
            log.error("redis.unavailable", error=str(exc))
        self._ok = False
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, LONGEST_WAIT_S)

    def recovered(self) -> None:
        if not self._ok:
            log.info("redis.recovered")
        self._ok = True
        self._backoff = FIRST_WAIT_S
