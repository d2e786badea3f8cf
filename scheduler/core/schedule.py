"""Schedule arithmetic: each kind answers one question, "the next instant after t".

Instants in and out are aware UTC datetimes; local time is used only inside, to match
wall-clock fields, and converted back at once.

Daylight-saving time follows Debian's cron (``cronsim`` is the reference in tests):

* A *fixed-time* schedule (cron minute and hour both not beginning with ``*``, and every
  ``daily``, ``weekly`` and ``at``) names local wall-clock times. One that falls in a
  skipped hour runs once, right after the gap; several in one gap collapse into one.
  One in a repeated hour runs once, at the first pass. A job's ``dst`` override may say
  otherwise: ``gap: skip`` (no run that night) and ``repeat: both`` (both passes).
* Every other cron schedule follows real elapsed time: it fires at every instant whose
  local reading matches, so nothing in a skipped hour and both passes of a repeated one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol

from scheduler.core import cronexpr
from scheduler.core.cronexpr import CronExpr
from scheduler.core.localtime import exists, first_instant, next_offset_change, offset, wall
from scheduler.core.policies import DstGap, DstRepeat

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TINY = timedelta(microseconds=1)


class Schedule(Protocol):
    def next_after(self, t: datetime) -> datetime | None:
        """The first run instant strictly after ``t`` (aware), in UTC; None when exhausted."""
        ...


class _Rebuilt:
    """Pickled as a call of the class with its fields: a job cache holds one per job, and
    a slotted dataclass' own ``__setstate__`` (Python, field by field) is slower to load."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        fields: tuple[str, ...] = type(self).__slots__  # the subclass' fields
        return (type(self), tuple(getattr(self, name) for name in fields))


def _require_aware(t: datetime) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t!r}: schedule arithmetic needs aware instants")


def next_runs(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """Up to ``count`` run instants strictly after ``after``, ascending, in UTC."""
    return list(iter_runs(schedule, after, count))


def iter_runs(schedule: Schedule, after: datetime, limit: int | None = None) -> Iterator[datetime]:
    _require_aware(after)
    t = after.astimezone(UTC)
    produced = 0
    while limit is None or produced < limit:
        nxt = schedule.next_after(t)
        if nxt is None:
            return
        if nxt <= t:
            raise AssertionError(f"{schedule!r} went backwards: {nxt} after {t}")
        yield nxt
        produced += 1
        t = nxt


@dataclass(frozen=True, slots=True)
class CronSchedule(_Rebuilt):
    """A cron expression read in a time zone, with the DST rules above.

    ``gap`` and ``repeat`` apply to fixed-time expressions only; their defaults are
    Debian cron's rule.
    """

    expr: CronExpr
    tz: tzinfo
    gap: DstGap = DstGap.run_after
    repeat: DstRepeat = DstRepeat.first

    def __reduce__(self) -> tuple[Any, ...]:
        return (restore_cron_schedule, (self.expr, self.tz, self.gap, self.repeat))

    def next_after(self, t: datetime) -> datetime | None:
        _require_aware(t)
        t = t.astimezone(UTC)
        if not self.expr.fixed_time:
            return self._next_elapsed(t)
        if self.repeat is DstRepeat.first:
            return self._next_fixed(t, skip_gap=self.gap is DstGap.skip)
        # Both passes of a repeated hour is what elapsed time gives (and nothing in a gap);
        # run_after adds the end of a gap wherever a match fell in one.
        elapsed = self._next_elapsed(t)
        if self.gap is DstGap.skip:
            return elapsed
        gap_run = self._next_gap_run(t, until=elapsed)
        return elapsed if gap_run is None else gap_run

    def _next_fixed(self, t: datetime, *, skip_gap: bool = False) -> datetime | None:
        # Walk wall-clock matches; map each to its instant (first pass, or end of gap).
        # Matches that map to t or earlier were already run (first pass of a repeated
        # hour, or collapsed into the end of a gap), so skip them.
        local = wall(t, self.tz)
        while True:
            match = self.expr.next_local(local)
            if match is None:
                return None
            if skip_gap and not exists(match, self.tz):
                local = match
                continue
            instant = first_instant(match, self.tz)
            if instant > t:
                return instant
            local = match

    def _next_gap_run(self, t: datetime, *, until: datetime | None) -> datetime | None:
        """The end of a gap after ``t`` (and before ``until``) in which a match fell."""
        local = wall(t, self.tz)
        while True:
            match = self.expr.next_local(local)
            if match is None:
                return None
            instant = first_instant(match, self.tz)
            if until is not None and instant >= until:
                return None
            if instant > t and not exists(match, self.tz):
                return instant
            local = match

    def _next_elapsed(self, t: datetime) -> datetime | None:
        # Within a stretch of constant UTC offset, wall time and real time move together,
        # so the next wall-clock match is the next instant. Where the offset changes
        # before that instant, restart the search from the change, at the new wall time.
        cursor, inclusive = t, False
        while True:
            off = offset(cursor, self.tz)
            local = (cursor + off).replace(tzinfo=None)
            match = self.expr.next_local(local - _TINY if inclusive else local)
            if match is None:
                return None
            instant = (match - off).replace(tzinfo=UTC)
            change = next_offset_change(cursor, instant, self.tz)
            if change is None:
                return instant
            cursor, inclusive = change, True


_RESTORED: dict[tuple[str, tzinfo], CronSchedule] = {}


def restore_cron_schedule(
    expr: CronExpr, tz: tzinfo, gap: DstGap, repeat: DstRepeat
) -> CronSchedule:
    """A cron schedule unpickled (the job cache, the parse's workers): the jobs with the
    same expression in the same zone, under the default DST rules (nearly all), share one
    object, as they share the expression."""
    if gap is not DstGap.run_after or repeat is not DstRepeat.first:
        return CronSchedule(expr, tz, gap, repeat)
    key = (expr.text, tz)
    found = _RESTORED.get(key)
    if found is None:
        found = CronSchedule(expr, tz)
        if len(_RESTORED) < _MAX_RESTORED:
            _RESTORED[key] = found
    return found


_MAX_RESTORED = 1 << 17


def forget_restored() -> None:
    """Let go of the indexes unpickled schedules and expressions are shared by, once a whole
    job cache or parse is read: its jobs hold what they share, and the indexes (an entry
    per distinct schedule, 10 MB at 100,000) would only sit beside them."""
    _RESTORED.clear()
    cronexpr.forget_restored()


@dataclass(frozen=True, slots=True)
class IntervalSchedule(_Rebuilt):
    """Every ``every``, on ``anchor + k * every`` for any integer k, in real elapsed time."""

    every: timedelta
    anchor: datetime = EPOCH

    def next_after(self, t: datetime) -> datetime | None:
        _require_aware(t)
        step = _micros(self.every)
        elapsed = _micros(t - self.anchor)
        k = elapsed // step + 1
        return (self.anchor + timedelta(microseconds=k * step)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class AtSchedule(_Rebuilt):
    """One run at one instant."""

    instant: datetime

    def next_after(self, t: datetime) -> datetime | None:
        _require_aware(t)
        return self.instant.astimezone(UTC) if self.instant > t else None


@dataclass(frozen=True, slots=True)
class AnyOf(_Rebuilt):
    """The union of several schedules (``daily`` with a list of times, ``weekly``)."""

    parts: Sequence[Schedule]

    def next_after(self, t: datetime) -> datetime | None:
        found = [n for n in (p.next_after(t) for p in self.parts) if n is not None]
        return min(found, default=None)


@dataclass(frozen=True, slots=True)
class Window(_Rebuilt):
    """Only the runs of ``inner`` within [start, end] (either bound optional, both inclusive)."""

    inner: Schedule
    start: datetime | None = None
    end: datetime | None = None

    def next_after(self, t: datetime) -> datetime | None:
        _require_aware(t)
        if self.start is not None and t < self.start:
            t = self.start - _TINY
        if self.end is not None and t >= self.end:
            return None
        nxt = self.inner.next_after(t)
        if nxt is None or (self.end is not None and nxt > self.end):
            return None
        return nxt


@dataclass(frozen=True, slots=True)
class Jitter(_Rebuilt):
    """Every run of ``inner`` moved later by the same fixed ``delay``."""

    inner: Schedule
    delay: timedelta

    def next_after(self, t: datetime) -> datetime | None:
        nxt = self.inner.next_after(t - self.delay)
        return None if nxt is None else nxt + self.delay


def jitter_delay(job_name: str, jitter: timedelta) -> timedelta:
    """A stable delay in [0, jitter), whole seconds, from the job's name alone.

    Every machine and every restart computes the same value, so two watchers agree on
    the instant and the run id derived from it.
    """
    span = int(jitter.total_seconds())
    if span <= 1:
        return timedelta(0)
    digest = hashlib.sha256(job_name.encode("utf-8")).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % span)


def _micros(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
