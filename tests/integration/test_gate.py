"""The dispatch gate against a real Redis and a real SQLite file: pauses and overlap.

No workers: RQ's view of a run is set by writing its job hash status, as a worker would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from structlog.testing import capture_logs

from scheduler.core.job import LoadedJob
from scheduler.core.models import JobSpec
from scheduler.core.pause import Pause
from scheduler.core.runs import EventKind, RunEvent, RunRequest, RunStatus, RunTrigger, iso_utc
from scheduler.engine import pauses as pause
from scheduler.engine.gate import Gate
from scheduler.store import RunRow, Store

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def job(name: str, overlap: str) -> LoadedJob:
    spec = JobSpec.model_validate(
        {"name": name, "task": "a.b:c", "schedule": {"interval": "1m"}, "overlap": overlap}
    )
    return LoadedJob(spec, f"{name}.yaml", 1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "s.db") as s:
        yield s


@pytest.fixture
def gate(store: Store, redis_conn: redis.Redis) -> Gate:
    return Gate(store=store, conn=redis_conn, watcher="test")


def req(j: LoadedJob, minutes: int) -> RunRequest:
    return j.run_request(T0 + timedelta(minutes=minutes), RunTrigger.schedule)


def sent(gate: Gate, store: Store, conn: redis.Redis, r: RunRequest, rq_status: str) -> None:
    """Record ``r`` as enqueued and give it an RQ job hash in ``rq_status``."""
    store.record_enqueued(
        run_id=r.run_id,
        job=r.job,
        scheduled_for=datetime.fromisoformat(r.scheduled_for),
        trigger=r.trigger,
        enqueued_at=T0,
    )
    gate.sent(r)
    conn.hset(f"rq:job:{r.run_id}", "status", rq_status)


def row(store: Store, run_id: str) -> RunRow:
    return next(r for r in store.history(limit=100) if r.run_id == run_id)


def test_forbid_skips_while_rq_says_active(gate: Gate, store: Store, redis_conn: redis.Redis):
    """forbid: a run due while the previous one is started in RQ is recorded skipped."""
    j = job("a", "forbid")
    sent(gate, store, redis_conn, req(j, 0), "started")
    assert gate.admit([req(j, 1)], {"a": j}, T0) == []
    skipped = row(store, req(j, 1).run_id)
    assert skipped.status is RunStatus.skipped
    assert skipped.reason == "overlap"


def test_forbid_trusts_rq_when_the_result_is_late(
    gate: Gate, store: Store, redis_conn: redis.Redis
):
    """forbid: RQ says the previous run finished (its event not read yet): the new one goes."""
    j = job("a", "forbid")
    sent(gate, store, redis_conn, req(j, 0), "finished")
    assert gate.admit([req(j, 1)], {"a": j}, T0) == [req(j, 1)]


def test_allow_never_asks(gate: Gate, store: Store, redis_conn: redis.Redis):
    """allow: sent even with a run active."""
    j = job("a", "allow")
    sent(gate, store, redis_conn, req(j, 0), "started")
    assert gate.admit([req(j, 1)], {"a": j}, T0) == [req(j, 1)]


def test_replace_cancels_a_queued_run(gate: Gate, store: Store, redis_conn: redis.Redis):
    """replace: the queued earlier run is cancelled in RQ and recorded skipped (replaced)."""
    j = job("a", "replace")
    first = req(j, 0)
    from rq import Queue

    Queue("default", connection=redis_conn).enqueue_call(
        "tests.integration.e2e_tasks.append", args=("/dev/null", "x"), job_id=first.run_id
    )
    store.record_enqueued(
        run_id=first.run_id, job="a", scheduled_for=T0, trigger=first.trigger, enqueued_at=T0
    )
    gate.sent(first)
    assert gate.admit([req(j, 1)], {"a": j}, T0) == [req(j, 1)]
    old = row(store, first.run_id)
    assert (old.status, old.reason) == (RunStatus.skipped, "replaced")
    assert redis_conn.hget(f"rq:job:{first.run_id}", "status") == b"canceled"
    assert first.run_id.encode() not in redis_conn.lrange("rq:queue:default", 0, -1)


def test_queue_one_holds_one_and_skips_the_rest(gate: Gate, store: Store, redis_conn: redis.Redis):
    """queue_one: the next run waits (not sent), a third is skipped; when the first ends
    the waiting one is releasable."""
    j = job("a", "queue_one")
    first = req(j, 0)
    sent(gate, store, redis_conn, first, "started")
    assert gate.admit([req(j, 1)], {"a": j}, T0) == []
    assert gate.admit([req(j, 2)], {"a": j}, T0) == []
    assert row(store, req(j, 1).run_id).reason == "waiting"
    assert row(store, req(j, 2).run_id).reason == "overlap"
    assert gate.releasable() == []
    done = RunEvent(
        kind=EventKind.succeeded,
        run_id=first.run_id,
        job="a",
        scheduled_for=first.scheduled_for,
        trigger=RunTrigger.schedule,
        at=iso_utc(T0),
    )
    gate.on_event(done, j)
    [ready] = gate.releasable()
    assert ready.run_id == req(j, 1).run_id
    gate.released("a", ready, T0)
    assert row(store, ready.run_id).enqueued_at == T0


def test_waiting_runs_survive_a_restart(gate: Gate, store: Store, redis_conn: redis.Redis):
    """A new Gate on the same store knows the active and waiting runs again."""
    j = job("a", "queue_one")
    sent(gate, store, redis_conn, req(j, 0), "started")
    gate.admit([req(j, 1)], {"a": j}, T0)
    again = Gate(store=store, conn=redis_conn, watcher="test")
    again.load()
    waiting = [r for r in again.active["a"].values() if r.waiting]
    assert [r.run_id for r in waiting] == [req(j, 1).run_id]


def test_pause_records_paused_and_logs(gate: Gate, store: Store, redis_conn: redis.Redis):
    """A pause in Redis: the run is recorded skipped (paused); the change is logged once and
    mirrored to SQLite for status/health; an expired pause is removed and logged resumed."""
    j = job("a", "allow")
    p = Pause(job="a", by="ops", at=T0, reason="INC-1", until=T0 + timedelta(minutes=5))
    pause.save(redis_conn, p)
    with capture_logs() as logs:
        gate.refresh_pauses(T0, force=True)
        gate.refresh_pauses(T0, force=True)
    assert [e["event"] for e in logs] == ["job.paused"]
    assert logs[0]["by"] == "ops"
    assert gate.admit([req(j, 1)], {"a": j}, T0) == []
    paused = row(store, req(j, 1).run_id)
    assert (paused.status, paused.reason) == (RunStatus.skipped, "paused")
    meta = store.get_meta("paused")
    assert meta is not None
    assert json.loads(meta[0])["a"]["reason"] == "INC-1"
    with capture_logs() as logs:
        gate.refresh_pauses(T0 + timedelta(minutes=6), force=True)
    assert {e["event"] for e in logs} == {"job.resumed"}
    assert pause.read(redis_conn) == {}
    assert gate.admit([req(j, 7)], {"a": j}, T0) == [req(j, 7)]


def test_a_replayed_failure_alerts_once(gate: Gate):
    """on_failure log: the first failed report alerts; the same report replayed does not."""
    spec = JobSpec.model_validate(
        {
            "name": "f",
            "task": "a.b:c",
            "schedule": {"interval": "1m"},
            "on_failure": {"log": True},
        }
    )
    j = LoadedJob(spec, "f.yaml", 1)
    r = req(j, 0)
    failed = RunEvent(
        kind=EventKind.failed,
        run_id=r.run_id,
        job="f",
        scheduled_for=r.scheduled_for,
        trigger=RunTrigger.schedule,
        at=iso_utc(T0),
        error="ValueError: boom",
    )
    with capture_logs() as logs:
        gate.on_event(failed, j, changed=True)
        gate.on_event(failed, j, changed=False)
    alerts = [e for e in logs if e["event"] == "run.failure_alert"]
    assert len(alerts) == 1
    assert alerts[0]["log_level"] == "error"
    assert alerts[0]["error"] == "ValueError: boom"


def test_a_dropped_waiting_run_is_recorded_skipped(
    gate: Gate, store: Store, redis_conn: redis.Redis
):
    """A run queue_one held back, whose job was paused meanwhile, ends skipped (paused)."""
    from scheduler.core.policies import Reason

    j = job("a", "queue_one")
    sent(gate, store, redis_conn, req(j, 0), "started")
    gate.admit([req(j, 1)], {"a": j}, T0)
    [waiting] = [r for r in gate.active["a"].values() if r.waiting]
    gate.drop_waiting(waiting, Reason.paused, "paused while it waited", T0)
    dropped = row(store, waiting.run_id)
    assert (dropped.status, dropped.reason) == (RunStatus.skipped, "paused")
    assert all(not r.waiting for r in gate.active.get("a", {}).values())


def test_a_run_sent_again_is_not_its_own_rival(gate: Gate, store: Store, redis_conn: redis.Redis):
    """forbid: the same run admitted twice (Redis failed in between) still goes out."""
    j = job("a", "forbid")
    r = req(j, 0)
    assert gate.admit([r], {"a": j}, T0) == [r]
    redis_conn.hset(f"rq:job:{r.run_id}", "status", "queued")  # another watcher enqueued it
    assert gate.admit([r], {"a": j}, T0) == [r]


def test_replace_ends_a_started_and_a_waiting_run_once_each(
    gate: Gate, store: Store, redis_conn: redis.Redis
):
    """replace (the job was queue_one until now): the started run is stopped and recorded
    failed, the waiting one skipped, each replaced and logged once; the new run goes."""
    from rq import Queue

    held = job("a", "queue_one")
    first, second = req(held, 0), req(held, 1)
    Queue("default", connection=redis_conn).enqueue_call(
        "tests.integration.e2e_tasks.append", args=("/dev/null", "x"), job_id=first.run_id
    )
    sent(gate, store, redis_conn, first, "started")
    assert gate.admit([second], {"a": held}, T0) == []
    j = job("a", "replace")
    third = req(j, 2)
    with capture_logs() as logs:
        assert gate.admit([third], {"a": j}, T0) == [third]
    replaced = [(e["run_id"], e["stopped"]) for e in logs if e["event"] == "run.replaced"]
    assert replaced == [(first.run_id, True), (second.run_id, False)]
    assert (row(store, first.run_id).status, row(store, first.run_id).reason) == (
        RunStatus.failed,
        "replaced",
    )
    assert (row(store, second.run_id).status, row(store, second.run_id).reason) == (
        RunStatus.skipped,
        "replaced",
    )
    assert list(gate.active["a"]) == [third.run_id]
