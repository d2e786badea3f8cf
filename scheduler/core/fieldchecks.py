"""The checks of a job file's single fields, without pydantic (pure).

The job model (``models``, ``schedulespec``) raises its validation errors from these, and
the plain-document fast path (``plainjob``) accepts by them: one copy of each rule, so
the two cannot come to disagree on what a valid name, task, queue, zone, time or day is.
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from functools import lru_cache

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
TASK_PATTERN = rf"^{_DOTTED}:{_DOTTED}$"
QUEUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
TIME_PATTERN = r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"

NAME_RE = re.compile(NAME_PATTERN)
TASK_RE = re.compile(TASK_PATTERN)
QUEUE_RE = re.compile(QUEUE_PATTERN)
_TIME_RE = re.compile(TIME_PATTERN)

# Datetimes far from now only overflow date arithmetic; no schedule needs them.
MIN_YEAR, MAX_YEAR = 1900, 9000

#: A problem found: the error's stable code and its finished message.
Problem = tuple[str, str]


def name_problem(value: str) -> Problem | None:
    """Why ``value`` is not a job name, or None when it is one."""
    if NAME_RE.fullmatch(value):
        return None
    if any(c in value for c in "/\\") or value in (".", "..") or ".." in value:
        return (
            "name_path",
            f"{value!r} looks like a path; a job name is one word, without '/' or '..'",
        )
    if len(value) > 63:
        return "name_length", f"is {len(value)} characters long; at most 63 are allowed"
    return (
        "name_syntax",
        f"{value!r} is not a valid job name: use lower-case letters, digits, '.', '_' and '-', "
        "starting with a letter or digit",
    )


def task_problem(value: str) -> Problem | None:
    """Why ``value`` is not a task's import path, or None when it is one."""
    if TASK_RE.fullmatch(value):
        return None
    return "task_syntax", f"{value!r} is not an import path; write 'package.module:function'"


def queue_problem(value: str) -> Problem | None:
    """Why ``value`` is not a queue name, or None when it is one."""
    if QUEUE_RE.fullmatch(value):
        return None
    return "queue_syntax", f"{value!r} is not a queue name: letters, digits, '.', '_', ':' and '-'"


@lru_cache(maxsize=1024)
def known_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows (no paths, cached)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name or name.startswith(("/", ".")) or ".." in name or "\x00" in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def time_of_day(value: object) -> str | None:
    """A local time of day as the model holds it (``"9:30"`` -> ``"09:30"``), or None
    when ``value`` is not text reading HH:MM or HH:MM:SS (24-hour)."""
    if isinstance(value, str) and _TIME_RE.fullmatch(value.strip()):
        parts = [int(p) for p in value.strip().split(":")]
        hour, minute, second = (*parts, 0)[:3]
        return time(hour, minute, second).isoformat(
            timespec="seconds" if len(parts) == 3 else "minutes"
        )
    return None


class Weekday(StrEnum):
    """Days for ``weekly``; the cron day-of-week number is the member's position."""

    sun = "sun"
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"

    @property
    def cron(self) -> int:
        return list(Weekday).index(self)


_DAY_NAMES = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}


def weekday_of(value: object) -> Weekday | None:
    """The day ``value`` names (``mon``, ``Monday``, case and spaces aside), or None."""
    if isinstance(value, str):
        key = value.strip().lower()[:3]
        if value.strip().lower() in _DAY_NAMES or len(value.strip()) == 3:
            try:
                return Weekday(key)
            except ValueError:
                pass
    return None
