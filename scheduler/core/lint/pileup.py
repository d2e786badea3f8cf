"""The pile-up rule: more enabled jobs due in one minute of the next 24 hours than a
threshold, one warning per job involved, at its most crowded minute.

Two steps, so the costly one can run where each job is parsed (a worker process):
``run_minutes`` per job, then ``pile_ups`` over every job's minutes."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.core.catalog import JobFindings
from scheduler.core.errors import JobFileWarning
from scheduler.core.job import LoadedJob
from scheduler.core.lint.common import LintCode, listing, utc_offset, warning
from scheduler.core.localtime import next_offset_change, offset, wall
from scheduler.core.schedule import AnyOf, CronSchedule, IntervalSchedule, Jitter, Schedule

PILE_UP_WINDOW = timedelta(hours=24)
PILE_UP_MAX_RUNS = 200


def run_minutes(job: LoadedJob, now: datetime, runs_of: dict[str, list[int]]) -> frozenset[int]:
    """The minutes (POSIX seconds // 60) an enabled ``job`` runs in over (now, now +
    PILE_UP_WINDOW], its jitter included; none for a disabled job. ``runs_of`` caches the
    runs of each schedule (without its jitter) across calls with the same ``now``."""
    if not job.spec.enabled:
        return frozenset()
    schedule, delay = job.schedule, 0
    if isinstance(schedule, Jitter):
        delay = int(schedule.delay.total_seconds())
        schedule = schedule.inner
    key = job.spec.schedule.model_dump_json(exclude={"jitter"})
    seconds = runs_of.get(key)
    if seconds is None:
        stop = now + PILE_UP_WINDOW
        runs = _counted_runs(schedule, now, stop)
        if runs is None:
            runs = []
            t = now
            while len(runs) < PILE_UP_MAX_RUNS:
                nxt = schedule.next_after(t)
                if nxt is None or nxt > stop:
                    break
                runs.append(nxt)
                t = nxt
        seconds = runs_of[key] = [math.floor(r.timestamp()) for r in runs]
    return frozenset((s + delay) // 60 for s in seconds)


def _counted_runs(schedule: Schedule, now: datetime, stop: datetime) -> list[datetime] | None:
    """The first PILE_UP_MAX_RUNS runs in (now, stop] by arithmetic, where the kind allows
    it: an interval, or a cron of a day's table (``CronExpr.daily``) whose zone keeps one
    UTC offset over the window, where wall time is real time and every DST rule agrees;
    a union of those. None: step through ``next_after`` (same runs, slower)."""
    if isinstance(schedule, IntervalSchedule):
        first = schedule.next_after(now)
        assert first is not None  # an interval always has a next run
        count = min(PILE_UP_MAX_RUNS, (stop - first) // schedule.every + 1)
        return [first + k * schedule.every for k in range(max(count, 0))]
    if isinstance(schedule, AnyOf):
        parts = [_counted_runs(part, now, stop) for part in schedule.parts]
        if any(p is None for p in parts):
            return None
        return sorted({r for p in parts if p is not None for r in p})[:PILE_UP_MAX_RUNS]
    if not isinstance(schedule, CronSchedule) or schedule.expr.daily is None:
        return None
    tz = schedule.tz
    if next_offset_change(now, stop, tz) is not None:
        return None
    off = offset(now, tz)
    first, last = wall(now, tz), wall(stop, tz)
    days, weekdays = schedule.expr.daily, schedule.expr.weekdays
    runs: list[datetime] = []
    day = first.replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= last and len(runs) < PILE_UP_MAX_RUNS:
        if weekdays is None or day.weekday() in weekdays:
            for at in days:
                local = day + timedelta(seconds=at)
                if first < local <= last:
                    runs.append((local - off).replace(tzinfo=UTC))
        day += timedelta(days=1)
    return runs[:PILE_UP_MAX_RUNS]


def pile_ups(
    jobs: Sequence[LoadedJob], findings: Mapping[str, JobFindings], threshold: int
) -> list[JobFileWarning]:
    """The pile-up warnings of ``jobs``, given each one's findings (``run_minutes``) by name."""
    by_minute: dict[int, list[str]] = defaultdict(list)  # minute -> names of jobs due in it
    for job in jobs:
        for minute in findings[job.name].run_minutes:
            by_minute[minute].append(job.name)
    worst: dict[str, tuple[int, int]] = {}  # job name -> (-crowd, minute): its worst minute
    for minute, names in by_minute.items():
        if len(names) > threshold:
            names.sort()
            for name in names:
                worst[name] = min(worst.get(name, (0, 0)), (-len(names), minute))
    return [
        _pile_up_warning(
            job, findings[job.name], by_minute[worst[job.name][1]], worst[job.name][1], threshold
        )
        for job in jobs
        if job.name in worst
    ]


def _pile_up_warning(
    job: LoadedJob, facts: JobFindings, crowd: list[str], minute: int, threshold: int
) -> JobFileWarning:
    """The warning for ``job``, one of the (sorted) names in ``crowd``, due in ``minute``."""
    others = [name for name in crowd[:5] if name != job.name][:4]
    shown = [*others[:3], f"{len(crowd) - 4} more"] if len(crowd) > 5 else others
    at = datetime.fromtimestamp(minute * 60, UTC).astimezone(ZoneInfo(facts.timezone))
    spread = max(2, math.ceil(len(crowd) / threshold))
    jitter = facts.jitter
    hint = (
        f"add `jitter: {spread}m` under schedule, a stable per-job delay, to spread them"
        if jitter is None
        else f"its jitter ({jitter}) leaves it in that minute; `jitter: {spread}m` spreads them"
    )
    message = (
        f"{len(crowd)} enabled jobs are due in the same minute, {at:%Y-%m-%d %H:%M} "
        f"({utc_offset(at.utcoffset() or timedelta(0))}): this one and {listing(shown)}. "
        f"More than {threshold} jobs starting at once queue up behind each other on the "
        f"workers and Redis; {hint} over {spread} minutes."
    )
    return warning(job, f"schedule.{facts.kind}", LintCode.pile_up, message)
