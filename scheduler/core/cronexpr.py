"""Cron expressions: parsing, validation with located reasons, and wall-clock iteration.

This is the one adapter around croniter. It iterates *naive local* times only, which
croniter does well; what those wall-clock times mean as instants on DST nights is
decided in ``schedule.py`` with the help of ``localtime.py``.

Fields, as croniter and RQ read them: ``minute hour day-of-month month day-of-week``
and an optional sixth field, ``second``, written *last*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from scheduler.core.cronplain import daily_times, next_daily, plainly_fires, weekdays

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week", "second")
_FIELD_RANGES = ("0-59", "0-23", "1-31", "1-12 or jan-dec", "0-7 or sun-sat", "0-59")
# Where croniter is asked about one field alone, the others are wildcards.
_PROBE_BASE = ["*", "*", "*", "*", "*", "*"]
# Any reference works for "does it ever fire"; a fixed one keeps validation pure.
_REFERENCE = datetime(2026, 1, 1)


class CronSyntaxError(ValueError):
    """A cron expression that cannot be used, with the reason in words."""


@dataclass(frozen=True, slots=True)
class CronExpr:
    """A validated cron expression (``text`` normalized; ``fields`` has macros expanded).

    One is held per distinct expression for as long as the watcher runs (100,000 at
    scale), so it keeps only what ``next_local`` reads: the day's table where there is one
    (``daily``: seconds since midnight of every match, on ``weekdays``, Python's numbering,
    None for every day), croniter's spelling of the fields where there is not (``engine``),
    and whether it names fixed times. ``fields`` are split from ``text`` when asked: the
    two tuples of them and their strings were most of each expression's size.
    """

    text: str
    daily: tuple[int, ...] | None
    weekdays: frozenset[int] | None
    engine: tuple[str, ...] | None
    fixed_time: bool  # Debian cron's test: neither minute nor hour begins with ``*``

    @property
    def fields(self) -> tuple[str, ...]:
        return _split(self.text)

    @property
    def engine_fields(self) -> tuple[str, ...]:
        """The fields as croniter is given them (see ``_normalize``)."""
        if self.engine is not None:
            return self.engine
        return tuple(_normalize(i, f) for i, f in enumerate(self.fields))

    @property
    def has_seconds(self) -> bool:
        return len(self.fields) == 6

    @property
    def day_or(self) -> bool:
        """Vixie cron: day-of-month OR day-of-week only when neither begins with ``*``."""
        fields = self.fields
        return not fields[2].startswith("*") and not fields[4].startswith("*")

    def __reduce__(self) -> tuple[Any, ...]:
        return (restore_cron, (self.text, self.daily, self.weekdays, self.engine, self.fixed_time))

    def next_local(self, after: datetime) -> datetime | None:
        """The first matching wall-clock time strictly after ``after`` (both naive)."""
        if self.daily is not None:
            return next_daily(self.daily, self.weekdays, after)
        assert self.engine is not None
        return _next_match(self.engine, self.day_or, after)


def _split(text: str) -> tuple[str, ...]:
    """The fields of a normalized expression, a macro expanded."""
    if text.startswith("@"):
        text = MACROS.get(text.lower(), text)
    return tuple(text.split())


def _compile(text: str, fields: tuple[str, ...]) -> CronExpr:
    """What ``CronExpr`` holds of an expression whose fields are syntactically plausible."""
    daily = daily_times(fields)
    days = None if daily is None else weekdays(fields)
    engine = None if daily is not None else tuple(_normalize(i, f) for i, f in enumerate(fields))
    fixed = not fields[0].startswith("*") and not fields[1].startswith("*")
    return CronExpr(text, daily, days, engine, fixed)


_RESTORED: dict[str, CronExpr] = {}


def restore_cron(
    text: str,
    daily: tuple[int, ...] | None,
    weekdays: frozenset[int] | None,
    engine: tuple[str, ...] | None,
    fixed_time: bool,
) -> CronExpr:
    """An expression unpickled (the job cache, which pickles in chunks, each with its own
    copies): the jobs sharing it share one object again. Not validated again: it was
    when parsed, by the same code (the cache is keyed by it)."""
    found = _RESTORED.get(text)
    if found is None:
        found = CronExpr(text, daily, weekdays, engine, fixed_time)
        if len(_RESTORED) < _MAX_RESTORED:
            _RESTORED[text] = found
    return found


_MAX_RESTORED = 1 << 17


def forget_restored() -> None:
    """Let go of the index ``restore_cron`` shares expressions by (see
    ``schedule.forget_restored``)."""
    _RESTORED.clear()


def parse_cron(text: str) -> CronExpr:
    """Validate ``text`` and return it parsed; raise CronSyntaxError naming the bad field."""
    return _parse_cached(" ".join(str(text).split()))


# Each expression is parsed twice on load (the model's validator, then the job's schedule,
# after every file is read): the cache must hold a whole jobs.d of distinct expressions
# (one per job is common: "30 2 * * *", "17 4 * * *", ...) or both parses pay croniter.
@lru_cache(maxsize=1 << 17)
def _parse_cached(text: str) -> CronExpr:
    plain = _PLAIN_DAILY.fullmatch(text)
    if plain is not None:
        minute, hour, second = int(plain[1]), int(plain[2]), int(plain[3] or 0)
        if minute < 60 and hour < 24 and second < 60:
            # What the general path below makes of it, without its field by field checks:
            # one time a day (the commonest expression of a large jobs.d, one per job).
            return CronExpr(text, (hour * 3600 + minute * 60 + second,), None, None, True)
    if not text:
        raise CronSyntaxError("the cron expression is empty")
    if text.startswith("@"):
        expanded = MACROS.get(text.lower())
        if expanded is None:
            names = " ".join(sorted(MACROS))
            raise CronSyntaxError(f"unknown macro {text!r}; use one of {names}")
        fields = tuple(expanded.split())
    else:
        fields = tuple(text.split())
    if len(fields) == 7:
        raise CronSyntaxError(
            "has 7 fields; a year field is not supported (5 fields, or 6 with seconds last)"
        )
    if len(fields) not in (5, 6):
        raise CronSyntaxError(
            f"has {len(fields)} field{'s' if len(fields) != 1 else ''}; expected 5 "
            "(minute hour day-of-month month day-of-week) or 6 (the same, then second)"
        )
    for index, field in enumerate(fields):
        _reject_extensions(index, field)
    expr = _compile(text, fields)
    if expr.daily is not None or plainly_fires(fields):
        # In-range numbers and steps: nothing croniter could reject, and a run it finds
        # soon. croniter (a sixth of a `scheduler next`) is then imported only to step one.
        return expr
    try:
        # Builds (and keeps, for next_local) a croniter of this expression: its parse
        # is the syntax check, so no second croniter is built just to validate.
        _keep_iterator(expr.engine_fields, expr.day_or)
        # Only a day-of-month/month/day-of-week combination can match no date at all;
        # with all three "*" every day matches, and searching for a run (a croniter
        # step, as costly as the parse) would say nothing new.
        fires = fields[2:5] == ("*", "*", "*") or expr.next_local(_REFERENCE) is not None
    except _CRONITER_ERRORS:
        raise CronSyntaxError(_explain_bad_fields(fields)) from None
    if not fires:
        raise CronSyntaxError("never fires: no date matches it (such as the 30th of February)")
    return expr


# One time of day, every day: "30 2 * * *", or "30 2 * * * 15" with seconds.
_PLAIN_DAILY = re.compile(r"([0-9]{1,2}) ([0-9]{1,2}) \* \* \*(?: ([0-9]{1,2}))?")
_EQUAL_RANGE = re.compile(r"^(\w+)-(\w+)(/\d+)?$")
_OPEN_STEP = re.compile(r"^(\w+)/(\d+)$")


def _normalize(index: int, field: str) -> str:
    """Rewrite the two spellings croniter reads differently from Vixie cron and cronsim.

    croniter takes an equal range ``a-a`` for the whole field (``9-9`` as every hour);
    cron means the single value. In day-of-week, croniter ends an open step ``a/n`` at 6;
    cron ranges run to 7 (Sunday again), so ``1/2`` is Mon, Wed, Fri *and* Sun.
    """
    items = []
    for written in field.split(","):
        item = written
        step = _OPEN_STEP.match(item)
        if index == 4 and step and not item.startswith("*"):
            item = f"{step.group(1)}-7/{step.group(2)}"
        same = _EQUAL_RANGE.match(item)
        if same and same.group(1).lower() == same.group(2).lower():
            item = same.group(1)
        items.append(item)
    return ",".join(items)


def _reject_extensions(index: int, field: str) -> None:
    for item in field.upper().split(","):
        if item == "H" or item.startswith(("H(", "H/")):
            raise CronSyntaxError(
                f"{FIELD_NAMES[index]} field {field!r}: hashed 'H' values are not supported; "
                "use schedule.jitter for a stable per-job offset"
            )
        if item == "R":
            raise CronSyntaxError(
                f"{FIELD_NAMES[index]} field {field!r}: random 'R' values are not supported"
            )


def _explain_bad_fields(fields: tuple[str, ...]) -> str:
    bad = [i for i in range(len(fields)) if not _field_parses(i, fields[i], len(fields))]
    if not bad:
        return f"{' '.join(fields)!r} is not a valid cron expression"
    reasons = [
        f"{FIELD_NAMES[i]} field {fields[i]!r} is not valid (allowed: {_FIELD_RANGES[i]})"
        for i in bad
    ]
    message = "; ".join(reasons)
    if len(fields) == 6:
        seconds_last = fields[1:] + fields[:1]
        if _parses(seconds_last, True):
            message += (
                f"; six-field expressions put seconds last, so a Quartz-style "
                f"'{' '.join(fields)}' is written '{' '.join(seconds_last)}'"
            )
    return message


def _field_parses(index: int, field: str, count: int) -> bool:
    probe = _PROBE_BASE[:count]
    probe[index] = _normalize(index, field)
    return _parses(tuple(probe), True)


def _croniter(fields: tuple[str, ...], day_or: bool, start: datetime) -> Any:
    from croniter import croniter

    return croniter(" ".join(fields), start, day_or=day_or, ret_type=datetime)


# croniter's errors derive from ValueError; odd input has raised the others.
_CRONITER_ERRORS = (ValueError, KeyError, IndexError, TypeError)


def _parses(fields: tuple[str, ...], day_or: bool) -> bool:
    try:
        _croniter(fields, day_or, _REFERENCE)
    except _CRONITER_ERRORS:
        return False
    return True


# Building a croniter expands every field (most of its cost), so each expression keeps
# its built iterators for reuse. A caller takes one out of the pool and puts it back after
# stepping it: list.pop and list.append are atomic, so concurrent callers (the watcher's
# loop and a web request) never step the same iterator, and the core needs no lock.
_ITERATORS: dict[tuple[tuple[str, ...], bool], list[Any]] = {}


def _keep_iterator(fields: tuple[str, ...], day_or: bool) -> None:
    """Build the expression's first iterator now (raises croniter's parse errors)."""
    pool = _ITERATORS.setdefault((fields, day_or), [])
    if not pool:
        pool.append(_croniter(fields, day_or, _REFERENCE))


def _next_match(fields: tuple[str, ...], day_or: bool, after: datetime) -> datetime | None:
    from croniter import CroniterBadDateError

    pool = _ITERATORS.setdefault((fields, day_or), [])
    try:
        iterator = pool.pop()
    except IndexError:
        iterator = _croniter(fields, day_or, _REFERENCE)  # raises croniter's parse errors
    try:
        iterator.set_current(after, force=True)
        found: datetime = iterator.get_next(datetime)
    except (CroniterBadDateError, OverflowError):
        return None
    finally:
        pool.append(iterator)
    return found
