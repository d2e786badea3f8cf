"""The leader lease against a real Redis: one leader, renewal, step-down, release, fencing.

Time is a fake monotonic clock moved by hand; where Redis' own expiry matters the lease key
is deleted or overwritten instead of waited for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis
from structlog.testing import capture_logs

from scheduler.core.clock import FixedClock
from scheduler.core.runs import RunRequest, RunTrigger, iso_utc, run_id
from scheduler.engine.dispatch import Dispatcher
from scheduler.engine.leader import (
    LAST_DISPATCHED_KEY,
    LEASE_KEY,
    Holder,
    LeaderElector,
    RedisLease,
    Role,
)
from scheduler.engine.points import shared_last_dispatched

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Ticks:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def elector(conn: redis.Redis, name: str, ticks: Ticks, ttl: float = 10) -> LeaderElector:
    return LeaderElector(
        RedisLease(conn),
        clock=FixedClock(T0),
        ttl=timedelta(seconds=ttl),
        holder_id=name,
        monotonic=ticks,
        holder_is_dead=lambda holder: False,
    )


def request(job: str, at: datetime, trigger: RunTrigger = RunTrigger.schedule) -> RunRequest:
    return RunRequest(
        run_id=run_id(job, at),
        job=job,
        task="tests.integration.e2e_tasks:fail",
        params={},
        scheduled_for=iso_utc(at),
        trigger=trigger,
    )


def test_one_of_two_leads_and_the_other_sees_who(redis_conn: redis.Redis) -> None:
    """The first to ask leads; the second stands by and knows the leader's id and since."""
    ticks = Ticks()
    a, b = elector(redis_conn, "host-a:1", ticks), elector(redis_conn, "host-b:2", ticks)
    with capture_logs() as logs:
        assert a.tick() is True
        assert b.tick() is False
    assert (a.role, b.role) == (Role.leader, Role.standby)
    assert a.is_leader
    assert not b.is_leader
    assert b.holder is not None
    assert b.holder.id == "host-a:1"
    assert b.holder.since == T0
    assert {"event": "leader.acquired", "watcher": "host-a:1"}.items() <= logs[0].items()
    assert logs[1]["event"] == "leader.standby"
    assert logs[1]["leader"] == "host-a:1"
    ttl_ms = redis_conn.pttl(LEASE_KEY)
    assert 0 < ttl_ms <= 10_000


def test_renewal_keeps_the_lease_and_a_lost_lease_steps_down(redis_conn: redis.Redis) -> None:
    """The leader renews every third of the lease; if another holds it, it steps down."""
    ticks = Ticks()
    a = elector(redis_conn, "a:1", ticks, ttl=9)
    assert a.tick()
    redis_conn.pexpire(LEASE_KEY, 500)
    ticks.t += 3.0
    a.tick()
    assert a.is_leader
    assert redis_conn.pttl(LEASE_KEY) > 8000  # renewed

    redis_conn.set(LEASE_KEY, "7|someone:9|2026-01-01T00:00:00+00:00|")
    ticks.t += 3.0
    with capture_logs() as logs:
        a.tick()
    assert not a.is_leader
    assert {"event": "leader.lost", "reason": "lease_taken"}.items() <= logs[0].items()


def test_leader_that_cannot_renew_steps_down_when_its_lease_would_end(
    redis_conn: redis.Redis,
) -> None:
    """Redis unreachable: still leader until the lease's end by its own clock, then standby."""
    ticks = Ticks()
    a = elector(redis_conn, "a:1", ticks, ttl=9)
    assert a.tick()
    broken = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    a._lease = RedisLease(broken)  # the same elector, now on a Redis that does not answer
    ticks.t += 3.5
    with capture_logs() as logs:
        a.tick()
    assert a.is_leader
    assert logs[0]["event"] == "leader.renew_failed"
    ticks.t += 6.0
    with capture_logs() as logs:
        a.tick()
    assert not a.is_leader
    assert {"event": "leader.lost", "reason": "lease_expired"}.items() <= logs[0].items()


def test_a_leadership_continues_only_when_nobody_led_in_between(redis_conn: redis.Redis) -> None:
    """``continued``: a's lease lapsed and a took it back with no other leader meanwhile;
    once b led in between, a's next leadership does not continue its own."""
    ticks = Ticks()
    a, b = elector(redis_conn, "a:1", ticks, ttl=9), elector(redis_conn, "b:2", ticks, ttl=9)
    assert a.tick()
    assert not a.continued  # its first leadership

    ticks.t += 10.0  # a long start-up: the lease ran out, nobody else took it
    redis_conn.delete(LEASE_KEY)
    assert a.tick()  # stepped down and took it back at once
    assert a.continued

    ticks.t += 10.0
    redis_conn.delete(LEASE_KEY)
    assert b.tick()  # b led in between
    assert not a.tick()
    redis_conn.delete(LEASE_KEY)
    ticks.t += 1.0
    assert a.tick()
    assert not a.continued


def test_release_hands_over_at_once(redis_conn: redis.Redis) -> None:
    """A graceful stop deletes the lease (only its own), so a standby leads at its next tick."""
    ticks = Ticks()
    a, b = elector(redis_conn, "a:1", ticks), elector(redis_conn, "b:2", ticks)
    assert a.tick()
    assert not b.tick()
    a.release()
    ticks.t += 0.5
    assert b.tick() is True
    assert b.holder is not None
    assert b.holder.epoch == 2
    a.release()  # no longer its lease: nothing happens
    assert redis_conn.exists(LEASE_KEY)


def test_a_deposed_leaders_dispatch_is_fenced(redis_conn: redis.Redis) -> None:
    """A leader whose lease was taken cannot enqueue: the dispatch script refuses the run."""
    ticks = Ticks()
    a, b = elector(redis_conn, "a:1", ticks), elector(redis_conn, "b:2", ticks)
    assert a.tick()
    old = Dispatcher(redis_conn, owner="a:1", fence=lambda: a.holder.token if a.holder else None)
    first = request("tick", T0)
    [sent] = old.enqueue([first], T0)
    assert sent.enqueued
    assert not sent.fenced

    redis_conn.delete(LEASE_KEY)  # a's lease ran out while it was paused
    assert b.tick()
    late = request("tick", T0 + timedelta(seconds=1))
    [refused] = old.enqueue([late], T0)
    assert refused.fenced
    assert not refused.enqueued
    assert not redis_conn.exists(f"rq:job:{late.run_id}")
    assert redis_conn.llen("rq:queue:default") == 1

    new = Dispatcher(redis_conn, owner="b:2", fence=lambda: b.token)
    [ok] = new.enqueue([late], T0)
    assert ok.enqueued


def test_dispatch_moves_the_shared_resume_point_forward_only(redis_conn: redis.Redis) -> None:
    """Each scheduled dispatch raises its job's shared point; manual runs and older ones don't."""
    dispatcher = Dispatcher(redis_conn, owner="w")
    later, earlier = T0 + timedelta(minutes=5), T0
    dispatcher.enqueue([request("a", later)], T0)
    dispatcher.enqueue([request("a", earlier), request("b", earlier)], T0)
    dispatcher.enqueue([request("a", later + timedelta(hours=1), RunTrigger.manual)], T0)
    assert shared_last_dispatched(redis_conn) == {"a": later, "b": earlier}
    assert redis_conn.hlen(LAST_DISPATCHED_KEY) == 2


def test_holder_value_round_trips() -> None:
    """The lease value carries epoch, id and since; foreign values are not a holder."""
    holder = Holder(epoch=3, id="web-1:77", since=T0, pid_ns="pid:[1]")
    assert Holder.parse(holder.token) == holder
    assert Holder.parse("garbage") is None
    assert Holder.parse("x|a|b|c") is None


def test_stale_lease_of_a_dead_process_is_taken_at_once(redis_conn: redis.Redis) -> None:
    """A lease whose holder is known dead (same host, gone) is taken without waiting."""
    ticks = Ticks()
    dead = elector(redis_conn, "me:1", ticks)
    assert dead.tick()
    heir = LeaderElector(
        RedisLease(redis_conn),
        clock=FixedClock(T0 + timedelta(seconds=1)),
        holder_id="me:2",
        monotonic=ticks,
        holder_is_dead=lambda holder: holder.id == "me:1",
    )
    assert heir.tick() is True
    assert heir.holder is not None
    assert heir.holder.epoch == 2


def test_every_shared_point_is_read_from_a_hash_bigger_than_one_scan_step(
    redis_conn: redis.Redis,
) -> None:
    points = {f"job-{n:05d}": T0 + timedelta(seconds=n % 7) for n in range(12_000)}
    redis_conn.hset(
        LAST_DISPATCHED_KEY,
        mapping={job: int(at.timestamp() * 1000) for job, at in points.items()},
    )
    assert shared_last_dispatched(redis_conn) == points
