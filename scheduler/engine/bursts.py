"""Bursts: the runs due soon, built and staged in Redis ahead of their instant.

A thousand runs due in the same second must be visible in their queues within a few
milliseconds of it. Building an RQ job costs a fraction of a millisecond per run, so the
watcher builds every run due within ``PREPARE_AHEAD`` beforehand and stages it in Redis
with the burst's list (``Dispatcher.stage_burst``). At the instant a few cheap checks per
run (is it still exactly what was staged? would the gate admit it without a look?) and one
round trip carrying only the bursts' keys make them visible (``Dispatcher.fire``); the
records and log lines follow. What was staged and never fired is invisible to workers and
goes after ``STAGE_TTL``: an edit, a pause or a removal between staging and the instant
withdraws the run from its burst, and it takes the ordinary path, or none.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import redis

from scheduler.config.gcpause import paused_gc
from scheduler.config.liveconfig import LiveConfig
from scheduler.core.catchup import late_beyond
from scheduler.core.clock import Clock
from scheduler.core.duequeue import DueQueue
from scheduler.core.job import LoadedJob
from scheduler.core.runs import RunRequest, RunTrigger
from scheduler.engine.dispatch import Burst, Dispatched, Dispatcher
from scheduler.engine.gate import Gate
from scheduler.engine.progress import Progress

#: Runs due this soon are built and staged before their instant: at 0.1-0.25 ms a run,
#: 10,000 due together take one to three seconds on a busy machine. Each pass stages a
#: step further, so that the next passes find nothing to do until time has moved on.
PREPARE_AHEAD = timedelta(seconds=10)
PREPARE_STEP = timedelta(seconds=1)
#: At most this many runs staged ahead; runs per burst list (one claim call each).
PREPARE_LIMIT = 20_000
BURST = 1000
#: Staging stops this long before the next instant, and after this long in one turn (s):
#: the loop must be free at the instant, and for file events meanwhile.
PREPARE_MARGIN = timedelta(milliseconds=30)
PREPARE_BUDGET_S = 0.25
#: The loop wakes this long before a staged instant: the checks of its runs (2-3 ms a
#: thousand runs, more on a busy machine) are made then, not after the instant, and the
#: claim leaves as the instant is reached.
ARM_AHEAD = timedelta(milliseconds=25)
#: The end of that wait is spent awake: a sleep overshoots by 1 ms, and by 5 on a busy
#: machine, where the thread waits for a core once its timer fires.
ARM_SPIN_S = 0.003


class Bursts:
    """The runs built ahead (by job and instant) and the bursts staged for each instant."""

    def __init__(
        self,
        *,
        config: LiveConfig,
        due: DueQueue,
        clock: Clock,
        progress: Progress,
        gate: Gate,
        dispatcher: Dispatcher,
        grace: timedelta,
    ) -> None:
        self._config = config
        self._due = due
        self._clock = clock
        self._progress = progress
        self._gate = gate
        self._dispatcher = dispatcher
        self._grace = grace
        self.prepared: dict[tuple[str, datetime], tuple[LoadedJob, RunRequest]] = {}
        self._bursts: dict[datetime, list[Burst]] = {}
        #: The due queue's version when every run due up to ``_horizon`` was staged.
        self._settled: int | None = None
        self._horizon = datetime.min.replace(tzinfo=UTC)

    def prepare(self, now: datetime) -> bool:
        """Build and stage in Redis, as bursts, the runs due within ``PREPARE_AHEAD``.

        Works for at most ``PREPARE_BUDGET_S`` and stops short of the next instant; True
        when runs due soon are left to stage (the loop then turns again at once).
        """
        nxt = self._due.peek()
        if nxt is None or nxt.instant - now > PREPARE_AHEAD:
            return False
        # Every run up to the last horizon is staged and no instant moved since: the turn
        # costs nothing (results and file events wake the loop many times a second). What
        # else changes a staged run (a canary count) is caught when its burst fires.
        if self._settled == self._due.version and now + PREPARE_AHEAD <= self._horizon:
            return False
        horizon = now + PREPARE_AHEAD + PREPARE_STEP
        soon = self._due.upcoming(horizon, limit=PREPARE_LIMIT)
        if len(self.prepared) > 2 * PREPARE_LIMIT:  # left by runs that never fell due (edits)
            self.prepared.clear()
        fresh: list[tuple[datetime, RunRequest]] = []
        for run in soon:
            job = self._config.jobs.get(run.job)
            if job is None or not job.enabled:
                continue
            built = self.prepared.get((job.name, run.instant))
            canary = self._progress.canary_left(job.name) > 0
            if not _fits(built, job, canary):
                request = job.run_request(run.instant, RunTrigger.schedule, canary=canary)
                self.prepared[(job.name, run.instant)] = (job, request)
                fresh.append((run.instant, request))
        started = time.perf_counter()
        for first in range(0, len(fresh), BURST):
            chunk = fresh[first : first + BURST]
            late = time.perf_counter() - started > PREPARE_BUDGET_S
            if late or chunk[0][0] - self._clock.now() < PREPARE_MARGIN:
                for instant, request in fresh[first:]:  # not staged: built again next turn
                    self.prepared.pop((request.job, instant), None)
                self._settled = None
                return late
            try:
                for instant, group in itertools.groupby(chunk, key=lambda pair: pair[0]):
                    burst = self._dispatcher.stage_burst([request for _, request in group])
                    self._bursts.setdefault(instant, []).append(burst)
            except redis.RedisError:  # dispatch reports it; the runs go the ordinary way
                self._settled = None
                return False
        self._settled = self._due.version
        self._horizon = horizon
        return False

    def wake_at(self, instant: datetime) -> datetime:
        """When the loop should wake for ``instant``: ``ARM_AHEAD`` before it when bursts
        are staged for it (see ``fire``), else at the instant."""
        return instant - ARM_AHEAD if instant in self._bursts else instant

    def fire(self, now: datetime, *, arm: bool = False) -> dict[tuple[str, datetime], Dispatched]:
        """Claim the bursts staged for instants up to ``now``; what they enqueued, by run.

        With ``arm`` (the loop's call, on a clock that moves), the bursts of an instant at
        most ``ARM_AHEAD`` away are checked now, as of their instant, and claimed as soon
        as the clock reaches it: nothing else runs on the loop in between, so the checks
        still hold. Raises redis.RedisError if Redis fails (the
        bursts are then dropped: their runs take the ordinary path).

        Only cheap checks run before the claim, one per staged run: it would still go out
        as it was built (same job, instant, canary state, and nothing for the gate to
        weigh). The others are withdrawn from their burst and take the ordinary path.
        """
        # No collector pass between the checks and the claim: one over the heap costs ms.
        with paused_gc():
            calls = self._checked(now, arm)
            if not calls:
                return {}
            outcomes = self._dispatcher.fire([(b, w) for _, b, w in calls], self._clock.now())
        instant_of = {r.run_id: i for i, burst, _ in calls for r in burst.requests}
        return {(o.request.job, instant_of[o.request.run_id]): o for o in outcomes}

    def _checked(self, now: datetime, arm: bool) -> list[tuple[datetime, Burst, list[str]]]:
        """The bursts to claim now, taken off, each with its withdrawn runs (see ``fire``)."""
        early: list[tuple[Burst, list[str]]] = []
        soon = min(self._bursts, default=None)
        if arm and soon is not None and now < soon <= now + ARM_AHEAD:
            early = [(b, self._withdrawn(b, soon, soon)) for b in self._bursts[soon]]
            now = self._until(soon)
            if now - soon > ARM_AHEAD:  # woken late: a misfire rule may weigh the delay
                early = []
        calls = []
        for instant in sorted(i for i in self._bursts if i <= now):
            bursts = self._bursts.pop(instant)
            if instant == soon and early:
                pairs = early
            else:
                pairs = [(b, self._withdrawn(b, instant, now)) for b in bursts]
            calls += [(instant, burst, withdrawn) for burst, withdrawn in pairs]
        return calls

    def _until(self, instant: datetime) -> datetime:
        """The clock's time once it reaches ``instant``, or after twice ``ARM_AHEAD`` (a
        clock set back meanwhile: the bursts are left for a later turn)."""
        limit = time.monotonic() + 2 * ARM_AHEAD.total_seconds()
        while (now := self._clock.now()) < instant and time.monotonic() < limit:
            left = (instant - now).total_seconds()
            if left > ARM_SPIN_S:
                time.sleep(left - ARM_SPIN_S)
        return now

    def _withdrawn(self, burst: Burst, instant: datetime, now: datetime) -> list[str]:
        """The run ids of ``burst`` that must not go out with it (see ``fire``)."""
        jobs, prepared, due, plain = self._config.jobs, self.prepared, self._due, self._gate.plain
        canary_left = self._progress.canary_left
        out = []
        for request in burst.requests:
            name = request.job
            job = jobs.get(name)
            built = prepared.get((name, instant))
            if (
                job is None
                or built is None
                or built[0] is not job
                or built[1] is not request
                or due.get(name) != instant
                or (canary_left(name) > 0) != request.canary
                or not plain(job)
                or late_beyond(job.misfire, instant, now, self._grace)
            ):
                out.append(request.run_id)
        return out

    def take(self, job: LoadedJob, instant: datetime, canary: bool) -> RunRequest | None:
        """The run of ``job`` at ``instant`` built ahead, if it still fits; forgotten here."""
        built = self.prepared.pop((job.name, instant), None)
        return built[1] if built is not None and _fits(built, job, canary) else None

    def forget(self, job: str, instant: datetime) -> None:
        self.prepared.pop((job, instant), None)


def _fits(built: tuple[LoadedJob, RunRequest] | None, job: LoadedJob, canary: bool) -> bool:
    """The run built ahead is still what ``job`` would send now (same definition object,
    same canary state)."""
    return built is not None and built[0] is job and built[1].canary == canary
