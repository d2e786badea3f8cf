"""The runner under real RQ workers, and the results stream on a real Redis (`redis_conn`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import structlog
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue, SimpleWorker, Worker
from rq.job import Job, JobStatus

from scheduler.core.runs import EventKind, RunEvent, RunRequest, RunTrigger, iso_utc, run_id
from scheduler.worker.events import STREAM, EventReader, publish
from scheduler.worker.runner import TaskImportError, import_task, run

TASKS = "tests.integration.tasks_for_tests"
ROOT = Path(__file__).resolve().parents[2]
BASE = datetime(2026, 3, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def conn(redis_conn: redis.Redis) -> redis.Redis:
    """The shared fixture's client of an empty Redis database (bytes replies, as RQ uses)."""
    return redis_conn


def _request(task: str, *, minute: int = 0, **params: Any) -> RunRequest:
    scheduled = BASE + timedelta(minutes=minute)
    return RunRequest(
        run_id=run_id("demo", scheduled),
        job="demo",
        task=task,
        params=params,
        scheduled_for=iso_utc(scheduled),
        trigger=RunTrigger.schedule,
    )


def _enqueue(conn: redis.Redis, *requests: RunRequest) -> list[Job]:
    queue = Queue("default", connection=conn)
    return [
        queue.enqueue("scheduler.runner.run", r.as_payload(), job_id=r.run_id) for r in requests
    ]


def _work(conn: redis.Redis, *requests: RunRequest) -> list[Job]:
    """Enqueue the runs and drain the queue with a real in-process RQ worker."""
    jobs = _enqueue(conn, *requests)
    SimpleWorker([Queue("default", connection=conn)], connection=conn).work(burst=True)
    for job in jobs:
        job.refresh()
    return jobs


def _stream(conn: redis.Redis) -> list[tuple[str, RunEvent]]:
    """Every event in the stream, oldest first, read with XRANGE (no consumer group)."""
    out = []
    for entry_id, fields in conn.xrange(STREAM):
        decoded = {k.decode(): v.decode() for k, v in fields.items()}
        out.append((entry_id.decode(), RunEvent.from_fields(decoded)))
    return out


def _event(kind: EventKind = EventKind.started, *, minute: int = 0) -> RunEvent:
    request = _request(f"{TASKS}:ok_dict", minute=minute)
    return RunEvent(
        kind=kind,
        run_id=request.run_id,
        job=request.job,
        scheduled_for=request.scheduled_for,
        trigger=request.trigger,
        at=iso_utc(BASE),
        worker="test:1",
    )


def _pending(conn: redis.Redis, group: str) -> int:
    return int(conn.xpending(STREAM, group)["pending"])


# --- the runner under RQ -------------------------------------------------------------------


def test_succeeded_event_has_duration_result_and_worker(conn: redis.Redis) -> None:
    """A task that returns reports started then succeeded, with duration and JSON result."""
    request = _request(f"{TASKS}:ok_dict", n=3)
    (job,) = _work(conn, request)

    events = [event for _, event in _stream(conn)]
    assert [e.kind for e in events] == [EventKind.started, EventKind.succeeded]
    done = events[1]
    assert (done.run_id, done.job, done.scheduled_for) == (
        request.run_id,
        "demo",
        "2026-03-29T09:00:00+00:00",
    )
    assert done.trigger is RunTrigger.schedule
    assert json.loads(done.result or "") == {"n": 3, "squares": [0, 1, 4], "pad": ""}
    assert done.duration_s is not None
    assert done.duration_s >= 0
    assert done.error is None
    assert done.traceback is None
    assert done.worker == f"{socket.gethostname()}:{os.getpid()}"
    assert datetime.fromisoformat(done.at).utcoffset() == timedelta(0)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == {"n": 3, "squares": [0, 1, 4], "pad": ""}


def test_started_precedes_final_event(conn: redis.Redis) -> None:
    """The started entry comes first in the stream and its time is not after the final one."""
    _work(conn, _request(f"{TASKS}:nap", seconds=0.05))

    (start_id, started), (final_id, final) = _stream(conn)
    assert started.kind is EventKind.started
    assert final.kind is EventKind.succeeded
    assert tuple(map(int, start_id.split("-"))) < tuple(map(int, final_id.split("-")))
    assert datetime.fromisoformat(started.at) <= datetime.fromisoformat(final.at)
    assert final.duration_s is not None
    assert final.duration_s >= 0.05
    assert started.duration_s is None
    assert started.result is None


def test_large_result_is_capped_at_4_kib(conn: redis.Redis) -> None:
    """A result whose JSON exceeds 4 KiB is cut, with a marker giving its full size."""
    (job,) = _work(conn, _request(f"{TASKS}:ok_dict", pad=10_000))

    final = _stream(conn)[-1][1]
    assert final.kind is EventKind.succeeded
    assert final.result is not None
    assert len(final.result.encode()) <= 4096
    assert final.result.startswith('{"n": 1')
    assert final.result.endswith(" bytes]")
    assert "truncated" in final.result
    assert job.return_value()["pad"] == "x" * 10_000


def test_non_json_result_is_published_as_its_repr(conn: redis.Redis) -> None:
    """A result JSON cannot encode is reported (and kept by RQ) as its repr."""
    (job,) = _work(conn, _request(f"{TASKS}:ok_opaque", label="ticket"))

    final = _stream(conn)[-1][1]
    assert final.kind is EventKind.succeeded
    assert json.loads(final.result or "") == "Opaque('ticket')"
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "Opaque('ticket')"


def test_failed_event_has_error_and_traceback_and_rq_marks_job_failed(
    conn: redis.Redis,
) -> None:
    """A raising task reports failed with "Type: message" and a traceback; RQ fails the job."""
    (job,) = _work(conn, _request(f"{TASKS}:fail", message="bad input"))

    kinds_and_events = _stream(conn)
    assert [e.kind for _, e in kinds_and_events] == [EventKind.started, EventKind.failed]
    failed = kinds_and_events[1][1]
    assert failed.error == "ValueError: bad input"
    assert failed.traceback is not None
    assert "tasks_for_tests.py" in failed.traceback
    assert "raise ValueError(message)" in failed.traceback
    assert failed.traceback.splitlines()[-1] == "ValueError: bad input"
    assert failed.duration_s is not None
    assert failed.result is None
    assert job.get_status() == JobStatus.FAILED
    result = job.latest_result()
    assert result is not None
    assert "ValueError: bad input" in (result.exc_string or "")


def test_long_traceback_keeps_its_last_30_lines(conn: redis.Redis) -> None:
    """A deep traceback is cut to its last lines, ending with the exception."""
    _work(conn, _request(f"{TASKS}:fail_deep", depth=60))

    failed = _stream(conn)[-1][1]
    assert failed.traceback is not None
    lines = failed.traceback.splitlines()
    assert len(lines) <= 30
    assert lines[-1] == "ValueError: deep boom"
    assert len(failed.traceback.encode()) <= 8192


def test_import_failure_is_a_failed_run(conn: redis.Redis) -> None:
    """A task that cannot be imported is a failed run naming the reference."""
    (job,) = _work(conn, _request("tests.integration.no_such_module:task"))

    events = [e for _, e in _stream(conn)]
    assert [e.kind for e in events] == [EventKind.started, EventKind.failed]
    assert events[1].error == (
        "TaskImportError: cannot import task 'tests.integration.no_such_module:task': "
        "ModuleNotFoundError: No module named 'tests.integration.no_such_module'"
    )
    assert job.get_status() == JobStatus.FAILED


def test_forking_worker_reports_on_the_job_connection(conn: redis.Redis) -> None:
    """RQ's default forking Worker runs the task in a work horse that reports too."""
    (job,) = _enqueue(conn, _request(f"{TASKS}:ok_dict", n=2))
    Worker([Queue("default", connection=conn)], connection=conn).work(burst=True)

    events = [e for _, e in _stream(conn)]
    assert [e.kind for e in events] == [EventKind.started, EventKind.succeeded]
    assert events[1].worker != f"{socket.gethostname()}:{os.getpid()}"  # the horse's pid
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED


def test_rq_worker_command_runs_the_runner(
    conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    """A separate `rq worker --burst` process runs enqueued runs and publishes their events."""
    target = tmp_path / "out.txt"
    _enqueue(conn, _request(f"{TASKS}:append_line", path=str(target), line="from rq"))
    rq_cli = Path(sys.executable).with_name("rq")
    subprocess.run(
        [str(rq_cli), "worker", "--burst", "--url", redis_url, "default"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )

    assert target.read_text() == "from rq\n"
    assert [e.kind for _, e in _stream(conn)] == [EventKind.started, EventKind.succeeded]


# --- the runner called directly ------------------------------------------------------------


def test_run_called_directly_uses_the_given_connection(conn: redis.Redis) -> None:
    """Outside RQ, `connection=` says where events go; the task's value is returned."""
    value = run(_request(f"{TASKS}:Greeter.hello", name="ada").as_payload(), connection=conn)

    assert value == "hello ada"
    assert json.loads(_stream(conn)[-1][1].result or "") == "hello ada"


def test_run_outside_rq_without_connection_is_an_error() -> None:
    """Without a current RQ job or a connection there is nowhere to report, so run refuses."""
    with pytest.raises(RuntimeError, match="connection="):
        run(_request(f"{TASKS}:ok_dict").as_payload())


def test_publish_failure_does_not_mask_the_outcome() -> None:
    """With Redis unreachable the task still runs; the result or exception comes through."""
    dead = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    with structlog.testing.capture_logs() as logs:
        assert run(_request(f"{TASKS}:ok_dict").as_payload(), connection=dead)["n"] == 1
        with pytest.raises(ValueError, match="still raised"):
            run(_request(f"{TASKS}:fail", message="still raised").as_payload(), connection=dead)

    failures = [e for e in logs if e["event"] == "run_event_publish_failed"]
    assert [e["kind"] for e in failures] == ["started", "succeeded", "started", "failed"]
    assert all(e["log_level"] == "error" and e["job"] == "demo" for e in failures)
    assert failures[0]["error"].startswith("ConnectionError")


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("tests.integration.tasks_for_tests", "expected 'package.module:function'"),
        ("tests.integration.tasks_for_tests:", "expected 'package.module:function'"),
        (":ok_dict", "expected 'package.module:function'"),
        ("tests.integration.tasks_for_tests:nope", "'tests.integration.tasks_for_tests' has no"),
        ("tests.integration.tasks_for_tests:Greeter.nope", "'tests.integration.tasks_for_tests"),
        ("tests.integration.tasks_for_tests:NOT_CALLABLE", "not callable (a int)"),
        ("tests.integration.missing:f", "ModuleNotFoundError: No module named"),
    ],
)
def test_import_task_errors_name_the_reference_and_reason(ref: str, reason: str) -> None:
    """Each way a task reference can be wrong raises TaskImportError with a clear message."""
    with pytest.raises(TaskImportError) as caught:
        import_task(ref)
    assert str(caught.value).startswith(f"cannot import task {ref!r}: ")
    assert reason in str(caught.value)
    assert caught.value.ref == ref
    assert isinstance(caught.value, ImportError)


def test_import_task_resolves_dotted_attributes() -> None:
    """A reference may name an attribute path after the colon, such as Class.method."""
    assert import_task(f"{TASKS}:Greeter.hello")("bo") == "hello bo"


# --- the results stream --------------------------------------------------------------------


def test_publish_returns_the_entry_id_and_trims_approximately(conn: redis.Redis) -> None:
    """publish returns a decoded entry id, and maxlen keeps the stream near that length."""
    entry_id = publish(conn, _event())
    assert isinstance(entry_id, str)
    assert conn.xrange(STREAM)[0][0].decode() == entry_id

    for minute in range(1000):
        publish(conn, _event(minute=minute), maxlen=10)
    assert conn.xlen(STREAM) < 1000


def test_group_created_after_publish_reads_earlier_events(conn: redis.Redis) -> None:
    """A consumer group created after events were published still reads them all."""
    ids = [publish(conn, _event(minute=m)) for m in range(3)]
    reader = EventReader(conn, group="watcher", consumer="w1")
    reader.ensure_group()
    reader.ensure_group()  # idempotent

    got = reader.read(block_ms=None)
    assert [entry_id for entry_id, _ in got] == ids
    assert [e.run_id for _, e in got] == [_event(minute=m).run_id for m in range(3)]
    assert reader.read(block_ms=None) == []


def test_nothing_is_lost_while_no_reader_runs(conn: redis.Redis, tmp_path: Path) -> None:
    """Runs that finish while no reader exists are all read once a reader comes up."""
    target = tmp_path / "lines.txt"
    requests = [
        _request(f"{TASKS}:append_line", minute=m, path=str(target), line=f"run {m}")
        for m in range(5)
    ]
    _work(conn, *requests)
    assert target.read_text().splitlines() == [f"run {m}" for m in range(5)]

    reader = EventReader(conn, group="watcher", consumer="w1")
    reader.ensure_group()
    got = reader.read(block_ms=None, count=3)
    while batch := reader.read(block_ms=None, count=3):
        got.extend(batch)
    finals = {e.run_id: e for _, e in got if e.kind is EventKind.succeeded}
    assert len(got) == 10
    assert set(finals) == {r.run_id for r in requests}
    assert json.loads(finals[requests[4].run_id].result or "") == 5


def test_pending_entries_are_redelivered_to_the_same_consumer(conn: redis.Redis) -> None:
    """Entries read but never acked come back first to a new reader with the same name."""
    first = EventReader(conn, group="watcher", consumer="w1")
    first.ensure_group()
    ids = [publish(conn, _event(minute=m)) for m in range(3)]
    assert [i for i, _ in first.read(block_ms=None)] == ids
    later = publish(conn, _event(minute=9))  # arrives while "crashed"

    again = EventReader(conn, group="watcher", consumer="w1")
    assert [i for i, _ in again.read(block_ms=None)] == ids
    assert [i for i, _ in again.read(block_ms=None)] == [later]
    assert again.read(block_ms=None) == []


def test_other_consumers_do_not_get_pending_entries(conn: redis.Redis) -> None:
    """Another consumer's read skips entries already delivered to someone else."""
    one = EventReader(conn, group="watcher", consumer="w1")
    one.ensure_group()
    publish(conn, _event())
    assert len(one.read(block_ms=None)) == 1

    assert EventReader(conn, group="watcher", consumer="w2").read(block_ms=None) == []


def test_ack_removes_entries_from_pending(conn: redis.Redis) -> None:
    """Acked entries leave the pending list and are not redelivered after a restart."""
    reader = EventReader(conn, group="watcher", consumer="w1")
    reader.ensure_group()
    for m in range(3):
        publish(conn, _event(minute=m))
    got = reader.read(block_ms=None)
    assert _pending(conn, "watcher") == 3

    assert reader.ack([got[0][0], got[1][0]]) == 2
    assert reader.ack([]) == 0
    assert _pending(conn, "watcher") == 1
    restarted = EventReader(conn, group="watcher", consumer="w1")
    assert [i for i, _ in restarted.read(block_ms=None)] == [got[2][0]]


def test_claim_stale_takes_entries_from_a_dead_consumer(conn: redis.Redis) -> None:
    """claim_stale moves idle pending entries of another consumer to this one."""
    dead = EventReader(conn, group="watcher", consumer="dead")
    dead.ensure_group()
    ids = [publish(conn, _event(minute=m)) for m in range(2)]
    dead.read(block_ms=None)
    alive = EventReader(conn, group="watcher", consumer="alive")

    assert alive.claim_stale(min_idle_ms=60_000) == []
    claimed = alive.claim_stale(min_idle_ms=0)
    assert [i for i, _ in claimed] == ids
    detail = conn.xpending_range(STREAM, "watcher", min="-", max="+", count=10)
    assert {d["consumer"] for d in detail} == {b"alive"}
    assert all(d["times_delivered"] == 2 for d in detail)

    alive.ack(i for i, _ in claimed)
    assert _pending(conn, "watcher") == 0


def test_malformed_entry_is_logged_acked_and_skipped(conn: redis.Redis) -> None:
    """A malformed entry is never returned: it is logged with its id and acked."""
    reader = EventReader(conn, group="watcher", consumer="w1")
    reader.ensure_group()
    good_a = publish(conn, _event(minute=1))
    bad = conn.xadd(STREAM, {"kind": "exploded", "run_id": "x"}).decode()
    good_b = publish(conn, _event(minute=2))

    with structlog.testing.capture_logs() as logs:
        got = reader.read(block_ms=None)

    assert [i for i, _ in got] == [good_a, good_b]
    (warning,) = [e for e in logs if e["event"] == "run_event_malformed"]
    assert warning["entry_id"] == bad
    assert warning["fields"] == {"kind": "exploded", "run_id": "x"}
    assert warning["log_level"] == "warning"
    assert _pending(conn, "watcher") == 2


def test_malformed_entry_claimed_from_dead_consumer_is_acked(conn: redis.Redis) -> None:
    """claim_stale drops malformed entries the same way read does."""
    dead = EventReader(conn, group="watcher", consumer="dead")
    dead.ensure_group()
    conn.xadd(STREAM, {"garbage": "1"})
    good = publish(conn, _event())
    conn.xreadgroup("watcher", "dead", {STREAM: ">"})  # died before parsing anything

    with structlog.testing.capture_logs() as logs:
        claimed = EventReader(conn, group="watcher", consumer="alive").claim_stale(0)

    assert [i for i, _ in claimed] == [good]
    assert [e["event"] for e in logs] == ["run_event_malformed"]
    assert _pending(conn, "watcher") == 1


def test_entry_trimmed_while_pending_is_dropped(conn: redis.Redis) -> None:
    """A pending entry deleted from the stream is logged and acked on redelivery."""
    first = EventReader(conn, group="watcher", consumer="w1")
    first.ensure_group()
    gone = publish(conn, _event(minute=1))
    kept = publish(conn, _event(minute=2))
    first.read(block_ms=None)
    conn.xdel(STREAM, gone)

    with structlog.testing.capture_logs() as logs:
        got = EventReader(conn, group="watcher", consumer="w1").read(block_ms=None)

    assert [i for i, _ in got] == [kept]
    assert [(e["event"], e["entry_id"]) for e in logs] == [("run_event_malformed", gone)]
    assert _pending(conn, "watcher") == 1


def test_read_waits_at_most_block_ms(conn: redis.Redis) -> None:
    """On an empty stream a blocking read returns [] after about block_ms."""
    reader = EventReader(conn, group="watcher", consumer="w1")
    reader.ensure_group()
    began = time.monotonic()
    assert reader.read(block_ms=100) == []
    assert time.monotonic() - began < 5


def test_read_wakes_when_an_event_arrives(conn: redis.Redis) -> None:
    """A blocking read returns as soon as an event is published, well before its timeout."""
    reader = EventReader(conn, group="watcher", consumer="w1")
    reader.ensure_group()
    reader.read(block_ms=None)  # past the pending phase: the next read blocks on new entries
    publisher = threading.Timer(0.05, publish, args=(conn, _event()))
    publisher.start()
    try:
        began = time.monotonic()
        got = reader.read(block_ms=20_000)
    finally:
        publisher.join(timeout=5)
    assert [e.run_id for _, e in got] == [_event().run_id]
    assert time.monotonic() - began < 10


def test_read_recreates_a_group_whose_stream_was_deleted(conn: redis.Redis) -> None:
    """If the stream key vanishes (NOGROUP), read recreates the group and carries on."""
    reader = EventReader(conn, group="watcher", consumer="w1")
    reader.ensure_group()
    reader.read(block_ms=None)
    conn.delete(STREAM)

    assert reader.read(block_ms=None) == []
    entry_id = publish(conn, _event())
    assert [i for i, _ in reader.read(block_ms=None)] == [entry_id]


def test_reader_decodes_on_a_decode_responses_connection(conn: redis.Redis, redis_url: str) -> None:
    """A connection with decode_responses=True (or RESP3) yields the same str ids and events."""
    for options in ({"decode_responses": True}, {"protocol": 3}):
        conn.delete(STREAM)
        other = redis.Redis.from_url(redis_url, **options)
        try:
            reader = EventReader(other, group="watcher", consumer="w1")
            reader.ensure_group()
            entry_id = publish(other, _event())
            assert reader.read(block_ms=None) == [(entry_id, _event())]
        finally:
            other.close()
