"""Misfire policies over (last, now]: skip, run_once, run_all, grace and max_catchup (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.catchup import MAX_RECORDED_MISSED, MisfireRule, late_beyond, resume, step
from scheduler.core.policies import MisfirePolicy
from scheduler.core.schedule import IntervalSchedule, iter_runs

T0 = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
HOURLY = IntervalSchedule(timedelta(hours=1), T0)
NO_TOLERANCE = timedelta(0)


def hours(n: float) -> datetime:
    """The instant ``n`` hours after T0."""
    return T0 + timedelta(hours=n)


def test_skip_records_every_passed_instant_missed():
    """skip: nothing runs; every instant of the outage is missed."""
    r = resume(
        HOURLY,
        hours(0),
        hours(5.5),
        grace=NO_TOLERANCE,
        rule=MisfireRule(policy=MisfirePolicy.skip),
    )
    assert r.dispatched == []
    assert r.missed == [hours(n) for n in range(1, 6)]
    assert r.missed_total == 5


def test_run_once_runs_the_latest_and_misses_the_rest():
    """run_once (the default): one catch-up, the latest instant; the earlier ones missed."""
    r = resume(HOURLY, hours(0), hours(5.5), grace=NO_TOLERANCE)
    assert r.catch_ups == [hours(5)]
    assert r.missed == [hours(n) for n in range(1, 5)]


def test_run_all_runs_each_instant():
    """run_all: every passed instant is caught up, in order."""
    rule = MisfireRule(policy=MisfirePolicy.run_all)
    r = resume(HOURLY, hours(0), hours(5.5), grace=NO_TOLERANCE, rule=rule)
    assert r.catch_ups == [hours(n) for n in range(1, 6)]
    assert r.missed_total == 0


def test_run_all_keeps_the_latest_max_catchup():
    """run_all over max_catchup: the latest max_catchup run, the earlier ones are over_max."""
    rule = MisfireRule(policy=MisfirePolicy.run_all, max_catchup=2)
    r = resume(HOURLY, hours(0), hours(5.5), grace=NO_TOLERANCE, rule=rule)
    assert r.catch_ups == [hours(4), hours(5)]
    assert r.over_max == [hours(1), hours(2), hours(3)]
    assert r.missed_total == 3


def test_grace_makes_old_instants_stale_whatever_the_policy():
    """Instants later than grace are never run: stale (missed, reason grace)."""
    rule = MisfireRule(policy=MisfirePolicy.run_all, grace=timedelta(minutes=140))
    r = resume(HOURLY, hours(0), hours(5.5), grace=NO_TOLERANCE, rule=rule)
    assert r.stale == [hours(1), hours(2), hours(3)]
    assert r.catch_ups == [hours(4), hours(5)]


def test_run_once_with_the_latest_past_grace_runs_nothing():
    """run_once whose latest instant is later than grace: nothing runs, all missed."""
    rule = MisfireRule(grace=timedelta(minutes=10))
    r = resume(HOURLY, hours(0), hours(5.5), grace=NO_TOLERANCE, rule=rule)
    assert r.dispatched == []
    assert r.stale == [hours(n) for n in range(1, 6)]


def test_grace_shorter_than_the_on_time_tolerance_caps_it():
    """A run 45 s late with grace 30 s is stale, though the loop tolerates 60 s."""
    every_minute = IntervalSchedule(timedelta(minutes=1), T0)
    rule = MisfireRule(grace=timedelta(seconds=30))
    now = T0 + timedelta(minutes=1, seconds=45)
    r = resume(every_minute, T0, now, grace=timedelta(seconds=60), rule=rule)
    assert r.late == []
    assert r.stale == [T0 + timedelta(minutes=1)]


def test_run_once_with_an_on_time_run_catches_nothing_up():
    """A run within the on-time tolerance goes out; run_once adds no catch-up beside it."""
    every_minute = IntervalSchedule(timedelta(minutes=1), T0)
    now = T0 + timedelta(minutes=5, seconds=10)
    r = resume(every_minute, T0, now, grace=timedelta(seconds=60))
    assert r.late == [T0 + timedelta(minutes=5)]
    assert r.catch_ups == []
    assert len(r.missed) == 4


# --- property: every occurrence classified exactly once --------------------------------

rules = st.builds(
    MisfireRule,
    policy=st.sampled_from(list(MisfirePolicy)),
    grace=st.one_of(st.none(), st.integers(1, 50_000).map(lambda s: timedelta(seconds=s))),
    max_catchup=st.integers(1, 30),
)
schedules = st.builds(
    IntervalSchedule,
    every=st.integers(60, 20_000).map(lambda s: timedelta(seconds=s)),
    anchor=st.integers(0, 86_400).map(lambda s: T0 + timedelta(seconds=s)),
)


@settings(max_examples=150, deadline=None)
@given(
    schedule=schedules,
    rule=rules,
    down_at=st.integers(0, 86_400),
    outage=st.integers(0, 200_000),
    tolerance=st.sampled_from([0, 60]),
)
def test_every_instant_of_an_outage_is_classified_exactly_once(
    schedule: IntervalSchedule, rule: MisfireRule, down_at: int, outage: int, tolerance: int
) -> None:
    """For random schedules and outages: each instant in exactly one bucket, run_all within
    max_catchup, and nothing dispatched later than grace."""
    last = T0 + timedelta(seconds=down_at)
    now = last + timedelta(seconds=outage)
    passed = [t for t in iter_runs(schedule, last, 4_000) if t <= now]
    r = resume(schedule, last, now, grace=timedelta(seconds=tolerance), rule=rule)
    buckets = [r.late, r.catch_ups, r.missed, r.over_max, r.stale]
    assert len(r.late) + len(r.catch_ups) + r.missed_total == len(passed)
    if r.missed_total <= MAX_RECORDED_MISSED:
        flat = [t for bucket in buckets for t in bucket]
        assert sorted(flat) == passed
        assert len(set(flat)) == len(flat)
    if rule.policy is MisfirePolicy.run_all:
        assert len(r.catch_ups) <= rule.max_catchup
    if rule.policy is not MisfirePolicy.run_all:
        assert len(r.catch_ups) <= 1
    if rule.policy is MisfirePolicy.skip:
        assert r.catch_ups == []
    if rule.grace is not None:
        assert all(now - t <= rule.grace for t in r.dispatched)
    assert r.next_run is None or r.next_run > now


def test_step_is_the_next_instant_while_on_time():
    """step: no plan while the next instant is within the tolerance."""
    nxt, plan = step(HOURLY, MisfireRule(), hours(1), hours(1), tolerance=timedelta(seconds=60))
    assert (nxt, plan) == (hours(2), None)


def test_step_plans_once_the_next_instant_is_a_misfire():
    """step: far behind, the plan settles what passed and gives the next instant after now."""
    nxt, plan = step(HOURLY, MisfireRule(), hours(1), hours(4.5), tolerance=timedelta(seconds=60))
    assert plan is not None
    assert plan.catch_ups == [hours(4)]
    assert nxt == plan.next_run == hours(5)


def test_grace_shorter_than_tolerance_makes_a_misfire_sooner():
    """late_beyond: 45 s late is a misfire under grace 30 s, not under the 60 s tolerance."""
    rule = MisfireRule(grace=timedelta(seconds=30))
    late = T0 + timedelta(seconds=45)
    assert late_beyond(rule, T0, late, timedelta(seconds=60))
    assert not late_beyond(MisfireRule(), T0, late, timedelta(seconds=60))
