"""The daylight-saving rules: a fixed local time skipped (dst-skipped) or repeated
(dst-repeated) by a change of its zone's offset within DST_HORIZON of now."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from scheduler.core.cronexpr import CronExpr, parse_cron
from scheduler.core.errors import JobFileWarning
from scheduler.core.job import LoadedJob
from scheduler.core.lint.common import LintCode, jitter_delay, listing, plural, utc_offset, warning
from scheduler.core.localtime import exists, first_instant, next_offset_change, offset

DST_HORIZON = timedelta(days=365)
_TINY = timedelta(microseconds=1)
_PLAIN_ITEM = re.compile(r"^(\d+)(?:-(\d+))?(?:/(\d+))?$")


class DstRules:
    """The dst-* rules for one ``now`` (aware); zone changes and DST matches are cached."""

    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)
        self._zones: dict[str, list[_Change]] = {}
        self._hits: dict[tuple[str, str], list[tuple[_Change, list[datetime]]]] = {}
        self._in_window: dict[tuple[str, tuple[datetime, datetime]], list[datetime]] = {}

    def warnings(self, job: LoadedJob) -> list[JobFileWarning]:
        """The dst-skipped and dst-repeated warnings of ``job``."""
        out: list[JobFileWarning] = []
        sched = job.spec.schedule
        # A job that declares `dst:` has chosen what its DST nights do: nothing to warn about.
        fixed = _fixed_times(job) if job.spec.dst is None else []
        for expr, path in fixed:
            for change, hits in self._hits_of(expr, sched.timezone):
                matches = [m for m in hits if _in_window(job, m)]
                if matches:
                    code = LintCode.dst_skipped if change.gap else LintCode.dst_repeated
                    message = _dst_message(sched.timezone, change, matches, jitter_delay(job))
                    out.append(warning(job, path, code, message))
        if sched.at is not None and sched.at.tzinfo is None:
            out += self._dst_at(job, sched.at)
        return out

    def _hits_of(self, expr: CronExpr, zone: str) -> list[tuple[_Change, list[datetime]]]:
        """The zone's changes within the horizon where ``expr`` matches a skipped/repeated time."""
        key = (expr.text, zone)
        if key in self._hits:
            return self._hits[key]
        if zone not in self._zones:
            self._zones[zone] = _changes(ZoneInfo(zone), self.now, self.now + DST_HORIZON)
        hits = []
        for change in self._zones[zone]:
            matches = self._matches(expr, change.window)
            if matches:
                hits.append((change, matches))
        self._hits[key] = hits
        return hits

    def _matches(self, expr: CronExpr, window: tuple[datetime, datetime]) -> list[datetime]:
        """The wall-clock matches of ``expr`` in [start, end), cached: zones that change at
        the same local time on the same night (most of Europe, North America) share them."""
        key = (expr.text, window)
        found = self._in_window.get(key)
        if found is None:
            start, end = window
            found = self._in_window[key] = []
            hours = _plain_hours(expr.fields[1])
            if hours is not None and hours.isdisjoint(_hours_within(start, end)):
                return found  # the expression's hours miss the window: no engine search
            while len(found) < 100:  # enough to say "collapse"; a minute list holds 60
                match = expr.next_local(found[-1] if found else start - _TINY)
                if match is None or match >= end:
                    break
                found.append(match)
        return found

    def _dst_at(self, job: LoadedJob, local: datetime) -> list[JobFileWarning]:
        tz = job.timezone
        instant = first_instant(local, tz)
        twofold = local.replace(tzinfo=tz, fold=0).utcoffset() != (
            local.replace(tzinfo=tz, fold=1).utcoffset()
        )
        if instant <= self.now or not twofold:
            return []
        near = _changes(tz, instant - timedelta(days=2), instant + timedelta(days=2))
        change = next(c for c in near if c.window[0] <= local < c.window[1])
        code = LintCode.dst_repeated if exists(local, tz) else LintCode.dst_skipped
        message = _dst_message(job.timezone_name, change, [local], jitter_delay(job))
        return [warning(job, "schedule.at", code, message)]


def _in_window(job: LoadedJob, local: datetime) -> bool:
    """Whether the run a fixed local time stands for falls inside the job's start/end."""
    sched = job.spec.schedule
    if sched.start is None and sched.end is None:
        return True
    instant = first_instant(local, job.timezone)
    if sched.start is not None and instant < sched.aware(sched.start):
        return False
    return sched.end is None or instant <= sched.aware(sched.end)


@dataclass(frozen=True)
class _Change:
    """A change of a zone's UTC offset at ``instant`` (UTC), from ``before`` to ``after``."""

    instant: datetime
    before: timedelta
    after: timedelta

    @property
    def gap(self) -> bool:
        return self.after > self.before

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The naive local times skipped (gap) or repeated (overlap): [start, end)."""
        wall = self.instant.replace(tzinfo=None)
        return wall + min(self.before, self.after), wall + max(self.before, self.after)


def _hours_within(start: datetime, end: datetime) -> set[int]:
    """The hours of the day that some wall-clock time in [start, end) falls in."""
    hours: set[int] = set()
    t = start.replace(minute=0, second=0, microsecond=0)
    while t < end and len(hours) < 24:
        hours.add(t.hour)
        t += timedelta(hours=1)
    return hours


@lru_cache(maxsize=4096)
def _plain_hours(field: str) -> frozenset[int] | None:
    """The hours an hour field of numbers, ascending ranges and steps names; None for any
    other syntax (``*``, a range that wraps past midnight), which the cron engine decides."""
    hours: set[int] = set()
    for item in field.split(","):
        m = _PLAIN_ITEM.match(item)
        if m is None:
            return None
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else 23 if m.group(3) else first
        step = int(m.group(3) or 1)
        if not 0 <= first <= last <= 23 or step < 1:
            return None
        hours.update(range(first, last + 1, step))
    return frozenset(hours)


def _changes(tz: tzinfo, start: datetime, stop: datetime) -> list[_Change]:
    found = []
    while (change := next_offset_change(start, stop, tz)) is not None:
        found.append(_Change(change, offset(start, tz), offset(change, tz)))
        start = change
    return found


def _fixed_times(job: LoadedJob) -> list[tuple[CronExpr, str]]:
    """The job's fixed local times as cron fields, each with the path where it is written."""
    sched = job.spec.schedule
    if sched.cron is not None:
        expr = parse_cron(sched.cron)
        return [(expr, "schedule.cron")] if expr.fixed_time else []
    if sched.daily is not None:
        times, days, path = sched.daily, "*", "schedule.daily"
    elif sched.weekly is not None:
        days = ",".join(sorted({str(d.cron) for d in sched.weekly.days}))
        times, path = sched.weekly.at, "schedule.weekly.at"
    else:
        return []
    out = []
    for i, text in enumerate(times):
        hms = [int(p) for p in text.split(":")]
        fields = f"{hms[1]} {hms[0]} * * {days}" + (f" {hms[2]}" if len(hms) == 3 else "")
        out.append((parse_cron(fields), f"{path}[{i}]" if len(times) > 1 else path))
    return out


def _clock(local: datetime) -> str:
    return f"{local:%H:%M:%S}" if local.second else f"{local:%H:%M}"


def _dst_message(zone: str, change: _Change, matches: Sequence[datetime], delay: timedelta) -> str:
    times = listing([_clock(m) for m in matches], limit=4)
    one = len(matches) == 1
    collapse = "" if one else " (the runs collapse into one)"
    start, end = change.window
    frm, to = (start, end) if change.gap else (end, start)
    day = f"{start:%Y-%m-%d}"
    if change.gap:
        actual = to + delay
        jitter = " (the end of the gap plus its jitter delay)" if delay else ""
        return (
            f"{times} {'does' if one else 'do'} not exist in {zone} on {day}: clocks jump from "
            f"{_clock(frm)} to {_clock(to)}, so that night this job runs once at "
            f"{_clock(actual)} ({utc_offset(change.after)}){jitter} instead{collapse}."
            f" If the exact time matters, move it out of {_clock(frm)}-{_clock(to)} local time "
            f"or use a zone without daylight-saving time (UTC)."
        )
    shift = int((change.before - change.after).total_seconds()) // 60
    later = "an hour" if shift == 60 else plural(shift, "minute")
    return (
        f"{times} {'occurs' if one else 'occur'} twice in {zone} on {day}: clocks go back from "
        f"{_clock(frm)} to {_clock(to)}, and this job runs once, at the first pass "
        f"(UTC offset {utc_offset(change.before)}), not again {later} later. If it must run "
        f"after the change, move it out of {_clock(to)}-{_clock(frm)} local time."
    )
