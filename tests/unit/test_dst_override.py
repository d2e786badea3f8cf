"""A job's `dst:` override of the Debian-cron rule, on the Europe/Paris 2026 nights.

Europe/Paris, 2026:
  2026-03-29 02:00 CET (+01:00) -> 03:00 CEST (+02:00): 02:00-02:59 local do not exist.
  2026-10-25 03:00 CEST (+02:00) -> 02:00 CET (+01:00): 02:00-02:59 local happen twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from scheduler.core.cronexpr import parse_cron
from scheduler.core.jobschedule import build_schedule
from scheduler.core.localtime import local_iso
from scheduler.core.models import JobSpec
from scheduler.core.policies import DstGap, DstRepeat
from scheduler.core.schedule import CronSchedule, next_runs

PARIS = ZoneInfo("Europe/Paris")


def runs(schedule: dict[str, Any], dst: dict[str, str] | None, after: str, count: int) -> list[str]:
    """The next ``count`` local instants of a Paris job after the local time ``after``."""
    doc: dict[str, Any] = {"name": "j", "task": "a.b:c", "schedule": schedule}
    if dst is not None:
        doc["dst"] = dst
    spec = JobSpec.model_validate(doc)
    start = datetime.fromisoformat(after).replace(tzinfo=PARIS)
    return [local_iso(t, PARIS) for t in next_runs(build_schedule(spec), start, count)]


CRON = {"cron": "30 2 * * *", "timezone": "Europe/Paris"}
DAILY = {"daily": "02:30", "timezone": "Europe/Paris"}


class TestGap:
    def test_default_runs_after_the_gap_mar(self):
        """No override: 02:30 runs at 03:00 on the spring-forward night (Debian)."""
        assert runs(CRON, None, "2026-03-28T12:00", 2) == [
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
        ]

    def test_skip_has_no_run_that_night_mar(self):
        """gap: skip: nothing on 2026-03-29."""
        assert runs(CRON, {"gap": "skip"}, "2026-03-28T12:00", 2) == [
            "2026-03-30T02:30:00+02:00",
            "2026-03-31T02:30:00+02:00",
        ]

    def test_skip_applies_to_daily_mar(self):
        """daily is fixed-time: the override applies to it too."""
        assert runs(DAILY, {"gap": "skip"}, "2026-03-28T12:00", 1) == ["2026-03-30T02:30:00+02:00"]

    def test_several_times_in_the_gap_run_once_after_it_mar(self):
        """repeat: both keeps run_after: 02:15 and 02:45 collapse into one run at 03:00."""
        sched = {"cron": "15,45 2 * * *", "timezone": "Europe/Paris"}
        assert runs(sched, {"repeat": "both"}, "2026-03-28T12:00", 3) == [
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:15:00+02:00",
            "2026-03-30T02:45:00+02:00",
        ]


class TestRepeat:
    def test_default_runs_the_first_pass_oct(self):
        """No override: one run, at the first pass (+02:00)."""
        assert runs(CRON, None, "2026-10-24T12:00", 2) == [
            "2026-10-25T02:30:00+02:00",
            "2026-10-26T02:30:00+01:00",
        ]

    def test_both_runs_at_both_passes_oct(self):
        """repeat: both: 02:30 +02:00, then 02:30 +01:00 an hour later."""
        assert runs(CRON, {"repeat": "both"}, "2026-10-24T12:00", 3) == [
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-26T02:30:00+01:00",
        ]

    def test_both_with_two_times_in_the_hour_keeps_order_oct(self):
        """Two times in the repeated hour: four runs, in real time order."""
        sched = {"cron": "15,45 2 * * *", "timezone": "Europe/Paris"}
        assert runs(sched, {"repeat": "both", "gap": "skip"}, "2026-10-25T01:00", 4) == [
            "2026-10-25T02:15:00+02:00",
            "2026-10-25T02:45:00+02:00",
            "2026-10-25T02:15:00+01:00",
            "2026-10-25T02:45:00+01:00",
        ]

    def test_skip_gap_keeps_first_pass_oct(self):
        """gap: skip alone changes nothing in October."""
        assert runs(DAILY, {"gap": "skip"}, "2026-10-24T12:00", 1) == ["2026-10-25T02:30:00+02:00"]


def test_dst_on_an_elapsed_time_schedule_is_an_error():
    """dst on `*/15 * * * *` or an interval is refused: it has no fixed local time."""
    for sched in ({"cron": "*/15 * * * *"}, {"interval": "15m"}):
        with pytest.raises(ValidationError) as err:
            JobSpec.model_validate(
                {"name": "j", "task": "a.b:c", "schedule": sched, "dst": {"gap": "skip"}}
            )
        assert "fixed-time" in str(err.value)


# --- property: the overrides only add or remove the DST nights' runs -------------------

YEAR_START = datetime(2026, 1, 1, tzinfo=PARIS)


@settings(max_examples=25, deadline=None)
@given(
    minute=st.integers(0, 59),
    hours=st.sets(st.integers(0, 23), min_size=1, max_size=3),
)
@example(minute=0, hours={2, 3})  # the gap's run moves onto the 03:00 run: one run there
@example(minute=30, hours={2, 3})
def test_overrides_change_only_the_dst_nights(minute: int, hours: set[int]) -> None:
    """Over 2026, gap: skip removes runs and repeat: both adds runs, only on the two nights;
    every other run is the Debian rule's."""
    expr = parse_cron(f"{minute} {','.join(map(str, sorted(hours)))} * * *")
    count = 366 * len(hours) + 4

    def year(gap: DstGap, repeat: DstRepeat) -> set[datetime]:
        runs = next_runs(CronSchedule(expr, PARIS, gap, repeat), YEAR_START, count)
        return {t for t in runs if t.astimezone(PARIS).year == 2026}

    debian = year(DstGap.run_after, DstRepeat.first)
    skip = year(DstGap.skip, DstRepeat.first)
    both = year(DstGap.run_after, DstRepeat.both)
    nights = {"2026-03-29", "2026-10-25"}

    def night(t: datetime) -> bool:
        return t.astimezone(PARIS).date().isoformat() in nights

    assert skip <= debian
    assert debian <= both
    assert all(night(t) for t in debian - skip)
    assert all(night(t) for t in both - debian)
    assert len(both - debian) == (2 in hours)
    # The gap's run moves to 03:00, where the job may already run (minute 0, hour 3): one
    # run per instant, so gap: skip then removes nothing.
    assert len(debian - skip) == (2 in hours and not (minute == 0 and 3 in hours))
