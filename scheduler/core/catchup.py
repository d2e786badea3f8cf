"""What to do with instants that passed while nothing dispatched them (pure).

Two situations share this arithmetic. After a restart, every instant since the stored
last one passed while the watcher was down. While running, a loop that falls a little
behind (a slow Redis, a busy machine) still dispatches runs that are at most ``grace``
(the on-time tolerance, 60 s) late as ordinary runs; anything older is treated like
downtime. What happens to those older instants is the job's misfire rule:

* an instant later than the rule's ``grace`` is never run: it is *stale* (missed, grace);
* ``skip`` records the rest missed; ``run_once`` runs the latest as one catch-up (unless
  an on-time run already goes out) and records the earlier ones missed; ``run_all`` runs
  each, the latest ``max_catchup`` of them, and records the earlier ones missed.

Every instant in (last, now] lands in exactly one of late, catch_ups, missed, over_max and
stale (the lists of instants not run are capped at MAX_RECORDED_MISSED, the latest kept;
``missed_total`` counts them all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.core.policies import MisfirePolicy, Reason
from scheduler.core.schedule import Schedule

#: Runs at most this late are dispatched normally while the watcher runs.
DEFAULT_GRACE = timedelta(seconds=60)
#: Missed instants recorded one by one; beyond this only their count is logged.
MAX_RECORDED_MISSED = 100
_MAX_SCAN = 100_000


#: The default cap on run_all catch-ups after one outage.
DEFAULT_MAX_CATCHUP = 100


@dataclass(frozen=True, kw_only=True)
class MisfireRule:
    """A job's misfire policy. ``grace`` None means no limit on how late a run may start."""

    policy: MisfirePolicy = MisfirePolicy.run_once
    grace: timedelta | None = None
    max_catchup: int = DEFAULT_MAX_CATCHUP


RUN_ONCE = MisfireRule()


@dataclass(frozen=True, kw_only=True)
class Resume:
    """The outcome of looking at (last, now]: what to dispatch, record, and wait for."""

    late: list[datetime] = field(default_factory=list)  # dispatch as ordinary runs
    catch_ups: list[datetime] = field(default_factory=list)  # dispatch, marked catch-up
    missed: list[datetime] = field(default_factory=list)  # record missed: the policy (capped)
    over_max: list[datetime] = field(default_factory=list)  # missed: beyond max_catchup (capped)
    stale: list[datetime] = field(default_factory=list)  # missed: later than grace (capped)
    missed_total: int = 0  # instants not run, recorded or not (a lower bound if truncated)
    scan_truncated: bool = False  # more instants passed than were looked at
    next_run: datetime | None = None  # the first instant after now

    @property
    def catch_up(self) -> datetime | None:
        """The latest catch-up (run_once has at most one)."""
        return self.catch_ups[-1] if self.catch_ups else None

    @property
    def dispatched(self) -> list[datetime]:
        """Every instant that goes out, late runs and catch-ups, ascending."""
        return sorted([*self.late, *self.catch_ups])


@dataclass(frozen=True, kw_only=True)
class Missed:
    """One instant a plan does not run, and why (the ledger's missed row)."""

    instant: datetime
    reason: Reason


def missed(plan: Resume, reason: Reason) -> list[Missed]:
    """The instants ``plan`` records missed, each with its reason, in the order recorded.

    Stale instants are missed by the rule's grace, the ones beyond run_all's cap by
    ``max_catchup``; the rest (``plan.missed``) by ``reason``: why nothing dispatched them
    (the watcher was down, or its loop fell behind).
    """
    return [
        *(Missed(instant=i, reason=Reason.grace) for i in plan.stale),
        *(Missed(instant=i, reason=Reason.max_catchup) for i in plan.over_max),
        *(Missed(instant=i, reason=reason) for i in plan.missed),
    ]


def resume(
    schedule: Schedule,
    last: datetime,
    now: datetime,
    *,
    grace: timedelta,
    rule: MisfireRule = RUN_ONCE,
) -> Resume:
    """Sort the instants in (last, now] into late runs, catch-ups and ones not run.

    ``grace`` is the on-time tolerance (a run at most that late is an ordinary run); the
    rule's own ``grace``, when shorter, caps it.
    """
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
    tolerance = grace if rule.grace is None else min(grace, rule.grace)
    late = [i for i in passed if now - i <= tolerance]
    stale = [i for i in passed if rule.grace is not None and now - i > rule.grace]
    older = [i for i in passed if now - i > tolerance and not (stale and i <= stale[-1])]
    catch_ups: list[datetime] = []
    over_max: list[datetime] = []
    if rule.policy is MisfirePolicy.run_once and older and not late:
        catch_ups = [older.pop()]
    elif rule.policy is MisfirePolicy.run_all and older:
        cut = max(len(older) - max(rule.max_catchup, 0), 0)
        over_max, catch_ups, older = older[:cut], older[cut:], []
    return Resume(
        late=late,
        catch_ups=catch_ups,
        missed=older[-MAX_RECORDED_MISSED:],
        over_max=over_max[-MAX_RECORDED_MISSED:],
        stale=stale[-MAX_RECORDED_MISSED:],
        missed_total=len(older) + len(over_max) + len(stale),
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


def late_beyond(rule: MisfireRule, instant: datetime, now: datetime, tolerance: timedelta) -> bool:
    """True when ``instant`` is a misfire at ``now``: later than the on-time tolerance, or
    than the rule's grace when that is shorter."""
    limit = tolerance if rule.grace is None else min(rule.grace, tolerance)
    return now - instant > limit


def step(
    schedule: Schedule,
    rule: MisfireRule,
    instant: datetime,
    now: datetime,
    *,
    tolerance: timedelta,
) -> tuple[datetime | None, Resume | None]:
    """The planner's step after ``instant`` went out (or was settled): the next instant,
    and, when that one is already a misfire at ``now``, the plan for everything since.

    Shared by the watcher and ``simulate`` so both keep the same books: with a plan, its
    ``next_run`` is the next instant and its runs and misses are the caller's to act on.
    """
    nxt = schedule.next_after(instant)
    if nxt is not None and late_beyond(rule, nxt, now, tolerance):
        plan = resume(schedule, instant, now, grace=tolerance, rule=rule)
        return plan.next_run, plan
    return nxt, None
