"""The watcher: follows jobs.d/, and at each due instant enqueues the run into RQ.

One loop thread does all the work: reloading files, dispatching due runs, and writing
SQLite. Two helper threads only *request* work: the watchdog handler queues changed
paths, and the results reader queues worker events; both then set the loop's wake
event. The loop sleeps on that event until the earliest due instant (capped, so a
wall-clock jump costs at most one cap), so idle jobs cost nothing.

The watcher builds its parts and wires them: ``Reload`` (job files), ``Scheduler`` (due
runs: admit, enqueue, record, next instant), ``Results`` (worker reports), ``Handover``
(the lease, with several watchers), sharing one ``Progress`` (each job's last instant).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
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

from scheduler.config.gcpause import paused_gc
from scheduler.config.liveconfig import LiveConfig
from scheduler.core.catchup import DEFAULT_GRACE
from scheduler.core.clock import Clock
from scheduler.core.duequeue import DueQueue
from scheduler.core.runs import iso_utc
from scheduler.engine.bursts import PREPARE_AHEAD
from scheduler.engine.dispatch import Dispatcher, RqOptions, rq_options
from scheduler.engine.filewatch import start_observer
from scheduler.engine.gate import Gate
from scheduler.engine.handover import Handover, drop_fenced
from scheduler.engine.leader import LeaderElector
from scheduler.engine.ledger import Ledger
from scheduler.engine.maintenance import apply_rewind
from scheduler.engine.progress import Progress
from scheduler.engine.pruning import IdlePruner, JobRules
from scheduler.engine.recordhealth import RecordHealth
from scheduler.engine.reload import Reload
from scheduler.engine.renewal import LeaseRenewal
from scheduler.engine.results import Results, results_group
from scheduler.engine.scheduling import Scheduler
from scheduler.engine.startstate import stored_states
from scheduler.store import Store
from scheduler.store.resilient import ResilientStore
from scheduler.worker.events import EventReader

log = structlog.get_logger("scheduler.watcher")

#: Longest sleep between loop turns (bounds the cost of a wall-clock jump).
MAX_SLEEP = 1.0
HEARTBEAT_EVERY = 2.0
HEARTBEAT_KEY = "scheduler:heartbeat:"
HEARTBEAT_TTL = 30
#: How often unfinished runs are looked up in RQ, and how old (since enqueued or started)
#: they must be, so that a result still on its way is not overtaken.
RECONCILE_EVERY = 5.0
RECONCILE_MIN_AGE = timedelta(seconds=10)
RECONCILE_CLEARANCE = timedelta(seconds=1)
#: How long a stop waits for the job cache still being written after start-up (about 2 s
#: of CPU at 100,000 jobs); a cache not written only makes the next start slower.
CACHE_SAVE_WAIT = 5.0


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
    #: High availability: dispatch only while this elector holds the lease (None: always).
    leader: LeaderElector | None = None


def _load_config(options: WatcherOptions) -> LiveConfig:
    """The configuration, its job cache (the jobs of the last run) read by the start's
    rescan, beside a helper taking the files' stamps (``config.cacheload``): that rescan
    runs once the file events are watched, so the stamps miss no edit.

    What the cache holds lives as long as the watcher: it is loaded with the collector
    paused and put out of its sight at the end of the start (see ``Watcher._startup``).
    What is here now goes out of sight at once, the garbage of the imports first (frozen,
    it would stay).
    """
    gc.collect()
    with paused_gc():
        config = LiveConfig(options.jobs_dir, cache_dir=options.data_dir, cache_at_rescan=True)
        gc.freeze()
    return config


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
        self.config = _load_config(options)
        self.due = DueQueue()
        leader = options.leader
        self.dispatcher = Dispatcher(
            conn,
            owner=self.id,
            fence=None if leader is None else lambda: leader.token,
            options=self._rq_options,
        )
        self.ledger = Ledger(store=store, conn=conn, watcher=self.id)
        self.gate = Gate(store=store, conn=conn, watcher=self.id, ledger=self.ledger)
        self.ready = threading.Event()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._paths: queue.SimpleQueue[tuple[Path | None, datetime]] = queue.SimpleQueue()
        self.progress = Progress()
        self.scheduler = Scheduler(
            store=store,
            config=self.config,
            due=self.due,
            clock=clock,
            progress=self.progress,
            gate=self.gate,
            dispatcher=self.dispatcher,
            grace=options.grace,
            fenced=functools.partial(drop_fenced, leader=leader, watcher=self.id),
            ledger=self.ledger,
        )
        self.reload = Reload(
            store=store,
            config=self.config,
            due=self.due,
            clock=clock,
            progress=self.progress,
            paths=self._paths,
            schedule_from=self.scheduler.schedule_from,
            queues=options.queues,
            queues_changed=options.queues_changed,
        )
        self.results = Results(
            store=store,
            conn=conn,
            gate=self.gate,
            config=self.config,
            clock=clock,
            reader=EventReader(conn, group=results_group(options.data_dir), consumer="watcher"),
            stopping=self._stopping,
            wake=self._wake,
            ledger=self.ledger,
            leading=lambda: leader is None or leader.is_leader,
            mirror=lambda entry: self.handover.mirror(entry),  # noqa: PLW0108 - built below
        )
        self.handover = Handover(
            leader=leader,
            watcher=self.id,
            store=store,
            conn=conn,
            config=self.config,
            due=self.due,
            clock=clock,
            progress=self.progress,
            advance=self.scheduler.advance,
            send=self.scheduler.send,
            flush=self.ledger.flush,
        )
        # Retention, in idle time; and the records' health when SQLite refuses writes.
        self.pruner = IdlePruner(
            store,
            lambda: JobRules(self.config.jobs, self.config.project.retention),
            clock.now,
        )
        self.record_health = (
            RecordHealth(store, conn, group=results_group(options.data_dir), watcher=self.id)
            if isinstance(store, ResilientStore)
            else None
        )
        # The lease outlives the loop's long steps (a start, a takeover, a big reload).
        self.renewal = None if leader is None else LeaseRenewal(leader)
        self._observer: Any = None
        self._cache_saver: threading.Thread | None = None
        # The first turn beats: time.monotonic() counts from boot, under HEARTBEAT_EVERY
        # on a machine (or CI container) just started.
        self._last_beat = -math.inf
        # The first pass waits for the reader to apply the stream's backlog.
        self._next_reconcile = time.monotonic() + 5.0

    # -- life cycle ------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to finish, from any thread.

        Not from a signal handler: setting an event takes its lock, which the interrupted
        code may hold (``scheduler run`` relays signals to a thread, ``engine.stopsignals``).
        """
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        """Load, then loop until stopped; flushes state and stops helpers on the way out."""
        now = self.clock.now()
        self.store.set_meta("watcher_id", self.id, now)
        self._start_observer()  # first, so no edit made during start-up goes unseen
        self.gate.load()
        with contextlib.suppress(redis.RedisError):
            self.gate.refresh_pauses(now, force=True)
        if self.renewal is not None:
            self.renewal.start()
        with self._busy():
            self._startup(now)
        apply_rewind(self.store, self.conn, results_group(self.options.data_dir), now)
        self.results.start()
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

    def _startup(self, now: datetime) -> None:
        # No job state stored (a fresh data dir): every job is scheduled from now.
        ahead = not self.store.has_job_states()
        with paused_gc():
            # Every job's instant set, the due queue ordered once (see DueQueue.unordered).
            with self.due.unordered():
                with self.store.batch():
                    self.reload.load_all(now, ahead=ahead)
                # The lease only once the files are read (the long part at scale): taken
                # before, it could lapse before the first turn renews it, and the start
                # would begin with a lost lease (and a needless takeover by a standby).
                leading = self.handover.lead_at_start(now)
                self._start_jobs(now, leading=leading, ahead=ahead)
            # What start-up built lives as long as the watcher: out of the collector's
            # sight, so its passes (and the idle CPU they cost) scale with what changes, not
            # with the jobs. Frozen before the collector is back on, or its first automatic
            # pass walks everything built here once more (0.13 s at 100,000 jobs). No
            # collection first: it walked those objects once (0.22 s at 100,000 jobs) and
            # found no garbage to keep out of the freeze (start-up makes no cycles).
            gc.freeze()
        if self.config.cache_fresh:
            return
        snapshot = self.config.cache_snapshot()
        self._cache_saver = threading.Thread(
            target=self._save_cache, args=(snapshot,), name="job-cache", daemon=True
        )
        self._cache_saver.start()

    def _save_cache(self, snapshot: list[str]) -> None:
        started = time.monotonic()
        self.config.save_cache(snapshot)
        log.info("config.cache_saved", files=len(snapshot), s=round(time.monotonic() - started, 2))

    def _start_jobs(self, now: datetime, *, leading: bool, ahead: bool) -> None:
        with self.store.batch():  # one transaction for every job's state
            if leading:
                # The stored states read once, for the handover and the scheduler, in one
                # pass by name (see startstate.stored_states); sharing the loaded jobs'
                # strings, as they are held beside them.
                stored = stored_states(self.store, self.config.jobs, none=ahead)
                paired = self.handover.resume_stored(stored, now)
                self.scheduler.start_jobs(now, stored=paired, ahead=ahead)
            else:
                # A standby resumes nothing now: the leader dispatches, and it resumes at
                # takeover, from the leader's points, which its due queue starts from.
                points = self.handover.standby_points()
                self.scheduler.start_jobs(now, standby=True, since=points, ahead=ahead)
            self.reload.log_generation()

    def _shutdown(self) -> None:
        if self._cache_saver is not None:  # stopped right after start: let the cache be
            self._cache_saver.join(timeout=CACHE_SAVE_WAIT)
        if self.renewal is not None:
            self.renewal.stop()
        if self.options.leader is not None:
            self.options.leader.release()  # a standby takes over now, not in a lease's time
        if self._observer is not None:
            self._observer.stop()
        self.results.join(timeout=3)
        if self._observer is not None:
            self._observer.join(timeout=3)
        if self.options.on_stopping is not None:
            self.options.on_stopping()
        # Every result a stopped worker sent is applied now: close what it never finished.
        self.results.finish()
        self._save_heartbeat(force=True, state="stopped")
        self.gate.close()
        log.info("watcher.stopped", watcher=self.id)

    # -- the loop --------------------------------------------------------------------

    def _busy(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext() if self.renewal is None else self.renewal.busy()

    def _turn(self) -> None:
        with self._busy():
            delay = self._work()
        if delay > 0:
            self._wake.wait(delay)
        self._wake.clear()

    def _work(self) -> float:
        """One turn's work; returns how long the loop may sleep after it (seconds)."""
        leader = self.options.leader
        if leader is None or leader.is_leader:  # the runs staged for now first, then the rest
            self.scheduler.fire_bursts(self.clock.now(), arm=True)
        self.reload.apply_pending()
        self.results.drain()
        now = self.clock.now()
        leading = self.handover.leading()
        retry_at = self.scheduler.retry_at
        if leading and (retry_at is None or time.monotonic() >= retry_at):
            with contextlib.suppress(redis.RedisError):  # dispatch reports Redis' failures
                self.gate.refresh_pauses(now)
            self.scheduler.release_waiting(now)
            self.scheduler.dispatch_due(now)
        self._save_heartbeat()
        mono = time.monotonic()
        # Put off while a run is due soon, but never by more than one period (jobs every
        # second would otherwise put it off for ever).
        overdue = mono >= self._next_reconcile + RECONCILE_EVERY
        if mono >= self._next_reconcile and (overdue or not self._instant_near(now)):
            self._next_reconcile = time.monotonic() + RECONCILE_EVERY
            self.results.reconcile(now, min_age=RECONCILE_MIN_AGE)
        staging = leading and self.scheduler.prepare_soon(self.clock.now())
        nxt = self.due.peek()
        delay = 0.0 if staging else MAX_SLEEP  # more to stage: turn again at once
        if nxt is not None:
            until = (self.scheduler.wake_at(nxt.instant) - self.clock.now()).total_seconds()
            # Wake once ahead of the instant to serialise its runs, then for the instant.
            ahead = until - PREPARE_AHEAD.total_seconds()
            delay = min(delay, ahead if ahead > 0 else max(0.0, until))
        retry_at = self.scheduler.retry_at
        if retry_at is not None:
            delay = min(delay, max(0.0, retry_at - time.monotonic()))
        if self.options.leader is not None:  # renew in time; a standby ignores due instants
            poll = self.options.leader.poll_s
            delay = min(delay, poll) if leading else min(MAX_SLEEP, poll)
        if delay > 0 and not self._wake.is_set():
            delay -= self.pruner.step(delay)  # idle time only: never near a due instant
        return delay

    def _instant_near(self, now: datetime) -> bool:
        """A run is due within ``RECONCILE_CLEARANCE``: the loop stays free for it (asking
        RQ about the last burst's runs took tens of ms, right before the next burst)."""
        nxt = self.due.peek()
        return nxt is not None and nxt.instant - now < RECONCILE_CLEARANCE

    def _rq_options(self, name: str) -> RqOptions:
        job = self.config.jobs.get(name)
        return RqOptions() if job is None else rq_options(job)

    # -- files -----------------------------------------------------------------------

    def _start_observer(self) -> None:
        self.options.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._observer = start_observer(self.options.jobs_dir, self._paths, self._wake, self.clock)

    # -- heartbeat -------------------------------------------------------------------

    def _save_heartbeat(self, *, force: bool = False, state: str = "running") -> None:
        mono = time.monotonic()
        if not force and mono - self._last_beat < HEARTBEAT_EVERY:
            return
        self._last_beat = mono
        now = self.clock.now()
        self.store.set_meta("heartbeat", f"{state} {self.id}", now)
        if self.record_health is not None:
            self.record_health.check()
        self.handover.save_role(now)
        with contextlib.suppress(redis.RedisError):  # `health` reads the SQLite heartbeat
            self.conn.set(HEARTBEAT_KEY + self.id, iso_utc(now), ex=HEARTBEAT_TTL)
