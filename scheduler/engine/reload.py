"""The watcher's configuration side: file events turned into reloads, renames, and the log.

File events arrive on the ``paths`` queue (see ``filewatch.py``); the loop calls
``Reload.apply_pending``, which re-reads only the changed files (or rescans), carries
renamed jobs' state over, and has the scheduler reschedule what changed.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from scheduler.config.liveconfig import Change, LiveConfig
from scheduler.core.clock import Clock
from scheduler.core.duequeue import DueQueue
from scheduler.core.job import LoadedJob
from scheduler.core.runs import iso_utc
from scheduler.engine.progress import Progress
from scheduler.store import Store

log = structlog.get_logger("scheduler.watcher")

#: File events arriving within this window are reloaded together.
DEBOUNCE = 0.15
#: A job removed and back within this time resumes where it stopped, as if only updated:
#: a save that truncates the file first, or deletes it and writes it anew, makes the
#: reload see the job gone for a moment, and that moment must not cost it an instant.
RESTORE_WITHIN = timedelta(seconds=5)


class Reload:
    """Reads job files on the loop thread and keeps the due queue in step with them.

    ``paths`` holds the file events, each (a changed file, or None to rescan; when it
    was seen). ``schedule_from(job, since)`` puts a job on schedule from an instant (the
    scheduler's). ``queues_changed``, when given, is called with every queue named so
    far whenever a job names one not in ``queues`` yet.
    """

    def __init__(
        self,
        *,
        store: Store,
        config: LiveConfig,
        due: DueQueue,
        clock: Clock,
        progress: Progress,
        paths: queue.SimpleQueue[tuple[Path | None, datetime]],
        schedule_from: Callable[[LoadedJob, datetime], None],
        queues: frozenset[str] = frozenset(),
        queues_changed: Callable[[list[str]], None] | None = None,
    ) -> None:
        self._store = store
        self._config = config
        self._due = due
        self._clock = clock
        self._progress = progress
        self._paths = paths
        self._schedule_from = schedule_from
        self._queues: set[str] = set(queues)
        self._queues_changed = queues_changed

    def load_all(self, now: datetime, *, ahead: bool = False) -> None:
        """Read every job file at start-up (carrying renames over); the jobs are not
        scheduled yet, and ``log_generation`` reports the result once they are.

        ``ahead`` (a start with no job state stored): each enabled job goes on the due queue
        from ``now`` as it is read, while worker processes parse the next files, instead of
        after them all (``Scheduler.start_jobs(ahead=True)`` takes them from there).
        """
        due = self._due
        for change in self._config.rescan_changes(now):
            self._log_rejected(change)
            if ahead:
                for job in change.added:
                    if job.enabled:
                        due.set(job.name, job.schedule.next_after(now))
        self._carry_renames(list(self._config.jobs.values()))
        self._check_queues()

    def _carry_renames(self, jobs: list[LoadedJob]) -> None:
        """A job listing an old name in ``previous_names`` takes over its runs and state."""
        for job in jobs:
            for old in job.previous_names:
                if old in self._config.jobs or old == job.name:
                    continue  # still a live job of its own: nothing to carry over
                moved = self._store.rename_job(old, job.name)
                if self._progress.forget(old) or moved:
                    self._due.remove(old)
                    log.info("config.job_renamed", job=job.name, previous=old, runs=moved)

    def _take_paths(self, paths: set[Path]) -> tuple[bool, datetime | None]:
        """Move queued file events into ``paths``; (rescan asked for, earliest event time)."""
        rescan, earliest = False, None
        while True:
            try:
                item, seen = self._paths.get_nowait()
            except queue.Empty:
                return rescan, earliest
            earliest = seen if earliest is None else min(earliest, seen)
            if item is None:
                rescan = True
            else:
                paths.add(item)

    def apply_pending(self) -> None:
        """Reload what the queued file events name (nothing if none are queued)."""
        paths: set[Path] = set()
        rescan, first_seen = self._take_paths(paths)
        if first_seen is None:
            return
        time.sleep(DEBOUNCE)  # let an editor's write-rename-delete burst settle
        rescan_too, _ = self._take_paths(paths)
        rejected_before = set(self._config.rejected)
        now = self._clock.now()
        if rescan or rescan_too:
            changes = self._config.rescan(now)
        else:
            # Deletions first, so a job moved from one file to another is not a duplicate.
            ordered = sorted(paths, key=lambda p: (p.exists(), str(p)))
            changes = [self._config.apply(p, now) for p in ordered]
        if any(c.removed for c in changes):
            changes += self._config.retry_rejected(now)
        # Renames first: a job moved to a new name and file arrives as a deletion plus an
        # addition, and the addition must find the old name's state still there.
        self._carry_renames([j for c in changes for j in c.added + c.updated])
        read_at = self._clock.now()  # after the reading, which may take long at scale
        # Jobs removed longer ago than RESTORE_WITHIN start afresh if they come back.
        self._progress.forget_removed(before=read_at - RESTORE_WITHIN)
        for change in changes:
            # A change is live from when it was written: an instant that passed while it
            # settled (the debounce) still runs, with the new definition.
            self._apply_change(change, first_seen, read_at)
        if any(not c.empty for c in changes) or set(self._config.rejected) != rejected_before:
            self.log_generation()

    def _apply_change(self, change: Change, since: datetime, now: datetime) -> None:
        self._log_rejected(change)
        for job in change.added + change.updated:
            # A new definition starts its canary over.
            self._progress.set_canary(job.name, job.canary)
            last = self._progress.last(job.name)
            restored = self._progress.restore(job.name) if last is None else None
            start = since if last is None else max(last, since)
            if restored is not None:
                start = last = restored  # its instants while it was gone run now, late
            pending = self._due.get(job.name)
            # The loop reads files before it dispatches: an instant that fell due before the
            # change was seen and is not sent yet still runs (with the new definition).
            if pending is not None and pending <= start and (last is None or pending > last):
                start = pending - timedelta(microseconds=1)
            self._schedule_from(job, start)
            log.info(
                "config.job_loaded",
                job=job.name,
                file=job.file,
                next_run=_iso(self._due.get(job.name)),
                **({"restored": True} if restored is not None else {}),
            )
        for name in change.removed:
            self._due.remove(name)
            self._progress.removed(name, now)
            self._store.forget_job(name)
            log.info("config.job_removed", job=name, file=change.file)
        if change.added or change.updated:
            self._check_queues()

    def _check_queues(self) -> None:
        queues = {j.queue for j in self._config.jobs.values()}
        if self._queues_changed is not None and not queues <= self._queues:
            self._queues |= queues
            self._queues_changed(sorted(self._queues))

    def _log_rejected(self, change: Change) -> None:
        for error in change.rejected:
            log.error(
                "config.rejected",
                file=error.file,
                line=error.line,
                column=error.column,
                path=error.path,
                error=error.message,
                kept=[n for n, j in self._config.jobs.items() if j.file == error.file],
            )
        if change.rejected:
            first = change.rejected[0]
            self._store.set_meta("last_rejected", str(first), self._clock.now())

    def log_generation(self) -> None:
        """Record and log the configuration now loaded (its digest, jobs, rejected files)."""
        generation = self._config.generation
        now = self._clock.now()
        self._store.set_meta("generation", generation, now)
        if not self._config.rejected:
            self._store.set_meta("last_rejected", "", now)
        log.info(
            "config.loaded",
            generation=generation,
            jobs=len(self._config.jobs),
            rejected=sorted(self._config.rejected),
        )


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else iso_utc(instant)
