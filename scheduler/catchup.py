"""What to do with instants that passed while nothing dispatched them (pure).

Two situations share this arithmetic. After a restart, every instant since the stored
last one was missed while the watcher was down: the latest is run once as a catch-up,
the earlier ones are recorded as missed. While running, a loop that falls a little
behind (a slow Redis, a busy machine) still dispatches runs that are at most ``grace``
late as ordinary runs; anything older is treated like downtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.schedule import Schedule

#: Runs at most this late are dispatched normally while the watcher runs.
DEFAULT_GRACE = timedelta(seconds=60)
#: Missed instants recorded one by one; beyond this only their count is logged.
MAX_RECORDED_MISSED = 100
_MAX_SCAN = 100_000


@dataclass(frozen=True, kw_only=True)
class Resume:
    """The outcome of looking at (last, now]: what to dispatch, record, and wait for."""

    late: list[datetime] = field(default_factory=list)  # dispatch as ordinary runs
    catch_up: datetime | None = None  # dispatch once, marked catch-up
    missed: list[datetime] = field(default_factory=list)  # record as missed (capped)
    missed_total: int = 0  # missed instants found, recorded or not (a lower bound if truncated)
    scan_truncated: bool = False  # more instants passed than were looked at
    next_run: datetime | None = None  # the first instant after now


def resume(schedule: Schedule, last: datetime, now: datetime, *, grace: timedelta) -> Resume:
    """Sort the instants in (last, now] into late runs, one catch-up and missed ones."""
    passed, truncated = _scan(schedule, last, now)
    if truncated:
        # Too many to list from ``last``: what matters is the tail just before now, so
        # look back over growing windows until one holds instants and fits the scan.
        head = passed
        for window in _TAIL_WINDOWS:
            start = max(last, now - window)
            tail, tail_truncated = _scan(schedule, start, now)
            if tail and not tail_truncated:
                break
        passed = head + [t for t in tail if t > head[-1]]
    next_run = schedule.next_after(now) if passed else schedule.next_after(last)
    if next_run is not None and next_run <= now:
        next_run = schedule.next_after(now)
    late = [i for i in passed if now - i <= grace]
    older = [i for i in passed if now - i > grace]
    catch_up = None
    if older and not late:
        catch_up = older.pop()
    return Resume(
        late=late,
        catch_up=catch_up,
        missed=older[-MAX_RECORDED_MISSED:],
        missed_total=len(older),
        scan_truncated=truncated,
        next_run=next_run,
    )


_TAIL_WINDOWS = tuple(
    timedelta(seconds=s)
    for s in (60, 3600, 86400, 7 * 86400, 31 * 86400, 366 * 86400, 3650 * 86400)
)


def _scan(schedule: Schedule, after: datetime, now: datetime) -> tuple[list[datetime], bool]:
    """Instants in (after, now], at most _MAX_SCAN; True when more passed than were listed."""
    passed: list[datetime] = []
    t = after
    while True:
        nxt = schedule.next_after(t)
        if nxt is None or nxt > now:
            return passed, False
        if len(passed) == _MAX_SCAN:
            return passed, True
        passed.append(nxt)
        t = nxt
