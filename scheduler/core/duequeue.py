"""The due queue: every job's next run instant in a heap, so finding what is due is O(log n).

Pure: instants come in as arguments, nothing reads a clock. Replacing or removing a job
does not search the heap; the old entry stays behind, marked stale by a sequence number,
and is dropped when it reaches the top. Jobs due at the same instant come out by name.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, order=True)
class DueRun:
    """One job due at one instant (aware UTC)."""

    instant: datetime
    job: str


class DueQueue:
    """Next instant per job; at most one live entry per job."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str, int]] = []
        self._live: dict[str, tuple[datetime, int]] = {}
        self._seq = itertools.count()
        self._version = 0

    def __len__(self) -> int:
        return len(self._live)

    @property
    def version(self) -> int:
        """Grows with every change of an instant (set or removed); pops do not count."""
        return self._version

    def __contains__(self, job: object) -> bool:
        return job in self._live

    def set(self, job: str, instant: datetime | None) -> None:
        """Make ``instant`` the job's next due instant (None: the job has no next run)."""
        if instant is None:
            self.remove(job)
            return
        if instant.tzinfo is None:
            raise ValueError("due instants must be aware")
        seq = next(self._seq)
        self._version += 1
        self._live[job] = (instant, seq)
        heapq.heappush(self._heap, (instant, job, seq))
        self._compact()

    def remove(self, job: str) -> None:
        if self._live.pop(job, None) is not None:
            self._version += 1

    def get(self, job: str) -> datetime | None:
        entry = self._live.get(job)
        return None if entry is None else entry[0]

    def peek(self) -> DueRun | None:
        """The earliest due run, without removing it."""
        self._drop_stale()
        if not self._heap:
            return None
        instant, job, _ = self._heap[0]
        return DueRun(instant, job)

    def pop_due(self, now: datetime, limit: int | None = None) -> list[DueRun]:
        """Remove and return every run due at or before ``now``, earliest first.

        Each popped job has no entry left; the caller sets its next instant.
        """
        if now.tzinfo is None:
            raise ValueError("now must be aware")
        due: list[DueRun] = []
        while limit is None or len(due) < limit:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                break
            instant, job, _ = heapq.heappop(self._heap)
            del self._live[job]
            due.append(DueRun(instant, job))
        return due

    def upcoming(self, until: datetime, limit: int = 10_000) -> list[DueRun]:
        """Runs due at or before ``until``, earliest first, without removing them.

        Costs O(k log n) for k runs found: they are popped, then pushed back unchanged.
        """
        found: list[tuple[datetime, str, int]] = []
        while len(found) < limit:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > until:
                break
            found.append(heapq.heappop(self._heap))
        for entry in found:
            heapq.heappush(self._heap, entry)
        return [DueRun(instant, job) for instant, job, _ in found]

    def _drop_stale(self) -> None:
        heap, live = self._heap, self._live
        while heap:
            instant, job, seq = heap[0]
            if live.get(job) == (instant, seq):
                return
            heapq.heappop(heap)

    def _compact(self) -> None:
        # Stale entries are dropped lazily; rebuild when they outnumber live ones, so
        # frequent reloads cannot grow the heap without bound.
        if len(self._heap) > 2 * len(self._live) + 1024:
            self._heap = [(i, j, s) for j, (i, s) in self._live.items()]
            heapq.heapify(self._heap)
