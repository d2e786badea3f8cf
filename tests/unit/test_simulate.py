"""The simulated watcher: every run instant of a window and what becomes of it (pure).

The 2026 Europe/Paris transitions used below, in local wall-clock time:

  2026-03-29 02:00 -> 03:00 (+01:00 -> +02:00): 02:00-02:59 skipped
  2026-10-25 03:00 -> 02:00 (+02:00 -> +01:00): 02:00-02:59 twice

A fixed-time job (30 2 * * *) runs once a night: at the end of the gap in March, at the
first pass in October. An elapsed-time job (*/30 * * * *) has nothing in the gap and both
passes of the repeated hour. Expected values are ISO strings with the zone's offset.

Window (start, end]; an outage covers [down, up); at ``up`` every job resumes as after a
restart: the latest instant that passed is caught up, the earlier ones are missed.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.catchup import resume
from scheduler.core.job import LoadedJob
from scheduler.core.models import JobSpec
from scheduler.core.schedule import iter_runs
from scheduler.core.simulate import (
    MAX_WINDOW,
    Occurrence,
    OutageError,
    Outcome,
    TooManyOccurrencesError,
    WindowError,
    check_window,
    simulate,
)

PARIS = ZoneInfo("Europe/Paris")
DAY = "2026-03-29"


def job(name: str, *, enabled: bool = True, **schedule: Any) -> LoadedJob:
    """A loaded job with this schedule (tests only: no file behind it)."""
    spec = JobSpec.model_validate(
        {"name": name, "task": "examples.bots:report", "schedule": schedule, "enabled": enabled}
    )
    return LoadedJob(spec, f"{name}.yaml", 1)


def at(text: str) -> datetime:
    """An aware instant from ISO text; naive text is UTC, a bare time is on DAY."""
    parsed = datetime.fromisoformat(text if "-" in text else f"{DAY}T{text}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def local(instant: datetime | None, tz: tzinfo) -> str | None:
    return None if instant is None else instant.astimezone(tz).isoformat()


def rows(found: list[Occurrence], tz: tzinfo = UTC) -> list[tuple[str | None, str | None, str]]:
    """(scheduled_for, dispatched_at, outcome) per occurrence, local to ``tz``."""
    return [(local(o.scheduled_for, tz), local(o.dispatched_at, tz), str(o.outcome)) for o in found]


PARIS_0230 = job("paris-0230", cron="30 2 * * *", timezone="Europe/Paris")
PARIS_30 = job("paris-every-30", cron="*/30 * * * *", timezone="Europe/Paris")
HOURLY = job("hourly", cron="0 * * * *")


# --- DST nights, no outage --------------------------------------------------------------


class TestDstNights:
    def test_fixed_time_job_runs_once_on_the_spring_forward_night_mar(self) -> None:
        """30 2 * * *: 02:30 does not exist on 2026-03-29, the run is at 03:00+02:00, once."""
        found = simulate([PARIS_0230], at("2026-03-28T12:00+01:00"), at("2026-03-30T12:00+02:00"))
        assert rows(found, PARIS) == [
            ("2026-03-29T03:00:00+02:00", "2026-03-29T03:00:00+02:00", "run"),
            ("2026-03-30T02:30:00+02:00", "2026-03-30T02:30:00+02:00", "run"),
        ]

    def test_fixed_time_job_runs_once_on_the_fall_back_night_oct(self) -> None:
        """30 2 * * *: 02:30 happens twice on 2026-10-25, the run is at the first pass only."""
        found = simulate([PARIS_0230], at("2026-10-24T12:00+02:00"), at("2026-10-26T12:00+01:00"))
        assert rows(found, PARIS) == [
            ("2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "run"),
            ("2026-10-26T02:30:00+01:00", "2026-10-26T02:30:00+01:00", "run"),
        ]

    def test_elapsed_time_job_has_nothing_in_the_gap_mar(self) -> None:
        """*/30: 01:30+01:00 is followed by 03:00+02:00, real elapsed time."""
        found = simulate([PARIS_30], at("2026-03-29T01:15+01:00"), at("2026-03-29T03:30+02:00"))
        assert [r[0] for r in rows(found, PARIS)] == [
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:30:00+02:00",
        ]

    def test_elapsed_time_job_runs_both_passes_of_the_repeated_hour_oct(self) -> None:
        """*/30 across the fall-back night: 02:00 and 02:30 in CEST, then again in CET."""
        found = simulate([PARIS_30], at("2026-10-25T01:45+02:00"), at("2026-10-25T03:00+01:00"))
        assert rows(found, PARIS) == [
            (t, t, "run")
            for t in (
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:00:00+01:00",
                "2026-10-25T02:30:00+01:00",
                "2026-10-25T03:00:00+01:00",
            )
        ]

    def test_outage_on_the_fall_back_night_catches_up_the_first_pass(self) -> None:
        """Down 00:10-01:05 UTC: 02:30+02:00 passes unseen and runs at 02:05+01:00."""
        found = simulate(
            [PARIS_0230],
            at("2026-10-24T23:00Z"),
            at("2026-10-25T03:00Z"),
            [(at("2026-10-25T00:10Z"), at("2026-10-25T01:05Z"))],
        )
        assert rows(found, PARIS) == [
            ("2026-10-25T02:30:00+02:00", "2026-10-25T02:05:00+01:00", "catch-up")
        ]


# --- outages ------------------------------------------------------------------------------


class TestOutages:
    START, END = at("2026-03-29T00:00Z"), at("2026-03-29T06:00Z")

    def test_an_outage_over_three_instants_gives_one_catch_up_and_two_missed(self) -> None:
        """Down 00:30-03:30: 01:00 and 02:00 missed, 03:00 caught up at 03:30."""
        found = simulate([HOURLY], self.START, self.END, [(at("00:30"), at("03:30"))])
        assert rows(found) == [
            ("2026-03-29T01:00:00+00:00", None, "missed"),
            ("2026-03-29T02:00:00+00:00", None, "missed"),
            ("2026-03-29T03:00:00+00:00", "2026-03-29T03:30:00+00:00", "catch-up"),
            ("2026-03-29T04:00:00+00:00", "2026-03-29T04:00:00+00:00", "run"),
            ("2026-03-29T05:00:00+00:00", "2026-03-29T05:00:00+00:00", "run"),
            ("2026-03-29T06:00:00+00:00", "2026-03-29T06:00:00+00:00", "run"),
        ]
        assert {o.reason for o in found if o.outcome != Outcome.run} == {"watcher was down"}

    def test_outage_outcomes_are_what_the_watchers_resume_decides(self) -> None:
        """The split matches catchup.resume(last, up, grace=0), the watcher's restart rule."""
        found = simulate([HOURLY], self.START, self.END, [(at("00:30"), at("03:30"))])
        plan = resume(HOURLY.schedule, at("00:00"), at("03:30"), grace=timedelta(0))
        assert [o.scheduled_for for o in found if o.outcome == Outcome.missed] == plan.missed
        assert [o.scheduled_for for o in found if o.outcome == Outcome.catch_up] == [plan.catch_up]

    def test_an_outage_between_two_instants_changes_nothing(self) -> None:
        """Down 01:10-01:50, shorter than the gap between runs: the same as no outage."""
        plain = simulate([HOURLY], self.START, self.END)
        assert simulate([HOURLY], self.START, self.END, [(at("01:10"), at("01:50"))]) == plain
        assert {o.outcome for o in plain} == {Outcome.run}

    def test_an_instant_at_the_outage_start_is_not_dispatched(self) -> None:
        """Down from 01:00 exactly: the 01:00 run is caught up when the watcher is back."""
        found = simulate([HOURLY], self.START, self.END, [(at("01:00"), at("01:20"))])
        assert rows(found)[0] == (
            "2026-03-29T01:00:00+00:00",
            "2026-03-29T01:20:00+00:00",
            "catch-up",
        )

    def test_an_instant_at_the_outage_end_runs_on_time_and_absorbs_the_catch_up(self) -> None:
        """Back at 03:00 exactly: 03:00 runs on time, so 01:00 and 02:00 are missed.

        resume(grace=0) calls an instant equal to ``now`` late (0 s late) and then catches
        nothing up. The simulation runs 03:00 as an ordinary run, as Scheduler.start_jobs and
        Scheduler.dispatch_due send late runs.
        """
        found = simulate([HOURLY], self.START, self.END, [(at("00:30"), at("03:00"))])
        assert rows(found)[:3] == [
            ("2026-03-29T01:00:00+00:00", None, "missed"),
            ("2026-03-29T02:00:00+00:00", None, "missed"),
            ("2026-03-29T03:00:00+00:00", "2026-03-29T03:00:00+00:00", "run"),
        ]

    def test_a_one_shot_inside_an_outage_is_caught_up_at_its_end(self) -> None:
        """An `at` job due while the watcher is down runs once when it is back."""
        once = job("once", at="2026-03-29T03:15:00", timezone="Europe/Paris")
        found = simulate([once], self.START, self.END, [(at("00:30"), at("02:00"))])
        assert rows(found) == [
            ("2026-03-29T01:15:00+00:00", "2026-03-29T02:00:00+00:00", "catch-up")
        ]

    def test_every_missed_instant_is_listed_even_past_the_watchers_record_cap(self) -> None:
        """A 3 h outage of an every-minute job: 179 missed (the watcher records 100) + 1."""
        minutely = job("minutely", cron="* * * * *")
        found = simulate([minutely], self.START, self.END, [(at("00:00:30"), at("03:00:30"))])
        outcomes = Counter(o.outcome for o in found)
        assert outcomes[Outcome.missed] == 179
        assert outcomes[Outcome.catch_up] == 1
        assert len(found) == 360

    def test_overlapping_outages_are_one_outage(self) -> None:
        """00:30-02:30 and 02:00-03:30 behave as 00:30-03:30."""
        merged = simulate([HOURLY], self.START, self.END, [(at("00:30"), at("03:30"))])
        split = simulate(
            [HOURLY], self.START, self.END, [(at("02:00"), at("03:30")), (at("00:30"), at("02:30"))]
        )
        assert split == merged

    def test_each_outage_catches_up_on_its_own(self) -> None:
        """Two separate outages: one catch-up at the end of each."""
        found = simulate(
            [HOURLY], self.START, self.END, [(at("00:30"), at("01:30")), (at("03:30"), at("05:10"))]
        )
        catch_ups = [(o.scheduled_for, o.dispatched_at) for o in found if o.outcome == "catch-up"]
        assert catch_ups == [(at("01:00"), at("01:30")), (at("05:00"), at("05:10"))]
        assert [o.scheduled_for for o in found if o.outcome == "missed"] == [at("04:00")]


# --- jobs that do not dispatch ------------------------------------------------------------


def test_disabled_job_instants_are_skipped_with_the_reason() -> None:
    """enabled: false: every instant listed, none dispatched, reason 'disabled'."""
    off = job("off", enabled=False, cron="0 * * * *")
    found = simulate([off], at("2026-03-29T00:00Z"), at("2026-03-29T03:00Z"))
    assert [(o.outcome, o.reason, o.dispatched_at) for o in found] == [
        (Outcome.skipped, "disabled", None)
    ] * 3


def test_disabled_job_inside_an_outage_is_still_skipped() -> None:
    """An outage does not turn a disabled job's instants into missed ones."""
    off = job("off", enabled=False, cron="0 * * * *")
    found = simulate(
        [off], at("2026-03-29T00:00Z"), at("2026-03-29T03:00Z"), [(at("00:30"), at("02:30"))]
    )
    assert {o.outcome for o in found} == {Outcome.skipped}


def test_a_one_shot_outside_the_window_has_no_occurrence() -> None:
    """An `at` job before the window: nothing to report."""
    once = job("once", at="2026-01-01T09:00:00")
    assert simulate([once], at("2026-03-29T00:00Z"), at("2026-03-30T00:00Z")) == []


# --- the window ---------------------------------------------------------------------------


def test_window_excludes_its_start_and_includes_its_end() -> None:
    """(start, end]: 00:00 is before the watcher starts, 03:00 is the last instant."""
    found = simulate([HOURLY], at("2026-03-29T00:00Z"), at("2026-03-29T03:00Z"))
    assert [o.scheduled_for for o in found] == [at("01:00"), at("02:00"), at("03:00")]


def test_occurrences_are_ordered_by_instant_then_job() -> None:
    """Two jobs due together come out by name."""
    b, a = job("b", cron="0 * * * *"), job("a", cron="0 * * * *")
    found = simulate([b, a], at("2026-03-29T00:00Z"), at("2026-03-29T02:00Z"))
    assert [(o.scheduled_for, o.job) for o in found] == [
        (at("01:00"), "a"),
        (at("01:00"), "b"),
        (at("02:00"), "a"),
        (at("02:00"), "b"),
    ]


def test_occurrence_is_frozen_and_keyword_only() -> None:
    """Records are immutable and built by keyword."""
    o = Occurrence(
        job="x", scheduled_for=at("01:00"), outcome=Outcome.run, dispatched_at=None, reason=""
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.reason = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Occurrence("x", at("01:00"), Outcome.run, None, "")  # type: ignore[call-arg]


def test_outcome_values_are_the_documented_strings() -> None:
    """The JSON and text outputs print these values."""
    assert [str(o) for o in Outcome] == ["run", "late", "catch-up", "missed", "skipped"]


def test_too_many_instants_are_refused_before_any_work() -> None:
    """Every second for ten days is 864,000 instants: refused at once."""
    secondly = job("secondly", interval="1s")
    began = time.monotonic()
    with pytest.raises(TooManyOccurrencesError, match="more than 100,000"):
        simulate([secondly], at("2026-03-29T00:00Z"), at("2026-04-08T00:00Z"))
    assert time.monotonic() - began < 10


def test_the_limit_counts_instants_across_jobs() -> None:
    """Three hourly jobs over 4 h are 12 instants: fine at 12, refused at 11."""
    jobs = [job(n, cron="0 * * * *") for n in ("a", "b", "c")]
    start, end = at("2026-03-29T00:00Z"), at("2026-03-29T04:00Z")
    assert len(simulate(jobs, start, end, limit=12)) == 12
    with pytest.raises(TooManyOccurrencesError):
        simulate(jobs, start, end, limit=11)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-03-29T02:00Z", "2026-03-29T01:00Z", "end must be after the start"),
        ("2026-03-29T01:00Z", "2026-03-29T01:00Z", "end must be after the start"),
        ("2026-01-01T00:00Z", "2036-12-31T00:00Z", f"{MAX_WINDOW.days} days"),
    ],
)
def test_bad_windows_are_refused(start: str, end: str, message: str) -> None:
    """An empty or reversed window, or one longer than MAX_WINDOW."""
    with pytest.raises(WindowError, match=message):
        simulate([HOURLY], at(start), at(end))


def test_naive_window_is_refused() -> None:
    """The core takes aware instants only; the CLI decides what naive text means."""
    with pytest.raises(WindowError, match="aware"):
        simulate([HOURLY], datetime(2026, 3, 29), datetime(2026, 3, 30))


@pytest.mark.parametrize(
    ("down", "up", "message"),
    [
        ("2026-03-28T23:00Z", "2026-03-29T01:00Z", "within the window"),
        ("2026-03-29T05:00Z", "2026-03-29T07:00Z", "within the window"),
        ("2026-03-29T02:00Z", "2026-03-29T02:00Z", "end after it starts"),
    ],
)
def test_outages_outside_the_window_or_empty_are_refused(down: str, up: str, message: str) -> None:
    with pytest.raises(OutageError, match=message):
        simulate([HOURLY], at("2026-03-29T00:00Z"), at("2026-03-29T06:00Z"), [(at(down), at(up))])


def test_check_window_sorts_and_merges_touching_outages() -> None:
    """Outages that touch leave no moment of watcher in between: they become one."""
    merged = check_window(
        at("00:00"),
        at("06:00"),
        [(at("03:00"), at("04:00")), (at("01:00"), at("02:00")), (at("02:00"), at("02:30"))],
    )
    assert merged == [(at("01:00"), at("02:30")), (at("03:00"), at("04:00"))]


# --- the invariant --------------------------------------------------------------------------

SCHEDULES = [
    HOURLY,
    PARIS_0230,
    PARIS_30,
    job("every-7m", interval="7m"),
    job("weekdays", cron="15 9,18 * * 1-5", timezone="America/New_York"),
    job("jittered", cron="*/20 * * * *", jitter="5m"),
]
BASE = at("2026-10-24T00:00Z")
minutes = st.integers(min_value=0, max_value=3 * 24 * 60)


@settings(max_examples=60, deadline=None)
@given(
    pick=st.sets(st.sampled_from(range(len(SCHEDULES))), min_size=1),
    spans=st.lists(st.tuples(minutes, st.integers(min_value=1, max_value=600)), max_size=4),
)
def test_every_instant_gets_exactly_one_outcome(
    pick: set[int], spans: list[tuple[int, int]]
) -> None:
    """Whatever the outages: each instant once; missed and caught up only inside outages."""
    jobs = [SCHEDULES[i] for i in sorted(pick)]
    start, end = BASE, BASE + timedelta(days=3, hours=10)
    outages = [(BASE + timedelta(minutes=m), BASE + timedelta(minutes=m + d)) for m, d in spans]
    found = simulate(jobs, start, end, outages)
    downs = check_window(start, end, outages)

    expected = []
    for j in jobs:
        for t in iter_runs(j.schedule, start):
            if t > end:
                break
            expected.append((t, j.name))
    assert [(o.scheduled_for, o.job) for o in found] == sorted(expected)

    def down_at(t: datetime) -> bool:
        return any(a <= t < b for a, b in downs)

    for o in found:
        if o.outcome == Outcome.run:
            assert o.dispatched_at == o.scheduled_for
            assert not down_at(o.scheduled_for)
        elif o.outcome == Outcome.missed:
            assert o.dispatched_at is None
            assert down_at(o.scheduled_for)
        else:
            assert o.outcome == Outcome.catch_up
            assert down_at(o.scheduled_for)
            assert o.dispatched_at in {b for _, b in downs}
    catch_ups = Counter((o.job, o.dispatched_at) for o in found if o.outcome == Outcome.catch_up)
    assert all(n == 1 for n in catch_ups.values())


class TestMisfirePolicies:
    """simulate follows each job's misfire rule, as the watcher does after an outage."""

    START, END = at("00:00"), at("06:00")
    OUTAGE = ((at("00:30"), at("03:30")),)

    @staticmethod
    def misfire_job(**misfire: Any) -> LoadedJob:
        spec = JobSpec.model_validate(
            {
                "name": "m",
                "task": "examples.bots:report",
                "schedule": {"cron": "0 * * * *"},
                "misfire": misfire,
            }
        )
        return LoadedJob(spec, "m.yaml", 1)

    def outcomes(self, **misfire: Any) -> list[tuple[str, str]]:
        found = simulate([self.misfire_job(**misfire)], self.START, self.END, self.OUTAGE)
        return [(str(o.outcome), o.reason) for o in found[:3]]

    def test_skip_records_the_outage_missed(self) -> None:
        """skip: 01:00, 02:00 and 03:00 missed, nothing caught up."""
        assert self.outcomes(policy="skip") == [("missed", "watcher was down")] * 3

    def test_run_all_catches_up_each_within_max(self) -> None:
        """run_all with max_catchup 2: 01:00 missed (beyond max), 02:00 and 03:00 caught up."""
        assert self.outcomes(policy="run_all", max_catchup=2) == [
            ("missed", "beyond misfire.max_catchup"),
            ("catch-up", "watcher was down"),
            ("catch-up", "watcher was down"),
        ]

    def test_grace_misses_what_is_too_late(self) -> None:
        """run_all with grace 1h: back at 03:30, only 03:00 is within grace."""
        assert self.outcomes(policy="run_all", grace="1h") == [
            ("missed", "later than the misfire grace"),
            ("missed", "later than the misfire grace"),
            ("catch-up", "watcher was down"),
        ]
