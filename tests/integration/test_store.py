"""The SQLite store on a real file: migrations, idempotent writes, events, reads, WAL readers."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from scheduler.core.runs import EventKind, RunEvent, RunStatus, RunTrigger, iso_utc, run_id
from scheduler.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    JobState,
    Store,
    StoreError,
    StoreMissingError,
    StoreVersionError,
)

T0 = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "scheduler.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store(db_path) as s:
        yield s


def tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def enqueue(store: Store, job: str = "backup", at: datetime = T0, **kw: object) -> str:
    rid = run_id(job, at)
    store.record_enqueued(
        run_id=rid,
        job=job,
        scheduled_for=at,
        trigger=RunTrigger.schedule,
        enqueued_at=at + timedelta(milliseconds=5),
        **kw,  # type: ignore[arg-type]
    )
    return rid


def event(kind: EventKind, rid: str, job: str = "backup", **kw: object) -> RunEvent:
    fields: dict[str, object] = {
        "kind": kind,
        "run_id": rid,
        "job": job,
        "scheduled_for": iso_utc(T0),
        "trigger": RunTrigger.schedule,
        "at": iso_utc(T0 + timedelta(seconds=1)),
        "worker": "w1",
    }
    fields.update(kw)
    return RunEvent(**fields)  # type: ignore[arg-type]


# --- opening and migrations -------------------------------------------------------------


def test_new_file_gets_tables_and_schema_version(db_path: Path) -> None:
    """Opening a missing path creates its folders, the three tables and user_version."""
    with Store(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 1
    assert {"runs", "job_state", "meta"} <= tables(db_path)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"runs_job_time", "runs_status", "runs_scheduled"} <= indexes


def test_wal_mode_is_on(store: Store, db_path: Path) -> None:
    """The writer puts the file in WAL mode, which persists for every later connection."""
    assert store.journal_mode == "wal"
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_keeps_data_and_does_not_rerun_migrations(db_path: Path) -> None:
    """A second open finds the data and commits nothing (data_version stays put)."""
    with Store(db_path) as store:
        rid = enqueue(store)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as watcher:
        schema_before = watcher.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
        version_before = watcher.execute("PRAGMA data_version").fetchone()[0]
        with Store(db_path) as store:
            assert store.schema_version == SCHEMA_VERSION
            row = store.last_run("backup")
            assert row is not None
            assert row.run_id == rid
        assert watcher.execute("PRAGMA data_version").fetchone()[0] == version_before
        schema_after = watcher.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    assert schema_after == schema_before


def test_old_version_file_is_migrated_without_dropping_tables(db_path: Path) -> None:
    """A version-0 file with a foreign table keeps it, and its rows, after migration."""
    db_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE legacy_jobs (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO legacy_jobs (name) VALUES ('birthday')")
    with Store(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        enqueue(store)
        assert store.count_runs() == 1
    assert {"legacy_jobs", "runs", "job_state", "meta"} <= tables(db_path)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        assert conn.execute("SELECT name FROM legacy_jobs").fetchall() == [("birthday",)]


def test_migrations_never_drop_anything() -> None:
    """No migration statement drops a table or a column (history is never lost). An index
    holds no data of its own: one made redundant by a better one may go."""
    for statements in MIGRATIONS:
        for statement in statements:
            upper = statement.upper()
            assert "DROP" not in upper.replace("DROP INDEX IF EXISTS", "")


def test_newer_schema_is_refused_by_the_writer(db_path: Path) -> None:
    """A file migrated by a newer version is not written by this one."""
    with Store(db_path):
        pass
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreVersionError, match="upgrade the scheduler"):
        Store(db_path)


def test_garbage_file_raises_store_error(db_path: Path) -> None:
    """A file that is not SQLite is a StoreError naming the path, not a sqlite3 traceback."""
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not a database, just some text " * 50)
    with pytest.raises(StoreError, match=re.escape(str(db_path))):
        Store(db_path)
    with pytest.raises(StoreError, match=re.escape(str(db_path))):
        Store.open_readonly(db_path)


# --- read-only access --------------------------------------------------------------------


def test_open_readonly_on_missing_file_raises_store_missing(db_path: Path) -> None:
    """Readers never create the file; a missing one is a clear StoreMissingError."""
    with pytest.raises(StoreMissingError, match="scheduler run") as info:
        Store.open_readonly(db_path)
    assert info.value.path == db_path
    assert not db_path.exists()


def test_open_readonly_on_unmigrated_file_raises_version_error(db_path: Path) -> None:
    """A file the watcher has not migrated yet cannot be read with this schema."""
    db_path.parent.mkdir(parents=True)
    sqlite3.connect(db_path).close()
    with pytest.raises(StoreVersionError, match="scheduler run"):
        Store.open_readonly(db_path)


def test_reader_opens_after_the_writer_closed(db_path: Path) -> None:
    """With the watcher stopped (no -wal/-shm files left), a reader still sees everything."""
    with Store(db_path) as store:
        enqueue(store)
    with Store.open_readonly(db_path) as reader:
        assert reader.count_runs() == 1
        assert reader.journal_mode == "wal"


def test_readonly_store_refuses_writes(store: Store, db_path: Path) -> None:
    """Writing through a read-only Store fails and leaves the file unchanged."""
    with Store.open_readonly(db_path) as reader:
        assert reader.readonly
        with pytest.raises(sqlite3.OperationalError):
            enqueue(reader)
        assert reader.count_runs() == 0


def test_reader_reads_while_writer_holds_a_write_transaction(store: Store, db_path: Path) -> None:
    """In WAL mode a reader sees committed rows at once while a write is in progress."""
    enqueue(store, at=T0)
    with Store.open_readonly(db_path) as reader:
        assert reader.count_runs() == 1
        other = sqlite3.connect(db_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute(
                "INSERT INTO runs (run_id, job, scheduled_for, trigger, status)"
                " VALUES ('x', 'backup', ?, 'schedule', 'enqueued')",
                (iso_utc(T0 + timedelta(hours=1)),),
            )
            began = time.monotonic()
            assert reader.count_runs() == 1
            assert [r.run_id for r in reader.history()] == [run_id("backup", T0)]
            assert time.monotonic() - began < 1.0  # not waiting on busy_timeout
            other.execute("COMMIT")
        finally:
            other.close()
        enqueue(store, at=T0 + timedelta(hours=2))
        assert reader.count_runs() == 3
        last = reader.last_run("backup")
        assert last is not None
        assert last.scheduled_for == T0 + timedelta(hours=2)


# --- recording runs ------------------------------------------------------------------------


def test_record_enqueued_twice_inserts_one_row(store: Store) -> None:
    """The second record of the same run returns False and adds nothing."""
    rid = run_id("backup", T0)
    kwargs = {
        "run_id": rid,
        "job": "backup",
        "scheduled_for": T0,
        "trigger": RunTrigger.schedule,
        "enqueued_at": T0,
    }
    assert store.record_enqueued(**kwargs) is True  # type: ignore[arg-type]
    assert store.record_enqueued(**kwargs) is False  # type: ignore[arg-type]
    assert store.count_runs() == 1


def test_same_slot_under_another_run_id_is_refused(store: Store) -> None:
    """(job, scheduled_for, trigger) is unique even when a caller invents a second id."""
    assert store.record_enqueued(
        run_id="a", job="backup", scheduled_for=T0, trigger=RunTrigger.schedule, enqueued_at=T0
    )
    assert not store.record_enqueued(
        run_id="b",
        job="backup",
        scheduled_for=T0.astimezone(PARIS),
        trigger=RunTrigger.schedule,
        enqueued_at=T0,
    )
    assert store.count_runs() == 1


def test_record_enqueued_stores_every_field_in_utc(store: Store) -> None:
    """Local instants come back as the same instants in UTC, with the note."""
    local = T0.astimezone(PARIS)
    store.record_enqueued(
        run_id="r1",
        job="backup",
        scheduled_for=local,
        trigger=RunTrigger.manual,
        enqueued_at=local + timedelta(seconds=2),
        note="run now",
    )
    row = store.last_run("backup")
    assert row is not None
    assert row.scheduled_for == T0
    assert row.scheduled_for.tzinfo is UTC
    assert row.enqueued_at == T0 + timedelta(seconds=2)
    assert (row.trigger, row.status, row.note) == (RunTrigger.manual, RunStatus.enqueued, "run now")
    assert row.started_at is None
    assert row.finished_at is None


def test_naive_datetimes_are_rejected(store: Store) -> None:
    """Every datetime argument must be aware; nothing is written otherwise."""
    naive = datetime(2026, 3, 29, 7, 0)
    with pytest.raises(ValueError, match="scheduled_for"):
        store.record_enqueued(
            run_id="r", job="j", scheduled_for=naive, trigger=RunTrigger.schedule, enqueued_at=T0
        )
    with pytest.raises(ValueError, match="updated_at"):
        store.save_job_state(
            job="j",
            last_scheduled=None,
            next_run=None,
            definition_hash=None,
            source_file=None,
            enabled=True,
            updated_at=naive,
        )
    with pytest.raises(ValueError, match="at"):
        store.set_meta("heartbeat", "x", naive)
    with pytest.raises(ValueError, match=r"event\.at"):
        store.apply_event(event(EventKind.started, "r", at="2026-03-29T07:00:01"))
    assert store.count_runs() == 0


def test_missed_and_skipped_are_recorded_once(store: Store) -> None:
    """Missed and skipped runs are rows with their status and note, refused when repeated."""
    rid = run_id("report", T0)
    assert store.record_missed(job="report", scheduled_for=T0, run_id=rid, note="watcher down")
    assert not store.record_missed(job="report", scheduled_for=T0, run_id=rid, note="again")
    later = T0 + timedelta(hours=1)
    assert store.record_skipped(
        job="report", scheduled_for=later, run_id=run_id("report", later), note="overlap"
    )
    rows = store.history(job="report")
    assert [(r.status, r.note) for r in rows] == [
        (RunStatus.skipped, "overlap"),
        (RunStatus.missed, "watcher down"),
    ]


def test_missed_does_not_overwrite_an_enqueued_run(store: Store) -> None:
    """Recording a run as missed after it was enqueued changes nothing."""
    rid = enqueue(store)
    assert not store.record_missed(job="backup", scheduled_for=T0, run_id=rid, note="late")
    row = store.last_run("backup")
    assert row is not None
    assert row.status is RunStatus.enqueued


# --- events --------------------------------------------------------------------------------


def test_enqueued_started_succeeded_sequence(store: Store) -> None:
    """Each step changes the row: start time and worker, then finish, duration and result."""
    rid = enqueue(store)
    assert store.apply_event(event(EventKind.started, rid, at=iso_utc(T0 + timedelta(seconds=1))))
    row = store.last_run("backup")
    assert row is not None
    assert (row.status, row.started_at, row.worker) == (
        RunStatus.started,
        T0 + timedelta(seconds=1),
        "w1",
    )
    assert store.apply_event(
        event(
            EventKind.succeeded,
            rid,
            at=iso_utc(T0 + timedelta(seconds=3.5)),
            duration_s=2.5,
            result='{"sent": 3}',
        )
    )
    row = store.last_run("backup")
    assert row is not None
    assert row.status is RunStatus.succeeded
    assert row.started_at == T0 + timedelta(seconds=1)
    assert row.finished_at == T0 + timedelta(seconds=3.5)
    assert row.duration_s == 2.5
    assert row.result == '{"sent": 3}'
    assert row.enqueued_at == T0 + timedelta(milliseconds=5)
    assert row.error is None


def test_late_started_after_succeeded_does_not_regress(store: Store) -> None:
    """A started event arriving after the final one moves nothing back: it only fills in
    the start time the row lacked (as when it came first, so every order ends the same)."""
    rid = enqueue(store)
    assert store.apply_event(event(EventKind.succeeded, rid, duration_s=1.0))
    started = event(EventKind.started, rid, worker="w2", at=iso_utc(T0))
    assert not store.apply_event(started)
    row = store.last_run("backup")
    assert row is not None
    assert (row.status, row.started_at, row.worker) == (RunStatus.succeeded, T0, "w1")


def test_final_status_is_never_replaced(store: Store) -> None:
    """Once succeeded, a later failed event (a stray retry report) changes nothing."""
    rid = enqueue(store)
    assert store.apply_event(event(EventKind.succeeded, rid, duration_s=1.0))
    assert not store.apply_event(event(EventKind.failed, rid, error="boom"))
    row = store.last_run("backup")
    assert row is not None
    assert (row.status, row.error) == (RunStatus.succeeded, None)


def test_failed_carries_error_and_traceback(store: Store) -> None:
    """A failed event stores the error, the traceback and the duration."""
    rid = enqueue(store)
    store.apply_event(event(EventKind.started, rid))
    assert store.apply_event(
        event(
            EventKind.failed,
            rid,
            duration_s=0.25,
            error="ValueError: bad contact",
            traceback='Traceback (most recent call last):\n  File "bots.py"\nValueError',
        )
    )
    row = store.last_run("backup")
    assert row is not None
    assert row.status is RunStatus.failed
    assert row.error == "ValueError: bad contact"
    assert row.traceback is not None
    assert row.traceback.startswith("Traceback")
    assert row.duration_s == 0.25
    assert store.count_runs(status=RunStatus.failed) == 1


def test_event_for_unknown_run_inserts_it(store: Store) -> None:
    """A run enqueued by someone else appears from its events, in their status."""
    rid = run_id("orphan", T0)
    assert store.apply_event(event(EventKind.started, rid, job="orphan"))
    row = store.last_run("orphan")
    assert row is not None
    assert (row.run_id, row.status, row.scheduled_for) == (rid, RunStatus.started, T0)
    assert row.enqueued_at is None

    final_only = run_id("orphan2", T0)
    assert store.apply_event(
        event(EventKind.failed, final_only, job="orphan2", error="x", duration_s=1.0)
    )
    row = store.last_run("orphan2")
    assert row is not None
    assert (row.status, row.error, row.started_at) == (RunStatus.failed, "x", None)
    assert row.finished_at == T0 + timedelta(seconds=1)


def test_a_triggered_runs_enqueued_report_records_it_in_any_order(store: Store) -> None:
    """``scheduler trigger``'s report makes the row; after the worker's (overtaken on the
    stream) it only fills in the enqueued time, never moving the run back."""
    manual = {"trigger": RunTrigger.manual, "worker": "", "canary": True}
    first = run_id("now", T0, RunTrigger.manual)
    assert store.apply_event(event(EventKind.enqueued, first, job="now", **manual))
    row = store.last_run("now")
    assert row is not None
    assert (row.status, row.trigger, row.canary) == (RunStatus.enqueued, RunTrigger.manual, True)
    assert row.enqueued_at == T0 + timedelta(seconds=1)
    assert not store.apply_event(event(EventKind.enqueued, first, job="now", **manual))

    late = run_id("late", T0, RunTrigger.manual)
    done_at = iso_utc(T0 + timedelta(seconds=3))
    assert store.apply_event(
        event(EventKind.succeeded, late, job="late", duration_s=0.5, at=done_at)
    )
    assert not store.apply_event(event(EventKind.enqueued, late, job="late", **manual))
    row = store.last_run("late")
    assert row is not None
    assert row.status is RunStatus.succeeded
    assert row.enqueued_at == T0 + timedelta(seconds=1)


def test_duplicate_events_are_no_ops(store: Store) -> None:
    """Replaying the same events (a re-read stream) returns False and changes no row."""
    rid = enqueue(store)
    events = [
        event(EventKind.started, rid),
        event(EventKind.succeeded, rid, duration_s=1.0, at=iso_utc(T0 + timedelta(seconds=2))),
    ]
    assert [store.apply_event(e) for e in events] == [True, True]
    before = store.history()
    assert [store.apply_event(e) for e in events] == [False, False]
    assert store.history() == before
    assert store.count_runs() == 1


def test_event_instants_are_normalised_to_utc(store: Store) -> None:
    """An event whose scheduled_for is written with an offset or Z matches the same run."""
    rid = enqueue(store)
    assert store.apply_event(
        event(EventKind.started, rid, scheduled_for=T0.astimezone(PARIS).isoformat())
    )
    assert store.count_runs() == 1
    other = run_id("zulu", T0)
    store.apply_event(
        event(EventKind.started, other, job="zulu", scheduled_for="2026-03-29T07:00Z")
    )
    row = store.last_run("zulu")
    assert row is not None
    assert row.as_json()["scheduled_for"] == "2026-03-29T07:00:00+00:00"


# --- reads -------------------------------------------------------------------------------


def test_history_is_newest_first_and_filters_and_limits(store: Store) -> None:
    """history orders by scheduled instant descending, filters by job and status, caps at limit."""
    instants = [T0 + timedelta(minutes=m) for m in (0, 30, 15, 45)]
    for at in instants:
        enqueue(store, job="a", at=at)
    enqueue(store, job="b", at=T0 + timedelta(hours=5))
    enqueue(store, job="a", at=T0 + timedelta(minutes=45, microseconds=500))
    store.apply_event(
        event(
            EventKind.failed,
            run_id("a", T0 + timedelta(minutes=15)),
            job="a",
            scheduled_for=iso_utc(T0 + timedelta(minutes=15)),
        )
    )

    all_rows = store.history()
    assert [r.job for r in all_rows][:1] == ["b"]
    a_rows = store.history(job="a")
    minutes = [(r.scheduled_for - T0) for r in a_rows]
    assert minutes == sorted(minutes, reverse=True)
    assert a_rows[0].scheduled_for == T0 + timedelta(minutes=45, microseconds=500)
    assert len(a_rows) == 5
    assert [r.scheduled_for for r in store.history(job="a", limit=2)] == [
        a_rows[0].scheduled_for,
        a_rows[1].scheduled_for,
    ]
    failed = store.history(job="a", status=RunStatus.failed)
    assert [r.scheduled_for for r in failed] == [T0 + timedelta(minutes=15)]
    assert store.history(job="b", status=RunStatus.failed) == []
    assert store.count_runs() == 6
    assert store.count_runs(job="a") == 5
    assert store.count_runs(job="a", status=RunStatus.enqueued) == 4
    with pytest.raises(ValueError, match="limit"):
        store.history(limit=0)


def test_last_run_and_last_runs(store: Store) -> None:
    """last_run is the latest scheduled run of a job; last_runs gives one per job."""
    assert store.last_run("a") is None
    assert store.last_runs() == {}
    for minutes in (10, 50, 20):
        enqueue(store, job="a", at=T0 + timedelta(minutes=minutes))
    enqueue(store, job="b", at=T0)
    last = store.last_runs()
    assert set(last) == {"a", "b"}
    assert last["a"].scheduled_for == T0 + timedelta(minutes=50)
    assert last["b"].scheduled_for == T0
    assert store.last_run("a") == last["a"]


def test_as_json_shape(store: Store) -> None:
    """as_json has the documented keys, ISO-8601 UTC strings, nulls and rq_job_id == run_id."""
    rid = enqueue(store)
    store.apply_event(event(EventKind.started, rid))
    row = store.last_run("backup")
    assert row is not None
    data = row.as_json()
    assert data == {
        "job": "backup",
        "run_id": rid,
        "rq_job_id": rid,
        "scheduled_for": "2026-03-29T07:00:00+00:00",
        "trigger": "schedule",
        "status": "started",
        "enqueued_at": "2026-03-29T07:00:00.005000+00:00",
        "started_at": "2026-03-29T07:00:01+00:00",
        "finished_at": None,
        "duration_s": None,
        "error": None,
        "traceback": None,
        "result": None,
        "worker": "w1",
        "note": None,
        "reason": None,
        "attempts": 1,
        "canary": False,
    }


# --- job state and meta --------------------------------------------------------------------


def test_job_state_upsert_round_trips_aware_datetimes(store: Store) -> None:
    """Saving twice replaces the row; instants come back aware, in UTC, equal to what was saved."""
    local_last = datetime(2026, 3, 29, 9, 0, tzinfo=PARIS)
    store.save_job_state(
        job="birthday-daily",
        last_scheduled=None,
        next_run=local_last,
        definition_hash="h1",
        source_file="jobs.d/birthday.yaml",
        enabled=True,
        updated_at=T0,
    )
    store.save_job_state(
        job="birthday-daily",
        last_scheduled=local_last,
        next_run=local_last + timedelta(days=1),
        definition_hash="h2",
        source_file="jobs.d/bots/birthday.yaml",
        enabled=False,
        updated_at=T0 + timedelta(minutes=1),
    )
    states = store.job_states()
    assert states == {
        "birthday-daily": JobState(
            job="birthday-daily",
            last_scheduled=local_last,
            next_run=local_last + timedelta(days=1),
            definition_hash="h2",
            source_file="jobs.d/bots/birthday.yaml",
            enabled=False,
            updated_at=T0 + timedelta(minutes=1),
        )
    }
    state = states["birthday-daily"]
    assert state.last_scheduled is not None
    assert state.last_scheduled.tzinfo is UTC
    assert state.last_scheduled == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def test_job_states_saved_in_bulk_are_the_rows_saved_one_by_one(store: Store) -> None:
    """``save_job_states`` writes (and replaces) what ``save_job_state`` would, row for row."""
    local = datetime(2026, 3, 29, 9, 0, tzinfo=PARIS)
    store.save_job_state(
        job="a",
        last_scheduled=None,
        next_run=None,
        definition_hash="old",
        source_file="jobs.d/old.yaml",
        enabled=True,
        updated_at=T0,
    )
    store.save_job_states(
        [
            ("a", local, local + timedelta(days=1), "h1", "jobs.d/a.yaml", False, 2),
            ("b", None, None, None, None, True, 0),
        ],
        updated_at=T0 + timedelta(minutes=1),
    )
    at = T0 + timedelta(minutes=1)
    assert store.job_states() == {
        "a": JobState("a", local, local + timedelta(days=1), "h1", "jobs.d/a.yaml", False, at, 2),
        "b": JobState("b", None, None, None, None, True, at, 0),
    }
    with pytest.raises(ValueError, match="next_run"):
        store.save_job_states(
            [("c", T0, local.replace(tzinfo=None), "h", "f", True, 0)], updated_at=T0
        )


def test_job_states_share_one_datetime_per_instant(store: Store) -> None:
    """Jobs due at the same instant read back one object for it (each is held for good)."""
    for name in ("a", "b"):
        store.save_job_state(
            job=name,
            last_scheduled=T0,
            next_run=T0 + timedelta(hours=1),
            definition_hash="h",
            source_file=f"jobs.d/{name}.yaml",
            enabled=True,
            updated_at=T0,
        )
    a, b = store.job_states()["a"], store.job_states()["b"]
    assert (a.last_scheduled, a.next_run) == (T0, T0 + timedelta(hours=1))
    states = store.job_states()
    assert states["a"].next_run is states["b"].next_run
    assert states["a"].last_scheduled is states["b"].last_scheduled
    assert b.next_run is not None
    assert b.next_run.tzinfo is UTC


class _Loaded(NamedTuple):
    name: str
    file: str
    definition_hash: str


def test_job_states_given_the_loaded_jobs_share_their_strings(store: Store) -> None:
    """Read for the start, a row of a loaded job holds the job's own name, file and hash
    where equal (not a copy beside it), and every field but ``updated_at`` as stored."""
    rows = {"job-a": "hash-a", "job-b": "hash-old", "job-c": "hash-c"}
    for name, digest in rows.items():
        store.save_job_state(
            job=name,
            last_scheduled=T0,
            next_run=T0 + timedelta(hours=1),
            definition_hash=digest,
            source_file=f"jobs.d/{name}.yaml",
            enabled=name != "job-c",
            updated_at=T0,
            canary_left=2,
        )
    # Built at run time: equal to the stored texts, other objects than the rows' own.
    held = {
        n: _Loaded(f"job-{n[-1]}", f"jobs.d/job-{n[-1]}.yaml", f"hash-{n[-1]}")
        for n in ("job-a", "job-b")
    }
    states = store.job_states(held)
    plain = store.job_states()
    assert set(states) == set(rows)
    for name, state in states.items():
        assert state == plain[name]._replace(updated_at=None)
    a, b = states["job-a"], states["job-b"]
    assert a.job is held["job-a"].name
    assert next(k for k in states if k == "job-a") is held["job-a"].name
    assert a.source_file is held["job-a"].file
    assert a.definition_hash is held["job-a"].definition_hash
    assert b.definition_hash == "hash-old"  # changed since: the row's own, compared at start
    assert b.source_file is held["job-b"].file


def test_forget_job_keeps_its_runs(store: Store) -> None:
    """Forgetting a job deletes its state row only; its history stays."""
    enqueue(store, job="gone")
    store.save_job_state(
        job="gone",
        last_scheduled=T0,
        next_run=None,
        definition_hash="h",
        source_file="jobs.d/gone.yaml",
        enabled=True,
        updated_at=T0,
    )
    assert store.forget_job("gone") is True
    assert store.forget_job("gone") is False
    assert store.job_states() == {}
    assert store.count_runs(job="gone") == 1


def test_meta_round_trip(store: Store, db_path: Path) -> None:
    """set_meta overwrites; get_meta returns the value and an aware UTC instant, None if unset."""
    assert store.get_meta("heartbeat") is None
    store.set_meta("heartbeat", "watcher-1", T0.astimezone(PARIS))
    store.set_meta("heartbeat", "watcher-1", T0 + timedelta(seconds=5))
    assert store.get_meta("heartbeat") == ("watcher-1", T0 + timedelta(seconds=5))
    with Store.open_readonly(db_path) as reader:
        got = reader.get_meta("heartbeat")
    assert got is not None
    assert got[1].tzinfo is UTC


def test_job_states_after_reads_every_row_by_name_a_page_at_a_time(store: Store) -> None:
    """Page after page, each starting after the last name of the one before, the rows come
    by name, as ``job_states`` reads them (without ``updated_at``); the last page is short."""
    for name in ("e", "b", "d", "a", "c"):
        store.save_job_state(
            job=name,
            last_scheduled=T0,
            next_run=T0 + timedelta(hours=1),
            definition_hash=f"hash-{name}",
            source_file=f"jobs.d/{name}.yaml",
            enabled=True,
            updated_at=T0,
        )
    pages = [store.job_states_after(None, 2)]
    while len(pages[-1]) == 2:
        pages.append(store.job_states_after(pages[-1][-1].job, 2))
    assert [[s.job for s in page] for page in pages] == [["a", "b"], ["c", "d"], ["e"]]
    whole = store.job_states()
    assert [s for page in pages for s in page] == [
        whole[n]._replace(updated_at=None) for n in "abcde"
    ]


class _Held(NamedTuple):
    name: str
    file: str
    definition_hash: str


def test_job_states_after_reads_each_field_as_stored_with_the_held_strings(store: Store) -> None:
    """No instant, a disabled job, a canary, another file or hash than the held job's: each
    row reads back as ``job_states`` reads it; where equal, the held job's own strings."""
    store.save_job_state(
        job="a",
        last_scheduled=None,
        next_run=None,
        definition_hash="h-a",
        source_file="jobs.d/a.yaml",
        enabled=False,
        updated_at=T0,
        canary_left=3,
    )
    store.save_job_state(
        job="b",
        last_scheduled=T0,
        next_run=T0 + timedelta(minutes=5),
        definition_hash="h-b",
        source_file="jobs.d/b.yaml",
        enabled=True,
        updated_at=T0,
    )
    held = {
        "a": _Held("".join(["a"]), "".join(["jobs.d/", "a.yaml"]), "".join(["h-", "a"])),
        "b": _Held("".join(["b"]), "jobs.d/moved.yaml", "other"),
    }
    page = store.job_states_after(None, 10, held)
    whole = store.job_states()
    assert page == [whole[n]._replace(updated_at=None) for n in "ab"]
    assert all(type(state) is JobState for state in page)
    a, b = page
    assert (a.job, a.source_file, a.definition_hash) == held["a"]
    assert a.job is held["a"].name
    assert a.source_file is held["a"].file
    assert a.definition_hash is held["a"].definition_hash
    assert b.job is held["b"].name
    assert (b.source_file, b.definition_hash) == ("jobs.d/b.yaml", "h-b")
    assert (a.enabled, a.canary_left, a.last_scheduled, a.next_run) == (False, 3, None, None)
    assert b.next_run == T0 + timedelta(minutes=5)
