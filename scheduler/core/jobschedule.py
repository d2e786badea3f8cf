"""A job spec's runnable schedule: its kind, then its window, then its jitter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from scheduler.core.cronexpr import parse_cron
from scheduler.core.durations import parse_duration
from scheduler.core.fieldchecks import Weekday
from scheduler.core.policies import DEFAULT_DST_GAP, DEFAULT_DST_REPEAT, DstGap, DstRepeat
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

if TYPE_CHECKING:  # a plain job's schedule is built without the model (core.plainjob)
    from scheduler.core.models import JobSpec
    from scheduler.core.plainschedule import PlainSchedule


def build_schedule(spec: JobSpec) -> Schedule:
    """The runnable schedule a job spec describes: kind, then window, then jitter."""
    sched = spec.schedule
    tz = ZoneInfo(sched.timezone)
    base: Schedule
    if sched.at is not None:
        base = AtSchedule(sched.aware(sched.at).astimezone(UTC))
    else:
        dst = spec.dst
        weekly = sched.weekly
        base = recurring_schedule(
            tz,
            cron=sched.cron,
            interval=sched.interval,
            anchor=EPOCH if sched.anchor is None else sched.aware(sched.anchor).astimezone(UTC),
            daily=sched.daily,
            weekly=None if weekly is None else (weekly.days, weekly.at),
            gap=DEFAULT_DST_GAP if dst is None else dst.gap,
            repeat=DEFAULT_DST_REPEAT if dst is None else dst.repeat,
        )
    if sched.start is not None or sched.end is not None:
        base = Window(
            base,
            start=None if sched.start is None else sched.aware(sched.start).astimezone(UTC),
            end=None if sched.end is None else sched.aware(sched.end).astimezone(UTC),
        )
    return jittered(base, spec.name, sched.jitter)


def plain_schedule_of(sched: PlainSchedule, name: str) -> Schedule:
    """``build_schedule`` of a plain document's schedule (``plainschedule``), read without
    the model: the same kind, window and jitter, from the same instants."""
    base: Schedule
    if sched.at is not None:
        base = AtSchedule(sched.at)
    else:
        base = recurring_schedule(
            ZoneInfo(sched.timezone),
            cron=sched.cron,
            interval=sched.interval,
            anchor=EPOCH if sched.anchor is None else sched.anchor,
            daily=sched.daily,
            weekly=sched.weekly,
        )
    if sched.start is not None or sched.end is not None:
        base = Window(base, start=sched.start, end=sched.end)
    return jittered(base, name, sched.jitter)


def jittered(base: Schedule, name: str, jitter: str | None) -> Schedule:
    """``base`` moved by the job's stable delay within ``jitter`` (if any).

    A window bounds the runs as they happen: it moves earlier by the delay under the
    jitter, so a run is in [start, end] once moved (not only before).
    """
    if jitter is not None:
        delay = jitter_delay(name, parse_duration(jitter))
        if delay:
            if isinstance(base, Window):
                start = None if base.start is None else base.start - delay
                end = None if base.end is None else base.end - delay
                base = Window(base.inner, start=start, end=end)
            return Jitter(base, delay)
    return base


def recurring_schedule(
    tz: ZoneInfo,
    *,
    cron: str | None = None,
    interval: str | None = None,
    anchor: datetime = EPOCH,
    daily: Sequence[str] | None = None,
    weekly: tuple[Sequence[Weekday], Sequence[str]] | None = None,
    gap: DstGap = DEFAULT_DST_GAP,
    repeat: DstRepeat = DEFAULT_DST_REPEAT,
) -> Schedule:
    """The schedule of the one kind given (cron, interval, daily, or weekly's days and
    times), with no window nor jitter; ``gap`` and ``repeat`` are the job's DST rule."""
    if cron is not None:
        return CronSchedule(parse_cron(cron), tz, gap, repeat)
    if interval is not None:
        return IntervalSchedule(parse_duration(interval), anchor)
    if daily is not None:
        return _times(daily, "*", tz, gap, repeat)
    assert weekly is not None
    days, at = weekly
    return _times(
        at, ",".join(str(d.cron) for d in sorted(set(days), key=lambda d: d.cron)), tz, gap, repeat
    )


def _times(
    times: Sequence[str], days: str, tz: ZoneInfo, gap: DstGap, repeat: DstRepeat
) -> Schedule:
    parts: list[Schedule] = []
    for text in sorted(set(times)):
        t = time.fromisoformat(text)
        fields = f"{t.minute} {t.hour} * * {days}"
        if t.second:
            fields += f" {t.second}"
        parts.append(CronSchedule(parse_cron(fields), tz, gap, repeat))
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))
