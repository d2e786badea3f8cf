"""Misfire policies when the watcher's clock jumps an hour (an injected clock, a real Redis,
a real SQLite file and a real RQ worker).

The watcher runs in this process with a clock the test moves; four jobs every minute differ
only in their ``misfire`` block. After the jump, each of the 60 instants jumped over must be
recorded exactly once, run or not as the job's policy says, with the reason in the ledger,
and the task must have run exactly as many times as runs were dispatched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from scheduler.core.runs import RunStatus, RunTrigger
from scheduler.engine.watcher import WatcherOptions
from scheduler.store import RunRow
from tests.faults.inprocess import MovableClock, running_watcher
from tests.integration import e2e_tasks
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import TASKS, runs, write

START = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
JUMP = timedelta(hours=1)
MISFIRE = {
    "skip": "{policy: skip}",
    "once": "{policy: run_once}",
    "all": "{policy: run_all, max_catchup: 3}",
    "grace": "{policy: run_all, grace: 10m}",
}


@pytest.fixture
def jumped(tmp_path: Path, redis_url: str) -> Iterator[Path]:
    """Start the watcher at START with the four jobs, jump the clock an hour; the data dir."""
    jobs, data = tmp_path / "jobs", tmp_path / "data"
    for name, misfire in MISFIRE.items():
        out = json_str(tmp_path / f"{name}.txt")
        write(
            jobs / f"{name}.yaml",
            f"name: {name}\ntask: {TASKS}:append\nparams: {{path: {out}, label: x}}\n"
            f"schedule:\n  interval: 1m\nmisfire: {misfire}\noverlap: allow\n",
        )
    clock = MovableClock(START)
    conn = redis.Redis.from_url(redis_url, socket_timeout=10)
    options = WatcherOptions(jobs_dir=jobs, data_dir=data)
    with running_watcher(options, conn, clock, redis_url, logs=tmp_path / "logs") as watcher:
        clock.jump(JUMP)
        watcher._wake.set()
        yield data


def json_str(path: Path) -> str:
    return '"' + str(path) + '"'


def ledger(data: Path, job: str) -> list[RunRow]:
    """The job's rows for the instants jumped over, once they have all ended."""
    through = START + JUMP

    def ended() -> list[RunRow]:
        rows = [r for r in runs(data, job) if r.scheduled_for <= through]
        done = len(rows) >= 60 and all(
            r.status not in (RunStatus.enqueued, RunStatus.started) for r in rows
        )
        return rows if done else []

    return wait_for(
        ended,
        timeout=40,
        message=lambda: (
            f"60 settled rows of {job}: "
            + str(Counter((r.status, r.reason) for r in runs(data, job)))
        ),
    )


def test_each_policy_settles_the_hour_jumped_over(jumped: Path, tmp_path: Path) -> None:
    """skip, run_once, run_all (max 3) and run_all with grace 10m, after a 1 h clock jump."""
    expected_instants = [START + timedelta(seconds=30) + timedelta(minutes=m) for m in range(60)]
    verdicts = {}
    for job in MISFIRE:
        rows = ledger(jumped, job)
        # Exactly one row per instant jumped over.
        assert sorted(r.scheduled_for for r in rows) == expected_instants
        ran = [r for r in rows if r.status is RunStatus.succeeded]
        # Executed exactly as often as dispatched: one line per run.
        assert len(e2e_tasks.lines(tmp_path / f"{job}.txt")) == len(ran)
        verdicts[job] = (
            Counter(
                (r.status.value, r.reason) for r in rows if r.status is not RunStatus.succeeded
            ),
            Counter(r.trigger for r in ran),
        )
    # 01:00:00 is 30 s late when the loop wakes: within the 60 s tolerance, an ordinary run.
    assert verdicts["skip"] == (
        Counter({("missed", "behind"): 59}),
        Counter({RunTrigger.schedule: 1}),
    )
    assert verdicts["once"] == (
        Counter({("missed", "behind"): 59}),
        Counter({RunTrigger.schedule: 1}),
    )
    assert verdicts["all"] == (
        Counter({("missed", "max_catchup"): 56}),
        Counter({RunTrigger.schedule: 1, RunTrigger.catch_up: 3}),
    )
    # grace 10m: the instants more than 10 min before 01:00:30 are never run.
    assert verdicts["grace"] == (
        Counter({("missed", "grace"): 50}),
        Counter({RunTrigger.schedule: 1, RunTrigger.catch_up: 9}),
    )
