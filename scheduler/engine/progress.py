"""How far each job's schedule has got: the per-job bookkeeping the watcher's parts share.

The scheduler moves a job's point as it dispatches or settles instants, the reload starts,
carries over and removes jobs, and the handover resumes from the points and publishes the
ones that moved. One object holds it so that none of them reads another's private state.
All instants are aware (UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


class Progress:
    """Per job: the last instant dispatched or accounted for, and the canary runs left.

    It also remembers which jobs' points moved since the handover last published them
    (at 100,000 jobs, looking at every job each heartbeat cost 2 % CPU idle), and the
    jobs removed recently with their last point (see ``reload.RESTORE_WITHIN``).
    """

    def __init__(self) -> None:
        self._last: dict[str, datetime] = {}
        self._moved: set[str] = set()
        self._canary: dict[str, int] = {}  # only jobs with canary runs to go (few)
        self._removed: dict[str, tuple[datetime, datetime]] = {}  # job -> (its last, when)

    # -- the point: last instant dispatched or accounted for -------------------------

    def last(self, job: str) -> datetime | None:
        """The job's last instant dispatched or accounted for; None if it has none yet."""
        return self._last.get(job)

    def set_last(self, job: str, instant: datetime) -> None:
        """Every instant of ``job`` up to ``instant`` is dispatched or accounted for."""
        # A point set again as it was has not moved: a restart sets every job's point from
        # its records, and the first heartbeat would otherwise look at all 100,000.
        if self._last.get(job) != instant:
            self._last[job] = instant
            self._moved.add(job)

    def set_known(self, job: str, instant: datetime) -> None:
        """Like ``set_last``, for a point other watchers already know (nothing to publish)."""
        self._last[job] = instant

    def forget(self, job: str) -> bool:
        """Drop the job's point (its name went to another job); True if it had one."""
        return self._last.pop(job, None) is not None

    def moved(self) -> list[str]:
        """The jobs whose point changed since they were last marked ``published``."""
        return list(self._moved)

    def published(self, jobs: Iterable[str]) -> None:
        """``jobs``' points as they are now are known to other watchers."""
        self._moved.difference_update(jobs)
        if not self._moved:
            # A set never shrinks as it empties: after a cold start's 100,000 moved points its
            # table (2-4 MB) would stay for good, held for the few that move between beats.
            self._moved = set()

    # -- canary runs -----------------------------------------------------------------

    def canary_left(self, job: str) -> int:
        """How many of the job's next runs are still canary runs (dry_run forced)."""
        return self._canary.get(job, 0)

    def set_canary(self, job: str, runs: int) -> None:
        """The job's next ``runs`` runs are canary runs."""
        if runs > 0:
            self._canary[job] = runs
        else:
            self._canary.pop(job, None)

    def canary_sent(self, job: str) -> None:
        """One canary run of ``job`` went out."""
        left = self._canary.get(job, 0)
        if left > 0:
            self.set_canary(job, left - 1)

    # -- removed jobs ----------------------------------------------------------------

    def removed(self, job: str, now: datetime) -> None:
        """``job`` left the configuration at ``now``; its point is kept for ``restore``."""
        last = self._last.pop(job, None)
        if last is not None:
            self._removed[job] = (last, now)
        self._canary.pop(job, None)

    def restore(self, job: str) -> datetime | None:
        """The point of ``job`` if it was removed and is not forgotten yet (taken once)."""
        entry = self._removed.pop(job, None)
        return None if entry is None else entry[0]

    def forget_removed(self, before: datetime) -> None:
        """Jobs removed before ``before`` start afresh if they come back."""
        if self._removed:
            self._removed = {
                name: (last, at) for name, (last, at) in self._removed.items() if at >= before
            }
