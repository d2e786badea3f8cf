"""Retention applied: which rule each job's runs follow, the watcher's pruning in idle
time, and ``scheduler prune`` on demand.

The watcher prunes only while it would otherwise sleep: :meth:`IdlePruner.step` is given
the idle time before the next due instant (less a margin), spends at most a small part of
it, in batches of :data:`BATCH` rows (one short transaction each), and then gives the freed
pages back to the file system (``PRAGMA incremental_vacuum``). A pass over every job starts
every :data:`PASS_EVERY`; a pass with much to remove goes on over many idle moments. A pass
first reads which jobs have anything past their rule (none, when no run is older than the
loosest rule's cutoff; else per job, :data:`SCAN` jobs a read): a job within its rule gets
no write transaction.
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
#: Jobs looked at per read of a pass (a few milliseconds at 3 runs a job).
SCAN = 5_000
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


class JobRules:
    """Each job's rule: its ``history:`` over the project's; a job no longer defined (its
    runs still recorded) follows the project's."""

    def __init__(self, jobs: Mapping[str, LoadedJob], project: Retention) -> None:
        self._jobs = jobs
        self._project = project

    def __call__(self, name: str) -> Retention:
        job = self._jobs.get(name)
        return self._project if job is None else self._project.over(job.history)

    def loosest(self, now: datetime) -> tuple[str, int]:
        """The latest instant before which any job's rule lets a run go at ``now`` (a run
        scheduled at or after it stays, whatever its job), and the lowest ``keep_last`` of
        any job's rule (a job with no more runs keeps them all). One walk over the jobs,
        once a pass: two were half of its CPU at 100,000 jobs."""
        rules = {self._project}
        for job in self._jobs.values():
            spec = job.history
            if spec is not None:
                rules.add(self._project.over(spec))
        cuts = (r.cutoffs(now) for r in rules)
        latest = max(max(c.ended_before, c.failed_before) for c in cuts)
        return latest, min(r.keep_last for r in rules)


def _cutoffs(rules: JobRules, now: datetime) -> Callable[[str], Cutoffs]:
    """Each job's cutoffs at ``now``; most jobs share one rule (the project's, the same
    object), whose cutoffs are worked out once."""
    cuts: dict[Retention, Cutoffs] = {}

    def cut_of(job: str) -> Cutoffs:
        rule = rules(job)
        cut = cuts.get(rule)
        if cut is None:
            cut = cuts[rule] = rule.cutoffs(now)
        return cut

    return cut_of


def _may_prune(store: Store, latest: str) -> bool:
    """Whether any recorded run is older than ``latest``, the latest cutoff of any rule:
    when none is (every run within its retention, the usual case), a pass has nothing to
    look at."""
    oldest = store.prune.oldest()
    return oldest is not None and oldest < latest


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


def prune_now(store: Store, rules: JobRules, now: datetime, *, dry_run: bool) -> PruneReport:
    """Apply (or, ``dry_run``, count) every job's rule at ``now``, to the end."""
    before = store.path.stat().st_size
    found = []
    cut_of = _cutoffs(rules, now)
    latest, kept = rules.loosest(now)
    pending = (
        store.prune.pending(cut_of, None, -1, kept=kept)[0] if _may_prune(store, latest) else []
    )
    for job in pending:
        cut = cut_of(job)
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

    def __init__(self, store: Store, rules: Callable[[], JobRules], clock: Callable[[], datetime]):
        self._store = store
        self._rules = rules
        self._now = clock
        self._todo: list[str] = []  # jobs found past their rule, the next one last
        self._scanning = False  # a pass is looking for such jobs, after self._after
        self._after: str | None = None
        self._kept = 0  # no rule of the pass keeps fewer of a job's runs
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
            self._scanning = False
        return time.monotonic() - start

    def _step(self, start: float, budget: float) -> None:
        if not self._todo and not self._scanning:
            if start < self._next_pass:
                return
            self._next_pass = start + PASS_EVERY.total_seconds()
            self._removed = 0
            # For the pass (a job reloaded meanwhile with a lower keep_last waits for the next).
            latest, self._kept = self._rules().loosest(self._now())
            self._scanning, self._after = _may_prune(self._store, latest), None
        cut_of = _cutoffs(self._rules(), self._now())
        deadline = start + budget
        while time.monotonic() < deadline:
            if self._todo:
                job = self._todo[-1]
                removed = self._store.prune.delete(job, cut_of(job), BATCH)
                self._removed += removed
                self._freed = self._freed or removed > 0
                if removed < BATCH:
                    self._todo.pop()
            elif self._scanning:
                # Only the jobs past their rule get a write transaction (see Prune.pending).
                found, self._after = self._store.prune.pending(
                    cut_of, self._after, SCAN, kept=self._kept
                )
                self._scanning = self._after is not None
                self._todo = list(reversed(found))
            else:
                break
        if self._freed and time.monotonic() < deadline:
            self._freed = self._store.prune.vacuum(VACUUM_PAGES) > 0
        if not self._todo and not self._scanning and self._removed:
            log.info("records.pruned", runs=self._removed)
            self._removed = 0
