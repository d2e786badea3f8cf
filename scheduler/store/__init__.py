"""The SQLite record of runs, per-job state and watcher metadata.

The watcher owns the only writing :class:`Store`; CLI commands open the same file with
:meth:`Store.open_readonly`. WAL mode lets those readers run while the watcher writes.
Every write is its own short transaction and is idempotent: duplicates are refused by
UNIQUE constraints and status changes are conditional UPDATEs, so replaying a write or an
event changes nothing. Instants are stored as ISO-8601 UTC text (:func:`iso_utc`), which
also sorts chronologically.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from scheduler.core.errors import StoreError, StoreMissingError, StoreVersionError
from scheduler.core.runs import ACTIVE, EventKind, RunEvent, RunStatus, RunTrigger, iso_utc

# Each migration is a list of statements applied in one transaction, then user_version is set
# to its 1-based position. Append only: never edit a released migration, never DROP a table.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE IF NOT EXISTS runs (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            job TEXT NOT NULL,
            scheduled_for TEXT NOT NULL,
            trigger TEXT NOT NULL,
            status TEXT NOT NULL,
            enqueued_at TEXT,
            started_at TEXT,
            finished_at TEXT,
            duration_s REAL,
            error TEXT,
            traceback TEXT,
            result TEXT,
            worker TEXT,
            note TEXT,
            UNIQUE (job, scheduled_for, trigger)
        )
        """,
        "CREATE INDEX IF NOT EXISTS runs_job_scheduled ON runs (job, scheduled_for DESC)",
        "CREATE INDEX IF NOT EXISTS runs_status ON runs (status)",
        """
        CREATE TABLE IF NOT EXISTS job_state (
            job TEXT PRIMARY KEY,
            last_scheduled TEXT,
            next_run TEXT,
            definition_hash TEXT,
            source_file TEXT,
            enabled INTEGER,
            updated_at TEXT
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS meta (
            key TEXT PRIMARY KEY,
            value TEXT,
            updated_at TEXT
        )
        """,
    ),
    (
        # Issue 5: canary runs (dry_run forced) and the canary runs a job has left.
        "ALTER TABLE runs ADD COLUMN canary INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE job_state ADD COLUMN canary_left INTEGER NOT NULL DEFAULT 0",
    ),
    # 3 (issue 6): the occurrence ledger's reason (policies.Reason) and the attempt a run is on.
    (
        "ALTER TABLE runs ADD COLUMN reason TEXT",
        "ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1",
        "CREATE INDEX IF NOT EXISTS runs_job_status ON runs (job, status)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes and expects (SQLite ``PRAGMA user_version``)."""

_FINAL = (RunStatus.succeeded.value, RunStatus.failed.value)

_RUN_COLUMNS = (
    "id, run_id, job, scheduled_for, trigger, status, enqueued_at, started_at, finished_at,"
    " duration_s, error, traceback, result, worker, note, canary, reason, attempts"
)


def _aware(value: datetime, name: str) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return iso_utc(value)


def _aware_or_none(value: datetime | None, name: str) -> str | None:
    return None if value is None else _aware(value, name)


def _parse_text(value: str, name: str) -> str:
    """Normalise an ISO-8601 string from an event to the stored form; naive is an error."""
    return _aware(datetime.fromisoformat(value), name)


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def _result_value(text: str | None) -> Any:
    """The task's result as JSON data; text that is not JSON (cut by the cap) stays text."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


@dataclass(frozen=True, kw_only=True)
class RunRow:
    """One run as recorded. Instants are aware UTC; ``duration_s`` is in seconds."""

    id: int
    run_id: str  # also the RQ job id
    job: str
    scheduled_for: datetime
    trigger: RunTrigger
    status: RunStatus
    enqueued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    error: str | None
    traceback: str | None
    result: str | None  # JSON text as the runner capped it
    worker: str | None
    note: str | None
    canary: bool = False  # dry_run was forced: one of the job's canary runs
    reason: str | None = None  # policies.Reason: why it is in its status (the ledger)
    attempts: int = 1  # the attempt it is on (retries), 1-based

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> RunRow:
        scheduled = _instant(row["scheduled_for"])
        assert scheduled is not None  # NOT NULL column
        return cls(
            id=row["id"],
            run_id=row["run_id"],
            job=row["job"],
            scheduled_for=scheduled,
            trigger=RunTrigger(row["trigger"]),
            status=RunStatus(row["status"]),
            enqueued_at=_instant(row["enqueued_at"]),
            started_at=_instant(row["started_at"]),
            finished_at=_instant(row["finished_at"]),
            duration_s=row["duration_s"],
            error=row["error"],
            traceback=row["traceback"],
            result=row["result"],
            worker=row["worker"],
            note=row["note"],
            canary=bool(row["canary"]),
            reason=row["reason"],
            attempts=int(row["attempts"] or 1),
        )

    def as_json(self) -> dict[str, Any]:
        """The stable JSON shape of ``history --format json``: ISO-8601 UTC strings or null."""
        return {
            "job": self.job,
            "run_id": self.run_id,
            "rq_job_id": self.run_id,
            "scheduled_for": iso_utc(self.scheduled_for),
            "trigger": str(self.trigger),
            "status": str(self.status),
            "enqueued_at": _iso(self.enqueued_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration_s": self.duration_s,
            "error": self.error,
            "traceback": self.traceback,
            "result": _result_value(self.result),
            "worker": self.worker,
            "note": self.note,
            "canary": self.canary,
            "reason": self.reason,
            "attempts": self.attempts,
        }


@dataclass(frozen=True, kw_only=True)
class JobState:
    """What the watcher remembers about a job between restarts. Instants are aware UTC.

    ``last_scheduled`` is the last instant dispatched or accounted for (missed, skipped);
    catch-up starts after it.
    """

    job: str
    last_scheduled: datetime | None
    next_run: datetime | None
    definition_hash: str | None
    source_file: str | None
    enabled: bool
    updated_at: datetime | None
    canary_left: int = 0  # runs still to go with dry_run forced


#: How long the watcher's writes wait for a lock another process holds on the file.
WRITER_BUSY_TIMEOUT_MS = 120_000


class Store:
    """The SQLite run records at ``path``. One thread owns a Store; close it when done."""

    def __init__(self, path: Path) -> None:
        """Open or create the file (and its parent folders) for writing, migrating it."""
        self.path = Path(path)
        self.readonly = False
        self._in_batch = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._connect(self.path, str(self.path), uri=False)
        try:
            # The watcher is the only writer, but not the only process that may lock the file
            # (a backup, an open sqlite3 shell). Waiting beats crashing: the loop stalls,
            # its runs go out late, and nothing is lost. The CLI's readers keep 5 s.
            self._conn.execute(f"PRAGMA busy_timeout={WRITER_BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise StoreError(self.path, f"cannot use as a SQLite database ({exc})") from exc
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """Open an existing file for reading only (CLI commands); never creates or migrates.

        Raises :class:`StoreMissingError` when the file does not exist and
        :class:`StoreVersionError` when the watcher has not migrated it yet.
        """
        path = Path(path)
        if not path.is_file():
            raise StoreMissingError(path)
        store = cls.__new__(cls)
        store.path = path
        store.readonly = True
        store._in_batch = False
        store._conn = cls._connect(path, f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            store._conn.execute("PRAGMA query_only=ON")
            found = store.schema_version
            if found < SCHEMA_VERSION:
                hint = "start the watcher (`scheduler run`) once to migrate it"
                raise StoreVersionError(path, found, SCHEMA_VERSION, hint)
        except sqlite3.DatabaseError as exc:
            store._conn.close()
            raise StoreError(path, f"cannot read as a SQLite database ({exc})") from exc
        except BaseException:
            store._conn.close()
            raise
        return store

    @staticmethod
    def _connect(path: Path, target: str, *, uri: bool) -> sqlite3.Connection:
        # isolation_level=None: the module's implicit BEGINs are off; _write() says BEGIN itself.
        try:
            conn = sqlite3.connect(target, uri=uri, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise StoreError(path, f"cannot open ({exc})") from exc
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def close(self) -> None:
        """Close the connection; the Store is unusable afterwards. Closing twice is fine."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The file's schema version (``PRAGMA user_version``); 0 for a file never migrated."""
        try:
            row = self._conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(self.path, f"not a readable SQLite database ({exc})") from exc
        return int(row[0])

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode for this file (``wal`` once a writer has opened it)."""
        return str(self._conn.execute("PRAGMA journal_mode").fetchone()[0])

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group the writes made inside into one transaction (one commit for a whole burst)."""
        if self._in_batch:
            yield
            return
        with self._write():
            self._in_batch = True
            try:
                yield
            finally:
                self._in_batch = False

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self._in_batch:
            yield self._conn
            return
        # IMMEDIATE takes the write lock up front, so a conditional UPDATE never has to
        # upgrade a read lock mid-transaction (which fails at once instead of waiting).
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            # SQLite may already have rolled back on its own (SQLITE_FULL, SQLITE_IOERR).
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        if self.schema_version > SCHEMA_VERSION:
            hint = "upgrade the scheduler before running this watcher on it"
            raise StoreVersionError(self.path, self.schema_version, SCHEMA_VERSION, hint)
        for version, statements in enumerate(MIGRATIONS, start=1):
            if self.schema_version >= version:
                continue
            with self._write() as conn:
                # Read again under the write lock: another process may have migrated meanwhile.
                if self.schema_version >= version:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version:d}")

    # --- runs: writes -------------------------------------------------------------------

    def _insert_run(
        self,
        *,
        run_id: str,
        job: str,
        scheduled_for: str,
        trigger: RunTrigger,
        status: RunStatus,
        enqueued_at: str | None = None,
        note: str | None = None,
        canary: bool = False,
        reason: str | None = None,
    ) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO runs (run_id, job, scheduled_for, trigger, status, enqueued_at, note,"
                " canary, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    run_id,
                    job,
                    scheduled_for,
                    str(trigger),
                    str(status),
                    enqueued_at,
                    note,
                    canary,
                    reason,
                ),
            )
            return cur.rowcount == 1

    def record_enqueued(
        self,
        *,
        run_id: str,
        job: str,
        scheduled_for: datetime,
        trigger: RunTrigger,
        enqueued_at: datetime | None,
        note: str | None = None,
        reason: str | None = None,
        canary: bool = False,
    ) -> bool:
        """Record a run put on the RQ queue; False if that run (id or slot) is already recorded.

        The slot is (job, scheduled_for, trigger); a False is the expected outcome of a
        duplicate dispatch, not an error. ``enqueued_at`` None (reason ``waiting``) is a run
        the watcher holds back until the job's earlier run ends (overlap queue_one).
        """
        return self._insert_run(
            run_id=run_id,
            job=job,
            scheduled_for=_aware(scheduled_for, "scheduled_for"),
            trigger=trigger,
            status=RunStatus.enqueued,
            enqueued_at=_aware_or_none(enqueued_at, "enqueued_at"),
            note=note,
            canary=canary,
            reason=reason,
        )

    def record_missed(
        self,
        *,
        job: str,
        scheduled_for: datetime,
        run_id: str,
        note: str | None,
        trigger: RunTrigger = RunTrigger.schedule,
        reason: str | None = None,
    ) -> bool:
        """Record a run that was due but will not run; False if that run is already recorded."""
        return self._insert_run(
            run_id=run_id,
            job=job,
            scheduled_for=_aware(scheduled_for, "scheduled_for"),
            trigger=trigger,
            status=RunStatus.missed,
            note=note,
            reason=reason,
        )

    def record_skipped(
        self,
        *,
        job: str,
        scheduled_for: datetime,
        run_id: str,
        note: str | None,
        trigger: RunTrigger = RunTrigger.schedule,
        reason: str | None = None,
    ) -> bool:
        """Record a run a policy chose not to run; False if that run is already recorded."""
        return self._insert_run(
            run_id=run_id,
            job=job,
            scheduled_for=_aware(scheduled_for, "scheduled_for"),
            trigger=trigger,
            status=RunStatus.skipped,
            note=note,
            reason=reason,
        )

    def apply_event(self, event: RunEvent) -> bool:
        """Apply a worker's report to its run; True if the row changed.

        ``started`` moves an enqueued run to started; ``succeeded``/``failed`` finish any run
        not already finished. A run never leaves succeeded/failed, so late, replayed or
        out-of-order events are harmless. An event for a run with no row (enqueued by another
        watcher, or recorded before a lost write) inserts the row in the event's status.
        Raises ValueError if the event's instants are not aware ISO-8601.
        """
        at = _parse_text(event.at, "event.at")
        scheduled_for = _parse_text(event.scheduled_for, "event.scheduled_for")
        worker = event.worker or None
        if event.kind is EventKind.retrying:
            return self._apply_retrying(event, worker)
        if event.kind is EventKind.enqueued:
            return self._apply_enqueued(event, scheduled_for, at)
        status = RunStatus(str(event.kind))
        started = event.kind is EventKind.started
        with self._write() as conn:
            if started and event.attempt is not None:
                cur = conn.execute(
                    "UPDATE runs SET status = ?, started_at = ?, worker = COALESCE(?, worker),"
                    " attempts = MAX(attempts, ?) WHERE run_id = ? AND status = ?",
                    (str(status), at, worker, event.attempt, event.run_id, "enqueued"),
                )
            elif started:
                cur = conn.execute(
                    "UPDATE runs SET status = ?, started_at = ?, worker = COALESCE(?, worker)"
                    " WHERE run_id = ? AND status = ?",
                    (str(status), at, worker, event.run_id, RunStatus.enqueued.value),
                )
            else:
                cur = conn.execute(
                    "UPDATE runs SET status = ?, finished_at = ?, duration_s = ?, error = ?,"
                    " traceback = ?, result = ?, worker = COALESCE(?, worker),"
                    " reason = COALESCE(?, NULLIF(reason, 'retried')),"
                    " attempts = MAX(attempts, COALESCE(?, 1))"
                    " WHERE run_id = ? AND status NOT IN (?, ?)",
                    (
                        str(status),
                        at,
                        event.duration_s,
                        event.error,
                        event.traceback,
                        event.result,
                        worker,
                        event.reason,
                        event.attempt,
                        event.run_id,
                        *_FINAL,
                    ),
                )
            if cur.rowcount == 1:
                return True
            cur = conn.execute(
                "INSERT INTO runs (run_id, job, scheduled_for, trigger, status, started_at,"
                " finished_at, duration_s, error, traceback, result, worker, canary, reason,"
                " attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (
                    event.run_id,
                    event.job,
                    scheduled_for,
                    str(event.trigger),
                    str(status),
                    at if started else None,
                    None if started else at,
                    event.duration_s,
                    event.error,
                    event.traceback,
                    event.result,
                    worker,
                    event.canary,
                    event.reason,
                    event.attempt or 1,
                ),
            )
            return cur.rowcount == 1

    def _apply_enqueued(self, event: RunEvent, scheduled_for: str, at: str) -> bool:
        """A run enqueued by ``scheduler trigger``: its row, or only its enqueued time when
        the worker's ``started`` (or more) overtook this report on the stream."""
        inserted = self._insert_run(
            run_id=event.run_id,
            job=event.job,
            scheduled_for=scheduled_for,
            trigger=event.trigger,
            status=RunStatus.enqueued,
            enqueued_at=at,
            canary=event.canary,
        )
        if not inserted:
            with self._write() as conn:
                conn.execute(
                    "UPDATE runs SET enqueued_at = COALESCE(enqueued_at, ?) WHERE run_id = ?",
                    (at, event.run_id),
                )
        return inserted

    def _apply_retrying(self, event: RunEvent, worker: str | None) -> bool:
        """An attempt failed and RQ will run another: back to enqueued, on the next attempt."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = 'enqueued', error = ?, traceback = ?, duration_s = ?,"
                " reason = ?, attempts = MAX(attempts, ?), worker = COALESCE(?, worker)"
                " WHERE run_id = ? AND status NOT IN (?, ?) AND attempts <= ?",
                (
                    event.error,
                    event.traceback,
                    event.duration_s,
                    event.reason or "retried",
                    (event.attempt or 1) + 1,
                    worker,
                    event.run_id,
                    *_FINAL,
                    event.attempt or 1,
                ),
            )
            return cur.rowcount == 1

    def close_run(
        self, *, run_id: str, status: RunStatus, reason: str, error: str | None, at: datetime
    ) -> bool:
        """End a run that has not ended (a replaced run): True if it was still open."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, reason = ?, error = ?, finished_at = ?"
                " WHERE run_id = ? AND status IN ('enqueued', 'started')",
                (str(status), reason, error, _aware(at, "at"), run_id),
            )
            return cur.rowcount == 1

    def release_waiting(self, run_id: str, enqueued_at: datetime) -> bool:
        """A run held back by queue_one went onto its RQ queue at ``enqueued_at``."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET enqueued_at = ? WHERE run_id = ? AND enqueued_at IS NULL"
                " AND status = 'enqueued'",
                (_aware(enqueued_at, "enqueued_at"), run_id),
            )
            return cur.rowcount == 1

    def active_runs(self) -> list[RunRow]:
        """Every run still enqueued or started (waiting ones included), oldest first."""
        return list(reversed(self._runs(" WHERE status IN (?, ?)", [s.value for s in ACTIVE])))

    # --- runs: reads --------------------------------------------------------------------

    def _runs(self, where: str, params: Sequence[object], tail: str = "") -> list[RunRow]:
        sql = f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY scheduled_for DESC, id DESC{tail}"
        return [RunRow._from_row(row) for row in self._conn.execute(sql, params)]

    @staticmethod
    def _filters(
        job: str | None,
        status: RunStatus | None,
        reason: str | None = None,
        trigger: RunTrigger | None = None,
    ) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        for column, value in (
            ("job", job),
            ("status", status),
            ("reason", reason),
            ("trigger", trigger),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(str(value))
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def history(
        self,
        *,
        job: str | None = None,
        status: RunStatus | None = None,
        limit: int = 50,
        reason: str | None = None,
        trigger: RunTrigger | None = None,
    ) -> list[RunRow]:
        """Up to ``limit`` (>= 1) runs, newest scheduled instant first, optionally filtered."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        where, params = self._filters(job, status, reason, trigger)
        return self._runs(where, [*params, limit], " LIMIT ?")

    def last_run(self, job: str) -> RunRow | None:
        """The job's run with the latest scheduled instant, or None if it never had one."""
        rows = self._runs(" WHERE job = ?", [job], " LIMIT 1")
        return rows[0] if rows else None

    def last_runs(self) -> dict[str, RunRow]:
        """Every job's run with the latest scheduled instant, by job name."""
        sql = (
            f"SELECT {_RUN_COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER"
            " (PARTITION BY job ORDER BY scheduled_for DESC, id DESC) AS rank FROM runs)"
            " WHERE rank = 1"
        )
        return {row["job"]: RunRow._from_row(row) for row in self._conn.execute(sql)}

    def count_runs(self, job: str | None = None, status: RunStatus | None = None) -> int:
        """How many runs are recorded, optionally only for one job and/or status."""
        where, params = self._filters(job, status)
        return int(self._conn.execute(f"SELECT COUNT(*) FROM runs{where}", params).fetchone()[0])

    # --- per-job state ------------------------------------------------------------------

    def save_job_state(
        self,
        *,
        job: str,
        last_scheduled: datetime | None,
        next_run: datetime | None,
        definition_hash: str | None,
        source_file: str | None,
        enabled: bool,
        updated_at: datetime,
        canary_left: int = 0,
    ) -> None:
        """Insert or replace the job's state row (every field is overwritten)."""
        values = (
            job,
            _aware_or_none(last_scheduled, "last_scheduled"),
            _aware_or_none(next_run, "next_run"),
            definition_hash,
            source_file,
            int(enabled),
            _aware(updated_at, "updated_at"),
            canary_left,
        )
        with self._write() as conn:
            conn.execute(
                "INSERT INTO job_state (job, last_scheduled, next_run, definition_hash,"
                " source_file, enabled, updated_at, canary_left) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (job) DO UPDATE SET last_scheduled = excluded.last_scheduled,"
                " next_run = excluded.next_run, definition_hash = excluded.definition_hash,"
                " source_file = excluded.source_file, enabled = excluded.enabled,"
                " updated_at = excluded.updated_at, canary_left = excluded.canary_left",
                values,
            )

    def job_states(self) -> dict[str, JobState]:
        """Every saved job state, by job name."""
        rows = self._conn.execute(
            "SELECT job, last_scheduled, next_run, definition_hash, source_file, enabled,"
            " updated_at, canary_left FROM job_state ORDER BY job"
        )
        return {
            row["job"]: JobState(
                job=row["job"],
                last_scheduled=_instant(row["last_scheduled"]),
                next_run=_instant(row["next_run"]),
                definition_hash=row["definition_hash"],
                source_file=row["source_file"],
                enabled=bool(row["enabled"]),
                updated_at=_instant(row["updated_at"]),
                canary_left=row["canary_left"],
            )
            for row in rows
        }

    def forget_job(self, job: str) -> bool:
        """Delete the job's state row (its runs stay: history is never dropped); True if any."""
        with self._write() as conn:
            return conn.execute("DELETE FROM job_state WHERE job = ?", (job,)).rowcount == 1

    def rename_job(self, old: str, new: str) -> int:
        """Carry ``old``'s runs and state over to ``new`` (a rename via ``previous_names``).

        Returns how many runs moved. State moves only when ``new`` has none yet; a run
        whose slot ``new`` already holds stays under ``old``.
        """
        with self._write() as conn:
            moved = conn.execute(
                "UPDATE OR IGNORE runs SET job = ? WHERE job = ?", (new, old)
            ).rowcount
            if not conn.execute("SELECT 1 FROM job_state WHERE job = ?", (new,)).fetchone():
                conn.execute("UPDATE job_state SET job = ? WHERE job = ?", (new, old))
            else:
                conn.execute("DELETE FROM job_state WHERE job = ?", (old,))
            return int(moved)

    # --- meta ---------------------------------------------------------------------------

    def set_meta(self, key: str, value: str, at: datetime) -> None:
        """Set a watcher fact (heartbeat, config generation, ...) and when it was set."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, _aware(at, "at")),
            )

    def get_meta(self, key: str) -> tuple[str, datetime] | None:
        """The value of ``key`` and when it was set (aware UTC), or None if never set."""
        row = self._conn.execute(
            "SELECT value, updated_at FROM meta WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        at = _instant(row["updated_at"])
        assert at is not None  # set_meta always writes it
        return row["value"], at
