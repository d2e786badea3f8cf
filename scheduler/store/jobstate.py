"""The ``job_state`` table: what the watcher remembers about each job between restarts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from scheduler.store.connection import Database
from scheduler.store.instants import aware, aware_instant, aware_or_none, instant


class JobState(NamedTuple):
    """What the watcher remembers about a job between restarts. Instants are aware UTC.

    ``last_scheduled`` is the last instant dispatched or accounted for (missed, skipped);
    catch-up starts after it. A named tuple: a start reads one per job (100,000), and a
    dataclass' ``__init__`` took as long as SQLite's reading of the rows.
    """

    job: str
    last_scheduled: datetime | None
    next_run: datetime | None
    definition_hash: str | None
    source_file: str | None
    enabled: bool
    updated_at: datetime | None
    canary_left: int = 0  # runs still to go with dry_run forced


#: A job state to write: job, last_scheduled, next_run, definition_hash, source_file,
#: enabled, canary_left (as ``save_job_state`` takes them).
StateRow = tuple[str, datetime | None, datetime | None, str | None, str | None, bool, int]

_UPSERT = (
    "INSERT INTO job_state (job, last_scheduled, next_run, definition_hash,"
    " source_file, enabled, updated_at, canary_left) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (job) DO UPDATE SET last_scheduled = excluded.last_scheduled,"
    " next_run = excluded.next_run, definition_hash = excluded.definition_hash,"
    " source_file = excluded.source_file, enabled = excluded.enabled,"
    " updated_at = excluded.updated_at, canary_left = excluded.canary_left"
)


class Held(Protocol):
    """A job the reader already holds (a loaded one): its name, file and definition hash."""

    @property
    def name(self) -> str: ...

    @property
    def file(self) -> str: ...

    @property
    def definition_hash(self) -> str: ...


class JobStates:
    """The job states saved in ``db``, one row per job name."""

    def __init__(self, db: Database) -> None:
        self._write = db.write
        self._conn = db.conn
        # Across the pages of one read of every row (see job_states_after).
        self._pages_shared: _SharedInstants | None = None

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
            aware_or_none(last_scheduled, "last_scheduled"),
            aware_or_none(next_run, "next_run"),
            definition_hash,
            source_file,
            int(enabled),
            aware(updated_at, "updated_at"),
            canary_left,
        )
        with self._write() as conn:
            conn.execute(_UPSERT, values)

    def save_job_states(self, rows: Sequence[StateRow], *, updated_at: datetime) -> None:
        """``save_job_state`` for each of ``rows`` (one statement run over all of them: the
        start writes a row per job, and one call each was a third of a cold start's tail)."""
        at = aware(updated_at, "updated_at")
        # A start's rows mostly share one last instant (the start's own): converted once.
        seen: datetime | None = None
        seen_text: str | None = None
        values = []
        for job, last, nxt, digest, source, enabled, canary in rows:
            if last is not seen:
                seen, seen_text = last, aware_or_none(last, "last_scheduled")
            next_text = aware_or_none(nxt, "next_run")
            values.append((job, seen_text, next_text, digest, source, int(enabled), at, canary))
        with self._write() as conn:
            conn.executemany(_UPSERT, values)

    def job_states(self, held: Mapping[str, Held] | None = None) -> dict[str, JobState]:
        """Every saved job state, by job name.

        ``held``: the jobs loaded, by name. A row of one of them takes its strings (name,
        file, definition hash) where equal, and no row's ``updated_at`` is read (None): the
        start reads every row, holds them beside the jobs, and uses neither copy (at
        100,000 jobs, a twelfth of the restart's peak memory).
        """
        cursor = self._conn.cursor()
        cursor.row_factory = None  # plain tuples: a Row per job, read by name, costs more
        rows = cursor.execute(
            "SELECT job, last_scheduled, next_run, definition_hash, source_file, enabled,"
            " updated_at, canary_left FROM job_state ORDER BY job"
        )
        shared = _SharedInstants()
        if held is None:
            return {
                job: JobState(
                    job=job,
                    last_scheduled=shared(last),
                    next_run=shared(nxt),
                    definition_hash=digest,
                    source_file=source,
                    enabled=bool(enabled),
                    updated_at=instant(updated),
                    canary_left=canary,
                )
                for job, last, nxt, digest, source, enabled, updated, canary in rows
            }
        return {state.job: state for state in _held_states(rows, held, shared)}

    def job_states_after(
        self, after: str | None, limit: int, held: Mapping[str, Held] | None = None
    ) -> list[JobState]:
        """Up to ``limit`` saved job states by name, the first after ``after`` (None: from
        the first), as ``job_states(held)`` reads them, or as it (``held`` None) without
        ``updated_at``.

        For the start, which reads every row once in name order, a page at a time: 100,000
        rows held at once were 20 MB of its peak. Each page is its own query, so the start
        may write between them (a statement left open while its table changes may or may not
        see the new rows).
        """
        cursor = self._conn.cursor()
        cursor.row_factory = None
        query = (  # no updated_at text read per row: NULL in its place
            "SELECT job, last_scheduled, next_run, definition_hash, source_file, enabled,"
            " NULL, canary_left FROM job_state"
        )
        shared = self._pages_shared
        if after is None or shared is None:
            shared = self._pages_shared = _SharedInstants()
        if after is None:
            rows = cursor.execute(query + " ORDER BY job LIMIT ?", (limit,))
        else:
            rows = cursor.execute(query + " WHERE job > ? ORDER BY job LIMIT ?", (after, limit))
        page = list(_held_states(rows, held or {}, shared))
        if len(page) < limit:  # the last page: its instants need not be looked up again
            self._pages_shared = None
        return page

    def has_job_states(self) -> bool:
        """Whether any job state is saved (none: a first start on these records)."""
        return self._conn.execute("SELECT 1 FROM job_state LIMIT 1").fetchone() is not None

    def forget_job(self, job: str) -> bool:
        """Delete the job's state row (its runs stay: history is never dropped); True if any."""
        with self._write() as conn:
            return conn.execute("DELETE FROM job_state WHERE job = ?", (job,)).rowcount == 1

    def rename_job_state(self, old: str, new: str) -> None:
        """Move ``old``'s state to ``new`` when ``new`` has none yet; else drop ``old``'s."""
        with self._write() as conn:
            if not conn.execute("SELECT 1 FROM job_state WHERE job = ?", (new,)).fetchone():
                conn.execute("UPDATE job_state SET job = ? WHERE job = ?", (new, old))
            else:
                conn.execute("DELETE FROM job_state WHERE job = ?", (old,))


def _held_states(
    rows: Iterable[tuple[Any, ...]], held: Mapping[str, Held], shared: _SharedInstants
) -> Iterator[JobState]:
    """``rows`` as job states, each taking its held job's strings where equal (and no
    ``updated_at``, see ``JobStates.job_states``)."""
    # A start reads a row per job: each made without the named tuple's own __new__ (a
    # Python frame) and each instant found in the shared table without a call.
    make, seen, read_instant, held_job = tuple.__new__, shared.seen, shared, held.get
    for row in rows:
        job, last, nxt, digest, source, enabled, _, canary = row
        known = held_job(job)
        if known is not None:
            job = known.name
            if source == known.file:
                source = known.file
            if digest == known.definition_hash:
                digest = known.definition_hash
        last = seen.get(last) or read_instant(last)  # None stays None: not in the table
        nxt = seen.get(nxt) or read_instant(nxt)
        yield make(JobState, (job, last, nxt, digest, source, bool(enabled), None, canary))


class _SharedInstants:
    """Stored instants read back, one datetime for each distinct text (up to ``limit``).

    Many jobs share their last and next instants (on the hour, a start's own now), and the
    due queue and the progress hold them for good: at 100,000 jobs, a datetime per row and
    column was a twentieth of the watcher's memory.
    """

    def __init__(self, limit: int = 20_000) -> None:
        #: text -> its instant (a datetime is never false: ``seen.get(t) or self(t)``)
        self.seen: dict[str, datetime] = {}
        self._limit = limit

    def __call__(self, text: str | None) -> datetime | None:
        if text is None:
            return None
        found = self.seen.get(text)
        if found is None:
            found = aware_instant(text)
            if len(self.seen) < self._limit:
                self.seen[text] = found
        return found
