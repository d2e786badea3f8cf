"""Unfinished runs are closed from what RQ knows of them (real Redis, real RQ jobs)."""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from rq import Queue, SimpleWorker

from scheduler.core.runs import EventKind, RunTrigger
from scheduler.engine.reconcile import reconcile

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
AT = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)


def _run(run_id: str, ours: str = "started") -> tuple[str, str, datetime, RunTrigger, str]:
    return (run_id, "job", AT, RunTrigger.schedule, ours)


def test_finished_and_failed_rq_jobs_close_their_runs(redis_conn: redis.Redis) -> None:
    """RQ finished -> succeeded; RQ failed -> failed with the reason; queued -> untouched."""
    queue = Queue("default", connection=redis_conn)
    queue.enqueue("tests.integration.tasks_for_tests.ok_dict", job_id="fine")
    queue.enqueue("tests.integration.tasks_for_tests.fail", job_id="broken")
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    queue.enqueue("tests.integration.tasks_for_tests.ok_dict", job_id="waiting")
    events = reconcile(redis_conn, [_run("fine"), _run("broken"), _run("waiting", "enqueued")], NOW)
    kinds = {e.run_id: e.kind for e in events}
    assert kinds == {"fine": EventKind.succeeded, "broken": EventKind.failed}
    assert "failed" in next(e.error or "" for e in events if e.run_id == "broken")


def test_vanished_rq_job_is_a_lost_run(redis_conn: redis.Redis) -> None:
    """A run whose RQ job no longer exists ends failed, saying it was lost."""
    [event] = reconcile(redis_conn, [_run("gone")], NOW)
    assert event.kind is EventKind.failed
    assert event.error is not None
    assert event.error.startswith("lost")


def test_started_job_of_a_dead_worker_fails_and_of_a_live_one_waits(
    redis_conn: redis.Redis,
) -> None:
    """RQ says started: failed once its worker has died, left alone while it lives."""
    redis_conn.hset("rq:job:orphan", mapping={"status": "started", "worker_name": "w-dead"})
    redis_conn.hset("rq:worker:w-dead", mapping={"birth": "x", "death": "y"})
    redis_conn.hset("rq:job:busy", mapping={"status": "started", "worker_name": "w-live"})
    redis_conn.hset("rq:worker:w-live", mapping={"birth": "x"})
    events = reconcile(redis_conn, [_run("orphan"), _run("busy")], NOW)
    assert [(e.run_id, e.kind, e.worker) for e in events] == [
        ("orphan", EventKind.failed, "w-dead")
    ]


def test_started_in_rq_but_not_yet_here_is_left_alone(redis_conn: redis.Redis) -> None:
    """A run still 'enqueued' here whose RQ job started waits for its started event."""
    redis_conn.hset("rq:job:early", mapping={"status": "started", "worker_name": "w-gone"})
    assert reconcile(redis_conn, [_run("early", "enqueued")], NOW) == []
