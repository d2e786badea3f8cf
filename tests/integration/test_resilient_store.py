"""The watcher's store when SQLite refuses writes: real SQLITE_FULL errors, made by capping
the file with ``PRAGMA max_page_count``; what it cannot write waits, in order, and is all
written once the cap is lifted."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.core.runs import RunStatus, RunTrigger, run_id
from scheduler.store import StateRow, resilient
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


def _state(store: ResilientStore, job: str) -> None:
    store.save_job_state(
        job=job,
        last_scheduled=T0,
        next_run=T0 + timedelta(hours=1),
        definition_hash="h",
        source_file=f"jobs.d/{job}.yaml" + "x" * 500,  # rows big enough to need new pages
        enabled=True,
        updated_at=T0,
    )


def test_a_long_batch_commits_as_it_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past BATCH_KEPT writes a batch's writes so far are committed (others see them), so
    what it keeps for a replay stays bounded."""
    monkeypatch.setattr(resilient, "BATCH_KEPT", 5)
    path = tmp_path / "s.db"
    with ResilientStore(path) as store, store.batch():
        for n in range(12):
            _state(store, f"j{n:02d}")
            assert store._batch_ops is not None
            assert len(store._batch_ops) < 5
        with closing(sqlite3.connect(path)) as other:
            seen = other.execute("SELECT count(*) FROM job_state").fetchone()[0]
        assert seen == 10
    with ResilientStore(path) as store:
        assert len(store.job_states()) == 12


def test_a_long_batch_failing_half_way_writes_everything_once_the_file_takes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resilient, "BATCH_KEPT", 5)
    with ResilientStore(tmp_path / "s.db") as store:
        _state(store, "first")
        cap(store)
        with store.batch():
            for n in range(40):
                _state(store, f"j{n:02d}")
        assert store.failure is not None
        cap(store, 1_000_000)
        assert store.retry() is True
        assert set(store.job_states()) == {"first", *(f"j{n:02d}" for n in range(40))}


def _rows(first: int, count: int) -> list[StateRow]:
    later = T0 + timedelta(hours=1)
    return [
        (f"j{n:02d}", T0, later, "h", f"jobs.d/j{n:02d}.yaml", True, 0)
        for n in range(first, first + count)
    ]


def test_a_bulk_write_counts_its_rows_towards_committing_as_it_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start writes job states some thousands per call: a batch of such calls keeps
    no more rows for a replay than BATCH_KEPT single writes would."""
    monkeypatch.setattr(resilient, "BATCH_KEPT", 5)
    path = tmp_path / "s.db"
    with ResilientStore(path) as store, store.batch():
        store.save_job_states(_rows(0, 3), updated_at=T0)
        assert store._batch_ops is not None
        assert len(store._batch_ops) == 1
        store.save_job_states(_rows(3, 3), updated_at=T0)  # 6 rows: committed
        assert len(store._batch_ops) == 0
        with closing(sqlite3.connect(path)) as other:
            seen = other.execute("SELECT count(*) FROM job_state").fetchone()[0]
        assert seen == 6


def test_a_failed_bulk_write_is_written_once_the_file_takes_it(tmp_path: Path) -> None:
    with ResilientStore(tmp_path / "s.db") as store:
        _state(store, "first")
        cap(store)
        with store.batch():
            store.save_job_states(_rows(0, 40), updated_at=T0)
        assert store.failure is not None
        cap(store, 1_000_000)
        assert store.retry() is True
        assert set(store.job_states()) == {"first", *(f"j{n:02d}" for n in range(40))}


def test_a_long_batch_commits_part_way_only_once_what_it_recorded_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the ledger's entries cannot be published (Redis down), the batch commits at
    its end only: committed part-way, a killed watcher's rows would never reach the
    others. Once they are, it commits as it goes again."""
    monkeypatch.setattr(resilient, "BATCH_KEPT", 5)
    path = tmp_path / "s.db"
    published: list[bool] = []

    def seen() -> int:
        with closing(sqlite3.connect(path)) as other:
            return int(other.execute("SELECT count(*) FROM job_state").fetchone()[0])

    def publish() -> bool:
        published.append(redis_up[0])
        return redis_up[0]

    redis_up = [False]
    with ResilientStore(path) as store:
        store.publish_first = publish
        with store.batch():
            for n in range(12):
                _state(store, f"j{n:02d}")
            assert seen() == 0
            assert published == [False, False]  # asked again BATCH_KEPT writes later
            redis_up[0] = True
            for n in range(12, 15):  # the 5th write since it last asked
                _state(store, f"j{n:02d}")
            assert seen() == 15
            _state(store, "j15")
        assert published == [False, False, True]
        assert len(store.job_states()) == 16
