"""A standby follows the leader's ledger, so that its takeover has nothing to work out.

Real watchers on their own loop threads (``test_lease_kept.watcher_thread``), a real Redis
and SQLite, a job due every second.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
import redis
from structlog.testing import capture_logs

from scheduler.engine import handover, watcher
from scheduler.engine.leader import LAST_DISPATCHED_KEY
from scheduler.engine.points import shared_last_dispatched
from scheduler.engine.watcher import Watcher
from scheduler.store import Store
from tests.integration.helpers import wait_for
from tests.integration.test_lease_kept import JOB, assert_kept, sent, watcher_thread


def test_a_standby_keeps_its_due_queue_warm_and_resumes_without_gaps(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    """The standby's queued instant follows each of the leader's dispatches; after the
    leader stops, the standby keeps it, and the instants sent by both follow each other
    second by second: none twice, none skipped."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "tick.yaml").write_text(JOB)
    with capture_logs() as logs, watcher_thread(tmp_path, redis_conn, "a") as a:
        assert a.ready.wait(10)
        wait_for(lambda: a.options.leader and a.options.leader.is_leader, timeout=10)
        with watcher_thread(tmp_path, redis_conn, "b") as b:
            assert b.ready.wait(10)
            # Three dispatches after b stood by, each followed by b's queue.
            wait_for(lambda: sent(logs) >= 3 + 2, timeout=15, message="a dispatching")

            def followed() -> bool:
                point = shared_last_dispatched(redis_conn).get("tick")
                queued = b.due.get("tick")
                return point is not None and queued is not None and queued > point

            wait_for(followed, timeout=5, message="b's queued instant after a's last")
            a.stop()
            wait_for(lambda: any(e["event"] == "leader.resumed" for e in logs), timeout=10)
            before = sent(logs)
            wait_for(lambda: sent(logs) >= before + 2, timeout=10, message="b dispatching")
    [resumed] = [e for e in logs if e["event"] == "leader.resumed"]
    assert resumed["watcher"] == "b"
    assert resumed["kept"] + resumed["jobs"] == 1
    assert_kept(logs)
    instants = sorted(
        datetime.fromisoformat(e["scheduled_for"]) for e in logs if e["event"] == "run.enqueued"
    )
    steps = {(later - earlier).total_seconds() for earlier, later in pairwise(instants)}
    assert steps == {1.0}, instants


FAR_JOB = "name: far\ntask: tests.integration.e2e_tasks:fail\nschedule:\n  cron: '0 3 1 1 *'\n"


def write_far_job(root: Path, name: str) -> None:
    """``FAR_JOB`` under another name, in ``root/jobs``."""
    (root / "jobs" / f"{name}.yaml").write_text(FAR_JOB.replace("name: far", f"name: {name}"))


def test_a_restarted_leader_has_no_point_to_publish_that_it_shared_before(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    """A leader restarted on its records, its jobs' points all shared already, starts with
    none of them marked as moved: its first heartbeat neither publishes nor looks at them
    (at 100,000 jobs that look was most of the CPU of the minute after a restart)."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "far.yaml").write_text(FAR_JOB)
    with watcher_thread(tmp_path, redis_conn, "a") as a:
        assert a.ready.wait(10)
        wait_for(lambda: "far" in shared_last_dispatched(redis_conn), timeout=10)
    moved_at_start: list[list[str]] = []

    def after_startup(w: Watcher) -> None:
        startup = w._startup

        def recorded(now: datetime) -> None:
            startup(now)
            moved_at_start.append(w.progress.moved())

        w._startup = recorded  # type: ignore[method-assign]

    with watcher_thread(tmp_path, redis_conn, "a", slow=after_startup) as again:
        assert again.ready.wait(10)
    assert moved_at_start == [[]]


def test_a_restarted_leader_resumes_from_a_shared_point_later_than_its_records(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    """Another watcher led while this one was down: the restart takes the later shared
    point into its records, so it does not dispatch again what the other one did."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "far.yaml").write_text(FAR_JOB)
    with watcher_thread(tmp_path, redis_conn, "a") as a:
        assert a.ready.wait(10)
        first = wait_for(lambda: shared_last_dispatched(redis_conn).get("far"), timeout=10)
    later = first + timedelta(hours=1)
    redis_conn.hset(LAST_DISPATCHED_KEY, "far", int(later.timestamp() * 1000))
    with watcher_thread(tmp_path, redis_conn, "a") as again:
        assert again.ready.wait(10)
        assert again.progress.last("far") == later
    with Store(tmp_path / "a" / "scheduler.db") as store:
        last = store.job_states()["far"].last_scheduled
    assert last is not None
    assert last >= later


def test_a_cold_start_shares_every_jobs_point_over_several_script_calls(
    tmp_path: Path, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a cold start every job's point moved; they go out a batch per script call (one
    call for 100,000 packed a 45 MB command), and every batch of the first heartbeat lands:
    with no second heartbeat, none is left to publish."""
    monkeypatch.setattr(handover, "_POINTS_PER_CALL", 3)
    monkeypatch.setattr(watcher, "HEARTBEAT_EVERY", 3600.0)  # the first turn's beat only
    (tmp_path / "jobs").mkdir()
    names = [f"far-{i}" for i in range(8)]
    for name in names:
        write_far_job(tmp_path, name)
    with watcher_thread(tmp_path, redis_conn, "a") as a:
        assert a.ready.wait(10)
        wait_for(
            lambda: set(names) <= set(shared_last_dispatched(redis_conn)),
            timeout=10,
            message="every job's point shared",
        )
        wait_for(lambda: a.progress.moved() == [], timeout=5, message="none left to publish")


def test_a_restarted_leader_takes_each_later_shared_point_page_by_page(
    tmp_path: Path, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The states read a few rows at a time and the points a few names at a time: every
    state whose shared point is later takes it, a removed job's row too, and the others
    keep their own."""
    from scheduler.engine import startstate

    monkeypatch.setattr(startstate, "ROWS_PER_READ", 2)
    monkeypatch.setattr(handover, "_POINTS_PER_CALL", 2)
    (tmp_path / "jobs").mkdir()
    names = [f"far-{i}" for i in range(5)]
    for name in names:
        write_far_job(tmp_path, name)
    with watcher_thread(tmp_path, redis_conn, "a") as a:
        assert a.ready.wait(10)
        wait_for(lambda: set(names) <= set(shared_last_dispatched(redis_conn)), timeout=10)
    first = shared_last_dispatched(redis_conn)
    with Store(tmp_path / "a" / "scheduler.db") as store:  # in microseconds, the points in ms
        own = {name: state.last_scheduled for name, state in store.job_states().items()}
    (tmp_path / "jobs" / "far-4.yaml").unlink()
    later = {n: first[n] + timedelta(hours=1) for n in ("far-1", "far-3", "far-4")}
    for name, point in later.items():
        redis_conn.hset(LAST_DISPATCHED_KEY, name, int(point.timestamp() * 1000))
    with watcher_thread(tmp_path, redis_conn, "a") as again:
        assert again.ready.wait(10)
        for name in names[:4]:
            assert again.progress.last(name) == later.get(name, own[name])
    with Store(tmp_path / "a" / "scheduler.db") as store:
        states = store.job_states()
    for name in names:
        assert states[name].last_scheduled == later.get(name, own[name])


def test_a_leader_resumes_the_jobs_its_records_never_held_from_the_shared_points(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    """Restarted with a job file its records never held, which another watcher ran: that
    job resumes from the other's shared point, not from now; the jobs it knew stand."""
    (tmp_path / "jobs").mkdir()
    names = ["far-0", "far-1", "far-2"]
    for name in names:
        write_far_job(tmp_path, name)
    with watcher_thread(tmp_path, redis_conn, "a") as a:
        assert a.ready.wait(10)
        wait_for(lambda: set(names) <= set(shared_last_dispatched(redis_conn)), timeout=10)
    theirs = shared_last_dispatched(redis_conn)["far-1"]
    (tmp_path / "jobs" / "far-1.yaml").unlink()
    with watcher_thread(tmp_path, redis_conn, "b") as b:  # its own records: far-0, far-2
        assert b.ready.wait(10)
    with Store(tmp_path / "b" / "scheduler.db") as store:
        own = store.job_states()["far-0"].last_scheduled
    write_far_job(tmp_path, "far-1")
    with watcher_thread(tmp_path, redis_conn, "b") as again:
        assert again.ready.wait(10)
        wait_for(lambda: again.progress.last("far-1") == theirs, timeout=10)
    with Store(tmp_path / "b" / "scheduler.db") as store:
        states = store.job_states()
    assert states["far-1"].last_scheduled == theirs
    assert states["far-0"].last_scheduled == own
