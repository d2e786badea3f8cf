"""Runs staged ahead as bursts: out once at the instant, and never when withdrawn before it.

The watcher's parts are driven step by step on a fixed clock (real job files, real SQLite,
real Redis): ``prepare_soon`` ahead of the instant stages every run due soon with its
burst's list; ``dispatch_due`` at the instant claims the bursts. A run whose job was
removed, disabled, paused or edited in between must never reach a queue nor be recorded
enqueued, and what it left staged must stay invisible to workers and expire.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from rq.job import Job

from scheduler.core.clock import FixedClock
from scheduler.core.pause import Pause
from scheduler.core.runs import RunStatus, run_id
from scheduler.engine import pauses
from scheduler.engine.bursts import PREPARE_AHEAD
from scheduler.engine.dispatch import BURST_PREFIX, MARKER_PREFIX, STAGE_PREFIX, Dispatcher
from scheduler.engine.leader import LEASE_KEY
from scheduler.engine.points import shared_last_dispatched
from scheduler.engine.watcher import Watcher, WatcherOptions
from scheduler.store import Store
from tests.integration.test_dispatch_staged import queued, request
from tests.integration.test_watcher_e2e import job_yaml, runs, write

#: Every job fires at each whole minute; T is one of those instants.
T = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
JOBS = ["kept", "removed", "disabled", "paused", "edited", "forbid"]


def job_file(name: str, *, enabled: bool = True, label: str = "one", overlap: str = "allow") -> str:
    text = job_yaml(
        name, "append", schedule='cron: "* * * * *"', params={"path": "/dev/null", "label": label}
    )
    return text + f"overlap: {overlap}\n" + ("" if enabled else "enabled: false\n")


def make_watcher(root: Path, conn: redis.Redis, clock: FixedClock) -> Watcher:
    options = WatcherOptions(jobs_dir=root / "jobs", data_dir=root / "data", watcher_id=root.name)
    options.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(options.data_dir / "scheduler.db")
    watcher = Watcher(options, store=store, conn=conn, clock=clock)
    watcher.reload.load_all(clock.now())
    watcher.scheduler.start_jobs(clock.now())
    return watcher


def reload_all(watcher: Watcher, clock: FixedClock) -> None:
    watcher._paths.put((None, clock.now()))  # a rescan, as after a burst of file events
    watcher.reload.apply_pending()


def enqueued_rows(data: Path) -> set[str]:
    return {r.run_id for r in runs(data) if r.status is RunStatus.enqueued}


def test_a_burst_goes_out_once_at_its_instant(tmp_path: Path, redis_conn: redis.Redis) -> None:
    """Staged ahead, invisible until the instant; then every run once, recorded, nothing
    left staged; a second watcher on the same Redis firing the same burst adds nothing."""
    clock = FixedClock(T - timedelta(seconds=30))
    roots = [tmp_path / "w1", tmp_path / "w2"]
    for name in JOBS:
        for root in roots:
            write(root / "jobs" / f"{name}.yaml", job_file(name))
    first, second = (make_watcher(root, redis_conn, clock) for root in roots)
    clock.set(T - PREPARE_AHEAD / 2)
    first.scheduler.prepare_soon(clock.now())
    second.scheduler.prepare_soon(clock.now())
    assert len(redis_conn.keys(f"{BURST_PREFIX}*")) == 2
    first.scheduler.dispatch_due(clock.now())  # not yet due
    assert queued(redis_conn) == []

    clock.set(T)
    first.scheduler.dispatch_due(clock.now())
    ids = {run_id(name, T) for name in JOBS}
    assert sorted(queued(redis_conn)) == sorted(ids)
    assert enqueued_rows(roots[0] / "data") == ids
    second.scheduler.dispatch_due(clock.now())
    assert sorted(queued(redis_conn)) == sorted(ids)
    assert {r.run_id: r.reason for r in runs(roots[1] / "data")} == dict.fromkeys(
        ids, "deduplicated"
    )
    assert redis_conn.keys(f"{BURST_PREFIX}*") == []
    assert redis_conn.keys(f"{STAGE_PREFIX}*") == []
    assert first.due.get("kept") == T + timedelta(minutes=1)


def test_runs_withdrawn_after_staging_are_never_enqueued(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    """Removed, disabled, paused, edited, or behind an active run under ``forbid`` between
    staging and the instant: those staged runs never reach a queue nor show as enqueued
    (the edited job's new run goes out instead), and their staged copies expire."""
    clock = FixedClock(T - timedelta(seconds=30))
    root = tmp_path / "w"
    jobs = root / "jobs"
    for name in JOBS:
        write(
            jobs / f"{name}.yaml", job_file(name, overlap="forbid" if name == "forbid" else "allow")
        )
    watcher = make_watcher(root, redis_conn, clock)
    clock.set(T - PREPARE_AHEAD / 2)
    watcher.scheduler.prepare_soon(clock.now())
    staged = {name: STAGE_PREFIX + run_id(name, T) for name in JOBS}
    assert all(redis_conn.exists(key) for key in staged.values())

    (jobs / "removed.yaml").unlink()
    write(jobs / "disabled.yaml", job_file("disabled", enabled=False))
    write(jobs / "edited.yaml", job_file("edited", label="two"))
    reload_all(watcher, clock)
    pauses.save(redis_conn, Pause(job="paused", by="test", at=clock.now(), reason="hold"))
    watcher.gate.refresh_pauses(clock.now(), force=True)
    # An earlier run of the forbid job still active (queued in RQ): the gate must weigh it.
    earlier = request("forbid", T - timedelta(minutes=1))
    assert Dispatcher(redis_conn).enqueue([earlier], clock.now())[0].enqueued
    watcher.scheduler.send([earlier])

    clock.set(T)
    watcher.scheduler.dispatch_due(clock.now())
    out = set(queued(redis_conn))
    assert out == {earlier.run_id, run_id("kept", T), run_id("edited", T)}
    edited = Job.fetch(run_id("edited", T), connection=redis_conn)
    assert edited.args[0]["params"]["label"] == "two"
    never = {run_id(name, T) for name in ("removed", "disabled", "paused", "forbid")}
    assert not never & enqueued_rows(root / "data")
    for name in ("removed", "disabled", "paused", "forbid"):
        assert not redis_conn.exists(Job.key_for(run_id(name, T)))
        assert redis_conn.ttl(staged[name]) > 0  # invisible to workers, and it expires
    assert {r.run_id: r.reason for r in runs(root / "data", "paused")} == {
        run_id("paused", T): "paused"
    }
    assert redis_conn.keys(f"{BURST_PREFIX}*") == []


def test_a_deposed_leader_fires_nothing(redis_conn: redis.Redis) -> None:
    """A burst fired with a fence token the lease no longer holds enqueues nothing."""
    redis_conn.set(LEASE_KEY, "new-leader")
    dispatcher = Dispatcher(redis_conn, owner="old", fence=lambda: "old-leader")
    burst = dispatcher.stage_burst([request(f"job{n}", T) for n in range(5)])
    outcomes = dispatcher.fire([(burst, ())], T)
    assert [o.fenced for o in outcomes] == [True] * 5
    assert not any(o.enqueued for o in outcomes)
    assert queued(redis_conn) == []


def test_bursts_fired_together_each_go_out_once_but_their_withdrawn_runs(
    redis_conn: redis.Redis,
) -> None:
    """Several bursts claimed in one call (a large instant, or instants reached together):
    every run once, in its own queue, but those withdrawn (left staged for the ordinary
    path), and each job's resume point at its latest instant claimed."""
    dispatcher = Dispatcher(redis_conn, owner="w")
    later = T + timedelta(seconds=1)
    first = dispatcher.stage_burst([request(f"job{n}", T, queue="low") for n in range(3)])
    second = dispatcher.stage_burst([request(f"job{n}", later) for n in range(4)])
    withdrawn = run_id("job1", later)
    outcomes = dispatcher.fire([(first, ()), (second, [withdrawn])], later)
    assert [o.request.run_id for o in outcomes if o.enqueued] == [
        *(run_id(f"job{n}", T) for n in range(3)),
        *(run_id(f"job{n}", later) for n in (0, 2, 3)),
    ]
    assert queued(redis_conn, "low") == [run_id(f"job{n}", T) for n in range(3)]
    assert queued(redis_conn) == [run_id(f"job{n}", later) for n in (0, 2, 3)]
    assert redis_conn.exists(STAGE_PREFIX + withdrawn)
    assert shared_last_dispatched(redis_conn) == {
        "job0": later,
        "job1": T,
        "job2": later,
        "job3": later,
    }
    assert redis_conn.keys(f"{BURST_PREFIX}*") == []


def test_a_staged_run_whose_job_is_already_in_rq_is_not_enqueued_again(
    redis_conn: redis.Redis,
) -> None:
    """A run enqueued once whose marker has expired since (its RQ job kept longer, as a
    failed one is): its staged copy does not overwrite the job nor queue it a second time."""
    dispatcher = Dispatcher(redis_conn, owner="w")
    run = request("job0", T)
    assert dispatcher.enqueue([run], T)[0].enqueued
    redis_conn.delete(MARKER_PREFIX + run.run_id)
    redis_conn.hset(Job.key_for(run.run_id), "status", "failed")
    burst = Dispatcher(redis_conn, owner="w2").stage_burst([run])
    [outcome] = Dispatcher(redis_conn, owner="w2").fire([(burst, ())], T)
    assert not outcome.enqueued
    assert queued(redis_conn) == [run.run_id]
    assert redis_conn.hget(Job.key_for(run.run_id), "status") == b"failed"
