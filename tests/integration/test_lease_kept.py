"""A leader keeps its lease through steps longer than the lease (a start, a takeover).

Real watchers on their own loop threads, a real Redis and SQLite, a lease of one second,
and one step made slower than three leases by a busy loop that holds the interpreter as
real work at 100,000 jobs does. A rival elector asks for the lease all along, as a standby
on another machine would: it must never get it, the watcher must never log ``leader.lost``,
and every run id goes out once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from structlog.testing import capture_logs

from scheduler.core.clock import SystemClock
from scheduler.engine.leader import LeaderElector, RedisLease
from scheduler.engine.watcher import Watcher, WatcherOptions
from scheduler.store import Store
from tests.integration.helpers import wait_for

LEASE = timedelta(seconds=1)
#: The slowed step: three leases long.
SLOW = 3.0
JOB = (
    "name: tick\ntask: tests.integration.e2e_tasks:fail\n"
    "schedule:\n  interval: 1s\noverlap: allow\n"
)


def elector(conn: redis.Redis, name: str) -> LeaderElector:
    return LeaderElector(
        RedisLease(conn),
        clock=SystemClock(),
        ttl=LEASE,
        holder_id=name,
        holder_is_dead=lambda holder: False,
    )


def busy_for(seconds: float) -> None:
    """Work that holds the interpreter (no sleep, which would let other threads run freely)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def slowed(step: Callable[..., Any]) -> Callable[..., Any]:
    def slow(*args: Any, **kwargs: Any) -> Any:
        result = step(*args, **kwargs)
        busy_for(SLOW)
        return result

    return slow


class Rival:
    """A standby elsewhere: asks for the lease at every ``tick`` and remembers if it got it."""

    def __init__(self, conn: redis.Redis) -> None:
        self.elector = elector(conn, "rival")
        self.led = False

    def tick(self) -> None:
        self.elector.tick()
        self.led = self.led or self.elector.is_leader


@contextmanager
def watcher_thread(
    root: Path, conn: redis.Redis, name: str, slow: Callable[[Watcher], None] = lambda w: None
) -> Iterator[Watcher]:
    """A watcher named ``name`` on its own thread; ``slow`` slows one of its steps first."""
    made: list[Watcher] = []
    options = WatcherOptions(
        jobs_dir=root / "jobs",
        data_dir=root / name,
        watcher_id=name,
        leader=elector(conn, name),
    )

    def main() -> None:
        store = Store(options.data_dir / "scheduler.db")  # the loop thread's connection
        made.append(Watcher(options, store=store, conn=conn, clock=SystemClock()))
        slow(made[0])
        try:
            made[0].run()
        finally:
            store.close()

    (root / name).mkdir(exist_ok=True)  # a restart keeps its data dir
    thread = threading.Thread(target=main, name=f"watcher-{name}", daemon=True)
    thread.start()
    try:
        yield wait_for(lambda: made[0] if made else None, timeout=10, message="a watcher")
    finally:
        if made:
            made[0].stop()
        thread.join(15)


def sent(logs: list[dict[str, Any]]) -> int:
    return len([e for e in logs if e["event"] == "run.enqueued"])


def assert_kept(logs: list[dict[str, Any]], rival: Rival | None = None) -> None:
    """No rival led, no watcher lost its lease or was fenced, and each run id went out once."""
    assert rival is None or not rival.led, "a second watcher got the lease during the long step"
    assert not [e for e in logs if e["event"] in ("leader.lost", "run.fenced")]
    ids = Counter(e["run_id"] for e in logs if e["event"] == "run.enqueued")
    assert ids
    assert max(ids.values()) == 1, ids


def test_a_start_slower_than_the_lease_keeps_it(tmp_path: Path, redis_conn: redis.Redis) -> None:
    """start_jobs takes three leases; the renewal thread keeps the lease throughout."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "tick.yaml").write_text(JOB)
    rival = Rival(redis_conn)

    def slow_start(w: Watcher) -> None:
        w.scheduler.start_jobs = slowed(w.scheduler.start_jobs)  # type: ignore[method-assign]

    with capture_logs() as logs, watcher_thread(tmp_path, redis_conn, "a", slow_start) as a:
        wait_for(lambda: a.options.leader and a.options.leader.is_leader, timeout=10)

        def started() -> bool:
            rival.tick()
            return a.ready.is_set()

        wait_for(started, timeout=SLOW + 10, message="the slow start")
        # It goes on leading and dispatching: three runs, the rival still asking.
        wait_for(
            lambda: rival.tick() or sent(logs) >= 3,
            timeout=10,
            message=lambda: f"three runs after the start: {[e['event'] for e in logs]}",
        )
    assert_kept(logs, rival)
    assert [e["watcher"] for e in logs if e["event"] == "leader.acquired"] == ["a"]


def test_a_takeover_slower_than_the_lease_keeps_it(tmp_path: Path, redis_conn: redis.Redis) -> None:
    """A standby's takeover takes three leases after the leader stops; it keeps the lease."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "tick.yaml").write_text(JOB)
    rival = Rival(redis_conn)

    def slow_takeover(w: Watcher) -> None:
        w.handover.take_over = slowed(w.handover.take_over)  # type: ignore[method-assign]

    with capture_logs() as logs, watcher_thread(tmp_path, redis_conn, "a") as a:
        assert a.ready.wait(10)
        wait_for(lambda: a.options.leader and a.options.leader.is_leader, timeout=10)
        with watcher_thread(tmp_path, redis_conn, "b", slow_takeover) as b:
            assert b.ready.wait(10)
            wait_for(lambda: sent(logs), timeout=10, message="a dispatching")
            a.stop()  # gracefully: a releases the lease, b takes it and resumes in 3 leases
            wait_for(lambda: b.options.leader and b.options.leader.is_leader, timeout=10)

            def resumed() -> bool:
                rival.tick()  # the rival asks from then on
                return any(e["event"] == "leader.resumed" for e in logs)

            wait_for(resumed, timeout=SLOW + 10, message="b's slow takeover")
            before = sent(logs)
            wait_for(lambda: rival.tick() or sent(logs) > before, timeout=10, message="b sending")
            assert b.options.leader is not None
            assert b.options.leader.is_leader
    assert_kept(logs, rival)
    assert [e["watcher"] for e in logs if e["event"] == "leader.acquired"] == ["a", "b"]
