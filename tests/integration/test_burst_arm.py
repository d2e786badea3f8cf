"""A burst armed ahead of its instant: checked before it, claimed as the clock reaches it.

The loop wakes ``ARM_AHEAD`` before a staged instant (``Bursts.wake_at``) and calls
``fire_bursts(..., arm=True)``: the staged runs are checked then, and the claim leaves once
the clock reaches the instant, never before it. The clock here follows real time from an
instant the test sets, as the loop's does.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import redis

from scheduler.core.runs import run_id
from scheduler.engine.bursts import ARM_AHEAD, PREPARE_AHEAD
from scheduler.engine.watcher import Watcher
from tests.faults.inprocess import MovableClock
from tests.integration.test_bursts import JOBS, T, enqueued_rows, job_file, make_watcher
from tests.integration.test_dispatch_staged import queued
from tests.integration.test_watcher_e2e import write


def staged(tmp_path: Path, redis_conn: redis.Redis) -> tuple[MovableClock, Path, Watcher]:
    """A watcher on ``JOBS`` whose burst for ``T`` is staged, its clock half the staging
    window before ``T``."""
    clock = MovableClock(T - timedelta(seconds=30))
    root = tmp_path / "w"
    for name in JOBS:
        write(root / "jobs" / f"{name}.yaml", job_file(name))
    watcher = make_watcher(root, redis_conn, clock)
    clock.set(T - PREPARE_AHEAD / 2)
    watcher.scheduler.prepare_soon(clock.now())
    return clock, root, watcher


def test_an_armed_burst_goes_out_at_its_instant_and_not_before(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    """Armed shortly before the instant: every run out once, each claimed at or after the
    instant (never early), then recorded; the loop is told to wake that much ahead."""
    clock, root, watcher = staged(tmp_path, redis_conn)
    assert watcher.scheduler.wake_at(T) == T - ARM_AHEAD

    clock.set(T - ARM_AHEAD / 2)
    watcher.scheduler.fire_bursts(clock.now(), arm=True)
    assert clock.now() >= T
    assert sorted(queued(redis_conn)) == sorted(run_id(name, T) for name in JOBS)
    fired = watcher.scheduler._fired
    assert sorted(fired) == sorted((name, T) for name in JOBS)
    assert all(outcome.enqueued and outcome.at >= T for outcome in fired.values())

    watcher.scheduler.dispatch_due(clock.now())
    assert enqueued_rows(root / "data") == {run_id(name, T) for name in JOBS}
    assert sorted(queued(redis_conn)) == sorted(run_id(name, T) for name in JOBS)


def test_a_burst_further_than_the_arming_window_waits_for_a_later_turn(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    """More than ``ARM_AHEAD`` before the instant, the call returns at once, firing nothing;
    without ``arm`` (a caller on its own clock) nothing fires before the instant either."""
    clock, _root, watcher = staged(tmp_path, redis_conn)

    clock.set(T - 4 * ARM_AHEAD)
    started = time.monotonic()
    watcher.scheduler.fire_bursts(clock.now(), arm=True)
    assert time.monotonic() - started < ARM_AHEAD.total_seconds()
    clock.set(T - ARM_AHEAD / 2)
    watcher.scheduler.fire_bursts(clock.now())
    assert queued(redis_conn) == []
    assert watcher.scheduler._fired == {}
