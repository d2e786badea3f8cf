"""The leader's heartbeat publishes the points it accounted for without dispatching.

A real Redis, SQLite file and job tree; the handover alone, with no watcher loop beside
it, so that each heartbeat's publication is called here, between two of Redis' states.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from scheduler.config.liveconfig import LiveConfig
from scheduler.core.clock import FixedClock
from scheduler.core.duequeue import DueQueue
from scheduler.engine import handover
from scheduler.engine.handover import Handover
from scheduler.engine.leader import LAST_DISPATCHED_KEY, LEASE_KEY
from scheduler.engine.points import shared_last_dispatched
from scheduler.engine.progress import Progress
from scheduler.store import Store

NOW = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
NAMES = [f"far-{i}" for i in range(5)]
TOKEN = "the-lease"


@pytest.fixture
def beat(
    tmp_path: Path, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Progress, Callable[[str], None]]]:
    """(progress, publish): publish(token) is one heartbeat's publication of the points."""
    monkeypatch.setattr(handover, "_POINTS_PER_CALL", 2)  # 5 points: three script calls
    jobs = tmp_path / "jobs.d"
    jobs.mkdir()
    for name in NAMES:
        text = f"name: {name}\ntask: tests.integration.e2e_tasks:fail\n"
        (jobs / f"{name}.yaml").write_text(text + "schedule:\n  cron: '0 3 1 1 *'\n")
    config = LiveConfig(jobs)
    config.rescan(NOW)
    progress = Progress()
    with Store(tmp_path / "scheduler.db") as store:
        h = Handover(
            leader=None,
            watcher="a",
            store=store,
            conn=redis_conn,
            config=config,
            due=DueQueue(),
            clock=FixedClock(NOW),
            progress=progress,
            advance=lambda job, instant, now: [],
            send=lambda requests: True,
        )
        yield progress, h._publish_points


def test_points_are_published_fenced_and_after_redis_forgot_the_script(
    beat: tuple[Progress, Callable[[str], None]], redis_conn: redis.Redis
) -> None:
    """Every moved point reaches Redis, a batch per script call, only under the lease's
    token; and still once Redis forgot its scripts between two beats (a restart, SCRIPT
    FLUSH); a shared point is never moved back."""
    progress, publish = beat
    for i, name in enumerate(NAMES):
        progress.set_last(name, NOW - timedelta(hours=i))
    redis_conn.set(LEASE_KEY, "another-leader")
    publish(TOKEN)
    assert shared_last_dispatched(redis_conn) == {}
    assert sorted(progress.moved()) == NAMES  # refused: left for the next beat

    redis_conn.set(LEASE_KEY, TOKEN)
    publish(TOKEN)
    assert shared_last_dispatched(redis_conn) == {
        n: NOW - timedelta(hours=i) for i, n in enumerate(NAMES)
    }
    assert progress.moved() == []

    redis_conn.script_flush()
    later = NOW + timedelta(minutes=5)
    redis_conn.hset(
        LAST_DISPATCHED_KEY, "far-1", int((later + timedelta(hours=1)).timestamp() * 1000)
    )
    progress.set_last("far-0", later)
    progress.set_last("far-1", later)
    publish(TOKEN)
    shared = shared_last_dispatched(redis_conn)
    assert shared["far-0"] == later
    assert shared["far-1"] == later + timedelta(hours=1)
    assert progress.moved() == []
