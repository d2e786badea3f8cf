"""The job states at start-up: which stored rows stand as they are, and the fresh rows
written in bulk."""

from __future__ import annotations

from datetime import datetime

from scheduler.core.clock import Clock
from scheduler.core.job import LoadedJob
from scheduler.store import JobState, StateRow, Store

#: Job state rows written per statement: one statement per row was a third of the
#: scheduling of a cold start at 100,000 jobs, and a batch's rows are held until written.
ROWS_PER_WRITE = 5000


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
