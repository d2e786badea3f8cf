"""The watcher's store when SQLite refuses writes: real SQLITE_FULL errors, made by capping
the file with ``PRAGMA max_page_count``; what it cannot write waits, in order, and is all
written once the cap is lifted."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.core.runs import RunStatus, RunTrigger, run_id
from scheduler.store.resilient import ResilientStore

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def cap(store: ResilientStore, pages: int | None = None) -> None:
    conn: sqlite3.Connection = store._db.conn
    if pages is None:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    conn.execute(f"PRAGMA max_page_count={pages}")


def enqueue_many(store: ResilientStore, job: str, start: int, count: int) -> None:
    for n in range(start, start + count):
        at = T0 + timedelta(seconds=n)
        with store.batch():
            store.record_enqueued(
                run_id=run_id(job, at),
                job=job,
                scheduled_for=at,
                trigger=RunTrigger.schedule,
                enqueued_at=at,
                note="x" * 500,  # rows big enough to need new pages soon
            )
            store.set_meta("heartbeat", f"running {n}", at)


def test_full_file_keeps_writes_and_replays_them(tmp_path: Path) -> None:
    with ResilientStore(tmp_path / "s.db") as store:
        enqueue_many(store, "a", 0, 10)
        cap(store)
        enqueue_many(store, "a", 10, 200)  # no exception: the loop goes on
        assert store.failure is not None
        assert "full" in store.failure
        assert store.waiting > 0
        assert store.retry() is False  # still full
        cap(store, 1_000_000)
        assert store.retry() is True
        assert store.failure is None
        assert store.waiting == 0
        assert store.count_runs("a", RunStatus.enqueued) == 210
        meta = store.get_meta("heartbeat")
        assert meta is not None
        assert meta[0] == "running 209"  # the last write wins, as without the failure


def test_a_damaged_file_raises_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with ResilientStore(path) as store:
        enqueue_many(store, "a", 0, 50)
        store._db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with path.open("r+b") as f:
            f.write(b"\xff" * 65536)
        store._db.conn.execute("PRAGMA cache_size=0")  # read the damaged pages, not a cache
        enqueue_many(store, "a", 50, 5)  # no exception
        assert isinstance(store.history(job="a"), list)  # no exception either
        assert store.failure is not None
