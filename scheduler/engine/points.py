"""The shared points: each job's latest dispatched scheduled instant, read from Redis.

Every watcher's dispatch script writes them (``LAST_DISPATCHED_KEY``); a watcher reads them
all when it starts leading or takes over (100,000 at scale).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import redis

from scheduler.engine.leader import LAST_DISPATCHED_KEY

#: Entries per HSCAN step when reading every job's shared point.
SCAN_COUNT = 5000


def shared_points(conn: redis.Redis) -> Iterator[tuple[str, datetime]]:
    """Each job's shared point, as the hash is scanned (each job once, in no given order).

    One conversion per distinct instant, since many jobs share theirs, and none of the
    per-entry helpers. Read a few thousand at a time: the whole hash's reply held at once
    beside the result was a tenth of the peak memory of a restart.
    """
    instants: dict[bytes | str, datetime] = {}
    for job, ms in conn.hscan_iter(LAST_DISPATCHED_KEY, count=SCAN_COUNT):
        instant = instants.get(ms)
        try:
            if instant is None:
                instant = instants[ms] = datetime.fromtimestamp(int(ms) / 1000, UTC)
            name = job.decode() if isinstance(job, bytes) else job
        except ValueError:  # not written by this version (UnicodeDecodeError is one too)
            continue
        yield name, instant


def shared_last_dispatched(conn: redis.Redis) -> dict[str, datetime]:
    """Each job's latest dispatched scheduled instant, as every watcher's dispatches wrote it."""
    return dict(shared_points(conn))


def points_of(conn: redis.Redis, jobs: Sequence[str]) -> list[datetime | None]:
    """The shared points of ``jobs``, in their order (None: none, or not this version's)."""
    if not jobs:
        return []
    instants: dict[bytes | str, datetime] = {}
    found: list[datetime | None] = []
    for ms in conn.hmget(LAST_DISPATCHED_KEY, list(jobs)):
        instant = None if ms is None else instants.get(ms)
        if ms is not None and instant is None:
            try:
                instant = instants[ms] = datetime.fromtimestamp(int(ms) / 1000, UTC)
            except ValueError:
                instant = None
        found.append(instant)
    return found
