"""The leader elector's decisions, with the lease store and the monotonic clock as fakes.

The store here is an in-memory ``LeaseStore`` (the elector's port), not a fake Redis: the
Redis scripts themselves are tested against a real server in
``tests/integration/test_leader.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from scheduler.core.clock import FixedClock
from scheduler.engine.leader import Holder, LeaderElector, Role

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class MemoryLease:
    """One lease with an expiry on the fake monotonic clock; ``down`` makes calls fail."""

    def __init__(self, ticks: list[float]) -> None:
        self.ticks = ticks
        self.value: str | None = None
        self.until = 0.0
        self.epoch = 0
        self.down = False
        self.calls = 0

    def _now(self) -> float:
        return self.ticks[0]

    def _current(self) -> str | None:
        if self.value is not None and self._now() >= self.until:
            self.value = None
        return self.value

    def _call(self) -> None:
        self.calls += 1
        if self.down:
            raise redis.ConnectionError("down")

    def acquire(self, holder_id: str, since: datetime, pid_ns: str, ttl_ms: int) -> str:
        return self.take_from("", holder_id, since, pid_ns, ttl_ms)

    def take_from(self, old: str, holder_id: str, since: datetime, pid_ns: str, ttl_ms: int) -> str:
        self._call()
        current = self._current()
        if (current or "") != old:
            return current or ""
        self.epoch += 1
        self.value = Holder(epoch=self.epoch, id=holder_id, since=since, pid_ns=pid_ns).token
        self.until = self._now() + ttl_ms / 1000
        return self.value

    def renew(self, token: str, ttl_ms: int) -> bool:
        self._call()
        if self._current() != token:
            return False
        self.until = self._now() + ttl_ms / 1000
        return True

    def release(self, token: str) -> bool:
        self._call()
        if self._current() != token:
            return False
        self.value = None
        return True


@pytest.fixture
def ticks() -> list[float]:
    return [100.0]


def elector(lease: MemoryLease, ticks: list[float], name: str, ttl: float = 9) -> LeaderElector:
    return LeaderElector(
        lease,
        clock=FixedClock(T0),
        ttl=timedelta(seconds=ttl),
        holder_id=name,
        monotonic=lambda: ticks[0],
        holder_is_dead=lambda holder: False,
    )


def test_a_standby_leads_once_the_dead_leaders_lease_runs_out(ticks: list[float]) -> None:
    """The leader stops renewing (dead): the standby leads within the lease plus its poll."""
    lease = MemoryLease(ticks)
    a, b = elector(lease, ticks, "a"), elector(lease, ticks, "b")
    assert a.tick()
    assert not b.tick()
    took = 0.0
    while not b.tick():
        ticks[0] += 0.05
        took += 0.05
        assert took < 9 + 0.25 + 0.1
    assert took >= 9 - 0.1
    assert b.is_leader
    assert b.holder is not None
    assert b.holder.epoch == 2


def test_standby_asks_at_most_every_poll(ticks: list[float]) -> None:
    """A standby talks to the lease store every 0.25 s at most, however often it ticks."""
    lease = MemoryLease(ticks)
    a, b = elector(lease, ticks, "a"), elector(lease, ticks, "b")
    a.tick()
    before = lease.calls
    for _ in range(100):  # 1 s of ticks every 10 ms
        ticks[0] += 0.01
        b.tick()
    assert 3 <= lease.calls - before <= 5
    assert b.poll_s == 0.25
    assert a.poll_s == 3.0


def test_leader_steps_down_by_its_own_clock_when_it_cannot_renew(ticks: list[float]) -> None:
    """Store unreachable: still leader until its lease would end, not a moment later."""
    lease = MemoryLease(ticks)
    a = elector(lease, ticks, "a")
    assert a.tick()
    lease.down = True
    ticks[0] += 8.9
    a.tick()
    assert a.is_leader
    ticks[0] += 0.2
    assert not a.is_leader  # already, before the next tick
    a.tick()
    assert a.role is Role.standby
    assert a.token is None


def test_own_lease_found_again_is_resumed(ticks: list[float]) -> None:
    """After stepping down (store unreachable), a lease still holding its value is its own."""
    lease = MemoryLease(ticks)
    a = elector(lease, ticks, "a", ttl=9)
    assert a.tick()
    token = a.token
    lease.down = True
    ticks[0] += 9.5
    a.tick()
    assert not a.is_leader
    lease.down = False
    lease.until = ticks[0] + 5  # Redis' own expiry came later than the watcher's
    ticks[0] += 0.25
    assert a.tick()
    assert a.token == token


def test_lost_steps_down_at_once_and_looks_again(ticks: list[float]) -> None:
    """A fenced dispatch: step down now; the next tick asks who leads."""
    lease = MemoryLease(ticks)
    a = elector(lease, ticks, "a")
    assert a.tick()
    lease.value = Holder(epoch=7, id="b", since=T0).token
    a.lost("dispatch_fenced")
    assert not a.is_leader
    a.tick()
    assert a.holder is not None
    assert a.holder.id == "b"


def test_release_frees_the_lease_for_the_next_poll(ticks: list[float]) -> None:
    """A graceful stop deletes the lease: the standby leads at its next poll."""
    lease = MemoryLease(ticks)
    a, b = elector(lease, ticks, "a"), elector(lease, ticks, "b")
    assert a.tick()
    b.tick()
    a.release()
    assert lease.value is None
    ticks[0] += 0.25
    assert b.tick()


def test_a_zero_lease_is_refused() -> None:
    """A lease must have a length."""
    with pytest.raises(ValueError, match="longer than zero"):
        elector(MemoryLease([0.0]), [0.0], "a", ttl=0)
