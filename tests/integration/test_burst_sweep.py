"""What bursts leave in Redis: claimed jobs that never expire, and staged copies that go.

Staged copies carry no expiry of their own (RENAMENX would move it onto the job); the
burst index holds each list until its claim, a run withdrawn from its burst keeps its copy
for ``STAGE_TTL``, and a list never claimed is swept with its staged copies once its time
is up (``SWEEP_BURSTS``, run while staging).
"""

from __future__ import annotations

import redis
from rq.job import Job

from scheduler.engine.dispatch import (
    BURST_INDEX,
    BURST_PREFIX,
    STAGE_PREFIX,
    STAGE_TTL,
    Dispatcher,
)
from scheduler.engine.leader import LEASE_KEY
from tests.integration.test_dispatch_staged import T0, queued, request


def test_a_claimed_burst_leaves_jobs_without_expiry_and_nothing_staged(
    redis_conn: redis.Redis,
) -> None:
    """Every run claimed from its list is a job that waits in its queue as long as it must;
    its list, its index entry and its staged copy are gone."""
    dispatcher = Dispatcher(redis_conn, owner="w")
    runs = [request(f"job{n}", T0) for n in range(5)]
    burst = dispatcher.stage_burst(runs)
    assert redis_conn.zscore(BURST_INDEX, burst.key) is not None
    assert all(o.enqueued for o in dispatcher.fire([(burst, ())], T0))
    assert queued(redis_conn) == [r.run_id for r in runs]
    assert all(redis_conn.ttl(Job.key_for(r.run_id)) == -1 for r in runs)
    assert redis_conn.keys(f"{STAGE_PREFIX}*") == []
    assert redis_conn.keys(f"{BURST_PREFIX}*") == []
    assert redis_conn.zcard(BURST_INDEX) == 0


def test_a_withdrawn_run_keeps_an_expiring_copy_and_its_job_none(
    redis_conn: redis.Redis,
) -> None:
    """Withdrawn from its burst, its staged copy expires; claimed then by the ordinary path,
    it becomes a job with no expiry. A run listed twice goes out once, from its first list."""
    dispatcher = Dispatcher(redis_conn, owner="w")
    first = dispatcher.stage_burst([request("a", T0), request("b", T0)])
    second = dispatcher.stage_burst([request("b", T0)])
    withdrawn = request("a", T0).run_id
    outcomes = dispatcher.fire([(first, [withdrawn]), (second, ())], T0)
    assert [(o.request.run_id, o.enqueued) for o in outcomes] == [
        (request("b", T0).run_id, True),
        (request("b", T0).run_id, False),
    ]
    assert 0 < redis_conn.ttl(STAGE_PREFIX + withdrawn) <= STAGE_TTL
    assert redis_conn.ttl(Job.key_for(request("b", T0).run_id)) == -1
    assert dispatcher.enqueue([request("a", T0)], T0)[0].enqueued
    assert redis_conn.ttl(Job.key_for(withdrawn)) == -1
    assert queued(redis_conn) == [request("b", T0).run_id, withdrawn]
    assert redis_conn.keys(f"{STAGE_PREFIX}*") == []


def test_bursts_never_claimed_are_swept_with_their_staged_copies(
    redis_conn: redis.Redis,
) -> None:
    """A deposed leader's burst (fenced) stays listed and staged; once its time is up, the
    next staging sweeps it and its copies, and leaves the bursts still ahead alone."""
    redis_conn.set(LEASE_KEY, "new-leader")
    deposed = Dispatcher(redis_conn, owner="old", fence=lambda: "old-leader")
    old = deposed.stage_burst([request(f"old{n}", T0) for n in range(3)])
    assert all(o.fenced for o in deposed.fire([(old, ())], T0))
    assert redis_conn.exists(old.key)
    assert len(redis_conn.keys(f"{STAGE_PREFIX}*")) == 3

    redis_conn.zadd(BURST_INDEX, {old.key: 1})  # its time is up
    fresh = Dispatcher(redis_conn, owner="new").stage_burst([request("new", T0)])
    assert not redis_conn.exists(old.key)
    assert redis_conn.keys(f"{STAGE_PREFIX}*") == [
        (STAGE_PREFIX + request("new", T0).run_id).encode()
    ]
    assert redis_conn.zrange(BURST_INDEX, 0, -1) == [fresh.key.encode()]
