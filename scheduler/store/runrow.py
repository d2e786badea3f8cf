"""One run as the store records it (:class:`RunRow`), and its ``history`` JSON shape."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scheduler.core.runs import RunStatus, RunTrigger, iso_utc
from scheduler.store.instants import instant


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


#: Every job name with runs, as the CTE ``names(job)``: one index seek per job (a
#: skip-scan of ``runs_job_time``), not a pass over every row.
JOB_NAMES = (
    "WITH RECURSIVE names(job) AS (SELECT MIN(job) FROM runs UNION ALL"
    " SELECT (SELECT MIN(job) FROM runs WHERE job > names.job) FROM names"
    " WHERE names.job IS NOT NULL)"
)


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
    def from_row(cls, row: sqlite3.Row) -> RunRow:
        """The run in a row of the ``runs`` table (all of its columns selected)."""
        scheduled = instant(row["scheduled_for"])
        assert scheduled is not None  # NOT NULL column
        return cls(
            id=row["id"],
            run_id=row["run_id"],
            job=row["job"],
            scheduled_for=scheduled,
            trigger=RunTrigger(row["trigger"]),
            status=RunStatus(row["status"]),
            enqueued_at=instant(row["enqueued_at"]),
            started_at=instant(row["started_at"]),
            finished_at=instant(row["finished_at"]),
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
