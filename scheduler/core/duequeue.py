"""The due queue: every job's next run instant in a heap, so finding what is due is O(log n).

Pure: instants come in as arguments, nothing reads a clock. Replacing or removing a job
does not search the heap; the old entry stays behind, stale because it is no longer the
job's live entry (the same tuple object), and is dropped when it reaches the top. Jobs due
at the same instant come out by name.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

#: Distinct instants the queue shares at most, then it starts over (see ``DueQueue.set``).
SHARED_INSTANTS = 20_000


@dataclass(frozen=True, order=True)
class DueRun:
    """One job due at one instant (aware UTC)."""

    instant: datetime
    job: str


class DueQueue:
    """Next instant per job; at most one live entry per job."""

    def __init__(self) -> None:
        # One tuple per entry, in the heap and (while live) in ``_live``: liveness is its
        # identity, so no sequence number or second tuple is kept per job (at 100,000 jobs
        # they were a tenth of the watcher's memory).
        self._heap: list[tuple[datetime, str]] = []
        self._live: dict[str, tuple[datetime, str]] = {}
        self._version = 0
        self._instants: dict[datetime, datetime] = {}
        self._unordered = False  # within unordered(): entries appended, heap not kept
        self._appended = False  # entries appended since the heap was last ordered

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
        if instant.tzinfo is UTC:  # equal instants of other zones keep their own
            # One object per distinct instant: the queue holds one per job for good, and
            # many jobs share their next (at 100,000 jobs, 5 MB of copies after a cold start).
            shared = self._instants.get(instant)
            if shared is None:
                if len(self._instants) >= SHARED_INSTANTS:
                    self._instants.clear()
                self._instants[instant] = instant
            else:
                instant = shared
        self._version += 1
        entry = (instant, job)
        self._live[job] = entry
        if self._unordered:
            self._heap.append(entry)
            self._appended = True
        else:
            heapq.heappush(self._heap, entry)
            self._compact()

    @contextmanager
    def unordered(self) -> Iterator[None]:
        """Within it ``set`` only appends, and the heap is ordered once, when next read or
        on the way out: for the start, which sets every job's instant (100,000 pushes took
        three times one ordering of them all)."""
        self._unordered = True
        try:
            yield
        finally:
            self._unordered = False
            self._order()
            self._compact()

    def _order(self) -> None:
        if self._appended:
            heapq.heapify(self._heap)
            self._appended = False

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
        instant, job = self._heap[0]
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
            instant, job = heapq.heappop(self._heap)
            del self._live[job]
            due.append(DueRun(instant, job))
        return due

    def upcoming(self, until: datetime, limit: int = 10_000) -> list[DueRun]:
        """Runs due at or before ``until``, earliest first, without removing them.

        Costs O(k log n) for k runs found: they are popped, then pushed back unchanged.
        """
        found: list[tuple[datetime, str]] = []
        while len(found) < limit:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > until:
                break
            found.append(heapq.heappop(self._heap))
        for entry in found:
            heapq.heappush(self._heap, entry)
        return [DueRun(instant, job) for instant, job in found]

    def _drop_stale(self) -> None:
        self._order()  # every read of the heap's order comes through here first
        heap, live = self._heap, self._live
        while heap:
            entry = heap[0]
            if live.get(entry[1]) is entry:
                return
            heapq.heappop(heap)

    def _compact(self) -> None:
        # Stale entries are dropped lazily; rebuild when they outnumber live ones, so
        # frequent reloads cannot grow the heap without bound.
        if len(self._heap) > 2 * len(self._live) + 1024:
            self._heap = list(self._live.values())
            heapq.heapify(self._heap)
