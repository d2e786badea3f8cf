"""The watcher's configuration side: file events turned into reloads, renames, and the log.

A mixin of :class:`scheduler.engine.watcher.Watcher`. File events arrive on ``_paths`` (see
``filewatch.py``); the loop calls ``_reload_requested``, which re-reads only the changed
files (or rescans), carries renamed jobs' state over, and reschedules what changed.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from scheduler.config.liveconfig import Change, LiveConfig
from scheduler.core.clock import Clock
from scheduler.core.duequeue import DueQueue
from scheduler.core.job import LoadedJob
from scheduler.core.runs import iso_utc
from scheduler.store import Store

if TYPE_CHECKING:
    from scheduler.engine.watcher import WatcherOptions

log = structlog.get_logger("scheduler.watcher")

#: File events arriving within this window are reloaded together.
DEBOUNCE = 0.15
#: A job removed and back within this time resumes where it stopped, as if only updated:
#: a save that truncates the file first, or deletes it and writes it anew, makes the
#: reload see the job gone for a moment, and that moment must not cost it an instant.
RESTORE_WITHIN = timedelta(seconds=5)


class ReloadMixin:
    """Reloading job files on the loop thread (the watcher's attributes below)."""

    store: Store
    config: LiveConfig
    due: DueQueue
    options: WatcherOptions
    clock: Clock
    _paths: queue.SimpleQueue[tuple[Path | None, datetime]]
    _last: dict[str, datetime]
    _canary: dict[str, int]
    _removed: dict[str, tuple[datetime, datetime]]  # job -> (its _last, when it went)
    _queues: set[str]
    _schedule_from: Callable[[LoadedJob, datetime], None]

    def _carry_renames(self, jobs: list[LoadedJob]) -> None:
        """A job listing an old name in ``previous_names`` takes over its runs and state."""
        for job in jobs:
            for old in job.spec.previous_names:
                if old in self.config.jobs or old == job.name:
                    continue  # still a live job of its own: nothing to carry over
                moved = self.store.rename_job(old, job.name)
                if moved or old in self._last:
                    self._last.pop(old, None)
                    self.due.remove(old)
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

    def _reload_requested(self) -> None:
        paths: set[Path] = set()
        rescan, first_seen = self._take_paths(paths)
        if first_seen is None:
            return
        time.sleep(DEBOUNCE)  # let an editor's write-rename-delete burst settle
        rescan_too, _ = self._take_paths(paths)
        rejected_before = set(self.config.rejected)
        now = self.clock.now()
        if rescan or rescan_too:
            changes = self.config.rescan(now)
        else:
            # Deletions first, so a job moved from one file to another is not a duplicate.
            ordered = sorted(paths, key=lambda p: (p.exists(), str(p)))
            changes = [self.config.apply(p, now) for p in ordered]
        if any(c.removed for c in changes):
            changes += self.config.retry_rejected(now)
        # Renames first: a job moved to a new name and file arrives as a deletion plus an
        # addition, and the addition must find the old name's state still there.
        self._carry_renames([j for c in changes for j in c.added + c.updated])
        read_at = self.clock.now()  # after the reading, which may take long at scale
        self._forget_removed(read_at)
        for change in changes:
            # A change is live from when it was written: an instant that passed while it
            # settled (the debounce) still runs, with the new definition.
            self._apply_change(change, first_seen, read_at)
        if any(not c.empty for c in changes) or set(self.config.rejected) != rejected_before:
            self._log_generation()

    def _apply_change(self, change: Change, since: datetime, now: datetime) -> None:
        self._log_rejected(change)
        for job in change.added + change.updated:
            self._canary[job.name] = job.spec.canary  # a new definition starts its canary over
            last = self._last.get(job.name)
            restored = self._removed.pop(job.name, (None, now))[0] if last is None else None
            start = since if last is None else max(last, since)
            if restored is not None:
                start = last = restored  # its instants while it was gone run now, late
            pending = self.due.get(job.name)
            # The loop reads files before it dispatches: an instant that fell due before the
            # change was seen and is not sent yet still runs (with the new definition).
            if pending is not None and pending <= start and (last is None or pending > last):
                start = pending - timedelta(microseconds=1)
            self._schedule_from(job, start)
            log.info(
                "config.job_loaded",
                job=job.name,
                file=job.file,
                next_run=_iso(self.due.get(job.name)),
                **({"restored": True} if restored is not None else {}),
            )
        for name in change.removed:
            self.due.remove(name)
            last = self._last.pop(name, None)
            if last is not None:
                self._removed[name] = (last, now)
            self._canary.pop(name, None)
            self.store.forget_job(name)
            log.info("config.job_removed", job=name, file=change.file)
        if change.added or change.updated:
            self._check_queues()

    def _forget_removed(self, now: datetime) -> None:
        """Jobs removed longer ago than ``RESTORE_WITHIN`` start afresh if they come back."""
        if self._removed:
            self._removed = {
                name: (last, at)
                for name, (last, at) in self._removed.items()
                if now - at <= RESTORE_WITHIN
            }

    def _check_queues(self) -> None:
        queues = {j.spec.queue for j in self.config.jobs.values()}
        if self.options.queues_changed is not None and not queues <= self._queues:
            self._queues |= queues
            self.options.queues_changed(sorted(self._queues))

    def _log_rejected(self, change: Change) -> None:
        for error in change.rejected:
            log.error(
                "config.rejected",
                file=error.file,
                line=error.line,
                column=error.column,
                path=error.path,
                error=error.message,
                kept=[n for n, j in self.config.jobs.items() if j.file == error.file],
            )
        if change.rejected:
            first = change.rejected[0]
            self.store.set_meta("last_rejected", str(first), self.clock.now())

    def _log_generation(self) -> None:
        generation = self.config.generation
        now = self.clock.now()
        self.store.set_meta("generation", generation, now)
        if not self.config.rejected:
            self.store.set_meta("last_rejected", "", now)
        log.info(
            "config.loaded",
            generation=generation,
            jobs=len(self.config.jobs),
            rejected=sorted(self.config.rejected),
        )


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else iso_utc(instant)
