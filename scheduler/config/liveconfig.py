"""The live set of jobs, changed one file at a time, keeping the last valid definitions.

A file that becomes invalid is rejected and the jobs it held keep their last valid
definition; other files are unaffected, and only the changed file is re-read. The
watcher (and its startup) apply every change through here.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from collections.abc import Collection, Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from scheduler.config import jobcache
from scheduler.config.cacheload import load_beside_stamps
from scheduler.config.catalog import (
    FileContexts,
    defaults_for,
    display_path,
    parse_job_bytes,
    read_defaults,
    read_job_bytes,
    read_job_bytes_stat,
)
from scheduler.config.defaults import DefaultsTree
from scheduler.config.jobfiles import scan
from scheduler.config.loader import FileContext
from scheduler.config.parsepool import content_digest, in_workers, pool_size
from scheduler.config.project import Project, load_project
from scheduler.core.catalog import FileResult, duplicate_name_error
from scheduler.core.errors import JobFileError
from scheduler.core.job import LoadedJob
from scheduler.core.schedule import forget_restored

#: (display path, content digest, its compact jobs, its stamp) for a valid file; (display
#: path, None, (), None) for one the caller must read itself, which locates its problems.
_Parsed = tuple[str, bytes | None, tuple[LoadedJob, ...], int | None]


def _parse_for_cache(task: tuple[Path | str, str, FileContext]) -> _Parsed:
    """One file read by a worker process, as the job cache holds it (if it is valid)."""
    path, source, context = task
    now = time.time_ns()  # before the file's fstat, as jobcache.stamp reads it
    raw, found = read_job_bytes_stat(path, source)
    if isinstance(raw, FileResult) or found is None:
        return source, None, (), None
    stamp = jobcache.stamp_of(found, context.defaults.digest, now)
    result = parse_job_bytes(raw, source, positions=False, context=context)
    if not result.ok:
        return source, None, (), None
    jobs = tuple(job.compact() for job in result.jobs)
    return source, content_digest(raw, context), jobs, stamp


#: A file's stamp not taken yet (see ``LiveConfig._apply``): a stamp is never negative.
_UNTAKEN = -1

#: An accepted file: its content digest, its jobs and its stamp (the job cache's entry, when
#: it served the file: held as it came, not copied).
_FileState = jobcache.Entry


@dataclass(slots=True)
class Change:
    """The effect of reloading one file."""

    file: str
    added: list[LoadedJob] = field(default_factory=list)
    updated: list[LoadedJob] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rejected: list[JobFileError] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.updated or self.removed or self.rejected)


class LiveConfig:
    """Jobs by name, built from the files under one jobs directory."""

    def __init__(
        self,
        root: Path,
        project: Project | None = None,
        *,
        cache_dir: Path | None = None,
        cache_at_rescan: bool = False,
    ) -> None:
        self.root = root
        self.project = project if project is not None else load_project(root)
        # The jobs of the last run (``jobcache``): a file whose stamp is unchanged is not
        # read again, one whose digest is unchanged is not parsed again. Each entry serves
        # once, at the first read of its file. ``cache_at_rescan``: loaded by the first
        # rescan, while a helper takes the files' stamps (see _load_pending_cache).
        self._cache_dir = cache_dir
        self._cache_pending = cache_at_rescan and cache_dir is not None
        self._cached: jobcache.Entries = {}
        if cache_dir is not None and not self._cache_pending:
            self._cached = jobcache.load(cache_dir, self._salt)
        self._cache_fresh = bool(self._cached)  # until a file is parsed: nothing to write
        #: The files being parsed by worker processes, and their results as they come.
        self._ahead: Generator[_Parsed, None, None] | None = None
        self._ahead_next: _Parsed | None = None  # taken from _ahead, its file not applied yet
        self.defaults = DefaultsTree()
        self._defaults_rejected: dict[str, list[JobFileError]] = {}
        self._files: dict[str, _FileState] = {}
        self._generation: str | None = None  # of _files, until it changes
        self.jobs: dict[str, LoadedJob] = {}
        self.rejected: dict[str, list[JobFileError]] = {}  # file -> why, until it is fixed

    @property
    def generation(self) -> str:
        """A digest of the accepted content of every job file (changes when any does)."""
        found = self._generation
        if found is None:  # worked out again after a change only (100,000 files: 0.1 s)
            h = hashlib.sha256()
            for name in sorted(self._files):
                h.update(f"{name}\0{self._files[name][0].hex()}\n".encode())
            found = self._generation = h.hexdigest()[:16]
        return found

    def rescan(self, now: datetime) -> list[Change]:
        """Re-read every job file whose content (or defaults) changed, and forget deleted ones."""
        return [c for c in self.rescan_changes(now) if not c.empty]

    def rescan_changes(self, now: datetime) -> Generator[Change, None, None]:
        """``rescan``, one file's change at a time, as each is applied (empty ones too).

        For the start-up, which only logs what was rejected: 100,000 changes held at once
        were a tenth of its peak memory.
        """
        before = dict(self._defaults_rejected)
        job_files, defaults_files = scan(self.root) if self.root.is_dir() else ([], [])
        self.reload_defaults(defaults_files)
        cwd = os.getcwd()  # once: a call per file of a big tree costs
        present = {display_path(p, cwd=cwd): p for p in job_files}
        stamps = self._load_pending_cache(present.values()) if self._cache_pending else None
        del job_files
        gone = (set(self._files) | set(self.rejected)) - set(present) - set(self._defaults_rejected)
        # A broken defaults file is reported once, when it breaks (or breaks differently).
        for file, errors in list(self._defaults_rejected.items()):
            if before.get(file) != errors:
                yield Change(file, rejected=errors)
        # Deletions first, so a job moved from one file to another is not a duplicate.
        for name in sorted(gone):
            yield self.apply(Path(name), now)
        self._parse_ahead(present)
        # Let go of one by one as applied: held to the end, these paths (a second copy of
        # each, beside the jobs' own) would sit beside the due queue a cold start fills.
        sources, paths = deque(present), deque(present.values())
        del present
        try:
            taken = 0
            while sources:
                stamp = _UNTAKEN if stamps is None else stamps[taken] or None
                taken += 1
                yield self._apply(paths.popleft(), sources.popleft(), now, stamp)
        finally:
            self._stop_ahead()
            forget_restored()  # the workers' jobs came pickled: their expressions are shared
        if not self._cached:  # all served: its table, sized for every file, goes too
            self._cached = {}

    def _load_pending_cache(self, paths: Collection[str]) -> Sequence[int] | None:
        """Load the job cache left for the first rescan, and return the stamps of ``paths``
        if a helper took them meanwhile (see ``cacheload``). A stat taken before the file
        is served is what ``_apply`` takes too, and the watcher's file events started
        before (an edit after the helper's stat is reloaded when seen)."""
        assert self._cache_dir is not None
        self._cache_pending = False
        defaults, root = self.defaults, self.root
        self._cached, stamps = load_beside_stamps(
            self._cache_dir, self._salt, paths, lambda p: defaults_for(defaults, root, p).digest
        )
        self._cache_fresh = bool(self._cached)
        return stamps

    def reload_defaults(self, files: list[str] | None = None) -> list[JobFileError]:
        """Re-read the defaults files (``files``: those a scan just found; else they are
        looked for); a job file whose defaults changed re-parses when applied."""
        self.defaults, broken = read_defaults(self.root, files)
        for source in self._defaults_rejected:
            self.rejected.pop(source, None)
        self._defaults_rejected = {b.file: b.errors for b in broken}
        self.rejected.update(self._defaults_rejected)
        return [e for b in broken for e in b.errors]

    def apply(self, path: Path | str, now: datetime) -> Change:
        """Reload one file (or its deletion)."""
        return self._apply(path, display_path(path), now)

    def _apply(
        self, path: Path | str, source: str, now: datetime, stamp: int | None = _UNTAKEN
    ) -> Change:
        """``apply``; ``stamp``: the file's, taken already (``_UNTAKEN``: taken here)."""
        parsed = self._take_parsed(source) if self._ahead is not None else None
        if parsed is not None:  # read and parsed by a worker just now (see _parse_ahead)
            return self._serve(source, parsed)  # held as it came, as a cached file's jobs
        defaults = defaults_for(self.defaults, self.root, path)
        cached = self._cached.pop(source, None) if self._cached else None
        if stamp == _UNTAKEN:
            stamp = jobcache.stamp(path, defaults.digest)
        if cached is not None and stamp is not None and cached[2] == stamp:
            return self._serve(source, cached)
        context = FileContext(defaults, self.project.rules)
        raw = read_job_bytes(path, source)
        if isinstance(raw, FileResult):
            self._cache_fresh = self._cache_fresh and cached is None
            if not os.path.exists(path):  # gone (or a dangling link): its jobs go too
                self.rejected.pop(source, None)
                return self._replace(source, None, {})
            self.rejected[source] = raw.errors
            return Change(source, rejected=raw.errors)
        digest = content_digest(raw, context)
        known = self._files.get(source)
        if known is not None and known[0] == digest and source not in self.rejected:
            return Change(source)
        if cached is not None and cached[0] == digest:
            if cached[2] != stamp and stamp is not None:
                # Same content, another stat (a touch, a checkout): stamped anew, so that
                # the next start need not read it.
                cached = (digest, cached[1], stamp)
                self._cache_fresh = False
            return self._serve(source, cached)
        self._cache_fresh = False
        # No `now`: the date-dependent warnings are for `validate`; the watcher needs none.
        result = parse_job_bytes(raw, source, positions=False, context=context)
        return self._accept(source, digest, result, stamp=stamp)

    def _serve(self, source: str, cached: _FileState) -> Change:
        """The job cache's entry (or a worker's, just parsed) becomes the file's state, its
        jobs as they came."""
        digest, jobs, _ = cached
        if jobs:  # its jobs' own copy of the name (the same text), not a second one
            source = jobs[0].file
        if source in self._files or not self._unclaimed(source, jobs):
            return self._accept(source, digest, FileResult(source, jobs=list(jobs)), cached)
        # A file new to this config whose jobs no other file holds (every file of a
        # restart): what _accept and _replace would do, without their per-file objects.
        self.rejected.pop(source, None)
        for job in jobs:
            self.jobs[job.name] = job
        self._files[source] = cached
        self._generation = None
        return Change(source, added=list(jobs))

    def _unclaimed(self, source: str, jobs: tuple[LoadedJob, ...]) -> bool:
        """No two of ``jobs`` share a name, nor does any share one with another file's."""
        for job in jobs:
            owner = self._owner(job.name)
            if owner is not None and owner != source:
                return False
        return len(jobs) < 2 or len({job.name for job in jobs}) == len(jobs)

    def _accept(
        self,
        source: str,
        digest: bytes,
        result: FileResult,
        entry: _FileState | None = None,
        *,
        stamp: int | None = None,
    ) -> Change:
        """``result`` becomes the file's jobs if valid (``entry``: the same, as the job cache
        held them; ``stamp``: the file's, see ``jobcache.stamp``)."""
        self._reject_duplicates(result)
        if not result.ok:
            self.rejected[source] = result.errors
            return Change(source, rejected=result.errors)
        self.rejected.pop(source, None)
        # Held for good: without their pydantic specs (LoadedJob.compact).
        jobs = {j.name: j.compact() for j in result.jobs}
        return self._replace(source, digest, jobs, entry, stamp)

    def _parse_ahead(self, present: dict[str, str]) -> None:
        """Parse the files no cache holds in worker processes, when there are many (the
        cold start): ``apply`` takes each one's jobs as they arrive, in ``present``'s order."""
        todo = [s for s in present if s not in self._files and s not in self._cached]
        workers = pool_size(len(todo))
        if not workers:
            return
        context_of = FileContexts(self.defaults, self.root, self.project.rules)
        tasks = [(present[source], source, context_of(present[source])) for source in todo]
        self._ahead = in_workers(_parse_for_cache, tasks, workers)
        self._cache_fresh = False

    def _take_parsed(self, source: str) -> _FileState | None:
        """What a worker made of the valid file ``source`` (waiting for it if due), or None
        (not sent to the workers, or not valid: ``apply`` reads it and says why).

        The results come in the order the files were sent, ``present``'s: the next one names
        the next file sent, and a file it does not name was not sent (no set of the names
        sent is kept: at 100,000 files it was 4 MB, held while the jobs pile up).
        """
        found = self._ahead_next
        if found is None and self._ahead is not None:
            found = self._ahead_next = next(self._ahead, None)
        if found is None or found[0] != source:
            return None
        self._ahead_next = None
        _, digest, jobs, stamp = found
        return None if digest is None else (digest, jobs, stamp)

    def _stop_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead.close()  # shuts the pool down, even when a reload failed half-way
        self._ahead, self._ahead_next = None, None

    @property
    def _salt(self) -> str:
        return repr(self.project.rules)

    def cache_snapshot(self) -> list[str]:
        """The accepted files as they are now: those ``save_cache`` writes, each with its
        entry when written (see ``jobcache.save``; a copy of the table was 4 MB at 100,000
        files, held beside the first turns while another thread wrote it)."""
        return list(self._files)

    @property
    def cache_fresh(self) -> bool:
        """Every file was served from the cache, and it held no other: it needs no rewrite."""
        return self._cache_fresh and not self._cached

    def save_cache(self, snapshot: list[str] | None = None) -> None:
        """Write the cache for the next start (nothing without a cache dir): the files of
        ``snapshot`` (all by default), from another thread too."""
        if self._cache_dir is not None:
            jobcache.save(self._cache_dir, self._files, self._salt, snapshot)

    def retry_rejected(self, now: datetime) -> list[Change]:
        """Re-read rejected files: one may have clashed with a job that is now gone."""
        files = [f for f in self.rejected if f not in self._defaults_rejected]
        return [c for c in (self.apply(Path(f), now) for f in files) if not c.empty]

    def _owner(self, name: str) -> str | None:
        """The file that holds job ``name`` (a job's own ``file``: no map of them is kept,
        at 100,000 jobs it was 5 MB)."""
        job = self.jobs.get(name)
        return None if job is None else job.file

    def _reject_duplicates(self, result: FileResult) -> None:
        seen: dict[str, LoadedJob] = {}
        for job in result.jobs:
            owner = self._owner(job.name)
            earlier = seen.get(job.name)
            if earlier is None and owner is not None and owner != result.file:
                earlier = self.jobs[job.name]
            if earlier is None:
                seen[job.name] = job
            else:
                result.errors.append(duplicate_name_error(result.file, job, earlier))

    def _replace(
        self,
        source: str,
        digest: bytes | None,
        jobs: dict[str, LoadedJob],
        entry: _FileState | None = None,
        stamp: int | None = None,
    ) -> Change:
        change = Change(source)
        old = self._files.pop(source, None)
        self._generation = None
        old_jobs = {j.name: j for j in old[1]} if old else {}
        for name in old_jobs.keys() - jobs.keys():
            change.removed.append(name)
            self.jobs.pop(name, None)
        for name, job in jobs.items():
            before = old_jobs.get(name)
            if before is None:
                change.added.append(job)
            elif before.definition_hash != job.definition_hash:
                change.updated.append(job)
            self.jobs[name] = job
        if digest is not None:
            state = (digest, tuple(jobs.values()), stamp)
            self._files[source] = entry if entry is not None else state
        return change
