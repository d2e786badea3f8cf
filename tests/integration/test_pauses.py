"""Runtime pauses in Redis: an expired pause is cleared only if nobody replaced it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from scheduler.core.pause import Pause
from scheduler.engine import pauses

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _pause(reason: str) -> Pause:
    return Pause(job="a", by="ops", at=T0, reason=reason, until=T0 + timedelta(minutes=5))


def test_an_expired_pause_is_cleared_after_redis_forgot_the_script(
    redis_conn: redis.Redis,
) -> None:
    """A Redis that flushed its scripts (restart, eviction) still clears the pause."""
    pauses.save(redis_conn, _pause("INC-1"))
    redis_conn.script_flush()

    assert pauses.clear_if_unchanged(redis_conn, _pause("INC-1"))
    assert pauses.read(redis_conn) == {}


def test_a_pause_replaced_meanwhile_is_kept(redis_conn: redis.Redis) -> None:
    """Someone paused the job again after the watcher read the old pause: theirs stays."""
    pauses.save(redis_conn, _pause("INC-2"))

    assert not pauses.clear_if_unchanged(redis_conn, _pause("INC-1"))
    assert pauses.read(redis_conn) == {"a": _pause("INC-2")}
