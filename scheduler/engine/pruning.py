"""Retention applied: which rule each job's runs follow, the watcher's pruning in idle
time, and ``scheduler prune`` on demand.

The watcher prunes only while it would otherwise sleep: :meth:`IdlePruner.step` is given
the idle time before the next due instant (less a margin), spends at most a small part of
it, in batches of :data:`BATCH` rows (one short transaction each), and then gives the freed
pages back to the file system (``PRAGMA incremental_vacuum``). A pass over every job starts
every :data:`PASS_EVERY`; a pass with much to remove goes on over many idle moments.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from scheduler.core.job import LoadedJob
from scheduler.core.retention import Cutoffs, Retention
from scheduler.store import Store
from scheduler.store.prune import Prunable

log = structlog.get_logger("scheduler.prune")

#: Rows removed per transaction (a few milliseconds of write lock).
BATCH = 500
#: Free pages given back per vacuum step (4 KiB each).
VACUUM_PAGES = 2_000
#: How often a pass over every job's runs starts.
PASS_EVERY = timedelta(minutes=10)
#: The most one idle moment spends pruning, and the part of the idle time it may take.
STEP_BUDGET_S = 0.2
IDLE_SHARE = 0.5
#: Pruning never starts closer than this to the loop's next wake-up (itself half a second
#: ahead of the next due instant): a batch that meets a WAL checkpoint's fsync may take
#: far longer than its few milliseconds.
IDLE_MARGIN_S = 0.5

Rules = Callable[[str], Retention]


def rules_for(jobs: Mapping[str, LoadedJob], project: Retention) -> Rules:
    """Each job's rule: its ``history:`` over the project's; a job no longer defined (its
    runs still recorded) follows the project's."""

    def rule(name: str) -> Retention:
        job = jobs.get(name)
        return project if job is None else project.over(job.history)

    return rule


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed (or, dry, would remove), per job with anything to remove."""

    jobs: list[Prunable]
    dry_run: bool
    size_before: int  # bytes of the file
    size_after: int

    def as_json(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "runs": sum(p.total for p in self.jobs),
            "jobs": [
                {"job": p.job, "runs": p.total, "failed": p.failed, "through": p.through}
                for p in self.jobs
            ],
            "size_before": self.size_before,
            "size_after": self.size_after,
        }


def prune_now(store: Store, rules: Rules, now: datetime, *, dry_run: bool) -> PruneReport:
    """Apply (or, ``dry_run``, count) every job's rule at ``now``, to the end."""
    before = store.path.stat().st_size
    found = []
    for job in store.prune.jobs():
        cut = rules(job).cutoffs(now)
        due = store.prune.count(job, cut)
        if due.total == 0:
            continue
        found.append(due)
        if not dry_run:
            while store.prune.delete(job, cut, BATCH) == BATCH:
                pass
            store.prune.vacuum(VACUUM_PAGES)
    if not dry_run:
        while store.prune.vacuum(VACUUM_PAGES) > 0:
            pass
    return PruneReport(found, dry_run, before, store.path.stat().st_size)


class IdlePruner:
    """The watcher's pruning, a little at a time in idle moments (see module)."""

    def __init__(self, store: Store, rules: Callable[[], Rules], clock: Callable[[], datetime]):
        self._store = store
        self._rules = rules
        self._now = clock
        self._todo: list[str] = []
        self._next_pass = time.monotonic() + 30.0  # start-up has more urgent work
        self._removed = 0
        self._freed = False

    def step(self, idle_s: float) -> float:
        """Prune for part of ``idle_s`` seconds of idle time; returns the seconds spent."""
        budget = min(STEP_BUDGET_S, (idle_s - IDLE_MARGIN_S) * IDLE_SHARE)
        if budget <= 0 or self._store.failure is not None:
            return 0.0
        start = time.monotonic()
        try:
            self._step(start, budget)
        except sqlite3.Error:
            self._todo.clear()  # the file refuses writes: the records keeper reports it
        return time.monotonic() - start

    def _step(self, start: float, budget: float) -> None:
        if not self._todo:
            if start < self._next_pass:
                return
            self._next_pass = start + PASS_EVERY.total_seconds()
            self._todo = list(reversed(self._store.prune.jobs()))
            self._removed = 0
        rules = self._rules()
        now = self._now()
        deadline = start + budget
        # Most jobs share one rule (the project's, the same object): its cutoffs once.
        cuts: dict[Retention, Cutoffs] = {}
        while self._todo and time.monotonic() < deadline:
            job = self._todo[-1]
            rule = rules(job)
            cut = cuts.get(rule)
            if cut is None:
                cut = cuts[rule] = rule.cutoffs(now)
            removed = self._store.prune.delete(job, cut, BATCH)
            self._removed += removed
            self._freed = self._freed or removed > 0
            if removed < BATCH:
                self._todo.pop()
        if self._freed and time.monotonic() < deadline:
            self._freed = self._store.prune.vacuum(VACUUM_PAGES) > 0
        if not self._todo and self._removed:
            log.info("records.pruned", runs=self._removed)
            self._removed = 0
