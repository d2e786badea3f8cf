"""Removing the runs retention lets go (``core.retention``), in small batches.

Only ended runs go (never an enqueued or started one), only those scheduled before their
rule's cutoff, and never one of a job's last ``keep_last``. Each batch is one short
transaction, so the watcher (or ``scheduler prune`` beside a running watcher) holds the
write lock for milliseconds at a time. The latest instant pruned per job is kept in the
``pruned`` table: an entry about such a run read late (a replayed stream entry) finds it
there and does not bring the row back (see :mod:`.entries`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scheduler.core.retention import Cutoffs
from scheduler.core.runs import RunStatus
from scheduler.store.connection import Database
from scheduler.store.runrow import JOB_NAMES

#: Ended otherwise than failed: these go by ``keep``; failed ones by ``keep_failed``.
_ENDED = tuple(sorted(s.value for s in (RunStatus.succeeded, RunStatus.skipped, RunStatus.missed)))
_FAILED = RunStatus.failed.value

_JOBS = f"{JOB_NAMES} SELECT job FROM names WHERE job IS NOT NULL"
#: Per job, in name order: its runs, and the earliest scheduled instant of its ended runs
#: and of its failed ones (one pass over ``runs_job_status_scheduled``, no table rows).
_OLDEST = (
    "SELECT job, COUNT(*), MIN(CASE WHEN status IN (?1, ?2, ?3) THEN scheduled_for END),"
    " MIN(CASE WHEN status = ?4 THEN scheduled_for END) FROM runs WHERE {after}"
    " GROUP BY job ORDER BY job LIMIT ?6"
)
#: The same for the jobs of a page with more than ?7 runs, and the page's last job (where
#: the next page starts) and size whatever its runs: a count per job over ``runs_job_time``,
#: then four index seeks per job that has more, instead of every run's status and instant
#: (a pass at 100,000 jobs x 3 runs: 0.33 -> 0.09 s of CPU).
_MORE_THAN = (
    "WITH page AS (SELECT job, COUNT(*) AS n FROM runs WHERE {after} GROUP BY job"
    " ORDER BY job LIMIT ?6) SELECT job, n,"
    " (SELECT MIN(scheduled_for) FROM runs AS r WHERE r.job = page.job"
    " AND r.status IN (?1, ?2, ?3)),"
    " (SELECT MIN(scheduled_for) FROM runs AS r WHERE r.job = page.job AND r.status = ?4),"
    " (SELECT COUNT(*) FROM page) FROM page"
    " WHERE n > ?7 OR job = (SELECT MAX(job) FROM page) ORDER BY job"
)
_FIRST = "job IS NOT NULL AND ?5 IS NULL"
_AFTER = "job > ?5"
_OLDEST_FIRST, _OLDEST_AFTER = _OLDEST.format(after=_FIRST), _OLDEST.format(after=_AFTER)
_MORE_FIRST, _MORE_AFTER = _MORE_THAN.format(after=_FIRST), _MORE_THAN.format(after=_AFTER)
_CANDIDATES = (
    "SELECT id, scheduled_for FROM runs WHERE job = ?1 AND status IN (?2, ?3, ?4)"
    " AND scheduled_for < ?5 UNION ALL SELECT id, scheduled_for FROM runs"
    " WHERE job = ?1 AND status = ?6 AND scheduled_for < ?7"
)


@dataclass(frozen=True)
class Prunable:
    """How many of one job's runs its rule lets go now, and the newest of them."""

    job: str
    ended: int  # succeeded, skipped or missed
    failed: int
    through: str | None  # the latest scheduled instant among them (ISO-8601 UTC)

    @property
    def total(self) -> int:
        return self.ended + self.failed


class Prune:
    """Retention's reads and deletes on ``db``'s ``runs`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn = db.conn

    def jobs(self) -> list[str]:
        """Every job name that has runs recorded, in name order."""
        return [row[0] for row in self._conn.execute(_JOBS)]

    def oldest(self) -> str | None:
        """The earliest scheduled instant of any run (ISO-8601 UTC); None with no runs."""
        row = self._conn.execute("SELECT MIN(scheduled_for) FROM runs").fetchone()
        return None if row is None else row[0]

    def pending(
        self,
        cut_of: Callable[[str], Cutoffs],
        after: str | None,
        limit: int,
        *,
        kept: int = 0,
    ) -> tuple[list[str], str | None]:
        """Of up to ``limit`` jobs with runs, in name order after ``after`` (None: from the
        first), those that may have runs their ``cut_of(job)`` lets go; and the last job
        looked at, None when none is left. One read, no write lock: a pass over jobs within
        their retention (the usual case) never opens a write transaction. ``kept``: no
        job's ``keep_last`` is below it, so a job with no more runs has nothing to go and
        its runs are not read.

        Never leaves out a job :meth:`delete` would remove runs of: a run goes only when it
        has ended, is scheduled before its status's cutoff and is not among the last
        ``keep_last``, so a job with no more runs than that, or with no ended run scheduled
        before its cutoff, has nothing to go.
        """
        if kept > 0:
            sql = _MORE_FIRST if after is None else _MORE_AFTER
            paged = self._conn.execute(sql, (*_ENDED, _FAILED, after, limit, kept)).fetchall()
            rows = [row[:4] for row in paged]
            full = bool(paged) and paged[0][4] == limit
        else:
            sql = _OLDEST_FIRST if after is None else _OLDEST_AFTER
            rows = self._conn.execute(sql, (*_ENDED, _FAILED, after, limit)).fetchall()
            full = len(rows) == limit
        found = []
        for job, runs, ended, failed in rows:
            cut = cut_of(job)
            if cut.keep_last and runs <= cut.keep_last:
                continue
            if (ended is not None and ended < cut.ended_before) or (
                failed is not None and failed < cut.failed_before
            ):
                found.append(job)
        return found, (rows[-1][0] if full else None)

    def _bounds(self, job: str, cut: Cutoffs) -> tuple[object, ...] | None:
        """The parameters of ``_CANDIDATES`` for ``job``; None when nothing may go."""
        ended_before, failed_before = cut.ended_before, cut.failed_before
        if cut.keep_last > 0:
            row = self._conn.execute(
                "SELECT scheduled_for FROM runs WHERE job = ? ORDER BY scheduled_for DESC"
                " LIMIT 1 OFFSET ?",
                (job, cut.keep_last - 1),
            ).fetchone()
            if row is None:
                return None  # fewer runs than keep_last: all stay
            # Strictly older than the keep_last-th newest: ties with it stay too.
            ended_before = min(ended_before, row[0])
            failed_before = min(failed_before, row[0])
        return (job, *_ENDED, ended_before, _FAILED, failed_before)

    def count(self, job: str, cut: Cutoffs) -> Prunable:
        """What a prune of ``job`` by ``cut`` would remove (``--dry-run``)."""
        bounds = self._bounds(job, cut)
        if bounds is None:
            return Prunable(job, 0, 0, None)
        row = self._conn.execute(
            "SELECT COUNT(*), MAX(scheduled_for) FROM runs WHERE job = ?1"
            " AND status IN (?2, ?3, ?4) AND scheduled_for < ?5",
            bounds[:5],
        ).fetchone()
        failed = self._conn.execute(
            "SELECT COUNT(*), MAX(scheduled_for) FROM runs WHERE job = ? AND status = ?"
            " AND scheduled_for < ?",
            (job, bounds[5], bounds[6]),
        ).fetchone()
        latest = max((t for t in (row[1], failed[1]) if t is not None), default=None)
        return Prunable(job, int(row[0]), int(failed[0]), latest)

    def delete(self, job: str, cut: Cutoffs, limit: int) -> int:
        """Remove up to ``limit`` of ``job``'s runs that ``cut`` lets go, in one transaction;
        returns how many went (fewer than ``limit``: the job is done for now)."""
        with self._db.write() as conn:
            bounds = self._bounds(job, cut)
            if bounds is None:
                return 0
            rows = conn.execute(f"{_CANDIDATES} LIMIT ?8", (*bounds, limit)).fetchall()
            if not rows:
                return 0
            conn.executemany("DELETE FROM runs WHERE id = ?", [(row[0],) for row in rows])
            through = max(row[1] for row in rows)
            conn.execute(
                "INSERT INTO pruned (job, through) VALUES (?, ?) ON CONFLICT (job) DO UPDATE"
                " SET through = MAX(through, excluded.through)",
                (job, through),
            )
            return len(rows)

    def vacuum(self, pages: int) -> int:
        """Give up to ``pages`` free pages back to the file system (incremental vacuum);
        returns how many free pages remain. Does nothing unless auto_vacuum is INCREMENTAL."""
        # executescript runs the pragma to its end; execute() steps it once: one page.
        self._conn.executescript(f"PRAGMA incremental_vacuum({int(pages):d});")
        return int(self._conn.execute("PRAGMA freelist_count").fetchone()[0])

    @property
    def incremental(self) -> bool:
        """Whether the file gives free pages back (auto_vacuum=INCREMENTAL)."""
        return int(self._conn.execute("PRAGMA auto_vacuum").fetchone()[0]) == 2

    def convert(self) -> None:
        """Switch the file to auto_vacuum=INCREMENTAL and rewrite it compact (``VACUUM``).

        Rewrites the whole file: it takes the write lock for as long and needs free disk as
        large as the file. Raises sqlite3.Error when the file cannot be rewritten.
        """
        self._conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self._conn.execute("VACUUM")
