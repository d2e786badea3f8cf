"""The cron-field rules: uneven steps, the day-of-month / day-of-week OR, rare dates.

Each rule takes the expression's fields as a tuple (so results are cached per
expression) and returns finished messages; the caller locates them at ``schedule.cron``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from scheduler.core.lint.common import listing, ordinal, plural


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
        return ordinal(v)
    return (_MONTHS[v - 1] if index == 3 else _DAYS[v % 7]).title()


@lru_cache(maxsize=4096)
def step_messages(fields: tuple[str, ...]) -> tuple[str, ...]:
    """The step-uneven messages of a cron expression's fields, one per open step that wraps."""
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
    every = plural(step, spec.unit)
    shown = [_shown(index, v) for v in values]
    the = "the " if index == 2 else ""
    head = f"{spec.name} {item!r} fires {spec.prep} {the}{listing(shown)} of every {spec.cycle}"
    if len(values) == 1:
        body = f"so it runs once {spec.once}, not every {every}"
    elif index == 2:
        turns = "; ".join(
            f"{plural(gap, 'day')} from the {ordinal(last)} to the {ordinal(first)} in "
            + _LENGTH_NAMES.get(period, "Februaries outside leap years")
            for period, last, first, gap in wraps
        )
        body = f"so runs are {every} apart except where the month turns: {turns}"
    else:
        _, last, first, gap = wraps[0]
        body = (
            f"so runs are {every} apart except {plural(gap, spec.unit)} from "
            f"{_shown(index, last)} to {_shown(index, first)}, where the step starts again"
        )
    listed = ",".join(str(v % 7) if index == 4 else str(v) for v in values)
    fix = f"list the {spec.unit}s you mean" + (f" ({listed})" if len(values) <= 8 else "")
    if spec.duration:
        fix = f"for a run every {every} use `interval: {step}{spec.duration}`; otherwise {fix}"
    return f"{head}, {body}. To fix it, {fix}."


@lru_cache(maxsize=4096)
def day_or_message(fields: tuple[str, ...]) -> str | None:
    """The day-or-trap message, or None when day-of-month or day-of-week is unrestricted."""
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
        names = listing([_DAY_NAMES[d % 7] for d in weekdays if d is not None])
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
def rare_date_message(fields: tuple[str, ...], leap_year: int) -> str | None:
    """The rare-date message, or None; ``leap_year`` is the year of the next 29 February."""
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
        names = listing([_MONTHS[mo - 1].title() for mo in skipped])
        message = (
            f"day-of-month {dom!r}: only {have} {scope} have a {ordinal(first)}, so this job "
            f"does not run at all in {names}."
        )
    if len(days) == 1:
        alt = " ".join([*fields[:2], "L", *fields[3:]])
        return message + f" If you mean the last day of the month, write {alt!r}."
    return message + " Day-of-month 'L' is the last day of every month."


def next_leap_day(now: datetime) -> int:
    """The year of the first 29 February in or after ``now``'s month."""
    year = now.year if now.month <= 2 else now.year + 1
    while not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        year += 1
    return year
