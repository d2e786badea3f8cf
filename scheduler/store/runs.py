"""The ``runs`` table: one row per run, written as runs are dispatched and as workers report.

Every write is idempotent: a run's slot (job, scheduled_for, trigger) and its id are UNIQUE,
so a duplicate dispatch inserts nothing, and status changes are conditional UPDATEs, so a
replayed or late event changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from scheduler.core.runs import ACTIVE, EventKind, RunEvent, RunStatus, RunTrigger
from scheduler.store.connection import Database
from scheduler.store.instants import aware, aware_or_none
from scheduler.store.runrow import RunRow

_FINAL = (RunStatus.succeeded.value, RunStatus.failed.value)

_RUN_COLUMNS = (
    "id, run_id, job, scheduled_for, trigger, status, enqueued_at, started_at, finished_at,"
    " duration_s, error, traceback, result, worker, note, canary, reason, attempts"
)


def _parse_text(value: str, name: str) -> str:
    """Normalise an ISO-8601 string from an event to the stored form; naive is an error."""
    return aware(datetime.fromisoformat(value), name)


class Runs:
    """The runs recorded in ``db``: writes (dispatch, worker reports) and history reads."""

    def __init__(self, db: Database) -> None:
        # Bound once: record_enqueued and apply_event run once per run of a burst.
        self._write = db.write
        self._conn = db.conn

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
            scheduled_for=aware(scheduled_for, "scheduled_for"),
            trigger=trigger,
            status=RunStatus.enqueued,
            enqueued_at=aware_or_none(enqueued_at, "enqueued_at"),
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
            scheduled_for=aware(scheduled_for, "scheduled_for"),
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
            scheduled_for=aware(scheduled_for, "scheduled_for"),
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
                (str(status), reason, error, aware(at, "at"), run_id),
            )
            return cur.rowcount == 1

    def release_waiting(self, run_id: str, enqueued_at: datetime) -> bool:
        """A run held back by queue_one went onto its RQ queue at ``enqueued_at``."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET enqueued_at = ? WHERE run_id = ? AND enqueued_at IS NULL"
                " AND status = 'enqueued'",
                (aware(enqueued_at, "enqueued_at"), run_id),
            )
            return cur.rowcount == 1

    def active_runs(self) -> list[RunRow]:
        """Every run still enqueued or started (waiting ones included), oldest first."""
        return list(reversed(self._runs(" WHERE status IN (?, ?)", [s.value for s in ACTIVE])))

    def _runs(self, where: str, params: Sequence[object], tail: str = "") -> list[RunRow]:
        sql = f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY scheduled_for DESC, id DESC{tail}"
        return [RunRow.from_row(row) for row in self._conn.execute(sql, params)]

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
        return {row["job"]: RunRow.from_row(row) for row in self._conn.execute(sql)}

    def count_runs(self, job: str | None = None, status: RunStatus | None = None) -> int:
        """How many runs are recorded, optionally only for one job and/or status."""
        where, params = self._filters(job, status)
        return int(self._conn.execute(f"SELECT COUNT(*) FROM runs{where}", params).fetchone()[0])

    def move_job(self, old: str, new: str) -> int:
        """Give ``old``'s runs to ``new``; a run whose slot ``new`` already holds stays.

        Returns how many runs moved.
        """
        with self._write() as conn:
            return int(
                conn.execute("UPDATE OR IGNORE runs SET job = ? WHERE job = ?", (new, old)).rowcount
            )
