"""Runs staged ahead of their instant and claimed in one call per batch, on a real Redis.

The claim must keep every promise of the one-run-at-a-time path: each run enqueued once
(into its own queue, as a job RQ runs), a deposed leader refused, the shared resume point
only moved forward, and a run whose staged copy is gone sent the long way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from rq import Queue
from rq.job import Job

from scheduler.core.runs import RunRequest, RunTrigger, iso_utc, run_id
from scheduler.engine.dispatch import CLAIM_CHUNK, STAGE_PREFIX, Dispatcher
from scheduler.engine.leader import LAST_DISPATCHED_KEY, LEASE_KEY
from scheduler.engine.points import shared_last_dispatched

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def request(
    job: str, at: datetime, *, queue: str = "default", trigger: RunTrigger = RunTrigger.schedule
) -> RunRequest:
    return RunRequest(
        run_id=run_id(job, at, trigger),
        job=job,
        task="tests.integration.e2e_tasks:append",
        params={"label": job},
        scheduled_for=iso_utc(at),
        trigger=trigger,
        queue=queue,
    )


def queued(conn: redis.Redis, queue: str = "default") -> list[str]:
    return [raw.decode() for raw in conn.lrange(f"rq:queue:{queue}", 0, -1)]


def test_staged_runs_are_enqueued_once_each_as_jobs_rq_runs(redis_conn: redis.Redis) -> None:
    """A batch of staged runs over two queues lands once each; the same batch again is a
    no-op reported as not enqueued; nothing stays staged."""
    dispatcher = Dispatcher(redis_conn, owner="w")
    runs = [request(f"job{n}", T0, queue="default" if n % 3 else "low") for n in range(30)]
    dispatcher.stage_burst(runs)
    assert len(redis_conn.keys(f"{STAGE_PREFIX}*")) == 30
    assert queued(redis_conn) == []  # staged copies are invisible to workers

    outcomes = dispatcher.enqueue(runs, T0)
    assert [o.request for o in outcomes] == runs
    assert all(o.enqueued and not o.fenced for o in outcomes)
    assert sorted(queued(redis_conn) + queued(redis_conn, "low")) == sorted(r.run_id for r in runs)
    assert queued(redis_conn, "low") == [r.run_id for r in runs if r.queue == "low"]
    assert {q.name for q in Queue.all(connection=redis_conn)} == {"default", "low"}
    job = Job.fetch(runs[0].run_id, connection=redis_conn)
    assert job.get_status() == "queued"
    assert job.args[0]["run_id"] == runs[0].run_id
    assert redis_conn.ttl(job.key) == -1  # the staging expiry is not carried over
    assert redis_conn.keys(f"{STAGE_PREFIX}*") == []

    dispatcher.stage_burst(runs)
    again = dispatcher.enqueue(runs, T0)
    assert not any(o.enqueued for o in again)
    assert len(queued(redis_conn)) + len(queued(redis_conn, "low")) == 30


def test_staged_and_unstaged_runs_in_one_batch_keep_their_order(redis_conn: redis.Redis) -> None:
    """Outcomes come back in request order whether a run was staged, sent whole, or staged
    but expired since (then it goes the long way)."""
    dispatcher = Dispatcher(redis_conn, owner="w")
    staged = [request("a", T0), request("b", T0), request("c", T0)]
    dispatcher.stage_burst(staged)
    redis_conn.delete(STAGE_PREFIX + staged[1].run_id)  # its staged copy expired
    manual = request("d", T0, trigger=RunTrigger.manual)  # never staged
    batch = [staged[0], manual, staged[1], staged[2]]
    outcomes = dispatcher.enqueue(batch, T0)
    assert [o.request for o in outcomes] == batch
    assert [o.enqueued for o in outcomes] == [True, True, True, True]
    assert sorted(queued(redis_conn)) == sorted(r.run_id for r in batch)


def test_a_deposed_leaders_staged_runs_are_fenced(redis_conn: redis.Redis) -> None:
    """With another token in the lease, a whole staged batch is refused and nothing moves."""
    redis_conn.set(LEASE_KEY, "someone-else")
    dispatcher = Dispatcher(redis_conn, owner="w", fence=lambda: "mine")
    runs = [request("a", T0), request("b", T0)]
    dispatcher.stage_burst(runs)
    outcomes = dispatcher.enqueue(runs, T0)
    assert all(o.fenced and not o.enqueued for o in outcomes)
    assert queued(redis_conn) == []
    assert not redis_conn.exists(LAST_DISPATCHED_KEY)
    assert not redis_conn.exists(f"rq:job:{runs[0].run_id}")

    redis_conn.set(LEASE_KEY, "mine")
    dispatcher.stage_burst(runs)
    assert all(o.enqueued for o in dispatcher.enqueue(runs, T0))


def test_a_staged_claim_moves_each_jobs_resume_point_forward_only(
    redis_conn: redis.Redis,
) -> None:
    """The shared point is each job's latest instant claimed, never lowered, and manual runs
    never move it."""
    dispatcher = Dispatcher(redis_conn, owner="w")
    later = T0 + timedelta(minutes=5)
    first = [request("a", T0), request("a", later), request("b", T0)]
    dispatcher.stage_burst(first)
    dispatcher.enqueue(first, T0)
    assert shared_last_dispatched(redis_conn) == {"a": later, "b": T0}

    earlier = [request("a", T0 - timedelta(minutes=1)), request("b", T0 + timedelta(minutes=1))]
    dispatcher.stage_burst(earlier)
    dispatcher.enqueue(earlier, T0)
    assert shared_last_dispatched(redis_conn) == {"a": later, "b": T0 + timedelta(minutes=1)}


def test_a_batch_larger_than_one_claim_is_claimed_whole(redis_conn: redis.Redis) -> None:
    """More runs than one claim call takes: every one enqueued, in request order."""
    dispatcher = Dispatcher(redis_conn, owner="w")
    runs = [request(f"j{n}", T0) for n in range(CLAIM_CHUNK + 7)]
    dispatcher.stage_burst(runs)
    outcomes = dispatcher.enqueue(runs, T0)
    assert [o.request for o in outcomes] == runs
    assert all(o.enqueued for o in outcomes)
    assert queued(redis_conn) == [r.run_id for r in runs]


def test_a_batch_is_one_round_trip_and_survives_a_script_flush(
    redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staged and whole runs go out in one pipeline of EVALSHA, with no SCRIPT EXISTS asked
    first; after Redis forgot the scripts (a restart, SCRIPT FLUSH) the NOSCRIPT replies,
    which ran nothing, are sent again and every run still lands once."""
    asked: list[tuple[object, ...]] = []
    ask = redis.client.Pipeline.immediate_execute_command

    def spy(self: redis.client.Pipeline, *args: object, **options: object) -> object:
        asked.append(args)
        return ask(self, *args, **options)

    monkeypatch.setattr(redis.client.Pipeline, "immediate_execute_command", spy)
    dispatcher = Dispatcher(redis_conn, owner="w")
    sent: list[RunRequest] = []
    for minute in range(2):
        at = T0 + timedelta(minutes=minute)
        staged = [request("a", at), request("b", at)]
        dispatcher.stage_burst(staged)
        batch = [*staged, request("c", at, trigger=RunTrigger.manual)]
        redis_conn.script_flush()
        outcomes = dispatcher.enqueue(batch, at)
        assert [o.request for o in outcomes] == batch
        assert all(o.enqueued for o in outcomes)
        sent += batch
    assert queued(redis_conn) == [r.run_id for r in sent]
    assert asked == []

    again = [request("a", T0), request("a", T0 + timedelta(hours=1))]
    redis_conn.script_flush()
    assert [o.enqueued for o in dispatcher.enqueue(again, T0)] == [False, True]


def test_a_burst_staged_after_redis_forgot_its_scripts_is_claimed_in_one_command(
    redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staging loads the claim script: at the instant the burst goes out in one EVALSHA,
    with no NOSCRIPT reply and SCRIPT LOAD first, even when Redis had forgotten its scripts
    (a restart, SCRIPT FLUSH) before the staging."""
    dispatcher = Dispatcher(redis_conn, owner="w")
    runs = [request(f"job{n}", T0) for n in range(5)]
    redis_conn.script_flush()
    burst = dispatcher.stage_burst(runs)
    sent: list[object] = []
    execute = redis.Redis.execute_command

    def spy(self: redis.Redis, *args: object, **options: object) -> object:
        sent.append(args[0])
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", spy)
    outcomes = dispatcher.fire([(burst, ())], T0)
    assert sent == ["EVALSHA"]
    assert [o.request for o in outcomes] == runs
    assert all(o.enqueued for o in outcomes)
    assert queued(redis_conn) == [r.run_id for r in runs]
