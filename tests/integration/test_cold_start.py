"""A cold start (no job state stored) puts each job on the due queue as its file is read,
ahead of ``start_jobs``: the result must be the start it replaces, job for job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from scheduler.core.clock import FixedClock
from scheduler.engine.watcher import Watcher, WatcherOptions
from scheduler.store import JobState, Store
from tests.integration.test_watcher_e2e import job_yaml, write

NOW = datetime(2026, 3, 28, 23, 59, 30, tzinfo=UTC)  # the night Europe/Paris springs forward
SCHEDULES = {
    "cron-utc": 'cron: "30 2 * * *"',
    "cron-paris": 'cron: "30 2 * * *"\n  timezone: Europe/Paris',
    "seconds": 'cron: "* * * * * */5"',
    "interval": "interval: 90s",
    "daily": 'daily: ["09:00", "18:30"]',
    "weekly": 'weekly: {days: [mon, thu], at: "10:00"}',
    "past-at": 'at: "2020-01-01T00:00:00"',
}


def started(root: Path, conn: redis.Redis, *, ahead: bool, since: dict[str, datetime]) -> Watcher:
    for name, schedule in SCHEDULES.items():
        write(root / "jobs" / f"{name}.yaml", job_yaml(name, "append", schedule=schedule))
    write(root / "jobs" / "disabled.yaml", job_yaml("disabled", "append", enabled=False))
    options = WatcherOptions(jobs_dir=root / "jobs", data_dir=root / "data", watcher_id=root.name)
    options.data_dir.mkdir(parents=True)
    clock = FixedClock(NOW)
    store = Store(options.data_dir / "scheduler.db")
    assert store.has_job_states() is False
    watcher = Watcher(options, store=store, conn=conn, clock=clock)
    now = clock.now()
    watcher.reload.load_all(now, ahead=ahead)
    watcher.scheduler.start_jobs(now, since=since, ahead=ahead)
    return watcher


def rows_of(watcher: Watcher) -> dict[str, JobState]:
    """The stored job states, each file named without its folder (each watcher has its own)."""
    states = watcher.store.job_states()
    return {k: v._replace(source_file=Path(v.source_file or "").name) for k, v in states.items()}


def test_scheduling_ahead_gives_the_same_start(tmp_path: Path, redis_conn: redis.Redis) -> None:
    """Due instants, resume points and stored rows are those of a start that works every
    job out after reading them all; a job given another point (a standby's) starts there."""
    since = {"interval": NOW - timedelta(minutes=10)}
    plain = started(tmp_path / "plain", redis_conn, ahead=False, since=since)
    ahead = started(tmp_path / "ahead", redis_conn, ahead=True, since=since)
    names = [*SCHEDULES, "disabled"]
    due = {name: plain.due.get(name) for name in names}
    assert due == {name: ahead.due.get(name) for name in names}
    assert due["disabled"] is None
    assert due["past-at"] is None
    assert due["interval"] == NOW - timedelta(minutes=10) + timedelta(seconds=90)
    assert due["cron-paris"] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert {n: plain.progress.last(n) for n in names} == {n: ahead.progress.last(n) for n in names}
    rows = rows_of(plain)
    assert rows.keys() == set(names)
    assert rows == rows_of(ahead)
    assert ahead.store.has_job_states() is True
