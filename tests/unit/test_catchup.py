"""Catch-up after downtime or a slow loop: which passed instants are late, caught up or missed.

Pure: `last` and `now` are arguments. The schedules are IntervalSchedule, AtSchedule, or a tiny
fake one (STYLE example 2) that counts how often it is asked. The private scan limit
``_MAX_SCAN`` is imported only to test the boundary of truncation.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.core.catchup import (
    _MAX_SCAN,
    MAX_RECORDED_MISSED,
    MisfireRule,
    Missed,
    Resume,
    missed,
    resume,
)
from scheduler.core.policies import MisfirePolicy, Reason
from scheduler.core.schedule import AtSchedule, IntervalSchedule

T0 = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
HOURLY = IntervalSchedule(timedelta(hours=1), T0)
EVERY_MINUTE = IntervalSchedule(timedelta(minutes=1), T0)
NO_GRACE = timedelta(0)


def hours(n: float) -> datetime:
    """The instant ``n`` hours after T0."""
    return T0 + timedelta(hours=n)


def minutes(n: float) -> datetime:
    """The instant ``n`` minutes after T0."""
    return T0 + timedelta(minutes=n)


@dataclass
class Counting:
    """A fake schedule: every ``step`` from T0, counting next_after calls (tests only)."""

    step: timedelta
    calls: int = field(default=0)

    def next_after(self, t: datetime) -> datetime | None:
        self.calls += 1
        return T0 + ((t - T0) // self.step + 1) * self.step


# --- nothing passed --------------------------------------------------------------------


def test_nothing_passed_gives_nothing_to_dispatch_or_record():
    """No instant in (last, now]: no late run, no catch-up, nothing missed."""
    r = resume(HOURLY, hours(0), hours(0.5), grace=NO_GRACE)
    assert r.late == []
    assert r.catch_up is None
    assert r.missed == []
    assert r.missed_total == 0
    assert not r.scan_truncated


def test_nothing_passed_next_run_is_the_next_instant_after_last():
    """With nothing passed, next_run is the schedule's next instant after last, after now."""
    now = hours(0.5)
    r = resume(HOURLY, hours(0), now, grace=NO_GRACE)
    assert r.next_run == hours(1)
    assert r.next_run > now


def test_last_between_instants_and_nothing_passed():
    """A last instant off the schedule still leads to the next scheduled instant."""
    r = resume(HOURLY, hours(2.2), hours(2.9), grace=NO_GRACE)
    assert (r.late, r.catch_up, r.missed) == ([], None, [])
    assert r.next_run == hours(3)


# --- downtime --------------------------------------------------------------------------


def test_downtime_catches_up_the_latest_instant_and_misses_the_earlier_ones():
    """Grace 0: the latest passed instant is the catch-up, the earlier ones are missed."""
    r = resume(HOURLY, hours(0), hours(5.5), grace=NO_GRACE)
    assert r.late == []
    assert r.catch_up == hours(5)
    assert r.missed == [hours(1), hours(2), hours(3), hours(4)]
    assert r.missed_total == 4
    assert not r.scan_truncated
    assert r.next_run == hours(6)


def test_one_passed_instant_is_a_catch_up_with_nothing_missed():
    """A single passed instant older than grace is caught up and nothing is missed."""
    r = resume(HOURLY, hours(0), hours(1.5), grace=timedelta(minutes=5))
    assert r.catch_up == hours(1)
    assert r.late == []
    assert r.missed == []
    assert r.missed_total == 0
    assert r.next_run == hours(2)


def test_missed_is_capped_and_missed_total_counts_them_all():
    """More than MAX_RECORDED_MISSED missed: the most recent are recorded, all are counted."""
    passed = 3 * MAX_RECORDED_MISSED
    now = minutes(passed + 0.5)
    r = resume(EVERY_MINUTE, T0, now, grace=NO_GRACE)
    assert r.catch_up == minutes(passed)
    assert r.missed_total == passed - 1
    assert len(r.missed) == MAX_RECORDED_MISSED
    assert r.missed == [minutes(m) for m in range(passed - MAX_RECORDED_MISSED, passed)]
    assert not r.scan_truncated
    assert r.next_run == minutes(passed + 1)
    assert r.next_run > now


def test_missed_just_at_the_cap_are_all_recorded():
    """Exactly MAX_RECORDED_MISSED missed instants are all recorded."""
    passed = MAX_RECORDED_MISSED + 1
    r = resume(EVERY_MINUTE, T0, minutes(passed + 0.5), grace=NO_GRACE)
    assert r.missed == [minutes(m) for m in range(1, passed)]
    assert r.missed_total == MAX_RECORDED_MISSED


def test_next_run_is_after_now_after_downtime():
    """Whatever passed, next_run is the first instant strictly after now."""
    for now in [hours(1), hours(1.01), hours(7.99), hours(8)]:
        r = resume(HOURLY, hours(0), now, grace=NO_GRACE)
        assert r.next_run is not None
        assert r.next_run > now
        assert r.next_run == HOURLY.next_after(now)


# --- within grace ----------------------------------------------------------------------


def test_instants_within_grace_are_late_with_no_catch_up_and_older_ones_missed():
    """Runs at most grace late are late runs; no catch-up; anything older is missed."""
    now = minutes(10.5)
    r = resume(EVERY_MINUTE, T0, now, grace=timedelta(minutes=2))
    assert r.late == [minutes(9), minutes(10)]
    assert r.catch_up is None
    assert r.missed == [minutes(m) for m in range(1, 9)]
    assert r.missed_total == 8
    assert r.next_run == minutes(11)


def test_all_passed_within_grace_are_late_and_nothing_missed():
    """A loop a little behind dispatches every passed instant as ordinary late runs."""
    r = resume(EVERY_MINUTE, T0, minutes(3.5), grace=timedelta(minutes=5))
    assert r.late == [minutes(1), minutes(2), minutes(3)]
    assert r.catch_up is None
    assert r.missed == []
    assert r.missed_total == 0
    assert r.next_run == minutes(4)


def test_an_instant_exactly_grace_old_is_late():
    """now - instant == grace still counts as late, not missed."""
    r = resume(HOURLY, hours(0), hours(3) + timedelta(minutes=1), grace=timedelta(minutes=1))
    assert r.late == [hours(3)]
    assert r.catch_up is None
    assert r.missed == [hours(1), hours(2)]


def test_an_instant_just_over_grace_old_is_caught_up():
    """One microsecond beyond grace, the latest instant is a catch-up instead."""
    now = hours(3) + timedelta(minutes=1, microseconds=1)
    r = resume(HOURLY, hours(0), now, grace=timedelta(minutes=1))
    assert r.late == []
    assert r.catch_up == hours(3)
    assert r.missed == [hours(1), hours(2)]


# --- due exactly at now ----------------------------------------------------------------


def test_an_instant_exactly_at_now_counts_as_passed():
    """A run due at exactly now is dispatched now (late by 0), and next_run is after it."""
    r = resume(HOURLY, hours(0), hours(3), grace=NO_GRACE)
    assert r.late == [hours(3)]
    assert r.catch_up is None
    assert r.missed == [hours(1), hours(2)]
    assert r.missed_total == 2
    assert r.next_run == hours(4)


def test_only_instant_exactly_at_now_is_dispatched_on_time():
    """The loop waking exactly at the due instant dispatches it and nothing is missed."""
    r = resume(HOURLY, hours(2), hours(3), grace=NO_GRACE)
    assert r.late == [hours(3)]
    assert (r.catch_up, r.missed, r.missed_total) == (None, [], 0)
    assert r.next_run == hours(4)


def test_last_itself_is_not_passed_again():
    """The interval is (last, now]: the instant equal to last was already handled."""
    r = resume(HOURLY, hours(3), hours(3.5), grace=timedelta(hours=1))
    assert r.late == []
    assert r.next_run == hours(4)


# --- one-shot --------------------------------------------------------------------------


def test_exhausted_one_shot_in_the_past_is_caught_up_with_no_next_run():
    """A past `at` missed while down runs once as a catch-up; then nothing is left."""
    once = AtSchedule(hours(1))
    r = resume(once, hours(0), hours(24), grace=timedelta(seconds=60))
    assert r.catch_up == hours(1)
    assert r.late == []
    assert r.missed == []
    assert r.missed_total == 0
    assert r.next_run is None


def test_one_shot_passed_within_grace_is_late_with_no_next_run():
    """A one-shot a few seconds late is an ordinary late run."""
    once = AtSchedule(hours(1))
    r = resume(once, hours(0), hours(1) + timedelta(seconds=30), grace=timedelta(seconds=60))
    assert r.late == [hours(1)]
    assert r.catch_up is None
    assert r.next_run is None


def test_one_shot_in_the_future_is_the_next_run():
    """A one-shot not yet reached is simply waited for."""
    once = AtSchedule(hours(5))
    r = resume(once, hours(0), hours(1), grace=NO_GRACE)
    assert (r.late, r.catch_up, r.missed) == ([], None, [])
    assert r.next_run == hours(5)


def test_one_shot_already_run_has_nothing_left():
    """A one-shot at or before last passed earlier: nothing to do, no next run."""
    once = AtSchedule(hours(1))
    r = resume(once, hours(1), hours(10), grace=NO_GRACE)
    assert (r.late, r.catch_up, r.missed, r.missed_total) == ([], None, [], 0)
    assert r.next_run is None


# --- huge gaps -------------------------------------------------------------------------


def test_huge_gap_finishes_with_a_bounded_scan_and_reports_truncation():
    """A 1-second schedule over 30 days stops scanning early and says so."""
    every_second = Counting(timedelta(seconds=1))
    now = T0 + timedelta(days=30)
    instants_in_gap = 30 * 24 * 3600
    r = resume(every_second, T0, now, grace=timedelta(seconds=60))
    assert r.scan_truncated
    assert every_second.calls < instants_in_gap // 10
    # The tail before now is still found: the last minute's runs are late, not caught up.
    assert r.late == [now - timedelta(seconds=s) for s in range(59, -1, -1)]
    assert r.catch_up is None
    assert len(r.missed) == MAX_RECORDED_MISSED
    assert 0 < r.missed_total < instants_in_gap
    assert r.next_run == now + timedelta(seconds=1)


def test_huge_gap_with_interval_schedule_reports_truncation():
    """IntervalSchedule every second over 30 days: truncated, next_run right after now."""
    now = T0 + timedelta(days=30)
    r = resume(IntervalSchedule(timedelta(seconds=1), T0), T0, now, grace=NO_GRACE)
    assert r.scan_truncated
    assert r.next_run == now + timedelta(seconds=1)


def test_huge_gap_catch_up_is_still_the_latest_passed_instant():
    """Even when the scan is truncated, the catch-up is the latest instant at or before now."""
    every_second = IntervalSchedule(timedelta(seconds=1), T0)
    now = T0 + timedelta(days=30, microseconds=500_000)
    r = resume(every_second, T0, now, grace=NO_GRACE)
    assert r.catch_up == T0 + timedelta(days=30)


def test_scan_of_exactly_the_limit_is_not_truncated():
    """Exactly _MAX_SCAN passed instants were all looked at: not truncated."""
    every_second = IntervalSchedule(timedelta(seconds=1), T0)
    now = T0 + timedelta(seconds=_MAX_SCAN, microseconds=500_000)
    r = resume(every_second, T0, now, grace=NO_GRACE)
    assert r.catch_up == T0 + timedelta(seconds=_MAX_SCAN)
    assert r.missed_total == _MAX_SCAN - 1
    assert not r.scan_truncated


def test_scan_just_under_the_limit_is_complete():
    """One instant fewer than the scan limit: complete and exact."""
    every_second = IntervalSchedule(timedelta(seconds=1), T0)
    now = T0 + timedelta(seconds=_MAX_SCAN - 1, microseconds=500_000)
    r = resume(every_second, T0, now, grace=NO_GRACE)
    assert not r.scan_truncated
    assert r.catch_up == T0 + timedelta(seconds=_MAX_SCAN - 1)
    assert r.missed_total == _MAX_SCAN - 2


# --- missed rows: the plan's instants not run, each with its reason ----------------------

SKIP = MisfireRule(policy=MisfirePolicy.skip)
RUN_ALL_2 = MisfireRule(policy=MisfirePolicy.run_all, max_catchup=2)
GRACE_90M = MisfireRule(policy=MisfirePolicy.run_once, grace=timedelta(minutes=90))

# (situation, the plan, the reason nothing dispatched it, the missed rows in recording order)
MISSED_TABLE = [
    ("nothing passed", Resume(), Reason.downtime, []),
    (
        "run_once after 3 h down: the two earlier instants",
        resume(HOURLY, hours(0), hours(3.5), grace=NO_GRACE),
        Reason.downtime,
        [(hours(1), Reason.downtime), (hours(2), Reason.downtime)],
    ),
    (
        "skip after a loop fell behind: every instant, with the caller's reason",
        resume(HOURLY, hours(0), hours(2.5), grace=NO_GRACE, rule=SKIP),
        Reason.behind,
        [(hours(1), Reason.behind), (hours(2), Reason.behind)],
    ),
    (
        "run_all capped at 2: the older ones are over max_catchup",
        resume(HOURLY, hours(0), hours(4.5), grace=NO_GRACE, rule=RUN_ALL_2),
        Reason.downtime,
        [(hours(1), Reason.max_catchup), (hours(2), Reason.max_catchup)],
    ),
    (
        "grace 90 min: 2.5 h late is stale, 1.5 h late is missed, the latest caught up",
        resume(HOURLY, hours(0), hours(3.5), grace=NO_GRACE, rule=GRACE_90M),
        Reason.downtime,
        [(hours(1), Reason.grace), (hours(2), Reason.downtime)],
    ),
    (
        "all three lists: stale first, then over max_catchup, then the policy's",
        Resume(stale=[hours(1)], over_max=[hours(2)], missed=[hours(3)], missed_total=3),
        Reason.behind,
        [(hours(1), Reason.grace), (hours(2), Reason.max_catchup), (hours(3), Reason.behind)],
    ),
]


@pytest.mark.parametrize(
    ("plan", "reason", "expected"),
    [row[1:] for row in MISSED_TABLE],
    ids=[row[0] for row in MISSED_TABLE],
)
def test_missed_rows_name_each_instant_with_its_reason(plan, reason, expected):
    """missed(plan, reason) lists the instants not run (stale, over max, policy) with why."""
    assert missed(plan, reason) == [Missed(instant=t, reason=r) for t, r in expected]


def test_missed_rows_are_frozen_and_keyword_only():
    """A Missed is a value: keyword-only, and it cannot be changed after it is made."""
    row = Missed(instant=hours(1), reason=Reason.grace)
    with pytest.raises(FrozenInstanceError):
        row.reason = Reason.behind  # type: ignore[misc]
    with pytest.raises(TypeError):
        Missed(hours(1), Reason.grace)  # type: ignore[misc]
