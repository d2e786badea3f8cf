"""Schedules in words, for people: ``list`` and ``plan`` show these beside the raw fields."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from scheduler.core.cronexpr import parse_cron
from scheduler.core.fieldchecks import Weekday

if TYPE_CHECKING:  # `next` describes a schedule without the model (pydantic) imported
    from collections.abc import Sequence

    from scheduler.core.job import LoadedJob
    from scheduler.core.models import ScheduleSpec

_DAY_NAMES = {
    "sun": "Sun",
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
}


def describe_schedule(spec: ScheduleSpec) -> str:
    """'daily at 09:00', 'every 15m', 'cron 0 9 * * 1-5 (At 09:00, Monday through Friday)'."""
    if spec.at is not None:
        return _with_jitter(f"once at {spec.at.isoformat(sep=' ')}", spec.jitter)
    weekly = None if spec.weekly is None else (spec.weekly.days, spec.weekly.at)
    return _recurring(spec.cron, spec.interval, spec.daily, weekly, spec.jitter)


def describe_job_schedule(job: LoadedJob) -> str:
    """``describe_schedule`` of the job's schedule; a compact job's is read from its JSON
    (``json_schedule``), its spec not rebuilt (but for a one-shot at a UTC offset)."""
    fields = job.json_schedule
    if fields is None:
        return describe_schedule(job.spec.schedule)
    if "at" in fields:
        at = datetime.fromisoformat(fields["at"])
        if at.tzinfo is not None:  # written as the model writes an offset: its words
            return describe_schedule(job.spec.schedule)
        return _with_jitter(f"once at {at.isoformat(sep=' ')}", fields.get("jitter"))
    weekly = fields.get("weekly")
    if weekly is not None:
        weekly = ([Weekday(d) for d in weekly["days"]], weekly["at"])
    return _recurring(
        fields.get("cron"),
        fields.get("interval"),
        fields.get("daily"),
        weekly,
        fields.get("jitter"),
    )


def _recurring(
    cron: str | None,
    interval: str | None,
    daily: Sequence[str] | None,
    weekly: tuple[Sequence[Weekday], Sequence[str]] | None,
    jitter: str | None,
) -> str:
    """The words for the one kind given (cron, interval, daily, or weekly's days and times)."""
    if cron is not None:
        text = f"cron {cron} ({describe_cron(cron)})"
    elif interval is not None:
        text = f"every {interval}"
    elif daily is not None:
        text = f"daily at {', '.join(daily)}"
    else:
        assert weekly is not None
        days, at = weekly
        names = ", ".join(
            _DAY_NAMES[d.value] for d in sorted(set(days), key=lambda d: (d.cron + 6) % 7)
        )
        text = f"weekly on {names} at {', '.join(at)}"
    return _with_jitter(text, jitter)


def _with_jitter(text: str, jitter: str | None) -> str:
    return text if jitter is None else f"{text}, jitter {jitter}"


# cron-descriptor reloads its locale on every call (about 1 ms); the web page describes
# thousands of jobs, which share few expressions.
@lru_cache(maxsize=4096)
def describe_cron(expression: str) -> str:
    """English for a cron expression, with Vixie's day-of-month/day-of-week rule stated right."""
    expr = parse_cron(expression)
    fields = list(expr.fields)
    if expr.has_seconds:
        # cron-descriptor reads a sixth field as seconds *first*; ours come last.
        fields = [fields[5], *fields[:5]]
    try:
        from cron_descriptor import ExpressionDescriptor, Options

        options = Options()
        options.use_24hour_time_format = True
        text: str = ExpressionDescriptor(" ".join(fields), options).get_description()
    except Exception:
        return expr.text
    dom, dow = expr.fields[2], expr.fields[4]
    if dom != "*" and dow != "*" and not expr.day_or:
        # cron-descriptor always says "or"; when either field starts with '*' cron means "and".
        text = text.replace(", or on ", ", and only on ")
    return text
