"""The job states at start-up: which stored rows stand as they are, and the fresh rows
written in bulk."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from scheduler.core.clock import Clock
from scheduler.core.job import LoadedJob
from scheduler.store import JobState, StateRow, Store

#: Job state rows written per statement: one statement per row was a third of the
#: scheduling of a cold start at 100,000 jobs, and a batch's rows are held until written.
ROWS_PER_WRITE = 5000
#: Job state rows read per query at start (see ``stored_states``).
ROWS_PER_READ = 5000

#: A job's name, the loaded job (None: a row of no loaded job), its stored state (None:
#: a loaded job with none).
Paired = tuple[str, LoadedJob | None, JobState | None]


def stored_states(
    store: Store, jobs: Mapping[str, LoadedJob], *, none: bool = False
) -> Iterator[Paired]:
    """Every loaded job and every stored job state, by name, each job with its state
    (``none``: none is stored, a cold start's case: each job as loaded, nothing read or
    sorted).

    The rows are read ``ROWS_PER_READ`` at a time as the pass goes: all of them held
    at once, beside the jobs while the due queue fills, were a tenth of a restart's peak
    memory at 100,000 jobs. The caller may write the states of the names it was given
    meanwhile: the next page is read as the last row of one is taken, and starts after
    that row, at or before which every name given so far sorts (none of their rows
    written meanwhile shows up in a later page).
    """
    if none:
        for job in jobs.values():
            yield job.name, job, None
        return
    rows = _pages(store, jobs)
    row = next(rows, None)
    for name in sorted(jobs):
        while row is not None and row.job < name:
            yield row.job, None, row
            row = next(rows, None)
        if row is not None and row.job == name:
            yield name, jobs[name], row
            row = next(rows, None)
        else:
            yield name, jobs[name], None
    while row is not None:
        yield row.job, None, row
        row = next(rows, None)


def _pages(store: Store, jobs: Mapping[str, LoadedJob]) -> Iterator[JobState]:
    after: str | None = None
    while True:
        page = store.job_states_after(after, ROWS_PER_READ, jobs)
        yield from page
        if len(page) < ROWS_PER_READ:
            return
        after = page[-1].job


class FreshRows:
    """The state rows of jobs put on schedule afresh, written ``ROWS_PER_WRITE`` at a time."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store, self._clock = store, clock
        self._rows: list[StateRow] = []

    def add(self, row: StateRow) -> None:
        self._rows.append(row)
        if len(self._rows) >= ROWS_PER_WRITE:
            self.flush()

    def flush(self) -> None:
        """Write the rows added since the last flush."""
        if self._rows:
            self._store.save_job_states(self._rows, updated_at=self._clock.now())
            self._rows = []


def still_ahead(state: JobState, now: datetime) -> bool:
    """The saved next instant is after ``now`` and after the last one accounted for."""
    last, nxt = state.last_scheduled, state.next_run
    return last is not None and nxt is not None and last < nxt and nxt > now


def row_stands(state: JobState, job: LoadedJob) -> bool:
    """The saved row already holds what ``_save_state`` would write for ``job`` resuming
    at its saved instants (the canary left is the row's own; ``updated_at`` aside)."""
    return state.source_file == job.file and state.enabled == job.enabled
