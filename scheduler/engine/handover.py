"""The watcher's side of high availability: what it does when it gains or loses the lease.

The watcher asks its ``Handover`` at start-up and on each turn whether it leads; the lease
itself is ``scheduler.engine.leader``, and this module decides where dispatching resumes.

The resume point of a job is the later of two instants: the shared one in Redis (the
latest scheduled instant any leader dispatched, written by the dispatch script in the
same step as the run) and this watcher's own (its last dispatch, or when it loaded the
job's current definition). Each watcher may have its own SQLite file, so the shared point
is what lets a standby continue exactly where a dead leader stopped: instants after it
are dispatched (late, within the grace) or accounted for as missed, never skipped silently;
instants before it are never sent again (and the run id would deduplicate them anyway).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

import redis
import structlog

from scheduler.config.liveconfig import LiveConfig
from scheduler.core.clock import Clock
from scheduler.core.duequeue import DueQueue
from scheduler.core.job import LoadedJob
from scheduler.core.runs import EventKind, RunEvent, RunRequest, RunTrigger
from scheduler.engine.dispatch import Dispatched
from scheduler.engine.leader import LAST_DISPATCHED_KEY, LEASE_KEY, LeaderElector
from scheduler.engine.points import points_of, shared_last_dispatched
from scheduler.engine.progress import Progress
from scheduler.engine.startstate import Paired
from scheduler.store import JobState, Store

log = structlog.get_logger("scheduler.handover")

#: The ledger entries that settle a scheduled instant (see ``Handover.mirror``).
_ACCOUNTED = frozenset({EventKind.enqueued, EventKind.waiting, EventKind.skipped, EventKind.missed})

#: The SQLite meta key where the watcher records its role and the leader it sees.
ROLE_META = "leadership"

# Raises the shared points to what the leader accounted for without dispatching (instants
# recorded skipped or missed), only while the given token holds the lease: a deposed leader's
# bookkeeping must not move them.
_RAISE_POINTS = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
    return -2
end
for i = 2, #ARGV, 2 do
    local last = redis.call('HGET', KEYS[1], ARGV[i])
    if not last or tonumber(ARGV[i + 1]) > tonumber(last) then
        redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    end
end
return 1
"""


def drop_fenced(
    outcomes: Sequence[Dispatched], *, leader: LeaderElector | None, watcher: str
) -> list[Dispatched]:
    """Runs Redis refused because another watcher holds the lease: not ours to record.

    Each is logged (``run.fenced``) and ``leader`` learns it lost the lease.
    """
    fenced = [o for o in outcomes if o.fenced]
    for outcome in fenced:
        req = outcome.request
        log.warning(
            "run.fenced",
            job=req.job,
            run_id=req.run_id,
            scheduled_for=req.scheduled_for,
            watcher=watcher,
        )
    if leader is not None:
        leader.lost("dispatch_fenced")
    return [o for o in outcomes if not o.fenced]


class Handover:
    """What one watcher does as it gains, holds or lacks the lease of ``leader``.

    With ``leader`` None it always leads and does nothing else. ``advance(job, instant,
    now)`` sets a job's next instant after ``instant`` and returns the runs to send now;
    ``send(requests)`` sends them (both the scheduler's); ``flush()`` publishes the ledger
    entries recorded meanwhile.
    """

    def __init__(
        self,
        *,
        leader: LeaderElector | None,
        watcher: str,
        store: Store,
        conn: redis.Redis,
        config: LiveConfig,
        due: DueQueue,
        clock: Clock,
        progress: Progress,
        advance: Callable[[LoadedJob, datetime, datetime], list[RunRequest]],
        send: Callable[[list[RunRequest]], bool],
        flush: Callable[[], None] = lambda: None,
    ) -> None:
        self._leader = leader
        self._watcher = watcher
        self._store = store
        self._conn = conn
        # Sent as EVALSHA, the text only again after a NOSCRIPT (Redis restarted, SCRIPT
        # FLUSH), as the lease's and the dispatch's scripts are.
        self._raise = conn.register_script(_RAISE_POINTS)
        self._config = config
        self._due = due
        self._clock = clock
        self._progress = progress
        self._advance = advance
        self._send = send
        self._flush = flush
        # Led from the start with jobs its records never held: the jobs they knew then (see
        # lead_at_start).
        self._known_at_start: set[str] | None = None

    def leading(self) -> bool:
        """Tick the elector; on becoming leader, resume every job. True while leading."""
        elector = self._leader
        if elector is None:
            return True
        if elector.tick():
            self.take_over(self._clock.now())
        known, self._known_at_start = self._known_at_start, None
        if known is not None and elector.is_leader:
            self._resume_unrecorded(known, self._clock.now())
        return elector.is_leader

    def lead_at_start(self, now: datetime) -> bool:
        """First try for the lease. Without HA it is always the leader; a standby loads its
        jobs and waits (see ``standby_points``), and a leader brings its records up to the
        shared points as it reads them (``resume_stored``)."""
        elector = self._leader
        if elector is None:
            return True
        elector.tick()
        return elector.is_leader

    def resume_stored(
        self, stored: Iterable[Paired], now: datetime
    ) -> Iterator[tuple[LoadedJob, JobState | None]]:
        """The loaded jobs of ``stored`` (``startstate.stored_states``) with their states,
        each raised to its shared point where that is later: this watcher leads from the
        start.

        The ordinary restart path resumes from the records; where another watcher led
        meanwhile, its dispatches are later than what this file knows. The points are read
        a page of names at a time, as the states are: all of them at once were 11 MB at
        100,000 jobs, held beside the states and the jobs.
        """
        jobs = self._config.jobs
        # The names of the stored states, for the first turn (see leading), only once a
        # loaded job has none: on the usual restart the records know every job, and the
        # first turn has none to look for (asking a set of 100,000 names about 100,000
        # others then took 11 ms, memory-bound). Until then, those of the jobs before it
        # (all stored) and of the rows of no loaded job.
        known: list[str] | None = None
        unloaded: list[str] = []
        page: list[Paired] = []
        shared = self._leader is not None and self._has_shared_points()
        for paired in itertools.chain(stored, [None]):
            if paired is not None:
                page.append(paired)
                if len(page) < _POINTS_PER_CALL:
                    continue
            for name, job, state in self._raised(page, now) if shared else page:
                if job is None:
                    unloaded.append(name)
                    continue
                if state is None and known is None:
                    known = [before for before in jobs if before < name]
                elif state is not None and known is not None:
                    known.append(name)
                yield job, state
            page = []
        if self._leader is not None and known is not None:
            self._known_at_start = {*known, *unloaded}

    def _raised(self, page: list[Paired], now: datetime) -> list[Paired]:
        """``page`` with each state raised to its job's shared point where that is later."""
        with contextlib.suppress(redis.RedisError):  # no point read: the records stand
            names = [name for name, _, state in page if state is not None]
            points = iter(points_of(self._conn, names))
            raised: list[Paired] = []
            for name, job, state in page:
                point = None if state is None else next(points)
                raised.append((name, job, self._raise_state(state, point, job, now)))
            return raised
        return page

    def _raise_state(
        self, state: JobState | None, point: datetime | None, job: LoadedJob | None, now: datetime
    ) -> JobState | None:
        last = None if state is None else state.last_scheduled
        if state is None or last is None or point is None:
            return state
        if point > last:
            self._store.save_job_state(
                job=state.job,
                last_scheduled=point,
                next_run=state.next_run,
                definition_hash=state.definition_hash,
                source_file=state.source_file,
                enabled=state.enabled,
                updated_at=now,
            )
            state = state._replace(last_scheduled=point, updated_at=now, canary_left=0)
            last = point
        if _ms(point) >= _ms(last) and job is not None:
            # Shared already: the start setting it again does not mark it moved, so the
            # first heartbeat neither publishes it nor looks at it (at 100,000 jobs, every
            # point again cost a third of a second after start).
            self._progress.set_known(job.name, last)
        return state

    def _has_shared_points(self) -> bool:
        try:
            return bool(self._conn.exists(LAST_DISPATCHED_KEY))
        except redis.RedisError:
            return False

    def standby_points(self) -> dict[str, datetime]:
        """A standby's resume point for each job the leader dispatched: the shared one.

        The standby schedules each job from it (``Scheduler.start_jobs``), so that its due
        queue holds, for every job, the first instant after the job's point: what a takeover
        would compute, done while standing by instead of while the lease runs.
        """
        shared = self._shared()
        jobs = self._config.jobs
        return {name: point for name, point in shared.items() if name in jobs}

    def take_over(self, now: datetime) -> None:
        """This watcher just became leader: put every job back on schedule from its resume point.

        A job's queued instant is the first after this watcher's own point (set so while it
        stood by, or while it led before): when it is also after the shared point, no instant
        lies between the two and it stands. Only the jobs another leader dispatched past that
        instant are worked out again (with their records): at 100,000 jobs redoing them all
        took about 6 s, close to the lease, with nothing dispatched meanwhile.
        """
        started, cpu = time.perf_counter(), time.process_time()
        shared = self._shared()
        extra: list[RunRequest] = []
        resumed = kept = 0
        progress, due = self._progress, self._due
        with self._store.batch():
            for job in list(self._config.jobs.values()):
                if not job.enabled:
                    continue
                name = job.name
                own = progress.last(name)
                theirs = shared.get(name)
                point = own if theirs is None or (own is not None and own >= theirs) else theirs
                if point is None:
                    continue  # never dispatched and not yet loaded: its next instant is queued
                queued = due.get(name)
                if own is not None and queued is not None and queued > point:
                    if point is not own:
                        progress.set_known(name, point)
                    kept += 1
                    continue
                resumed += 1
                # Same arithmetic as a loop that fell behind: late runs within the grace go out,
                # older ones are caught up once or recorded missed.
                extra += self._advance(job, point, now)
            self._send(extra)
            self._flush()
        log.info(
            "leader.resumed",
            watcher=self._watcher,
            jobs=resumed,
            kept=kept,
            sent_now=len(extra),
            s=round(time.perf_counter() - started, 3),
            cpu_s=round(time.process_time() - cpu, 3),
        )

    def mirror(self, entry: RunEvent) -> None:
        """Another watcher's ledger entry: while standing by, follow the instant it settled.

        The entry says the leader accounted for that instant (sent, held, skipped, missed),
        as the shared point will. Moving this watcher's point and queued instant past it now
        keeps the due queue what a takeover would compute, so a takeover has almost nothing
        to work out, whatever the jobs' frequency.
        """
        elector = self._leader
        if (
            elector is None
            or elector.is_leader
            or entry.kind not in _ACCOUNTED
            or entry.trigger is RunTrigger.manual
        ):
            return
        job = self._config.jobs.get(entry.job)
        if job is None or not job.enabled:
            return
        instant = datetime.fromisoformat(entry.scheduled_for)
        own = self._progress.last(job.name)
        if own is not None and instant <= own:
            return
        self._progress.set_known(job.name, instant)
        queued = self._due.get(job.name)
        if queued is not None and queued <= instant:
            self._due.set(job.name, job.schedule.next_after(instant))

    def _resume_unrecorded(self, known: set[str], now: datetime) -> None:
        """Jobs this watcher's records never held (a new data dir) but another leader ran:
        the startup scheduled them from now; resume them from the shared point instead, so the
        instants since the last leader's last dispatch are not skipped."""
        unknown = [j for j in self._config.jobs.values() if j.name not in known and j.enabled]
        if not unknown:  # no read of every job's shared point
            return
        shared = self._shared()
        extra: list[RunRequest] = []
        with self._store.batch():
            for job in unknown:
                point = shared.get(job.name)
                if point is None or point >= now:
                    continue
                extra += self._advance(job, point, now)
            self._send(extra)
            self._flush()

    def save_role(self, now: datetime) -> None:
        """Record the role and the leader this watcher sees, for ``status`` and ``health``."""
        elector = self._leader
        if elector is None:
            return
        holder = elector.holder
        value = {
            "role": str(elector.role) if elector.is_leader else "standby",
            "leader": None if holder is None else holder.as_json(),
            "lease_s": elector.ttl_s,
        }
        self._store.set_meta(ROLE_META, json.dumps(value, sort_keys=True), now)
        if elector.is_leader and elector.token is not None:
            self._publish_points(elector.token)

    def _publish_points(self, token: str) -> None:
        """Every heartbeat (2 s), the leader publishes its jobs' points that moved.

        Dispatches move the shared point themselves, atomically; this covers the instants a
        leader accounts for without sending anything (a pause, an overlap, a miss), so that a
        new leader does not weigh them again."""
        candidates = self._progress.moved()
        for start in range(0, len(candidates), _POINTS_PER_CALL):
            if not self._raise_points(token, candidates[start : start + _POINTS_PER_CALL]):
                return  # the lease refused or Redis away: the rest waits for the next beat

    def _raise_points(self, token: str, jobs: list[str]) -> bool:
        """One script call for ``jobs``' points; True once Redis holds them (or none moved)."""
        args: list[str | int] = [token]
        for job in jobs:
            last = self._progress.last(job)
            if last is not None and job in self._config.jobs:
                args += [job, _ms(last)]
        if len(args) > 1:
            try:
                if self._raise(keys=[LAST_DISPATCHED_KEY, LEASE_KEY], args=args) != 1:
                    return False
            except redis.RedisError:
                return False
        self._progress.published(jobs)
        return True

    def _shared(self) -> dict[str, datetime]:
        # Without Redis there is no shared point: this watcher's own records are the best known.
        with contextlib.suppress(redis.RedisError):
            return shared_last_dispatched(self._conn)
        return {}


#: Points raised per script call: on a cold start every job's point moved, and 100,000 of
#: them in one call had redis-py pack a 200,000-argument command at once (45 MB of RSS for
#: a moment, and kept when the job cache's save ran beside it).
_POINTS_PER_CALL = 5_000


def _ms(instant: datetime) -> int:
    """An instant as the shared points hold it: whole milliseconds since the epoch."""
    return int(instant.timestamp() * 1000)
