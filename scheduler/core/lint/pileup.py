"""The pile-up rule: more enabled jobs due in one minute of the next 24 hours than a
threshold, one warning per job involved, at its most crowded minute.

Two steps, so the costly one can run where each job is parsed (a worker process):
``run_minutes`` per job, then ``pile_ups`` over every job's minutes."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from scheduler.core.catalog import JobFindings
from scheduler.core.cronexpr import CronExpr
from scheduler.core.errors import JobFileWarning
from scheduler.core.job import LoadedJob
from scheduler.core.lint.common import LintCode, listing, utc_offset, warning
from scheduler.core.localtime import next_offset_change, offset
from scheduler.core.schedule import (
    AnyOf,
    CronSchedule,
    IntervalSchedule,
    Jitter,
    Schedule,
    Window,
)

PILE_UP_WINDOW = timedelta(hours=24)
PILE_UP_MAX_RUNS = 200
# Wider than any UTC offset (-12:00 to +14:00): the wall window of every zone lies inside.
_WALL_MARGIN = timedelta(hours=15)
# An expression with more matches than this over the widened window (every other minute,
# or seconds) is cheaper to step through for each job, 200 runs at most.
_WALL_RUNS_MAX = 1500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_TINY = timedelta(microseconds=1)


class RunCache:
    """The runs of the schedules seen so far for one ``now``, shared by ``run_minutes`` calls.

    Jobs rarely share a whole schedule (zones, bounds and jitter differ) but often share a
    cron expression: its wall-clock matches over the window widened by any UTC offset are
    found once, and each zone that keeps one offset over the window takes its slice."""

    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)
        self.stop = self.now + PILE_UP_WINDOW
        self._seconds: dict[Schedule, list[int]] = {}  # by schedule, jitter left out
        self._walls: dict[str, tuple[list[datetime], list[int]] | None] = {}  # by expression
        self._offsets: dict[tzinfo, timedelta | None] = {}  # by zone (_steady_offset)
        naive = self.now.replace(tzinfo=None)
        self._wall_lo, self._wall_hi = naive - _WALL_MARGIN, naive + PILE_UP_WINDOW + _WALL_MARGIN

    def seconds(self, schedule: Schedule) -> list[int]:
        """The first PILE_UP_MAX_RUNS runs of ``schedule`` in (now, now + PILE_UP_WINDOW],
        as POSIX seconds (floored), cached by the schedule (a hashable value)."""
        found = self._seconds.get(schedule)
        if found is None:
            found = self._counted(schedule, self.now, self.stop)
            if found is None:
                found = []
                t = self.now
                while len(found) < PILE_UP_MAX_RUNS:
                    nxt = schedule.next_after(t)
                    if nxt is None or nxt > self.stop:
                        break
                    found.append(math.floor(nxt.timestamp()))
                    t = nxt
            self._seconds[schedule] = found
        return found

    def _counted(self, schedule: Schedule, lo: datetime, hi: datetime) -> list[int] | None:
        """The first PILE_UP_MAX_RUNS runs in (lo, hi] by arithmetic, where the kind allows
        it: an interval; a cron whose zone keeps one UTC offset over the window, where wall
        time is real time and every DST rule agrees; a union of crons; a window of those.
        None: step through ``next_after`` (same runs, slower)."""
        if isinstance(schedule, IntervalSchedule):
            first = schedule.next_after(lo)
            assert first is not None  # an interval always has a next run
            count = max(0, min(PILE_UP_MAX_RUNS, (hi - first) // schedule.every + 1))
            base, every = _micros(first - _EPOCH), _micros(schedule.every)
            return [(base + k * every) // 1_000_000 for k in range(count)]
        if isinstance(schedule, Window):
            if schedule.start is not None and schedule.start - _TINY > lo:
                lo = schedule.start - _TINY
            if schedule.end is not None and schedule.end < hi:
                hi = schedule.end
            return [] if hi <= lo else self._counted(schedule.inner, lo, hi)
        if isinstance(schedule, AnyOf):
            # Cron runs fall on whole seconds: the union of their seconds is that of the runs.
            if not all(isinstance(part, CronSchedule) for part in schedule.parts):
                return None
            parts = [self._counted(part, lo, hi) for part in schedule.parts]
            if any(p is None for p in parts):
                return None
            return sorted({s for p in parts if p is not None for s in p})[:PILE_UP_MAX_RUNS]
        return self._cron(schedule, lo, hi) if isinstance(schedule, CronSchedule) else None

    def _cron(self, schedule: CronSchedule, lo: datetime, hi: datetime) -> list[int] | None:
        """``_counted`` for a cron: a day's table by arithmetic, else a slice of the
        expression's wall-clock matches; None where the zone's offset changes."""
        off = self._steady_offset(schedule.tz)
        if off is None:
            return None
        shift = int(off.total_seconds())
        first, last = (lo + off).replace(tzinfo=None), (hi + off).replace(tzinfo=None)
        if off != timedelta(seconds=shift):
            return None
        if schedule.expr.daily is not None:
            times, weekdays = schedule.expr.daily, schedule.expr.weekdays
            return _day_table(times, weekdays, _whole_seconds(first), _whole_seconds(last), shift)
        if first < self._wall_lo or last > self._wall_hi:
            return None
        walls = self._walls_of(schedule.expr)
        if walls is None:
            return None
        matches, local_seconds = walls
        a = bisect_right(matches, first)
        b = min(bisect_right(matches, last), a + PILE_UP_MAX_RUNS)
        return [s - shift for s in local_seconds[a:b]]

    def _steady_offset(self, tz: tzinfo) -> timedelta | None:
        """The zone's UTC offset if it holds over all of (now, now + PILE_UP_WINDOW] (so
        over every part of it too), else None."""
        if tz not in self._offsets:
            steady = next_offset_change(self.now, self.stop, tz) is None
            self._offsets[tz] = offset(self.now, tz) if steady else None
        return self._offsets[tz]

    def _walls_of(self, expr: CronExpr) -> tuple[list[datetime], list[int]] | None:
        """The expression's wall-clock matches over the widened window, with their seconds
        since the naive epoch; None for an expression denser than is worth listing."""
        if expr.text in self._walls:
            return self._walls[expr.text]
        matches: list[datetime] = []
        t = expr.next_local(self._wall_lo)
        while t is not None and t <= self._wall_hi:
            if len(matches) == _WALL_RUNS_MAX:
                self._walls[expr.text] = None
                return None
            matches.append(t)
            t = expr.next_local(t)
        found = self._walls[expr.text] = (matches, [_whole_seconds(m) for m in matches])
        return found


def run_minutes(job: LoadedJob, runs: RunCache) -> frozenset[int]:
    """The minutes (POSIX seconds // 60) an enabled ``job`` runs in over (now, now +
    PILE_UP_WINDOW], its jitter included; none for a disabled job."""
    if not job.enabled:
        return frozenset()
    schedule, delay = job.schedule, 0
    if isinstance(schedule, Jitter):
        delay = int(schedule.delay.total_seconds())
        schedule = schedule.inner
    # The runnable schedule without its jitter is a value (its kind, zone, window and the
    # job's DST rule): jobs with equal ones share their runs, and no spec is read for it.
    seconds = runs.seconds(schedule)
    return frozenset((s + delay) // 60 for s in seconds)


def _day_table(
    times: tuple[int, ...], weekdays: frozenset[int] | None, first: int, last: int, shift: int
) -> list[int]:
    """The first PILE_UP_MAX_RUNS runs of a day's table (``CronExpr.daily``) in wall-clock
    (first, last], as POSIX seconds of a zone ``shift`` seconds ahead of UTC. ``first`` and
    ``last`` are floored to the second: a run falls on whole seconds, so the bounds hold."""
    out: list[int] = []
    for day in range(first // 86400, last // 86400 + 1):
        if weekdays is None or (day + 3) % 7 in weekdays:  # 1970-01-01 was a Thursday
            midnight = day * 86400
            out += [midnight + at - shift for at in times if first < midnight + at <= last]
    return out[:PILE_UP_MAX_RUNS]


def _micros(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _whole_seconds(local: datetime) -> int:
    """Whole seconds from the naive epoch to ``local``, floored."""
    return _micros(local - _NAIVE_EPOCH) // 1_000_000


def pile_ups(
    jobs: Sequence[LoadedJob], findings: Mapping[str, JobFindings], threshold: int
) -> list[JobFileWarning]:
    """The pile-up warnings of ``jobs``, given each one's findings (``run_minutes``) by name."""
    # Jobs with the same minutes (one schedule in one zone, no jitter) share every answer
    # below but their names: count and search per set of minutes, not per job.
    groups: dict[frozenset[int], list[str]] = defaultdict(list)  # minutes -> names
    for job in jobs:
        groups[findings[job.name].run_minutes].append(job.name)
    crowd: dict[int, int] = defaultdict(int)  # minute -> how many jobs are due in it
    for minutes, names in groups.items():
        for minute in minutes:
            crowd[minute] += len(names)
    crowded = {minute for minute, n in crowd.items() if n > threshold}
    worst_of: dict[frozenset[int], int] = {}  # minutes -> the most crowded (earliest first)
    for minutes in groups:
        if hot := minutes & crowded:
            worst_of[minutes] = min(hot, key=lambda m: (-crowd[m], m))
    due: dict[int, list[str]] = {minute: [] for minute in worst_of.values()}  # sorted below
    wanted = frozenset(due)
    for minutes, names in groups.items():
        for minute in minutes & wanted:
            due[minute] += names
    for names in due.values():
        names.sort()
    messages: dict[tuple[object, ...], str] = {}
    out = []
    for job in jobs:
        facts = findings[job.name]
        worst = worst_of.get(facts.run_minutes)
        if worst is None:
            continue
        names = due[worst]
        # The message names the first few of the crowd but the job itself: the same text
        # for every job outside those few, in the same zone with the same jitter.
        named = job.name if job.name in names[:5] else None
        key = (worst, facts.timezone, facts.jitter, named)
        message = messages.get(key)
        if message is None:
            message = messages[key] = _pile_up_message(job.name, facts, names, worst, threshold)
        out.append(warning(job, f"schedule.{facts.kind}", LintCode.pile_up, message))
    return out


def _pile_up_message(
    name: str, facts: JobFindings, crowd: list[str], minute: int, threshold: int
) -> str:
    """The warning's text for the job ``name``, one of the (sorted) ``crowd`` due in ``minute``."""
    others = [other for other in crowd[:5] if other != name][:4]
    shown = [*others[:3], f"{len(crowd) - 4} more"] if len(crowd) > 5 else others
    at = datetime.fromtimestamp(minute * 60, UTC).astimezone(ZoneInfo(facts.timezone))
    spread = max(2, math.ceil(len(crowd) / threshold))
    jitter = facts.jitter
    hint = (
        f"add `jitter: {spread}m` under schedule, a stable per-job delay, to spread them"
        if jitter is None
        else f"its jitter ({jitter}) leaves it in that minute; `jitter: {spread}m` spreads them"
    )
    return (
        f"{len(crowd)} enabled jobs are due in the same minute, {at:%Y-%m-%d %H:%M} "
        f"({utc_offset(at.utcoffset() or timedelta(0))}): this one and {listing(shown)}. "
        f"More than {threshold} jobs starting at once queue up behind each other on the "
        f"workers and Redis; {hint} over {spread} minutes."
    )
