"""The ``runs`` table: one row per run, written from the entries about runs (``apply_event``:
the leader's ledger entries and the workers' reports), and read by ``history``.

Every write is idempotent: a run's slot (job, scheduled_for, trigger) and its id are UNIQUE,
so a duplicate dispatch inserts nothing, and status changes are conditional UPDATEs whose
WHERE clause is the entry's rule (``core.ledger.RULES``), so a replayed, late or
out-of-order entry moves no run backwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from scheduler.core.runs import ACTIVE, RunStatus, RunTrigger
from scheduler.store.connection import Database
from scheduler.store.entries import Entries
from scheduler.store.instants import aware, aware_or_none
from scheduler.store.runrow import JOB_NAMES, RunRow

_RUN_COLUMNS = (
    "id, run_id, job, scheduled_for, trigger, status, enqueued_at, started_at, finished_at,"
    " duration_s, error, traceback, result, worker, note, canary, reason, attempts"
)

_QUALIFIED = ", ".join(f"runs.{name.strip()}" for name in _RUN_COLUMNS.split(","))
#: Every job's newest run (latest scheduled instant, then latest row): the job names by a
#: skip-scan, then one index seek each, never a pass over every row. Also read by the web's
#: read-only connection.
LAST_RUNS_SQL = (
    f"{JOB_NAMES} SELECT {_QUALIFIED} FROM names JOIN runs ON runs.id ="
    " (SELECT id FROM runs AS newest WHERE newest.job = names.job"
    " ORDER BY newest.scheduled_for DESC, newest.id DESC LIMIT 1)"
)


class Runs:
    """The runs recorded in ``db``: writes (``apply_event``, see :mod:`.entries`, and direct
    inserts) and history reads."""

    def __init__(self, db: Database) -> None:
        self._write = db.write
        self._conn = db.conn
        entries = Entries(db)
        # Bound once: apply_event runs once per run of a burst.
        self._insert_run = entries.insert
        self.apply_event = entries.apply

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

    def active_runs(self) -> list[RunRow]:
        """Every run still enqueued or started (waiting ones included), oldest first."""
        where = " WHERE status IN (?, ?)"
        return list(reversed(self._runs(where, [s.value for s in ACTIVE], by_status=True)))

    def _runs(
        self, where: str, params: Sequence[object], tail: str = "", *, by_status: bool = False
    ) -> list[RunRow]:
        # Active runs across all jobs: through the status index, then sorted. Left to itself,
        # SQLite walks runs_scheduled (already in order) and filters every row: at a million
        # runs the watcher's reconcile (the few runs still started) stalled the loop.
        source = "runs INDEXED BY runs_status" if by_status else "runs"
        sql = (
            f"SELECT {_RUN_COLUMNS} FROM {source}{where} ORDER BY scheduled_for DESC, id DESC{tail}"
        )
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
        # Runs still active are few: found by status. Ended ones are many: walking by time
        # finds ``limit`` of them soonest.
        by_status = job is None and status in ACTIVE
        return self._runs(where, [*params, limit], " LIMIT ?", by_status=by_status)

    def last_run(self, job: str) -> RunRow | None:
        """The job's run with the latest scheduled instant, or None if it never had one."""
        rows = self._runs(" WHERE job = ?", [job], " LIMIT 1")
        return rows[0] if rows else None

    def last_runs(self) -> dict[str, RunRow]:
        """Every job's run with the latest scheduled instant, by job name."""
        # One index seek per job (the job names by a skip-scan, then each one's newest run),
        # not a pass over every row: 10,000 jobs of 1,000 runs each answer in milliseconds.
        return {row["job"]: RunRow.from_row(row) for row in self._conn.execute(LAST_RUNS_SQL)}

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
