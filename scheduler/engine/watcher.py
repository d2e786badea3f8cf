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

from scheduler.config.liveconfig import LiveConfig
from scheduler.core.catchup import DEFAULT_GRACE, Resume, late_beyond, resume, step
from scheduler.core.clock import Clock
from scheduler.core.duequeue import DueQueue
from scheduler.core.job import LoadedJob
from scheduler.core.policies import Reason
from scheduler.core.runs import RunEvent, RunRequest, RunTrigger, iso_utc, run_id
from scheduler.engine.dispatch import Dispatcher, RqOptions
from scheduler.engine.filewatch import start_observer
from scheduler.engine.gate import Gate, rq_options
from scheduler.engine.leader import LeaderElector
from scheduler.engine.reload import ReloadMixin
from scheduler.engine.results import ResultsMixin
from scheduler.store import Store
from scheduler.worker.events import EventReader

log = structlog.get_logger("scheduler.watcher")

#: Longest sleep between loop turns (bounds the cost of a wall-clock jump).
MAX_SLEEP = 1.0
HEARTBEAT_EVERY = 2.0
HEARTBEAT_KEY = "scheduler:heartbeat:"
HEARTBEAT_TTL = 30
#: Runs dispatched per Redis pipeline.
BATCH = 2000
#: How often unfinished runs are looked up in RQ, and how old (since enqueued or started)
#: they must be, so that a result still on its way is not overtaken.
RECONCILE_EVERY = 5.0
RECONCILE_MIN_AGE = timedelta(seconds=10)
_TINY = timedelta(microseconds=1)
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
    #: High availability: dispatch only while this elector holds the lease (None: always).
    leader: LeaderElector | None = None


class Watcher(ReloadMixin, ResultsMixin):
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
        leader = options.leader
        self.dispatcher = Dispatcher(
            conn,
            owner=self.id,
            fence=None if leader is None else lambda: leader.token,
            options=self._rq_options,
        )
        self.gate = Gate(store=store, conn=conn, watcher=self.id)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._paths: queue.SimpleQueue[tuple[Path | None, datetime]] = queue.SimpleQueue()
        self._last: dict[str, datetime] = {}  # job -> last instant dispatched or accounted for
        # Jobs whose _last changed since the leader last published them (handover.py): the
        # heartbeat then looks at those, not at every job (100,000 of them cost 2% CPU idle).
        self._moved: set[str] = set()
        self._canary: dict[str, int] = {}  # job -> canary runs left (dry_run forced)
        self._removed: dict[str, tuple[datetime, datetime]] = {}  # see reload.RESTORE_WITHIN
        self._prepared: dict[tuple[str, datetime], tuple[LoadedJob, RunRequest]] = {}
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
        self.gate.load()
        with contextlib.suppress(redis.RedisError):
            self.gate.refresh_pauses(now, force=True)
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
        if self.options.leader is not None:
            self.options.leader.release()  # a standby takes over now, not in a lease's time
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
        self.gate.close()
        log.info("watcher.stopped", watcher=self.id)

    # -- the loop --------------------------------------------------------------------

    def _turn(self) -> None:
        from scheduler.engine import handover

        self._reload_requested()
        self._drain_events()
        now = self.clock.now()
        leading = handover.leading(self)
        if leading and (self._redis_ok or time.monotonic() >= self._retry_at):
            with contextlib.suppress(redis.RedisError):  # dispatch reports Redis' failures
                self.gate.refresh_pauses(now)
            self._release_waiting(now)
            self._dispatch_due(now)
        self._save_heartbeat()
        if time.monotonic() >= self._next_reconcile:
            self._next_reconcile = time.monotonic() + RECONCILE_EVERY
            self._reconcile(now, min_age=RECONCILE_MIN_AGE)
        if leading:
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
        if self.options.leader is not None:  # renew in time; a standby ignores due instants
            poll = self.options.leader.poll_s
            delay = min(delay, poll) if leading else min(MAX_SLEEP, poll)
        if delay > 0:
            self._wake.wait(delay)
        self._wake.clear()

    def _prepare_soon(self, now: datetime) -> None:
        nxt = self.due.peek()
        if nxt is None or nxt.instant - now > PREPARE_AHEAD:
            return
        soon = self.due.upcoming(now + PREPARE_AHEAD, limit=BATCH)
        requests = []
        if len(self._prepared) > 2 * BATCH:  # left by runs that never fell due (edits)
            self._prepared.clear()
        for run in soon:
            job = self.config.jobs.get(run.job)
            if job is not None and job.spec.enabled:
                request = self._request(job, run.instant, RunTrigger.schedule)
                self._prepared[(job.name, run.instant)] = (job, request)
                requests.append(request)
        # Preparing asks Redis its version once; if Redis is down, dispatch reports it.
        with contextlib.suppress(redis.RedisError):
            self.dispatcher.prepare(requests)

    def _dispatch_due(self, now: datetime) -> None:
        while True:
            due = self.due.pop_due(now, limit=BATCH)
            if not due:
                return
            jobs = [(run, self.config.jobs.get(run.job)) for run in due]
            live = [(run, job) for run, job in jobs if job is not None and job.spec.enabled]
            # A run put back while Redis was down, and now far behind, is a misfire: the
            # job's misfire rule settles it with the others it missed (in _advance).
            late = [self._misfired(job, run.instant, now) for run, job in live]
            sent = [pair for pair, far in zip(live, late, strict=True) if not far]
            stale = [pair for pair, far in zip(live, late, strict=True) if far]
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
                for run, job in stale:
                    follow_up += self._advance(job, run.instant - _TINY, now)
                if follow_up and not self._send(follow_up):
                    self._put_back(follow_up)

    def _put_back(self, unsent: list[RunRequest]) -> None:
        """Redis is down: each job's earliest unsent instant goes back on the due queue.

        When Redis is back it and the instants after it are settled again (run_all's several
        catch-ups included), so none is lost.
        """
        earliest: dict[str, datetime] = {}
        for request in unsent:
            instant = datetime.fromisoformat(request.scheduled_for)
            earliest[request.job] = min(instant, earliest.get(request.job, instant))
        for name, instant in earliest.items():
            self.due.set(name, min(instant, self.due.get(name) or instant))

    def _misfired(self, job: LoadedJob, instant: datetime, now: datetime) -> bool:
        """True when a due run is later than the on-time tolerance (or the job's grace)."""
        return late_beyond(job.misfire, instant, now, self.options.grace)

    def _advance(self, job: LoadedJob, instant: datetime, now: datetime) -> list[RunRequest]:
        """Set the job's next instant after ``instant``; runs it fell far behind on come back.

        A next instant that is already past but within the grace goes back on the due queue
        and out at once, as an ordinary late run. Anything older is treated like downtime,
        by the job's misfire rule: catch-ups (returned, to send now), the rest recorded missed.
        """
        last = instant
        nxt, plan = step(job.schedule, job.misfire, instant, now, tolerance=self.options.grace)
        extra: list[RunRequest] = []
        if plan is not None:
            extra = [self._request(job, t, RunTrigger.schedule) for t in plan.late]
            extra += [self._request(job, t, RunTrigger.catch_up) for t in plan.catch_ups]
            self._record_missed(job, plan, Reason.behind, "watcher fell behind")
            last = max([instant, *plan.dispatched])
        self.due.set(job.name, nxt)
        self._save_state(job, nxt, last=last)
        return extra

    def _request(self, job: LoadedJob, instant: datetime, trigger: RunTrigger) -> RunRequest:
        """The run of ``job`` at ``instant``; a canary run while the job has some left.

        A scheduled run built ahead (``_prepare_soon``) is reused when its job and canary
        state are unchanged: at a burst's instant every microsecond per run counts.
        """
        canary = self._canary.get(job.name, 0) > 0
        if trigger is RunTrigger.schedule:
            built = self._prepared.pop((job.name, instant), None)
            if built is not None and built[0] is job and built[1].canary == canary:
                return built[1]
        return job.run_request(instant, trigger, canary=canary)

    def _send(self, requests: list[RunRequest]) -> bool:
        if not requests:
            return True
        try:
            # Pauses and overlap: the runs not admitted are recorded (skipped, waiting).
            requests = self.gate.admit(requests, self.config.jobs, self.clock.now())
            outcomes = self.dispatcher.enqueue(requests, self.clock.now())
        except redis.RedisError as exc:
            self._redis_failed(exc)
            return False
        self._redis_recovered()
        if any(o.fenced for o in outcomes):
            from scheduler.engine import handover

            outcomes = handover.drop_fenced(self, outcomes)
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
                reason=None if outcome.enqueued else str(Reason.deduplicated),
                canary=req.canary,
            )
            self.gate.sent(req)
            if req.canary and self._canary.get(req.job, 0) > 0:
                self._canary[req.job] -= 1
            if outcome.enqueued:
                bound.info("run.enqueued", trigger=str(req.trigger), queue=req.queue)
            else:
                bound.info("run.deduplicated", trigger=str(req.trigger))
        return True

    def _rq_options(self, name: str) -> RqOptions:
        job = self.config.jobs.get(name)
        return RqOptions() if job is None else rq_options(job.spec)

    def _release_waiting(self, now: datetime) -> None:
        """Send the runs queue_one held back whose earlier run has ended."""
        for run in self.gate.releasable():
            job = self.config.jobs.get(run.job)
            if job is None or not job.spec.enabled:
                self.gate.drop_waiting(run, Reason.overlap, "its job was removed or disabled", now)
                continue
            if run.job in self.gate.paused:
                self.gate.drop_waiting(
                    run, Reason.paused, "its job was paused while it waited", now
                )
                continue
            request = self._request(job, run.scheduled_for, run.trigger)
            try:
                outcomes = self.dispatcher.enqueue([request], now)
            except redis.RedisError as exc:
                self._redis_failed(exc)
                return
            if outcomes and not outcomes[0].fenced:
                self.gate.released(run.job, run, now)

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

    def _startup(self, now: datetime) -> None:
        from scheduler.engine import handover

        leading = handover.lead_at_start(self, now)
        with self.store.batch():  # one transaction for every job's state
            self._start_jobs(now, standby=not leading)
            if not leading:
                handover.standby_points(self)

    def _start_jobs(self, now: datetime, *, standby: bool = False) -> None:
        for change in self.config.rescan(now):
            self._log_rejected(change)
        self._carry_renames(list(self.config.jobs.values()))
        # A standby resumes nothing now: the leader dispatches, and it resumes at takeover.
        states = {} if standby else self.store.job_states()
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
                rule = job.misfire
                plan = resume(
                    job.schedule, state.last_scheduled, now, grace=timedelta(0), rule=rule
                )
                self._record_missed(job, plan, Reason.downtime, "watcher was down")
                # An instant due exactly now is on time (and takes the catch-up's place).
                resumed += [(job, t, RunTrigger.schedule, plan.next_run) for t in plan.late]
                resumed += [(job, t, RunTrigger.catch_up, plan.next_run) for t in plan.catch_ups]
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
            self._put_back(requests)
        self._log_generation()

    def _schedule_from(self, job: LoadedJob, since: datetime) -> None:
        """Schedule ``job`` from ``since``: its instants after that are due (late if past)."""
        nxt = job.schedule.next_after(since) if job.spec.enabled else None
        self.due.set(job.name, nxt)
        self._save_state(job, nxt, last=since)

    def _save_state(self, job: LoadedJob, nxt: datetime | None, *, last: datetime) -> None:
        self._last[job.name] = last
        self._moved.add(job.name)
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

    def _record_missed(self, job: LoadedJob, plan: Resume, reason: Reason, why: str) -> None:
        """Record the instants ``plan`` does not run, each with its reason (the ledger)."""
        recorded = 0
        for instants, cause in (
            (plan.stale, Reason.grace),
            (plan.over_max, Reason.max_catchup),
            (plan.missed, reason),
        ):
            for instant in instants:
                self.store.record_missed(
                    job=job.name,
                    scheduled_for=instant,
                    run_id=run_id(job.name, instant),
                    note=why,
                    reason=str(cause),
                )
            recorded += len(instants)
        if plan.missed_total:
            first = min([*plan.stale, *plan.over_max, *plan.missed], default=None)
            log.warning(
                "run.missed",
                job=job.name,
                count=plan.missed_total,
                recorded=recorded,
                reason=why,
                policy=str(job.spec.misfire.policy),
                stale=len(plan.stale),
                first=_iso(first),
            )

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
        if self.options.leader is not None:
            from scheduler.engine import handover

            handover.save_role(self, now)
        with contextlib.suppress(redis.RedisError):  # `health` reads the SQLite heartbeat
            self.conn.set(HEARTBEAT_KEY + self.id, iso_utc(now), ex=HEARTBEAT_TTL)


def _group_for(data_dir: Path) -> str:
    # One consumer group per data directory: each store sees every result event once.
    import hashlib

    return "store-" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else iso_utc(instant)
