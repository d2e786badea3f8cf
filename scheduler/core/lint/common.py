"""What every lint rule shares: the codes, the warning located at its field, the wording."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum

from scheduler.core.errors import JobFileWarning
from scheduler.core.job import LoadedJob
from scheduler.core.schedule import Jitter


class LintCode(StrEnum):
    """The stable codes of lint warnings (the package docstring's table says when each fires)."""

    step_uneven = "step-uneven"  #: an open step wraps around its field unevenly
    day_or_trap = "day-or-trap"  #: day-of-month and day-of-week both restricted: OR, not AND
    rare_date = "rare-date"  #: some of the job's months lack every day it names
    dst_skipped = "dst-skipped"  #: a fixed local time inside a spring-forward gap
    dst_repeated = "dst-repeated"  #: a fixed local time inside a fall-back overlap
    pile_up = "pile-up"  #: too many enabled jobs due in the same minute


def warning(job: LoadedJob, path: str, code: LintCode, message: str) -> JobFileWarning:
    """A warning about ``job`` located at the field ``path`` (``schedule.daily[1]``, ...)."""
    line, column = job.positions.get(path) or job.position(path.partition("[")[0])
    return JobFileWarning(job.file, line, column, path, message, code=code.value)


def jitter_delay(job: LoadedJob) -> timedelta:
    """The job's stable jitter delay (zero without jitter)."""
    return job.schedule.delay if isinstance(job.schedule, Jitter) else timedelta(0)


def listing(words: Sequence[str], limit: int = 6) -> str:
    """``a, b and c``; past ``limit`` words only the first three, an ellipsis and the last."""
    if len(words) > limit:
        words = [*words[:3], "…", words[-1]]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``11th``, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def plural(n: int, unit: str) -> str:
    """``1 minute``, ``2 minutes``."""
    return f"{n} {unit}{'' if n == 1 else 's'}"


def utc_offset(delta: timedelta) -> str:
    """A UTC offset as ``+02:00`` (whole minutes)."""
    minutes = int(delta.total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
