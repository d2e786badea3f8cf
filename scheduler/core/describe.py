"""Schedules in words, for people: ``list`` and ``plan`` show these beside the raw fields."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from scheduler.core.cronexpr import parse_cron

if TYPE_CHECKING:  # `next` describes a schedule without the model (pydantic) imported
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
    if spec.cron is not None:
        text = f"cron {spec.cron} ({describe_cron(spec.cron)})"
    elif spec.interval is not None:
        text = f"every {spec.interval}"
    elif spec.daily is not None:
        text = f"daily at {', '.join(spec.daily)}"
    elif spec.weekly is not None:
        days = ", ".join(
            _DAY_NAMES[d.value]
            for d in sorted(set(spec.weekly.days), key=lambda d: (d.cron + 6) % 7)
        )
        text = f"weekly on {days} at {', '.join(spec.weekly.at)}"
    else:
        assert spec.at is not None
        text = f"once at {spec.at.isoformat(sep=' ')}"
    if spec.jitter is not None:
        text += f", jitter {spec.jitter}"
    return text


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
