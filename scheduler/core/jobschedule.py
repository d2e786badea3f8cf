"""A job spec's runnable schedule: its kind, then its window, then its jitter."""

from __future__ import annotations

from datetime import UTC, time
from zoneinfo import ZoneInfo

from scheduler.core.cronexpr import parse_cron
from scheduler.core.durations import parse_duration
from scheduler.core.models import DstSpec, JobSpec, ScheduleSpec
from scheduler.core.schedule import (
    EPOCH,
    AnyOf,
    AtSchedule,
    CronSchedule,
    IntervalSchedule,
    Jitter,
    Schedule,
    Window,
    jitter_delay,
)

_DEFAULT_DST = DstSpec()  # frozen: one for every job without a ``dst:`` (most)


def build_schedule(spec: JobSpec) -> Schedule:
    """The runnable schedule a job spec describes: kind, then window, then jitter."""
    sched = spec.schedule
    tz = ZoneInfo(sched.timezone)
    base = _kind_schedule(sched, tz, spec.dst)
    if sched.start is not None or sched.end is not None:
        base = Window(
            base,
            start=None if sched.start is None else sched.aware(sched.start).astimezone(UTC),
            end=None if sched.end is None else sched.aware(sched.end).astimezone(UTC),
        )
    if sched.jitter is not None:
        delay = jitter_delay(spec.name, parse_duration(sched.jitter))
        if delay:
            base = Jitter(base, delay)
    return base


def _kind_schedule(sched: ScheduleSpec, tz: ZoneInfo, dst: DstSpec | None = None) -> Schedule:
    rule = _DEFAULT_DST if dst is None else dst
    if sched.cron is not None:
        return CronSchedule(parse_cron(sched.cron), tz, rule.gap, rule.repeat)
    if sched.interval is not None:
        anchor = EPOCH if sched.anchor is None else sched.aware(sched.anchor).astimezone(UTC)
        return IntervalSchedule(parse_duration(sched.interval), anchor)
    if sched.daily is not None:
        return _times(sched.daily, "*", tz, rule)
    if sched.weekly is not None:
        days = ",".join(str(d.cron) for d in sorted(set(sched.weekly.days), key=lambda d: d.cron))
        return _times(sched.weekly.at, days, tz, rule)
    assert sched.at is not None
    return AtSchedule(sched.aware(sched.at).astimezone(UTC))


def _times(times: list[str], days: str, tz: ZoneInfo, rule: DstSpec) -> Schedule:
    parts: list[Schedule] = []
    for text in sorted(set(times)):
        t = time.fromisoformat(text)
        fields = f"{t.minute} {t.hour} * * {days}"
        if t.second:
            fields += f" {t.second}"
        parts.append(CronSchedule(parse_cron(fields), tz, rule.gap, rule.repeat))
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))
