"""What the watcher would do with every run instant of a window: ``scheduler simulate`` (pure).

The watcher's own planning is replayed against a simulated clock: a DueQueue holds each
job's next instant, the clock jumps to the earliest one, and the due runs are popped and
their jobs advanced as ``Scheduler.dispatch_due`` and ``Scheduler.advance`` do (a loop that
fell behind hands the passed instants to ``catchup.resume``). An *outage* is a stretch
during which nothing dispatches; when it ends, the queue is rebuilt and every job resumes
as after a restart (``Scheduler.start_jobs``: ``resume`` with no grace), so the latest
instant that passed is caught up once and the earlier ones are missed.

Time conventions: the window is ``(start, end]``, as if the watcher had started at
``start`` with everything up to it accounted for (``scheduler next --after`` is strict in
the same way). An outage ``(down, up)`` covers ``[down, up)``: an instant at ``down`` is
not dispatched, and the watcher is back at ``up``, where an instant due exactly then runs
on time. All instants in and out are aware; occurrences carry UTC.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from scheduler.core.catchup import DEFAULT_GRACE, Resume, resume, step
from scheduler.core.duequeue import DueQueue
from scheduler.core.errors import SchedulerError
from scheduler.core.job import LoadedJob
from scheduler.core.policies import MisfirePolicy
from scheduler.core.schedule import Schedule, iter_runs

#: Windows holding more run instants than this are refused, before any work is done.
MAX_OCCURRENCES = 100_000
#: The longest window (about ten years); it also bounds the cost of very sparse schedules.
MAX_WINDOW = timedelta(days=3660)

#: Reasons, as the watcher's own record notes spell them where it has one.
REASON_ON_TIME = "on time"
REASON_DOWN = "watcher was down"
REASON_BEHIND = "watcher fell behind"
REASON_DISABLED = "disabled"
REASON_GRACE = "later than the misfire grace"
REASON_MAX_CATCHUP = "beyond misfire.max_catchup"


class Outcome(StrEnum):
    """What became of one scheduled instant; each instant gets exactly one."""

    run = "run"  # dispatched at its instant
    late = "late"  # dispatched after its instant, at most ``grace`` late, as an ordinary run
    catch_up = "catch-up"  # the latest instant that passed unseen, dispatched once afterwards
    missed = "missed"  # passed while nothing dispatched it, and not caught up
    skipped = "skipped"  # not dispatched on purpose; the reason names the rule ("disabled")


@dataclass(frozen=True, kw_only=True)
class Occurrence:
    """One run instant of one job and what the watcher does with it.

    ``scheduled_for`` and ``dispatched_at`` are aware UTC; ``dispatched_at`` is None for
    missed and skipped instants, and later than ``scheduled_for`` for a catch-up or a
    late run.
    """

    job: str
    scheduled_for: datetime
    outcome: Outcome
    dispatched_at: datetime | None
    reason: str


class SimulationError(SchedulerError, ValueError):
    """A simulation that cannot be run as asked."""


class WindowError(SimulationError):
    """The window is empty, too long, or given in naive datetimes."""

    def __init__(self, start: datetime, end: datetime, reason: str) -> None:
        self.start, self.end, self.reason = start, end, reason
        super().__init__(f"window {start.isoformat()} .. {end.isoformat()}: {reason}")


class OutageError(SimulationError):
    """An outage that is empty or does not lie within the window."""

    def __init__(self, down: datetime, up: datetime, reason: str) -> None:
        self.down, self.up, self.reason = down, up, reason
        super().__init__(f"outage {down.isoformat()} .. {up.isoformat()}: {reason}")


class TooManyOccurrencesError(SimulationError):
    """The window holds more run instants than the limit."""

    def __init__(self, limit: int, start: datetime, end: datetime) -> None:
        self.limit, self.start, self.end = limit, start, end
        super().__init__(
            f"more than {limit:,} run instants between {start.isoformat()} and "
            f"{end.isoformat()}; narrow the window or simulate fewer jobs"
        )


def check_window(
    start: datetime, end: datetime, outages: Sequence[tuple[datetime, datetime]] = ()
) -> list[tuple[datetime, datetime]]:
    """Validate the window and outages; the outages in UTC, sorted, overlapping ones merged.

    Outages that overlap or touch become one: the watcher is down throughout.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise WindowError(start, end, "start and end must be aware datetimes")
    if end <= start:
        raise WindowError(start, end, "the end must be after the start")
    if end - start > MAX_WINDOW:
        raise WindowError(start, end, f"longer than the {MAX_WINDOW.days} days allowed")
    checked: list[tuple[datetime, datetime]] = []
    for down, up in outages:
        if down.tzinfo is None or up.tzinfo is None:
            raise OutageError(down, up, "start and end must be aware datetimes")
        if up <= down:
            raise OutageError(down, up, "it must end after it starts")
        if down < start or up > end:
            raise OutageError(
                down, up, f"it must lie within the window {start.isoformat()} .. {end.isoformat()}"
            )
        checked.append((down.astimezone(UTC), up.astimezone(UTC)))
    merged: list[tuple[datetime, datetime]] = []
    for down, up in sorted(checked):
        if merged and down <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], up))
        else:
            merged.append((down, up))
    return merged


def simulate(
    jobs: Iterable[LoadedJob],
    start: datetime,
    end: datetime,
    outages: Sequence[tuple[datetime, datetime]] = (),
    *,
    grace: timedelta = DEFAULT_GRACE,
    limit: int = MAX_OCCURRENCES,
) -> list[Occurrence]:
    """Every run instant of ``jobs`` in (start, end] and its outcome, by instant then job name.

    ``outages`` are (down, up) pairs of aware datetimes within the window. ``grace`` is
    the watcher's: while it runs, a run at most this late is still an ordinary run.
    Raises WindowError or OutageError for a bad window or outage, and
    TooManyOccurrencesError when the window holds more than ``limit`` instants.
    """
    downs = check_window(start, end, outages)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    by_name: dict[str, LoadedJob] = {}
    for job in jobs:
        if by_name.setdefault(job.name, job) is not job:
            raise ValueError(f"two jobs named {job.name!r}")
    schedules: dict[str, Schedule] = {n: _Memo(job.schedule) for n, job in by_name.items()}
    # Every instant becomes exactly one occurrence: counting first bounds all the work.
    total = 0
    for schedule in schedules.values():
        total += sum(1 for _ in _window_runs(schedule, start, end, limit - total + 1))
        if total > limit:
            raise TooManyOccurrencesError(limit, start, end)

    replay = _Replay(by_name, schedules, grace=grace)
    replay.start(start)
    for down, up in downs:
        replay.run_until(down, inclusive=False)
        replay.restart(up)
    replay.run_until(end, inclusive=True)
    for job in by_name.values():
        if not job.spec.enabled:
            replay.skip_all(job, start, end, REASON_DISABLED)
    return sorted(replay.found, key=lambda o: (o.scheduled_for, o.job))


class _Replay:
    """The watcher's dispatch bookkeeping, with every outcome recorded instead of sent."""

    def __init__(
        self, jobs: dict[str, LoadedJob], schedules: dict[str, Schedule], *, grace: timedelta
    ) -> None:
        self.jobs = jobs
        self.schedules = schedules
        self.grace = grace
        self.due = DueQueue()
        self.last: dict[str, datetime] = {}  # as Progress.last / the stored last_scheduled
        self.found: list[Occurrence] = []

    def start(self, now: datetime) -> None:
        """The first start (Scheduler.schedule_from): instants after ``now`` are due."""
        for job in self._enabled():
            self.due.set(job.name, self.schedules[job.name].next_after(now))
            self.last[job.name] = now

    def run_until(self, until: datetime, *, inclusive: bool) -> None:
        """Let the clock reach ``until``, waking at each due instant (Watcher._turn)."""
        while (nxt := self.due.peek()) is not None and (
            nxt.instant < until or (inclusive and nxt.instant == until)
        ):
            self._dispatch_due(nxt.instant)

    def _dispatch_due(self, now: datetime) -> None:
        """Scheduler.dispatch_due: every due run goes out, then its job advances."""
        for run in self.due.pop_due(now):
            job = self.jobs[run.job]
            self._ordinary(job, run.instant, now, REASON_BEHIND)
            self._advance(job, run.instant, now)

    def _advance(self, job: LoadedJob, instant: datetime, now: datetime) -> None:
        """Scheduler.advance: queue the job's next instant after ``instant``.

        One already past but within the grace goes out at once, as a late run; one further
        behind is handled like downtime, by ``resume``.
        """
        schedule = self.schedules[job.name]
        nxt, plan = step(schedule, job.misfire, instant, now, tolerance=self.grace)
        if plan is not None:
            self._settle(job, instant, now, plan, REASON_BEHIND)
        self.due.set(job.name, nxt)

    def restart(self, now: datetime) -> None:
        """The watcher comes back at ``now`` (Scheduler.start_jobs, definitions unchanged)."""
        self.due = DueQueue()  # a new process: nothing survives but the stored states
        for job in self._enabled():
            plan = resume(
                self.schedules[job.name],
                self.last[job.name],
                now,
                grace=timedelta(0),
                rule=job.misfire,
            )
            self._settle(job, self.last[job.name], now, plan, REASON_DOWN)
            self.due.set(job.name, plan.next_run)

    def _settle(
        self, job: LoadedJob, last: datetime, now: datetime, plan: Resume, why: str
    ) -> None:
        """Record what ``plan`` does with the instants in (last, now].

        The job's misfire rule chose (``catchup.resume``): late runs go out as ordinary
        runs, catch-ups as catch-ups, and the rest are missed with their reason.
        """
        reasons = dict.fromkeys(plan.stale, REASON_GRACE)
        reasons.update(dict.fromkeys(plan.over_max, REASON_MAX_CATCHUP))
        reasons.update(dict.fromkeys(plan.missed, why))
        if plan.missed_total > len(reasons):
            # The watcher records only the latest MAX_RECORDED_MISSED one by one (and logs
            # the count); a simulation lists them all.
            taken = set(plan.dispatched)
            grace = job.misfire.grace
            for t in _window_runs(self.schedules[job.name], last, now):
                if t not in taken and t not in reasons:
                    stale = grace is not None and now - t > grace
                    over = job.misfire.policy is MisfirePolicy.run_all
                    reasons[t] = REASON_GRACE if stale else REASON_MAX_CATCHUP if over else why
        for instant in sorted(reasons):
            self._record(job, instant, Outcome.missed, None, reasons[instant])
        for instant in plan.late:
            self._ordinary(job, instant, now, why)
        for instant in plan.catch_ups:
            self._dispatched(job, instant, now, Outcome.catch_up, why)

    def _ordinary(self, job: LoadedJob, instant: datetime, now: datetime, why: str) -> None:
        """A run dispatched as scheduled: on time at its instant, else late for ``why``."""
        if instant == now:
            self._dispatched(job, instant, now, Outcome.run, REASON_ON_TIME)
        else:
            self._dispatched(job, instant, now, Outcome.late, why)

    def _dispatched(
        self, job: LoadedJob, instant: datetime, now: datetime, outcome: Outcome, why: str
    ) -> None:
        self._record(job, instant, outcome, now, why)
        self.last[job.name] = max(self.last[job.name], instant)

    def skip_all(self, job: LoadedJob, start: datetime, end: datetime, why: str) -> None:
        """Record every instant of ``job`` in (start, end] as skipped for ``why``."""
        for instant in _window_runs(self.schedules[job.name], start, end):
            self._record(job, instant, Outcome.skipped, None, why)

    def _record(
        self,
        job: LoadedJob,
        instant: datetime,
        outcome: Outcome,
        dispatched_at: datetime | None,
        why: str,
    ) -> None:
        self.found.append(
            Occurrence(
                job=job.name,
                scheduled_for=instant,
                outcome=outcome,
                dispatched_at=dispatched_at,
                reason=why,
            )
        )

    def _enabled(self) -> Iterator[LoadedJob]:
        return (job for job in self.jobs.values() if job.spec.enabled)


class _Memo:
    """A schedule that remembers its answers.

    The count pass asks for every instant of the window once; the replay asks again for
    the same instants and reads the answers back.
    """

    def __init__(self, inner: Schedule) -> None:
        self.inner = inner
        self.known: dict[datetime, datetime | None] = {}

    def next_after(self, t: datetime) -> datetime | None:
        if t in self.known:
            return self.known[t]
        nxt = self.known[t] = self.inner.next_after(t)
        return nxt


def _window_runs(
    schedule: Schedule, after: datetime, until: datetime, limit: int | None = None
) -> Iterator[datetime]:
    """The schedule's instants in (after, until], at most ``limit`` of them."""
    runs = itertools.takewhile(lambda t: t <= until, iter_runs(schedule, after))
    return runs if limit is None else itertools.islice(runs, limit)
