"""The ledger on the results stream, against a real Redis and real SQLite files.

Two stores stand for two watchers' data dirs: what the first records through its gate, its
scheduler's entries and its reconciliation reaches the second through the stream (its own
consumer group), row for row; the first reads its own entries back as a no-op; a restarted
watcher applies what its previous life published but never committed.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue
from structlog.testing import capture_logs

from scheduler.config.liveconfig import LiveConfig
from scheduler.core.clock import FixedClock
from scheduler.core.job import LoadedJob
from scheduler.core.models import JobSpec
from scheduler.core.runs import EventKind, RunEvent, RunRequest, RunTrigger, iso_utc
from scheduler.engine import results as results_module
from scheduler.engine.gate import Gate
from scheduler.engine.ledger import Ledger
from scheduler.engine.results import Results
from scheduler.store import Store
from scheduler.worker.events import STREAM, EventReader, publish_many
from tests.integration.helpers import wait_for

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def job(name: str, overlap: str) -> LoadedJob:
    spec = JobSpec.model_validate(
        {"name": name, "task": "a.b:c", "schedule": {"interval": "1m"}, "overlap": overlap}
    )
    return LoadedJob(spec, f"{name}.yaml", 1)


def req(j: LoadedJob, minutes: int) -> RunRequest:
    return j.run_request(T0 + timedelta(minutes=minutes), RunTrigger.schedule)


@dataclass
class Side:
    """One watcher's data dir: its store, ledger, gate and results reader."""

    store: Store
    ledger: Ledger
    gate: Gate
    results: Results
    stopping: threading.Event

    def rows(self) -> dict[str, dict[str, Any]]:
        out = {}
        for row in self.store.history(limit=1000):
            data = row.as_json()
            out[data.pop("run_id")] = data
        return out

    def catch_up(self, other: Side) -> None:
        """Apply what the stream holds until this store's rows are ``other``'s."""
        wait_for(
            lambda: (self.results.drain(), self.rows() == other.rows())[1],
            timeout=10,
            message=lambda: f"the same rows: {self.rows()} vs {other.rows()}",
        )


@pytest.fixture
def sides(tmp_path: Path, redis_conn: redis.Redis) -> Iterator[list[Side]]:
    made: list[Side] = []

    def side(name: str, watcher: str) -> Side:
        store = Store(tmp_path / name / "scheduler.db")
        ledger = Ledger(store=store, conn=redis_conn, watcher=watcher)
        gate = Gate(store=store, conn=redis_conn, watcher=watcher, ledger=ledger)
        stopping = threading.Event()
        results = Results(
            store=store,
            conn=redis_conn,
            gate=gate,
            config=LiveConfig(tmp_path / "jobs"),
            clock=FixedClock(T0),
            reader=EventReader(redis_conn, group=f"store-{name}", consumer="watcher"),
            stopping=stopping,
            wake=threading.Event(),
            ledger=ledger,
        )
        results.start()
        made.append(Side(store, ledger, gate, results, stopping))
        return made[-1]

    yield [side("a", "a"), side("b", "b")]
    for s in made:
        s.stopping.set()
        s.results.join(timeout=3)
        s.store.close()


def started(rid: str, j: LoadedJob, minutes: int) -> RunEvent:
    return RunEvent(
        kind=EventKind.started,
        run_id=rid,
        job=j.name,
        scheduled_for=iso_utc(T0 + timedelta(minutes=minutes)),
        trigger=RunTrigger.schedule,
        at=iso_utc(T0 + timedelta(minutes=minutes, seconds=1)),
        worker="w1",
    )


def test_what_the_leader_s_gate_records_reaches_the_other_store(
    sides: list[Side], redis_conn: redis.Redis
) -> None:
    """Skipped (overlap), waiting, released, replaced: the other store gets every row."""
    leader, standby = sides
    forbid, queue_one, replace = job("f", "forbid"), job("q", "queue_one"), job("r", "replace")
    jobs = {j.name: j for j in (forbid, queue_one, replace)}
    for j in jobs.values():
        first = req(j, 0)
        Queue("default", connection=redis_conn).enqueue_call(
            "tests.integration.e2e_tasks.append", args=("/dev/null", "x"), job_id=first.run_id
        )
        leader.ledger.record(
            RunEvent(
                kind=EventKind.enqueued,
                run_id=first.run_id,
                job=j.name,
                scheduled_for=first.scheduled_for,
                trigger=first.trigger,
                at=iso_utc(T0),
            )
        )
        leader.gate.sent(first)
    redis_conn.hset(f"rq:job:{req(forbid, 0).run_id}", "status", "started")
    redis_conn.hset(f"rq:job:{req(queue_one, 0).run_id}", "status", "started")
    later = [req(forbid, 1), req(queue_one, 1), req(queue_one, 2), req(replace, 1)]
    assert leader.gate.admit(later, jobs, T0) == [req(replace, 1)]
    [waiting] = [r for r in leader.gate.active["q"].values() if r.waiting]
    leader.gate.released("q", waiting, T0 + timedelta(minutes=2))  # its turn came
    leader.ledger.flush()

    standby.catch_up(leader)
    states = {rid: (r["status"], r["reason"]) for rid, r in standby.rows().items()}
    assert states[req(forbid, 1).run_id] == ("skipped", "overlap")
    assert states[req(queue_one, 1).run_id] == ("enqueued", "waiting")
    assert states[req(queue_one, 2).run_id] == ("skipped", "overlap")
    assert states[req(replace, 0).run_id] == ("skipped", "replaced")
    # The standby's gate follows: it would release nothing twice, and knows what is waiting.
    assert standby.gate.active["q"][req(queue_one, 1).run_id].waiting is False


def test_the_leader_reads_its_own_entries_back_as_a_no_op(
    sides: list[Side], redis_conn: redis.Redis
) -> None:
    """Its rows are untouched and nothing is applied twice (no second log line)."""
    leader, standby = sides
    j = job("f", "forbid")
    r = req(j, 0)
    entry = RunEvent(
        kind=EventKind.enqueued,
        run_id=r.run_id,
        job="f",
        scheduled_for=r.scheduled_for,
        trigger=r.trigger,
        at=iso_utc(T0),
    )
    leader.ledger.record(entry)
    leader.ledger.flush()
    before = leader.rows()
    standby.catch_up(leader)
    applied: list[RunEvent] = []
    real = leader.store.apply_event

    def spy(event: RunEvent) -> bool:
        applied.append(event)
        return real(event)

    leader.store.apply_event = spy  # type: ignore[method-assign]
    wait_for(
        lambda: (leader.results.drain(), read_all(redis_conn, "store-a"))[1],
        timeout=5,
        message="the leader's group to have read and acknowledged its own entry",
    )
    assert applied == []
    assert leader.rows() == before


def read_all(conn: redis.Redis, group: str) -> bool:
    """True once ``group`` has been delivered the stream's last entry and acknowledged all."""
    last = conn.xinfo_stream(STREAM)["last-generated-id"]
    found = [g for g in conn.xinfo_groups(STREAM) if g["name"] in (group, group.encode())]
    return bool(found) and found[0]["last-delivered-id"] == last and found[0]["pending"] == 0


def test_a_restarted_watcher_applies_what_its_previous_life_published(
    tmp_path: Path, redis_conn: redis.Redis, sides: list[Side]
) -> None:
    """Killed after publishing, before committing: the entry is on the stream, not in its
    SQLite; a new process on the same data dir (a new origin) applies it."""
    leader, _ = sides
    j = job("f", "forbid")
    r = req(j, 3)
    lost = RunEvent(
        kind=EventKind.skipped,
        run_id=r.run_id,
        job="f",
        scheduled_for=r.scheduled_for,
        trigger=r.trigger,
        at=iso_utc(T0),
        reason="overlap",
        note="f--x is still started",
    )
    earlier_life = Ledger(store=leader.store, conn=redis_conn, watcher="a")
    earlier_life.publish(lost)  # on the stream, never applied
    earlier_life.flush()
    wait_for(
        lambda: (leader.results.drain(), r.run_id in leader.rows())[1],
        timeout=5,
        message="the previous life's entry applied",
    )
    assert leader.rows()[r.run_id]["status"] == "skipped"


def test_reconciliation_closes_a_run_in_every_store(sides: list[Side]) -> None:
    """A run left started with no RQ job (its watcher and worker gone): the reconciling
    watcher closes it failed (lost), and the other store closes it from the entry alone."""
    leader, standby = sides
    j = job("f", "forbid")
    r = req(j, 5)
    for side in sides:
        side.store.apply_event(started(r.run_id, j, 5))
    leader.results.reconcile(T0 + timedelta(hours=1), min_age=timedelta(0))
    closed = leader.rows()[r.run_id]
    assert (closed["status"], closed["reason"]) == ("failed", "lost")
    standby.catch_up(leader)


def test_a_burst_s_entries_are_one_stream_entry_and_a_bad_one_is_left_out(
    redis_conn: redis.Redis,
) -> None:
    """1,500 entries: two stream entries, sent in one round trip; an event that fails to
    parse is logged and the others of its batch are still read (with their origin)."""
    reader = EventReader(redis_conn, group="store-x", consumer="watcher")
    reader.ensure_group()
    j = job("f", "allow")
    events = [
        RunEvent(
            kind=EventKind.enqueued,
            run_id=req(j, m).run_id,
            job="f",
            scheduled_for=req(j, m).scheduled_for,
            trigger=RunTrigger.schedule,
            at=iso_utc(T0),
        )
        for m in range(1500)
    ]
    assert publish_many(redis_conn, events, origin="a#1") == 2
    bad = json.dumps([events[0].to_fields(), {"kind": "exploded"}, "junk"])
    redis_conn.xadd(STREAM, {"entries": bad, "origin": "a#1"})
    with capture_logs() as logs:
        got = reader.read(block_ms=None, count=10)
    assert [e for _, e in got][:1500] == [replace(e, origin="a#1") for e in events]
    assert len(got) == 1501
    assert len({entry_id for entry_id, _ in got}) == 3
    malformed = [e for e in logs if e["event"] == "run_event_malformed"]
    assert [m["fields"] for m in malformed] == [{"kind": "exploded"}, "junk"]


def test_stopping_cuts_short_a_read_still_waiting_for_entries(
    tmp_path: Path, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader waits long for entries (an idle watcher wakes rarely), yet stopping ends
    it at once: its wait is cut short, not waited out."""
    monkeypatch.setattr(results_module, "READ_BLOCK_MS", 600_000)  # longer than any bound
    with waiting_reader(tmp_path, redis_conn) as (results, stopping):
        stopping.set()
        results.join(timeout=30)
        assert results._thread is not None
        assert not results._thread.is_alive()


def test_an_idle_read_waits_within_a_default_socket_timeout(
    tmp_path: Path, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client made without a socket timeout has redis-py's default one (5 s): an idle
    reader's waits end within it, rather than in a timeout error and a back-off during
    which results go unread."""
    monkeypatch.setattr(results_module, "READ_BLOCK_MS", 600_000)
    with capture_logs() as logs, waiting_reader(tmp_path, redis_conn) as (results, stopping):
        stopping.wait(6.0)  # past the 5 s timeout
        stopping.set()
        results.join(timeout=30)
    assert [e for e in logs if e["event"] == "results.unavailable"] == []


@contextlib.contextmanager
def waiting_reader(tmp_path: Path, conn: redis.Redis) -> Iterator[tuple[Results, threading.Event]]:
    """A results reader on its thread, once it waits for entries; and its stop event."""
    store = Store(tmp_path / "scheduler.db")
    ledger = Ledger(store=store, conn=conn, watcher="w")
    stopping = threading.Event()
    results = Results(
        store=store,
        conn=conn,
        gate=Gate(store=store, conn=conn, watcher="w", ledger=ledger),
        config=LiveConfig(tmp_path / "jobs"),
        clock=FixedClock(T0),
        reader=EventReader(conn, group="store-w", consumer="watcher"),
        stopping=stopping,
        wake=threading.Event(),
        ledger=ledger,
    )
    results.start()

    def waiting() -> bool:
        return any(
            c.get("cmd") == "xreadgroup" and "b" in str(c.get("flags")) for c in conn.client_list()
        )

    try:
        wait_for(waiting, timeout=10, message="the reader waiting for entries")
        yield results, stopping
    finally:
        stopping.set()
        results.join(timeout=30)
        store.close()
