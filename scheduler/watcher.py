"""The watcher: follows jobs.d/, and at each due instant enqueues the run into RQ.

One loop thread does all the work: reloading files, dispatching due runs, and writing
SQLite. Two helper threads only *request* work: the watchdog handler queues changed
paths, and the results reader queues worker events; both then set the loop's wake
event. The loop sleeps on that event until the earliest due instant (capped, so a
wall-clock jump costs at most one cap), so idle jobs cost nothing.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis
import structlog

from scheduler.catalog import is_job_file
from scheduler.catchup import DEFAULT_GRACE, resume
from scheduler.clock import Clock
from scheduler.defaults import is_defaults_file
from scheduler.dispatch import Dispatcher
from scheduler.duequeue import DueQueue
from scheduler.events import EventReader
from scheduler.job import LoadedJob
from scheduler.liveconfig import Change, LiveConfig
from scheduler.runs import RunEvent, RunRequest, RunTrigger, iso_utc, run_id
from scheduler.store import Store

log = structlog.get_logger("scheduler.watcher")

#: Longest sleep between loop turns (bounds the cost of a wall-clock jump).
MAX_SLEEP = 1.0
#: File events arriving within this window are reloaded together.
DEBOUNCE = 0.15
HEARTBEAT_EVERY = 2.0
HEARTBEAT_KEY = "scheduler:heartbeat:"
HEARTBEAT_TTL = 30
#: Runs dispatched per Redis pipeline.
BATCH = 2000
#: How often unfinished runs are looked up in RQ, and how old (since enqueued or started)
#: they must be, so that a result still on its way is not overtaken.
RECONCILE_EVERY = 15.0
RECONCILE_MIN_AGE = timedelta(seconds=30)
#: Runs due this soon are serialised before their instant (see Dispatcher.prepare).
PREPARE_AHEAD = timedelta(milliseconds=500)


@dataclass(frozen=True, kw_only=True)
class WatcherOptions:
    jobs_dir: Path
    data_dir: Path
    grace: timedelta = DEFAULT_GRACE
    watcher_id: str = ""
    #: Queues workers already serve; ``queues_changed`` is called with the new full set
    #: when a job names another one (the daemon starts workers for it).
    queues: frozenset[str] = frozenset()
    queues_changed: Callable[[list[str]], None] | None = None
    #: Called first when stopping (the daemon stops its workers, so their last results
    #: are read before the watcher exits).
    on_stopping: Callable[[], None] | None = None


class Watcher:
    """Runs until ``stop()`` is called (or a signal handler calls it)."""

    def __init__(
        self, options: WatcherOptions, *, store: Store, conn: redis.Redis, clock: Clock
    ) -> None:
        self.options = options
        self.store = store
        self.conn = conn
        self.clock = clock
        self.id = options.watcher_id or f"{socket.gethostname()}:{os.getpid()}"
        self.config = LiveConfig(options.jobs_dir)
        self.due = DueQueue()
        self.dispatcher = Dispatcher(conn, owner=self.id)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._paths: queue.SimpleQueue[tuple[Path | None, datetime]] = queue.SimpleQueue()
        self._last: dict[str, datetime] = {}  # job -> last instant dispatched or accounted for
        self._canary: dict[str, int] = {}  # job -> canary runs left (dry_run forced)
        self._queues: set[str] = set(options.queues)
        self._events: queue.SimpleQueue[tuple[str, RunEvent]] = queue.SimpleQueue()
        self._reader = EventReader(conn, group=_group_for(options.data_dir), consumer="watcher")
        self._threads: list[threading.Thread] = []
        self._observer: Any = None
        self._redis_ok = True
        self._retry_at = 0.0
        self._backoff = 0.5
        self._last_beat = 0.0
        # The first pass waits for the reader to apply the stream's backlog.
        self._next_reconcile = time.monotonic() + 5.0
        self.ready = threading.Event()

    # -- life cycle ------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to finish (safe from signal handlers and other threads)."""
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        """Load, then loop until stopped; flushes state and stops helpers on the way out."""
        now = self.clock.now()
        self.store.set_meta("watcher_id", self.id, now)
        self._start_observer()  # first, so no edit made during start-up goes unseen
        self._startup(now)
        self._start_reader()
        log.info(
            "watcher.started",
            watcher=self.id,
            jobs=len(self.config.jobs),
            generation=self.config.generation,
            jobs_dir=str(self.options.jobs_dir),
        )
        self.ready.set()
        try:
            while not self._stopping.is_set():
                self._turn()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._observer is not None:
            self._observer.stop()
        for thread in self._threads:
            thread.join(timeout=3)
        if self._observer is not None:
            self._observer.join(timeout=3)
        if self.options.on_stopping is not None:
            self.options.on_stopping()
        # Results that arrived while stopping: take what the stream holds now, without waiting.
        with contextlib.suppress(redis.RedisError):
            for entry in self._reader.read(block_ms=None):
                self._events.put(entry)
        self._drain_events()
        # Every result a stopped worker sent is applied now: close what it never finished.
        self._reconcile(self.clock.now(), min_age=timedelta(0))
        self._save_heartbeat(force=True, state="stopped")
        log.info("watcher.stopped", watcher=self.id)

    # -- the loop --------------------------------------------------------------------

    def _turn(self) -> None:
        self._reload_requested()
        self._drain_events()
        now = self.clock.now()
        if self._redis_ok or time.monotonic() >= self._retry_at:
            self._dispatch_due(now)
        self._save_heartbeat()
        if time.monotonic() >= self._next_reconcile:
            self._next_reconcile = time.monotonic() + RECONCILE_EVERY
            self._reconcile(now, min_age=RECONCILE_MIN_AGE)
        self._prepare_soon(self.clock.now())
        nxt = self.due.peek()
        delay = MAX_SLEEP
        if nxt is not None:
            until = (nxt.instant - self.clock.now()).total_seconds()
            # Wake once ahead of the instant to serialise its runs, then at the instant.
            ahead = until - PREPARE_AHEAD.total_seconds()
            delay = min(delay, ahead if ahead > 0 else max(0.0, until))
        if not self._redis_ok:
            delay = min(delay, max(0.0, self._retry_at - time.monotonic()))
        if delay > 0:
            self._wake.wait(delay)
        self._wake.clear()

    def _prepare_soon(self, now: datetime) -> None:
        nxt = self.due.peek()
        if nxt is None or nxt.instant - now > PREPARE_AHEAD:
            return
        soon = self.due.upcoming(now + PREPARE_AHEAD, limit=BATCH)
        requests = []
        for run in soon:
            job = self.config.jobs.get(run.job)
            if job is not None and job.spec.enabled:
                requests.append(self._request(job, run.instant, RunTrigger.schedule))
        # Preparing asks Redis its version once; if Redis is down, dispatch reports it.
        with contextlib.suppress(redis.RedisError):
            self.dispatcher.prepare(requests)

    def _dispatch_due(self, now: datetime) -> None:
        while True:
            due = self.due.pop_due(now, limit=BATCH)
            if not due:
                return
            jobs = [(run, self.config.jobs.get(run.job)) for run in due]
            sent = [(run, job) for run, job in jobs if job is not None and job.spec.enabled]
            # Send first (payloads were prepared ahead), then work out what comes next:
            # the runs' visibility in the queue waits for nothing else.
            requests = [self._request(job, run.instant, RunTrigger.schedule) for run, job in sent]
            with self.store.batch():
                if not self._send(requests):
                    for run in due:  # put them back: they go out late, once Redis answers
                        self.due.set(run.job, run.instant)
                    return
                follow_up: list[RunRequest] = []
                for run, job in sent:
                    follow_up += self._advance(job, run.instant, now)
                if follow_up:
                    self._send(follow_up)

    def _advance(self, job: LoadedJob, instant: datetime, now: datetime) -> list[RunRequest]:
        """Set the job's next instant after ``instant``; runs it fell far behind on come back.

        A next instant that is already past but within the grace goes back on the due queue
        and out at once, as an ordinary late run. Anything older is treated like downtime:
        one catch-up (returned, to send now), the rest recorded missed.
        """
        last = instant
        nxt = job.schedule.next_after(instant)
        extra: list[RunRequest] = []
        if nxt is not None and now - nxt > self.options.grace:
            plan = resume(job.schedule, instant, now, grace=self.options.grace)
            extra = [self._request(job, t, RunTrigger.schedule) for t in plan.late]
            if plan.catch_up is not None:
                extra.append(self._request(job, plan.catch_up, RunTrigger.catch_up))
            self._record_missed(job, plan.missed, plan.missed_total, "watcher fell behind")
            last = max([instant, *plan.late, *filter(None, [plan.catch_up])])
            nxt = plan.next_run
        self.due.set(job.name, nxt)
        self._save_state(job, nxt, last=last)
        return extra

    def _request(self, job: LoadedJob, instant: datetime, trigger: RunTrigger) -> RunRequest:
        """The run of ``job`` at ``instant``; a canary run while the job has some left."""
        return job.run_request(instant, trigger, canary=self._canary.get(job.name, 0) > 0)

    def _send(self, requests: list[RunRequest]) -> bool:
        if not requests:
            return True
        try:
            outcomes = self.dispatcher.enqueue(requests, self.clock.now())
        except redis.RedisError as exc:
            self._redis_failed(exc)
            return False
        self._redis_recovered()
        sent_at = self.clock.now()  # when the runs became visible in their queues
        for outcome in outcomes:
            req = outcome.request
            scheduled = datetime.fromisoformat(req.scheduled_for)
            bound = log.bind(job=req.job, run_id=req.run_id, scheduled_for=req.scheduled_for)
            # A duplicate is an expected outcome (another watcher, an earlier attempt): the
            # run exists in Redis, so it is recorded here too, and logged at info level.
            self.store.record_enqueued(
                run_id=req.run_id,
                job=req.job,
                scheduled_for=scheduled,
                trigger=req.trigger,
                enqueued_at=sent_at,
                note=None if outcome.enqueued else "enqueued by another watcher or earlier",
                canary=req.canary,
            )
            if req.canary and self._canary.get(req.job, 0) > 0:
                self._canary[req.job] -= 1
            if outcome.enqueued:
                bound.info("run.enqueued", trigger=str(req.trigger), queue=req.queue)
            else:
                bound.info("run.deduplicated", trigger=str(req.trigger))
        return True

    def _redis_failed(self, exc: Exception) -> None:
        if self._redis_ok:
            log.error("redis.unavailable", error=str(exc))
        self._redis_ok = False
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, 10.0)

    def _redis_recovered(self) -> None:
        if not self._redis_ok:
            log.info("redis.recovered")
        self._redis_ok = True
        self._backoff = 0.5

    # -- configuration ---------------------------------------------------------------

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

    def _startup(self, now: datetime) -> None:
        with self.store.batch():  # one transaction for every job's state
            self._start_jobs(now)

    def _start_jobs(self, now: datetime) -> None:
        for change in self.config.rescan(now):
            self._log_rejected(change)
        self._carry_renames(list(self.config.jobs.values()))
        states = self.store.job_states()
        # (job, the instant to send now, its trigger, the job's next instant)
        resumed: list[tuple[LoadedJob, datetime, RunTrigger, datetime | None]] = []
        for job in self.config.jobs.values():
            state = states.get(job.name)
            same = state is not None and state.definition_hash == job.definition_hash
            self._canary[job.name] = state.canary_left if same and state else job.spec.canary
            if (
                state is not None
                and state.last_scheduled is not None
                and state.definition_hash == job.definition_hash
                and job.spec.enabled
            ):
                # Same definition as before the restart: account for what passed meanwhile.
                plan = resume(job.schedule, state.last_scheduled, now, grace=timedelta(0))
                self._record_missed(job, plan.missed, plan.missed_total, "watcher was down")
                # An instant due exactly now is on time (and takes the catch-up's place).
                resumed += [(job, t, RunTrigger.schedule, plan.next_run) for t in plan.late]
                if plan.catch_up is not None:
                    resumed.append((job, plan.catch_up, RunTrigger.catch_up, plan.next_run))
                self.due.set(job.name, plan.next_run)
                self._save_state(job, plan.next_run, last=state.last_scheduled)
            else:
                self._schedule_from(job, now)
        self._check_queues()
        requests = [self._request(job, t, trigger) for job, t, trigger, _ in resumed]
        if self._send(requests):
            for job, instant, _, nxt in resumed:
                self._save_state(job, nxt, last=instant)
        else:
            for job, instant, _, _ in resumed:
                self.due.set(job.name, instant)  # Redis is down: it goes out when Redis is back
        self._log_generation()

    def _schedule_from(self, job: LoadedJob, since: datetime) -> None:
        """Schedule ``job`` from ``since``: its instants after that are due (late if past)."""
        nxt = job.schedule.next_after(since) if job.spec.enabled else None
        self.due.set(job.name, nxt)
        self._save_state(job, nxt, last=since)

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
        for change in changes:
            # A change is live from when it was written: an instant that passed while it
            # settled (the debounce) still runs, with the new definition.
            self._apply_change(change, first_seen)
        if any(not c.empty for c in changes) or set(self.config.rejected) != rejected_before:
            self._log_generation()

    def _apply_change(self, change: Change, since: datetime) -> None:
        self._log_rejected(change)
        for job in change.added + change.updated:
            self._canary[job.name] = job.spec.canary  # a new definition starts its canary over
            last = self._last.get(job.name)
            self._schedule_from(job, since if last is None else max(last, since))
            log.info(
                "config.job_loaded",
                job=job.name,
                file=job.file,
                next_run=_iso(self.due.get(job.name)),
            )
        for name in change.removed:
            self.due.remove(name)
            self._last.pop(name, None)
            self._canary.pop(name, None)
            self.store.forget_job(name)
            log.info("config.job_removed", job=name, file=change.file)
        if change.added or change.updated:
            self._check_queues()

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

    def _save_state(self, job: LoadedJob, nxt: datetime | None, *, last: datetime) -> None:
        self._last[job.name] = last
        self.store.save_job_state(
            job=job.name,
            last_scheduled=last,
            next_run=nxt,
            definition_hash=job.definition_hash,
            source_file=job.file,
            enabled=job.spec.enabled,
            updated_at=self.clock.now(),
            canary_left=self._canary.get(job.name, 0),
        )

    def _record_missed(self, job: LoadedJob, missed: list[datetime], total: int, why: str) -> None:
        for instant in missed:
            self.store.record_missed(
                job=job.name, scheduled_for=instant, run_id=run_id(job.name, instant), note=why
            )
        if total:
            log.warning(
                "run.missed",
                job=job.name,
                count=total,
                recorded=len(missed),
                reason=why,
                first=_iso(missed[0]) if missed else None,
            )

    def _reconcile(self, now: datetime, *, min_age: timedelta) -> None:
        from scheduler.reconcile import reconcile
        from scheduler.runs import RunStatus

        rows = [
            row
            for status in (RunStatus.started, RunStatus.enqueued)
            for row in self.store.history(status=status, limit=1000)
            if now - (row.started_at or row.enqueued_at or row.scheduled_for) >= min_age
        ]
        try:
            events = reconcile(
                self.conn,
                [(r.run_id, r.job, r.scheduled_for, r.trigger, str(r.status)) for r in rows],
                now,
            )
        except redis.RedisError:
            return  # Redis is down: the next pass tries again
        with self.store.batch():
            for event in events:
                if self.store.apply_event(event):
                    log.warning(
                        f"run.{event.kind}",
                        job=event.job,
                        run_id=event.run_id,
                        scheduled_for=event.scheduled_for,
                        trigger=str(event.trigger),
                        error=event.error,
                        reconciled=True,
                    )

    # -- results ---------------------------------------------------------------------

    def _drain_events(self) -> None:
        acked: list[str] = []
        with self.store.batch():
            self._apply_events(acked)
        if acked:
            # Unacked entries come back on the next read; applying them again is idempotent.
            with contextlib.suppress(redis.RedisError):
                self._reader.ack(acked)

    def _apply_events(self, acked: list[str]) -> None:
        while True:
            try:
                entry_id, event = self._events.get_nowait()
            except queue.Empty:
                break
            if self.store.apply_event(event):
                fields: dict[str, Any] = {"worker": event.worker}
                if event.duration_s is not None:
                    fields["duration_s"] = event.duration_s
                if event.error:
                    fields["error"] = event.error
                log.info(
                    f"run.{event.kind}",
                    job=event.job,
                    run_id=event.run_id,
                    scheduled_for=event.scheduled_for,
                    trigger=str(event.trigger),
                    **fields,
                )
            acked.append(entry_id)

    def _start_reader(self) -> None:
        thread = threading.Thread(target=self._read_events, name="results-reader", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _read_events(self) -> None:
        backoff = 0.5
        ready = False
        while not self._stopping.is_set():
            try:
                if not ready:
                    self._reader.ensure_group()
                    ready = True
                entries = self._reader.read(block_ms=500)
                backoff = 0.5
            except redis.RedisError as exc:
                log.warning("results.unavailable", error=str(exc))
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            for entry in entries:
                self._events.put(entry)
            if entries:
                self._wake.set()

    # -- files -----------------------------------------------------------------------

    def _start_observer(self) -> None:
        from watchdog import events
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        paths, wake, clock = self._paths, self._wake, self.clock

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                seen = clock.now()
                if event.is_directory and event.event_type != "modified":
                    paths.put((None, seen))  # a folder moved or removed: rescan everything
                    wake.set()
                    return
                touched = [event.src_path, getattr(event, "dest_path", "")]
                hits = [Path(os.fsdecode(p)) for p in touched if p]
                if any(is_defaults_file(p.name) for p in hits):
                    paths.put((None, seen))  # defaults apply to many files: rescan them all
                    wake.set()
                    return
                hits = [p for p in hits if is_job_file(p)]
                for p in hits:
                    paths.put((p, seen))
                if hits:
                    wake.set()

        self.options.jobs_dir.mkdir(parents=True, exist_ok=True)
        observer = Observer()
        # Changes only: without a filter inotify also reports every open and close, and
        # the start-up (which reads every job file) fed watchdog's threads two events a
        # file, contending for the GIL with the load itself.
        changes = [
            events.FileCreatedEvent,
            events.FileDeletedEvent,
            events.FileModifiedEvent,
            events.FileMovedEvent,
            events.FileClosedEvent,
            events.DirCreatedEvent,
            events.DirDeletedEvent,
            events.DirModifiedEvent,
            events.DirMovedEvent,
        ]
        observer.schedule(
            Handler(), str(self.options.jobs_dir), recursive=True, event_filter=changes
        )
        observer.daemon = True
        observer.start()
        self._observer = observer

    # -- heartbeat -------------------------------------------------------------------

    def _save_heartbeat(self, *, force: bool = False, state: str = "running") -> None:
        mono = time.monotonic()
        if not force and mono - self._last_beat < HEARTBEAT_EVERY:
            return
        self._last_beat = mono
        now = self.clock.now()
        self.store.set_meta("heartbeat", f"{state} {self.id}", now)
        with contextlib.suppress(redis.RedisError):  # `health` reads the SQLite heartbeat
            self.conn.set(HEARTBEAT_KEY + self.id, iso_utc(now), ex=HEARTBEAT_TTL)


def _group_for(data_dir: Path) -> str:
    # One consumer group per data directory: each store sees every result event once.
    import hashlib

    return "store-" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else iso_utc(instant)
