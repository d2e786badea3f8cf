"""The schedule linter: valid schedules that probably do not do what their author meant.

Pure: ``now`` (aware) is an argument and no clock is read. Every finding is a
``JobFileWarning`` located at the schedule field it is about (``schedule.cron``,
``schedule.daily[1]``, ...), with a stable ``code``; ``validate --strict`` turns them
into errors.

============  ========================================================================
code          fires when
============  ========================================================================
step-uneven   an open-ended step (``*/n`` or ``a/n``) wraps around its field unevenly:
              minute ``*/45`` fires at :00 and :45 (45 then 15 minutes apart), hour
              ``*/5`` leaves 4 hours from 20h to 00h, day-of-month ``*/2`` fires on the
              31st and the 1st, minute ``*/90`` fires once an hour. A step with an
              explicit end (``0-30/20``) says where it stops and is not flagged.
day-or-trap   day-of-month and day-of-week are both restricted (neither begins with
              ``*`` nor is ``?``): a day matches when EITHER matches (Vixie cron), so
              ``0 9 1-7 * 1`` runs on days 1-7 and on every Monday.
rare-date     the smallest day-of-month named is 29, 30 or 31, so the job's months
              that are shorter get no run at all: 31 runs in 7 months, 30 skips
              February, 29 runs in February only in leap years (not with a restricted
              day-of-week: that OR still runs). A date that never occurs
              (``0 0 31 2 *``) is already a validation error.
dst-skipped   a fixed local time (cron with minute and hour not beginning with ``*``,
              ``daily``, ``weekly``, ``at``) does not exist on a spring-forward night
              within 12 months: that night the job runs once, at the end of the gap.
dst-repeated  such a time occurs twice on a fall-back night within 12 months: the job
              runs once, at the first pass.
pile-up       more than ``pile_up_threshold`` enabled jobs are due in one minute of the
              next 24 hours. One warning per job involved, at its most crowded minute,
              naming the others and suggesting ``schedule.jitter``.
============  ========================================================================

Scope, on purpose:

* Elapsed-time cron schedules (minute or hour beginning with ``*``) follow real time on
  DST nights by design and get no dst-* warning; nor does ``interval``.
* dst-* looks at the zone's offset changes in (now, now + 365 days], computed once per
  zone, and asks the cron fields whether they match inside each gap or overlap; it does
  not walk a year of runs. A one-shot ``at`` is checked on its own date, if in the future.
* Disabled jobs get every warning but pile-up, which counts only jobs that will be
  dispatched. Jobs of rejected files are not linted (they are not in the catalog).
* pile-up samples at most 200 runs per job in (now, now + 24 h] of its schedule without
  jitter, each then moved by the job's stable jitter delay; a job counts once per minute.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from scheduler.core.catalog import Catalog
from scheduler.core.cronexpr import CronExpr, parse_cron
from scheduler.core.errors import JobFileWarning
from scheduler.core.job import LoadedJob
from scheduler.core.localtime import exists, first_instant, next_offset_change, offset
from scheduler.core.schedule import Jitter

DST_HORIZON = timedelta(days=365)
PILE_UP_WINDOW = timedelta(hours=24)
PILE_UP_MAX_RUNS = 200
_TINY = timedelta(microseconds=1)


class LintCode(StrEnum):
    """The stable codes of lint warnings (the table above says when each fires)."""

    step_uneven = "step-uneven"  #: an open step wraps around its field unevenly
    day_or_trap = "day-or-trap"  #: day-of-month and day-of-week both restricted: OR, not AND
    rare_date = "rare-date"  #: some of the job's months lack every day it names
    dst_skipped = "dst-skipped"  #: a fixed local time inside a spring-forward gap
    dst_repeated = "dst-repeated"  #: a fixed local time inside a fall-back overlap
    pile_up = "pile-up"  #: too many enabled jobs due in the same minute


def lint_catalog(
    catalog: Catalog, now: datetime, *, pile_up_threshold: int = 20
) -> list[JobFileWarning]:
    """Every lint warning for the valid jobs of ``catalog``, sorted by file and position.

    ``now`` is aware. ``pile_up_threshold`` is the most jobs one minute may hold without
    a warning.
    """
    linter = _Linter(now)
    jobs = list(catalog.jobs.values())
    found = [w for job in jobs for w in linter.job(job)]
    found += _pile_ups(jobs, linter.now, pile_up_threshold)
    return sorted(found, key=lambda w: (w.file, w.line, w.column))


def lint_job(job: LoadedJob, now: datetime) -> list[JobFileWarning]:
    """The warnings about one job alone (every code but pile-up); ``now`` is aware."""
    return _Linter(now).job(job)


# --- cron fields ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    unit: str
    prep: str  # "fires at :00", "fires on Sun", "fires in Jan"
    cycle: str  # "of every hour"
    once: str  # "so it runs once an hour"
    duration: str  # the interval suffix for "every n units", "" when there is none


_FIELDS = (
    _Field("minute", 0, 59, "minute", "at", "hour", "an hour", "m"),
    _Field("hour", 0, 23, "hour", "at", "day", "a day", "h"),
    _Field("day-of-month", 1, 31, "day", "on", "month", "a month", "d"),
    _Field("month", 1, 12, "month", "in", "year", "a year", ""),
    _Field("day-of-week", 0, 6, "day", "on", "week", "a week", "d"),
    _Field("second", 0, 59, "second", "at", "minute", "a minute", "s"),
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_NTH = ("first", "second", "third", "fourth")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February outside leap years
_LENGTH_NAMES = {31: "months of 31 days", 30: "months of 30 days", 29: "leap-year Februaries"}
_OPEN_STEP = re.compile(r"^(\*|\w+)/(\d+)$")
_ITEM = re.compile(r"^(\*|\?|\w+)(?:-(\w+))?(?:/(\d+))?$")


def _number(index: int, text: str) -> int | None:
    names = _MONTHS if index == 3 else _DAYS if index == 4 else ()
    if text.lower() in names:
        return names.index(text.lower()) + (1 if index == 3 else 0)
    return int(text) if text.isdigit() else None


def _expand(index: int, field: str) -> set[int] | None:
    """The values a cron field names (ranges may wrap), or None for syntax not modelled here."""
    spec = _FIELDS[index]
    span = spec.hi - spec.lo + 1
    out: set[int] = set()
    for item in field.split(","):
        m = _ITEM.match(item)
        if m is None:
            return None
        first, last, step = m.group(1), m.group(2), int(m.group(3) or 1)
        if first in ("*", "?"):
            lo, hi = spec.lo, spec.hi
        else:
            top = 7 if index == 4 else spec.hi  # day-of-week ranges run to 7, Sunday again
            a = _number(index, first)
            b = _number(index, last) if last is not None else top if m.group(3) else a
            if a is None or b is None:
                return None
            lo, hi = a, b + (span if b < a else 0)
        out.update(spec.lo + (v - spec.lo) % span for v in range(lo, hi + 1, max(step, 1)))
    return out


def _restricted(field: str) -> bool:
    return not field.startswith("*") and field != "?"


def _shown(index: int, v: int) -> str:
    if index in (0, 5):
        return f":{v:02d}"
    if index == 1:
        return f"{v:02d}h"
    if index == 2:
        return _ordinal(v)
    return (_MONTHS[v - 1] if index == 3 else _DAYS[v % 7]).title()


def _listing(words: Sequence[str], limit: int = 6) -> str:
    if len(words) > limit:
        words = [*words[:3], "…", words[-1]]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


@lru_cache(maxsize=4096)
def _step_messages(fields: tuple[str, ...]) -> tuple[str, ...]:
    found = (_step_message(i, item, fields) for i, f in enumerate(fields) for item in f.split(","))
    return tuple(m for m in found if m)


def _step_message(index: int, item: str, fields: tuple[str, ...]) -> str | None:
    m = _OPEN_STEP.match(item)
    spec = _FIELDS[index]
    start = None if m is None else spec.lo if m.group(1) == "*" else _number(index, m.group(1))
    top = 7 if index == 4 and m and m.group(1) != "*" else spec.hi
    if m is None or start is None or not spec.lo <= start <= top or int(m.group(2)) == 0:
        return None
    step = int(m.group(2))
    months = _expand(3, fields[3]) or set(range(1, 13))
    if index == 2:  # the day-of-month cycle is as long as the month
        lengths = {_MONTH_DAYS[mo - 1] for mo in months} | ({29} if 2 in months else set())
        periods = sorted(lengths, reverse=True)
    else:
        periods = [spec.hi - spec.lo + 1]
    values: list[int] = []
    wraps: list[tuple[int, int, int, int]] = []  # (period, last, first, gap)
    for period in periods:
        vals = list(range(start, (min(top, period) if index == 2 else top) + 1, step))
        if not vals:
            continue  # no run in months this short: rare-date's concern
        if index == 4 and len(vals) > 1 and vals[-1] - vals[0] == 7:
            vals.pop()  # day 7 is day 0 again
        values = values or vals
        if period - vals[-1] + vals[0] != step:
            wraps.append((period, vals[-1], vals[0], period - vals[-1] + vals[0]))
    if not wraps:
        return None
    every = _plural(step, spec.unit)
    shown = [_shown(index, v) for v in values]
    the = "the " if index == 2 else ""
    head = f"{spec.name} {item!r} fires {spec.prep} {the}{_listing(shown)} of every {spec.cycle}"
    if len(values) == 1:
        body = f"so it runs once {spec.once}, not every {every}"
    elif index == 2:
        turns = "; ".join(
            f"{_plural(gap, 'day')} from the {_ordinal(last)} to the {_ordinal(first)} in "
            + _LENGTH_NAMES.get(period, "Februaries outside leap years")
            for period, last, first, gap in wraps
        )
        body = f"so runs are {every} apart except where the month turns: {turns}"
    else:
        _, last, first, gap = wraps[0]
        body = (
            f"so runs are {every} apart except {_plural(gap, spec.unit)} from "
            f"{_shown(index, last)} to {_shown(index, first)}, where the step starts again"
        )
    listed = ",".join(str(v % 7) if index == 4 else str(v) for v in values)
    fix = f"list the {spec.unit}s you mean" + (f" ({listed})" if len(values) <= 8 else "")
    if spec.duration:
        fix = f"for a run every {every} use `interval: {step}{spec.duration}`; otherwise {fix}"
    return f"{head}, {body}. To fix it, {fix}."


@lru_cache(maxsize=4096)
def _day_or_message(fields: tuple[str, ...]) -> str | None:
    dom, dow = fields[2], fields[4]
    if not (_restricted(dom) and _restricted(dow)):
        return None
    message = (
        f"day-of-month {dom!r} and day-of-week {dow!r} are both restricted, so this job runs "
        f"on every day that matches EITHER of them (cron's OR rule, as in Vixie cron), not "
        f"only on days that match both."
    )
    days = _expand(2, dom) or set()
    weekdays = [_number(4, d) for d in dow.split(",")]
    if len(days) == 7 and min(days) % 7 == 1 and max(days) <= 28 and None not in weekdays:
        nth = (min(days) - 1) // 7 + 1
        names = _listing([_DAY_NAMES[d % 7] for d in weekdays if d is not None])
        alt = [
            *fields[:2],
            "*",
            fields[3],
            ",".join(f"{d % 7}#{nth}" for d in weekdays if d is not None),
            *fields[5:],
        ]
        message += (
            f" For the {_NTH[nth - 1]} {names} of each month write {' '.join(alt)!r}"
            " (day-of-week 'd#k' is the k-th such weekday of the month)."
        )
    else:
        message += (
            " To require both, say it in one field and put '*' in the other: day-of-week "
            "'1#1' is the first Monday of the month, day-of-month 'L' its last day."
        )
    return message + " If you do mean either, two jobs say it plainly."


@lru_cache(maxsize=4096)
def _rare_date_message(fields: tuple[str, ...], leap_year: int) -> str | None:
    dom = fields[2]
    if not _restricted(dom) or _restricted(fields[4]):
        return None
    days, months = _expand(2, dom), _expand(3, fields[3])  # 'L' is not expanded: never rare
    if not days or not months:
        return None
    first = min(days)
    skipped = [mo for mo in sorted(months) if first > _MONTH_DAYS[mo - 1]]
    if not skipped:
        return None
    if first == 29:  # only February lacks a 29th, and only outside leap years
        outcome = (
            "so this job runs once every four years"
            if len(months) == 1
            else "so this job skips February except in leap years"
        )
        message = (
            f"day-of-month {dom!r}: February has a 29th only in leap years, {outcome} "
            f"(next 29 February: {leap_year}-02-29)."
        )
    else:
        have = len(months) - len(skipped)
        scope = "months" if len(months) == 12 else f"of the {len(months)} months it names"
        names = _listing([_MONTHS[mo - 1].title() for mo in skipped])
        message = (
            f"day-of-month {dom!r}: only {have} {scope} have a {_ordinal(first)}, so this job "
            f"does not run at all in {names}."
        )
    if len(days) == 1:
        alt = " ".join([*fields[:2], "L", *fields[3:]])
        return message + f" If you mean the last day of the month, write {alt!r}."
    return message + " Day-of-month 'L' is the last day of every month."


def _next_leap_day(now: datetime) -> int:
    year = now.year if now.month <= 2 else now.year + 1
    while not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        year += 1
    return year


# --- daylight-saving time -------------------------------------------------------------------


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


def _utc_offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _dst_message(zone: str, change: _Change, matches: Sequence[datetime], delay: timedelta) -> str:
    times = _listing([_clock(m) for m in matches], limit=4)
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
            f"{_clock(actual)} ({_utc_offset(change.after)}){jitter} instead{collapse}."
            f" If the exact time matters, move it out of {_clock(frm)}-{_clock(to)} local time "
            f"or use a zone without daylight-saving time (UTC)."
        )
    shift = int((change.before - change.after).total_seconds()) // 60
    later = "an hour" if shift == 60 else _plural(shift, "minute")
    return (
        f"{times} {'occurs' if one else 'occur'} twice in {zone} on {day}: clocks go back from "
        f"{_clock(frm)} to {_clock(to)}, and this job runs once, at the first pass "
        f"(UTC offset {_utc_offset(change.before)}), not again {later} later. If it must run "
        f"after the change, move it out of {_clock(to)}-{_clock(frm)} local time."
    )


# --- the per-job linter ---------------------------------------------------------------------


class _Linter:
    """The per-job rules for one ``now``; zone changes and DST matches are cached."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"naive datetime {now!r}: the linter needs an aware now")
        self.now = now.astimezone(UTC)
        self._leap_year = _next_leap_day(self.now)
        self._zones: dict[str, list[_Change]] = {}
        self._hits: dict[tuple[str, str], list[tuple[_Change, list[datetime]]]] = {}

    def job(self, job: LoadedJob) -> list[JobFileWarning]:
        out: list[JobFileWarning] = []
        sched = job.spec.schedule
        if sched.cron is not None:
            fields = parse_cron(sched.cron).fields
            found: list[tuple[LintCode, str | None]] = [
                (LintCode.step_uneven, m) for m in _step_messages(fields)
            ]
            found.append((LintCode.day_or_trap, _day_or_message(fields)))
            found.append((LintCode.rare_date, _rare_date_message(fields, self._leap_year)))
            out += [_warning(job, "schedule.cron", code, m) for code, m in found if m]
        # A job that declares `dst:` has chosen what its DST nights do: nothing to warn about.
        fixed = _fixed_times(job) if job.spec.dst is None else []
        for expr, path in fixed:
            for change, hits in self._hits_of(expr, sched.timezone):
                matches = [m for m in hits if _in_window(job, m)]
                if matches:
                    code = LintCode.dst_skipped if change.gap else LintCode.dst_repeated
                    message = _dst_message(sched.timezone, change, matches, _delay(job))
                    out.append(_warning(job, path, code, message))
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
            start, end = change.window
            matches: list[datetime] = []
            while len(matches) < 100:  # enough to say "collapse"; a minute list holds 60
                found = expr.next_local(matches[-1] if matches else start - _TINY)
                if found is None or found >= end:
                    break
                matches.append(found)
            if matches:
                hits.append((change, matches))
        self._hits[key] = hits
        return hits

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
        message = _dst_message(job.spec.schedule.timezone, change, [local], _delay(job))
        return [_warning(job, "schedule.at", code, message)]


def _delay(job: LoadedJob) -> timedelta:
    """The job's stable jitter delay (zero without jitter)."""
    return job.schedule.delay if isinstance(job.schedule, Jitter) else timedelta(0)


def _in_window(job: LoadedJob, local: datetime) -> bool:
    """Whether the run a fixed local time stands for falls inside the job's start/end."""
    sched = job.spec.schedule
    if sched.start is None and sched.end is None:
        return True
    instant = first_instant(local, job.timezone)
    if sched.start is not None and instant < sched.aware(sched.start):
        return False
    return sched.end is None or instant <= sched.aware(sched.end)


def _warning(job: LoadedJob, path: str, code: LintCode, message: str) -> JobFileWarning:
    line, column = job.positions.get(path) or job.position(path.partition("[")[0])
    return JobFileWarning(job.file, line, column, path, message, code=code.value)


# --- pile-ups across the catalog ------------------------------------------------------------


def _pile_ups(jobs: Sequence[LoadedJob], now: datetime, threshold: int) -> list[JobFileWarning]:
    stop = now + PILE_UP_WINDOW
    runs_of: dict[str, list[int]] = {}  # schedule without jitter -> POSIX seconds of its runs
    by_minute: dict[int, list[str]] = defaultdict(list)  # minute -> names of jobs due in it
    for job in jobs:
        if not job.spec.enabled:
            continue
        schedule, delay = job.schedule, 0
        if isinstance(schedule, Jitter):
            delay = int(schedule.delay.total_seconds())
            schedule = schedule.inner
        key = job.spec.schedule.model_dump_json(exclude={"jitter"})
        if key not in runs_of:
            seconds: list[int] = []
            t = now
            while len(seconds) < PILE_UP_MAX_RUNS:
                nxt = schedule.next_after(t)
                if nxt is None or nxt > stop:
                    break
                seconds.append(math.floor(nxt.timestamp()))
                t = nxt
            runs_of[key] = seconds
        for minute in {(s + delay) // 60 for s in runs_of[key]}:
            by_minute[minute].append(job.name)
    worst: dict[str, tuple[int, int]] = {}  # job name -> (-crowd, minute): its worst minute
    for minute, names in by_minute.items():
        if len(names) > threshold:
            names.sort()
            for name in names:
                worst[name] = min(worst.get(name, (0, 0)), (-len(names), minute))
    return [
        _pile_up_warning(job, by_minute[worst[job.name][1]], worst[job.name][1], threshold)
        for job in jobs
        if job.name in worst
    ]


def _pile_up_warning(
    job: LoadedJob, crowd: list[str], minute: int, threshold: int
) -> JobFileWarning:
    """The warning for ``job``, one of the (sorted) names in ``crowd``, due in ``minute``."""
    others = [name for name in crowd[:5] if name != job.name][:4]
    shown = [*others[:3], f"{len(crowd) - 4} more"] if len(crowd) > 5 else others
    at = datetime.fromtimestamp(minute * 60, UTC).astimezone(job.timezone)
    spread = max(2, math.ceil(len(crowd) / threshold))
    jitter = job.spec.schedule.jitter
    hint = (
        f"add `jitter: {spread}m` under schedule, a stable per-job delay, to spread them"
        if jitter is None
        else f"its jitter ({jitter}) leaves it in that minute; `jitter: {spread}m` spreads them"
    )
    message = (
        f"{len(crowd)} enabled jobs are due in the same minute, {at:%Y-%m-%d %H:%M} "
        f"({_utc_offset(at.utcoffset() or timedelta(0))}): this one and {_listing(shown)}. "
        f"More than {threshold} jobs starting at once queue up behind each other on the "
        f"workers and Redis; {hint} over {spread} minutes."
    )
    return _warning(job, f"schedule.{job.spec.schedule.kind}", LintCode.pile_up, message)
