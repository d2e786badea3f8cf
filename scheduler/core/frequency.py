"""How often a schedule runs: run counts over a horizon, and "runs far more often" (pure).

``scheduler plan`` warns (more-frequent) when a changed schedule will run more than
FREQUENCY_FACTOR times as often as before; the counts here say how often, cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.core.schedule import Schedule, iter_runs

#: Run counts are compared over this span after ``now`` ...
FREQUENCY_HORIZON = timedelta(days=7)
#: ... or over a year when the old schedule has no run in it (monthly, yearly jobs).
LONG_FREQUENCY_HORIZON = timedelta(days=366)
#: At most this many runs are counted per schedule (exact up to one run every ~20 minutes
#: over 7 days); past it the rate is measured over the time the first FREQUENCY_CAP runs
#: take, since a 1-second job has 604,800 runs in 7 days and a cron step costs ~50 us.
FREQUENCY_CAP = 500
#: A job that will run more than this many times as often gets a warning.
FREQUENCY_FACTOR = 10
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class RunCount:
    """Runs counted after ``now``: ``count`` of them within ``span`` (whole microseconds)."""

    count: int
    span: timedelta
    capped: bool

    def describe(self) -> str:
        if self.capped:
            per_day = self.count / (self.span / timedelta(days=1))
            return f"about {per_day:,.0f} runs a day"
        days = self.span // timedelta(days=1)
        return f"{self.count} run{'' if self.count == 1 else 's'} in the next {days} days"


def count_runs(schedule: Schedule, now: datetime, horizon: timedelta) -> RunCount:
    """Runs in (now, now + horizon], stopping at FREQUENCY_CAP (then ``span`` is the time
    from ``now`` to that last counted run)."""
    count, last = 0, now
    for run in iter_runs(schedule, now, FREQUENCY_CAP):
        if run > now + horizon:
            break
        count, last = count + 1, run
    if count == FREQUENCY_CAP:
        return RunCount(count, last - now, capped=True)
    return RunCount(count, horizon, capped=False)


def frequency_ratio(before: RunCount, after: RunCount) -> float:
    """How many times as often ``after`` runs as ``before`` (whose count is not 0)."""
    return (after.count * (before.span // _US)) / (before.count * (after.span // _US))


def more_frequent(old: Schedule, new: Schedule, now: datetime) -> tuple[RunCount, RunCount] | None:
    """The two counts when ``new`` runs more than FREQUENCY_FACTOR times as often as ``old``.

    Both are counted over FREQUENCY_HORIZON, or over LONG_FREQUENCY_HORIZON when ``old``
    has no run in it. An old schedule with no run in a year gives None (no ratio).
    """
    before = count_runs(old, now, FREQUENCY_HORIZON)
    horizon = FREQUENCY_HORIZON
    if before.count == 0:
        horizon = LONG_FREQUENCY_HORIZON
        before = count_runs(old, now, horizon)
        if before.count == 0:
            return None
    after = count_runs(new, now, horizon)
    # Integers, so that exactly FREQUENCY_FACTOR times is never "more" by a rounding error.
    if after.count * (before.span // _US) > FREQUENCY_FACTOR * before.count * (after.span // _US):
        return before, after
    return None
