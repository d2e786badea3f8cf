"""A batch long enough to commit as it goes (``resilient.BATCH_KEPT``) never commits a ledger
row before its entry is on the results stream.

A watcher process records entries in one batch past the threshold and is killed (SIGKILL)
before the batch's own end and flush: every row its SQLite file kept must reach a second
watcher's store through the stream, as "several watchers, one ledger" asks. Real SQLite
files, a real Redis, a real process killed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import redis

from scheduler.core.runs import RunStatus
from scheduler.store import Store
from scheduler.worker.events import EventReader

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
JOB = "big"
#: Entries the killed watcher records in its batch: past its BATCH_KEPT of 50 twice, so
#: some are committed part-way and the last ones are not.
ENTRIES = 120

_WATCHER = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import UTC, datetime, timedelta

    import redis

    from scheduler.core.runs import EventKind, RunEvent, RunTrigger, iso_utc, run_id
    from scheduler.engine.ledger import Ledger
    from scheduler.store import resilient
    from scheduler.store.resilient import ResilientStore

    resilient.BATCH_KEPT = 50  # 10,000 in production: the same path, sooner
    path, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    store = ResilientStore(path)
    ledger = Ledger(store=store, conn=redis.Redis.from_url(url), watcher="a")
    with store.batch():  # as a restart's start_jobs: instants missed while it was down
        for n in range(count):
            at = t0 + timedelta(minutes=n)
            ledger.record(
                RunEvent(
                    kind=EventKind.missed,
                    run_id=run_id("big", at),
                    job="big",
                    scheduled_for=iso_utc(at),
                    trigger=RunTrigger.schedule,
                    at=iso_utc(t0 + timedelta(days=1)),
                    note="watcher was down",
                    reason="downtime",
                )
            )
        os.kill(os.getpid(), signal.SIGKILL)  # before the batch's flush and commit
    """
)


def _kill_during_a_long_batch(db: Path, url: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _WATCHER, str(db), url, str(ENTRIES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -9, proc.stderr


def _published(conn: redis.Redis, into: Store) -> None:
    """Apply to ``into`` every entry on the stream (a second watcher's results reader)."""
    reader = EventReader(conn, group="store-b", consumer="watcher")
    reader.ensure_group()
    while batch := reader.read(count=1000, block_ms=100):
        for _, event in batch:
            into.apply_event(event)


def test_rows_committed_part_way_are_on_the_stream_first(
    tmp_path: Path, redis_url: str, redis_conn: redis.Redis
) -> None:
    killed = tmp_path / "a" / "scheduler.db"
    killed.parent.mkdir()
    _kill_during_a_long_batch(killed, redis_url)
    with Store(killed) as kept:
        committed = {row.run_id for row in kept.history(job=JOB, limit=ENTRIES)}
    assert committed, "the batch committed nothing part-way: the case is not exercised"
    assert len(committed) < ENTRIES  # the batch's end never came
    with Store(tmp_path / "b" / "scheduler.db") as other:
        _published(redis_conn, other)
        received = {row.run_id for row in other.history(job=JOB, limit=ENTRIES)}
        assert committed <= received, f"{len(committed - received)} rows never published"
        assert other.count_runs(JOB, RunStatus.missed) == len(received)
