"""The watcher's dispatch half: from a job's next instant to its run recorded as enqueued.

The loop hands the scheduler the current time; the bursts staged ahead (``engine.bursts``)
go out first, then it pops the runs due, lets the gate admit the others (pauses, overlap),
enqueues them, records each in SQLite and logs it, and sets each job's next instant. A
job far behind is settled by its misfire rule (``core.catchup``: catch-ups to send, the
rest recorded missed). While Redis is down the runs go back on the due queue and out once
it answers. Its records (``engine.recorder``) are ledger entries (``engine.ledger``),
published in one round trip once the runs are visible, for the other watchers' records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import redis

from scheduler.config.liveconfig import LiveConfig
from scheduler.core.admission import Active
from scheduler.core.catchup import late_beyond, resume, step
from scheduler.core.clock import Clock
from scheduler.core.duequeue import DueQueue
from scheduler.core.job import LoadedJob
from scheduler.core.policies import Reason
from scheduler.core.runs import RunRequest, RunTrigger
from scheduler.engine.bursts import Bursts
from scheduler.engine.dispatch import Dispatched, Dispatcher
from scheduler.engine.gate import Gate
from scheduler.engine.ledger import Ledger
from scheduler.engine.progress import Progress
from scheduler.engine.recorder import RunRecorder
from scheduler.engine.redishealth import RedisHealth
from scheduler.engine.startstate import FreshRows, row_stands, still_ahead, stored_states
from scheduler.store import JobState, StateRow, Store

#: Runs dispatched per Redis pipeline.
BATCH = 2000
_TINY = timedelta(microseconds=1)


class Scheduler:
    """Sends the runs that fall due and keeps each job's next instant on the due queue.

    ``grace`` is the on-time tolerance: a run at most that late goes out as an ordinary
    run. ``fenced`` takes the dispatch outcomes and returns those that are this watcher's
    to record (it drops the runs Redis refused because another watcher leads).
    """

    def __init__(
        self,
        *,
        store: Store,
        config: LiveConfig,
        due: DueQueue,
        clock: Clock,
        progress: Progress,
        gate: Gate,
        dispatcher: Dispatcher,
        grace: timedelta,
        fenced: Callable[[Sequence[Dispatched]], list[Dispatched]],
        ledger: Ledger,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._config = config
        self._due = due
        self._clock = clock
        self._progress = progress
        self._gate = gate
        self._dispatcher = dispatcher
        self._grace = grace
        self._bursts = Bursts(
            config=config,
            due=due,
            clock=clock,
            progress=progress,
            gate=gate,
            dispatcher=dispatcher,
            grace=grace,
        )
        self._recorder = RunRecorder(
            ledger=ledger, gate=gate, progress=progress, clock=clock, fenced=fenced
        )
        self._fired: dict[tuple[str, datetime], Dispatched] = {}
        self._health = RedisHealth()

    @property
    def retry_at(self) -> float | None:
        """When (``time.monotonic()`` seconds) to try Redis again; None while it answers."""
        return self._health.retry_at

    # -- the loop's steps ------------------------------------------------------------
    def wake_at(self, instant: datetime) -> datetime:
        """When the loop should wake for a run due at ``instant`` (``Bursts.wake_at``)."""
        return self._bursts.wake_at(instant)

    def prepare_soon(self, now: datetime) -> bool:
        """Stage the runs due soon (``Bursts.prepare``); True when some are left to stage."""
        return self._bursts.prepare(now)

    def dispatch_due(self, now: datetime) -> None:
        """Send every run due at ``now`` (in batches), then set each job's next instant.

        The bursts staged for the instants reached go out first (``Bursts.fire``); the
        runs withdrawn from them and any not staged then go the ordinary way."""
        self.fire_bursts(now)
        fired, self._fired = self._fired, {}
        while True:
            due = self._due.pop_due(now, limit=BATCH)
            if not due:
                break
            jobs = [(run, self._config.jobs.get(run.job)) for run in due]
            live = [(run, job) for run, job in jobs if job is not None and job.enabled]
            # A run put back while Redis was down, and now far behind, is a misfire: the
            # job's misfire rule settles it with the others it missed (in advance).
            late = [late_beyond(job.misfire, run.instant, now, self._grace) for run, job in live]
            sent = [pair for pair, far in zip(live, late, strict=True) if not far]
            stale = [pair for pair, far in zip(live, late, strict=True) if far]
            early = [fired.pop((job.name, run.instant), None) for run, job in sent]
            # Send first (payloads were prepared ahead), then work out what comes next:
            # the runs' visibility in the queue waits for nothing else.
            requests = [
                self._request(job, run.instant, RunTrigger.schedule)
                for (run, job), done in zip(sent, early, strict=True)
                if done is None
            ]
            with self._store.batch():
                self._recorder.sent([done for done in early if done is not None])
                ok = self.send(requests)
                follow_up: list[RunRequest] = []
                for (run, job), done in zip(sent, early, strict=True):
                    if ok or done is not None:
                        self._bursts.forget(job.name, run.instant)
                        follow_up += self.advance(job, run.instant, now)
                fired_now = {run.job for (run, _), done in zip(sent, early, strict=True) if done}
                for run in () if ok else due:  # the runs not sent: out late, once Redis answers
                    if run.job not in fired_now:
                        self._due.set(run.job, run.instant)
                for run, job in stale if ok else ():
                    follow_up += self.advance(job, run.instant - _TINY, now)
                if follow_up and not (ok and self.send(follow_up)):
                    self._put_back(follow_up)
                # Published before the rows commit: a watcher killed in between finds its
                # entries on the stream when it comes back.
                self._ledger.flush()
            if not ok:
                break
        if fired:  # visible in Redis, so recorded, though their jobs moved meanwhile
            with self._store.batch():  # committed after the flush, as above
                self._recorder.sent(list(fired.values()))
                self._ledger.flush()

    def fire_bursts(self, now: datetime, *, arm: bool = False) -> None:
        """Claim the bursts staged for instants up to ``now`` (with ``arm``, or about to be
        reached: ``Bursts.fire``); ``dispatch_due`` records them."""
        try:
            fired = self._bursts.fire(now, arm=arm)
        except redis.RedisError as exc:
            self._health.failed(exc)
            return
        if fired:
            self._health.recovered()
            self._fired.update(fired)

    def release_waiting(self, now: datetime) -> None:
        """Send the runs queue_one held back whose earlier run has ended."""
        waiting = self._gate.releasable()
        if not waiting:  # every turn: no empty transaction
            self._ledger.flush()
            return
        # One transaction, its rows committed after the flush publishes their entries.
        with self._store.batch():
            for run in waiting:
                if not self._release(run, now):
                    return  # Redis failed: the entries go with a later flush
            self._ledger.flush()

    def _release(self, run: Active, now: datetime) -> bool:
        """Send or drop one waiting run; False if Redis failed (the rest wait)."""
        job = self._config.jobs.get(run.job)
        if job is None or not job.enabled:
            self._gate.drop_waiting(run, Reason.overlap, "its job was removed or disabled", now)
            return True
        if run.job in self._gate.paused:
            self._gate.drop_waiting(run, Reason.paused, "its job was paused while it waited", now)
            return True
        request = self._request(job, run.scheduled_for, run.trigger)
        try:
            outcomes = self._dispatcher.enqueue([request], now)
        except redis.RedisError as exc:
            self._health.failed(exc)
            return False
        if outcomes and not outcomes[0].fenced:
            self._gate.released(run.job, run, now)
        return True

    def send(self, requests: list[RunRequest]) -> bool:
        """Admit, enqueue and record ``requests``; False (nothing recorded) if Redis failed."""
        if not requests:
            return True
        try:
            # Pauses and overlap: the runs not admitted are recorded (skipped, waiting).
            requests = self._gate.admit(requests, self._config.jobs, self._clock.now())
            outcomes = self._dispatcher.enqueue(requests, self._clock.now())
        except redis.RedisError as exc:
            self._health.failed(exc)
            return False
        self._health.recovered()
        self._recorder.sent(outcomes)
        return True

    # -- each job's next instant -----------------------------------------------------

    def start_jobs(
        self,
        now: datetime,
        *,
        standby: bool = False,
        since: Mapping[str, datetime] | None = None,
        stored: Iterable[tuple[LoadedJob, JobState | None]] | None = None,
        ahead: bool = False,
    ) -> None:
        """Put every loaded job on schedule at start-up, from its stored state if any.

        A job whose definition is unchanged since the watcher stopped accounts for what
        passed meanwhile (its misfire rule: catch-ups sent now, the rest recorded missed);
        any other is scheduled from ``since[job]`` where given, else from ``now``. A standby
        resumes nothing: the leader dispatches, and it resumes at takeover. ``stored``: each
        loaded job with its stored state, once each (else they are read here, by name; see
        ``startstate.stored_states``). ``ahead``: the jobs on the due queue were put there
        from ``now`` (``Reload.load_all``).
        """
        since = since or {}
        jobs = self._config.jobs
        if standby:
            stored = ((job, None) for job in jobs.values())
        elif stored is None:
            stored = ((j, s) for _, j, s in stored_states(self._store, jobs) if j is not None)
        # (job, the instant to send now, its trigger, the job's next instant)
        resumed: list[tuple[LoadedJob, datetime, RunTrigger, datetime | None]] = []
        fresh = FreshRows(self._store, self._clock)  # every job of a cold start
        for job, state in stored:
            same = state is not None and state.definition_hash == job.definition_hash
            self._progress.set_canary(job.name, state.canary_left if same and state else job.canary)
            if same and state is not None and still_ahead(state, now) and job.enabled:
                # Nothing fell due while it was down: its saved next instant stands (computed
                # from the same definition). At 100,000 jobs working it out again is most
                # of a restart.
                assert state.next_run is not None
                assert state.last_scheduled is not None
                self._due.set(job.name, state.next_run)
                # Its row is not rewritten as it is: 100,000 writes were a third of a restart.
                if row_stands(state, job):
                    self._progress.set_last(job.name, state.last_scheduled)
                else:
                    self._save_state(job, state.next_run, last=state.last_scheduled)
            elif (
                state is not None
                and state.last_scheduled is not None
                and state.definition_hash == job.definition_hash
                and job.enabled
            ):
                # Same definition as before the restart: account for what passed meanwhile.
                rule = job.misfire
                plan = resume(
                    job.schedule, state.last_scheduled, now, grace=timedelta(0), rule=rule
                )
                self._recorder.missed(job, plan, Reason.downtime, "watcher was down")
                # An instant due exactly now is on time (and takes the catch-up's place).
                resumed += [(job, t, RunTrigger.schedule, plan.next_run) for t in plan.late]
                resumed += [(job, t, RunTrigger.catch_up, plan.next_run) for t in plan.catch_ups]
                self._due.set(job.name, plan.next_run)
                self._save_state(job, plan.next_run, last=state.last_scheduled)
            else:
                start = since.get(job.name, now)
                known = ahead and start is now and job.name in self._due
                fresh.add(self._scheduled_from(job, start, known=known))
        fresh.flush()
        requests = [self._request(job, t, trigger) for job, t, trigger, _ in resumed]
        if self.send(requests):
            for job, instant, _, nxt in resumed:
                self._save_state(job, nxt, last=instant)
        else:
            self._put_back(requests)
        self._ledger.flush()

    def schedule_from(self, job: LoadedJob, since: datetime) -> None:
        """Schedule ``job`` from ``since``: its instants after that are due (late if past)."""
        self._store.save_job_states(
            [self._scheduled_from(job, since)], updated_at=self._clock.now()
        )

    def _scheduled_from(self, job: LoadedJob, since: datetime, *, known: bool = False) -> StateRow:
        """``schedule_from``, its state row returned for the caller to write (``known``: the
        due queue holds its next instant after ``since`` already)."""
        if known:
            nxt = self._due.get(job.name)
        else:
            nxt = job.schedule.next_after(since) if job.enabled else None
            self._due.set(job.name, nxt)
        self._progress.set_last(job.name, since)
        canary = self._progress.canary_left(job.name)
        return (job.name, since, nxt, job.definition_hash, job.file, job.enabled, canary)

    def advance(self, job: LoadedJob, instant: datetime, now: datetime) -> list[RunRequest]:
        """Set the job's next instant after ``instant``; runs it fell far behind on come back.

        A next instant that is already past but within the grace goes back on the due queue
        and out at once, as an ordinary late run. Anything older is treated like downtime,
        by the job's misfire rule: catch-ups (returned, to send now), the rest recorded missed.
        """
        last = instant
        nxt, plan = step(job.schedule, job.misfire, instant, now, tolerance=self._grace)
        extra: list[RunRequest] = []
        if plan is not None:
            extra = [self._request(job, t, RunTrigger.schedule) for t in plan.late]
            extra += [self._request(job, t, RunTrigger.catch_up) for t in plan.catch_ups]
            self._recorder.missed(job, plan, Reason.behind, "watcher fell behind")
            last = max([instant, *plan.dispatched])
        self._due.set(job.name, nxt)
        self._save_state(job, nxt, last=last)
        return extra

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
            self._due.set(name, min(instant, self._due.get(name) or instant))

    def _request(self, job: LoadedJob, instant: datetime, trigger: RunTrigger) -> RunRequest:
        """The run of ``job`` at ``instant``; a canary run while the job has some left.

        A scheduled run built ahead (``prepare_soon``) is reused when its job and canary
        state are unchanged: at a burst's instant every microsecond per run counts.
        """
        canary = self._progress.canary_left(job.name) > 0
        built = self._bursts.take(job, instant, canary) if trigger is RunTrigger.schedule else None
        return built or job.run_request(instant, trigger, canary=canary)

    def _save_state(self, job: LoadedJob, nxt: datetime | None, *, last: datetime) -> None:
        self._progress.set_last(job.name, last)
        self._store.save_job_state(
            job=job.name,
            last_scheduled=last,
            next_run=nxt,
            definition_hash=job.definition_hash,
            source_file=job.file,
            enabled=job.enabled,
            updated_at=self._clock.now(),
            canary_left=self._progress.canary_left(job.name),
        )
