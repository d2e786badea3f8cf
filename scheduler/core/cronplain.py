"""Cron fields read without croniter: plain numbers, ranges and steps (pure).

Most expressions of a large jobs.d are plain (``30 2 * * *``, ``*/15 9-17 * * 1-5``,
``9 3 1 */3 *``). Building a croniter costs about as much as the rest of loading a job,
and importing it a tenth of ``scheduler next``; for these, ``cronexpr`` needs it neither
to validate nor, for the times of a day, to step.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import datetime, timedelta

# A list of in-range numbers, ranges and steps (``5``, ``1-5``, ``*/15``, ``0-30/10``).
_SIMPLE_ITEM = re.compile(r"^(?:(\*)|(\d{1,2})(?:-(\d{1,2}))?)(?:/(\d{1,2}))?$")
_DAILY_LIMIT = 1440  # matches per day above which the day's table is not worth holding


def simple_values(field: str, low: int, size: int, *, steps: bool = True) -> set[int] | None:
    """The values a field of plain numbers, ranges and steps names (as croniter reads them),
    or None for anything else or anything croniter could reject (it then decides)."""
    values: set[int] = set()
    for item in field.split(","):
        m = _SIMPLE_ITEM.match(item)
        if m is None:
            return None
        star, first, last, step = m.groups()
        if step is not None and (not steps or not 0 < int(step) < size or (first and not last)):
            return None  # "a/n", a zero or oversized step: croniter's reading, its errors
        start, stop = (low, low + size - 1) if star else (int(first), int(last or first))
        if not low <= start <= stop < low + size:
            return None
        values.update(range(start, stop + 1, int(step or 1)))
    return values


def daily_times(fields: tuple[str, ...]) -> tuple[int, ...] | None:
    """Every matching day's matches, in seconds since midnight, when the day fields are
    ``*`` but day-of-week may be restricted (``weekdays``) and the time fields are plain
    numbers, ranges and steps (``30 2 * * *``, ``*/15 9-17 * * 1-5``, ``0 9,18 * * * 30``).

    Those are most of the distinct expressions of a large jobs.d, and croniter costs about
    as much to build and to step once (per distinct expression) as the rest of loading a
    job; their next match is a lookup in the day's times instead. Anything else, or more
    than ``_DAILY_LIMIT`` matches a day, returns None: croniter handles it.
    """
    if fields[2:4] != ("*", "*") or (fields[4] != "*" and weekdays(fields) is None):
        return None
    spans = ((fields[0], 60), (fields[1], 24), (fields[5] if len(fields) == 6 else "0", 60))
    sets: list[set[int]] = []
    for field, size in spans:
        values = simple_values(field, 0, size)
        if values is None:
            return None
        sets.append(values)
    minutes, hours, seconds = sets
    if len(minutes) * len(hours) * len(seconds) > _DAILY_LIMIT:
        return None
    return tuple(sorted(h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds))


# The most days each month can have (February's 29th comes every leap year).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def plainly_fires(fields: tuple[str, ...]) -> bool:
    """Whether every field is plain numbers, ranges and steps (nothing croniter rejects)
    and some date plainly matches: day-of-month ``*`` or Vixie's OR (every month holds
    every weekday), or day-of-week ``*`` with a day-of-month some month has. False means
    croniter decides (the AND of two restricted day fields, names, a '*' in a list, a
    date that never comes).
    """
    times = ((fields[0], 60), (fields[1], 24), (fields[5] if len(fields) == 6 else "0", 60))
    days, months = simple_values(fields[2], 1, 31), simple_values(fields[3], 1, 12)
    if (
        days is None
        or months is None
        or day_of_week(fields[4]) is None
        or any(simple_values(field, 0, size) is None for field, size in times)
    ):
        return False
    dom, dow = fields[2], fields[4]
    if dom == "*" or ("*" not in dom and "*" not in dow):
        return True
    # croniter reads a '*' inside a list ("1,*") its own way: that is left to it.
    plain_dom = "*" not in dom or (dom.startswith("*/") and "," not in dom)
    return (
        dow == "*" and plain_dom and any(day <= _MONTH_DAYS[m - 1] for m in months for day in days)
    )


_DAY_NAMES = {
    name: str(i) for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])
}
_DAY_NAME = re.compile(r"[A-Za-z]{3}")


def weekdays(fields: tuple[str, ...]) -> frozenset[int] | None:
    """The Python weekdays a day-of-week of numbers, names and ranges names (cron's 0 and 7
    are Sunday), when day-of-month and month are ``*``; None for every day or otherwise."""
    if fields[4] == "*" or fields[2:4] != ("*", "*"):
        return None
    days = day_of_week(fields[4])
    return None if days is None else frozenset((d - 1) % 7 for d in days)


def day_of_week(field: str) -> set[int] | None:
    """The cron days (0 and 7 Sunday) a day-of-week of numbers, names and ranges names."""
    # An unknown name stays letters, which _simple_values refuses: croniter then says why.
    numbered = _DAY_NAME.sub(lambda m: _DAY_NAMES.get(m[0].lower(), m[0]), field)
    return simple_values(numbered, 0, 8, steps=False)


def next_daily(
    times: tuple[int, ...], weekdays: frozenset[int] | None, after: datetime
) -> datetime | None:
    """The first of the day's ``times`` strictly after ``after`` (naive) on one of the
    ``weekdays`` (None: any), else the first of the next such day; None past the last
    representable day, as croniter's overflow gives."""
    midnight = after.replace(hour=0, minute=0, second=0, microsecond=0)
    index = bisect_right(times, after.hour * 3600 + after.minute * 60 + after.second)
    try:
        if index < len(times) and (weekdays is None or midnight.weekday() in weekdays):
            return midnight + timedelta(seconds=times[index])
        for ahead in range(1, 8):
            day = midnight + timedelta(days=ahead)
            if weekdays is None or day.weekday() in weekdays:
                return day + timedelta(seconds=times[0])
    except OverflowError:
        return None
    return None  # no weekday at all: _weekdays never gives an empty set
