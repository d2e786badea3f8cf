"""Cron schedules across daylight-saving changes, as scenarios (DESIGN.md, STYLE.md 4).

The 2026 transitions used below, in local wall-clock time:

  Europe/Paris         2026-03-29 02:00 -> 03:00 (+01:00 -> +02:00): 02:00-02:59 skipped
                       2026-10-25 03:00 -> 02:00 (+02:00 -> +01:00): 02:00-02:59 twice
  America/New_York     2026-03-08 02:00 -> 03:00 (-05:00 -> -04:00): 02:00-02:59 skipped
                       2026-11-01 02:00 -> 01:00 (-04:00 -> -05:00): 01:00-01:59 twice
  Australia/Lord_Howe  a 30-minute shift, southern hemisphere (fall back in April):
                       2026-04-05 02:00 -> 01:30 (+11:00 -> +10:30): 01:30-01:59 twice
                       2026-10-04 02:00 -> 02:30 (+10:30 -> +11:00): 02:00-02:29 skipped
  Asia/Tokyo, UTC      no daylight-saving time

The rule (Debian cron; cronsim is the reference): a fixed-time job (minute and hour both
not beginning with '*') whose time is skipped runs once, right after the gap, several such
times collapsing into one; in a repeated hour it runs once, at the first pass. Every other
job follows real elapsed time: nothing in the gap, both passes of the repeated hour. Six-
field expressions (seconds last) follow the same rule; that part is ours, cronsim applies
it to 5-field expressions only.

Expected values are ISO strings with the zone's offset at that instant.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter
from cronsim import CronSim

from scheduler.core.cronexpr import parse_cron
from scheduler.core.schedule import CronSchedule, next_runs


def runs(expr: str, zone: str, after: str, count: int) -> list[str]:
    """Our next ``count`` runs strictly after ``after``, as local ISO strings."""
    tz = ZoneInfo(zone)
    found = next_runs(CronSchedule(parse_cron(expr), tz), datetime.fromisoformat(after), count)
    return [t.astimezone(tz).isoformat() for t in found]


def croniter_runs(expr: str, zone: str, after: str, count: int) -> list[str]:
    """croniter alone, given a zone-aware start: what we would get without our wrapper."""
    it = croniter(expr, datetime.fromisoformat(after).astimezone(ZoneInfo(zone)))
    return [it.get_next(datetime).isoformat() for _ in range(count)]


def cronsim_runs(expr: str, zone: str, after: str, count: int) -> list[str]:
    tz = ZoneInfo(zone)
    sim = CronSim(expr, datetime.fromisoformat(after).astimezone(tz))
    return [next(sim).isoformat() for _ in range(count)]


class TestParis:
    """Europe/Paris: 2026-03-29 02:00 -> 03:00 and 2026-10-25 03:00 -> 02:00."""

    zone = "Europe/Paris"

    def test_fixed_time_in_gap_runs_once_right_after_it_mar(self):
        """02:30 does not exist on 29 March: the run happens at 03:00 CEST, once."""
        assert runs("30 2 * * *", self.zone, "2026-03-28T12:00:00+01:00", 3) == [
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
            "2026-03-31T02:30:00+02:00",
        ]

    def test_fixed_time_in_repeated_hour_runs_once_at_first_pass_oct(self):
        """02:30 happens twice on 25 October: the run happens at the first, never twice."""
        assert runs("30 2 * * *", self.zone, "2026-10-24T12:00:00+02:00", 3) == [
            "2026-10-25T02:30:00+02:00",
            "2026-10-26T02:30:00+01:00",
            "2026-10-27T02:30:00+01:00",
        ]

    def test_croniter_alone_agrees_in_the_gap_mar(self):
        """For the spring gap croniter 7 alone already gives 03:00, the same as us."""
        assert croniter_runs("30 2 * * *", self.zone, "2026-03-28T12:00:00+01:00", 2) == [
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
        ]

    def test_croniter_alone_runs_the_repeated_hour_twice_oct(self):
        """croniter 7 alone runs 30 2 * * * at both passes of 02:30: why we wrap it."""
        assert croniter_runs("30 2 * * *", self.zone, "2026-10-24T12:00:00+02:00", 3) == [
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-26T02:30:00+01:00",
        ]
        # A restart during the repeated hour would run it again, too.
        assert croniter_runs("30 2 * * *", self.zone, "2026-10-25T02:45:00+02:00", 1) == [
            "2026-10-25T02:30:00+01:00"
        ]

    def test_cronsim_agrees_with_us_mar(self):
        """The reference gives the same spring-forward runs."""
        assert cronsim_runs("30 2 * * *", self.zone, "2026-03-28T12:00:00+01:00", 2) == runs(
            "30 2 * * *", self.zone, "2026-03-28T12:00:00+01:00", 2
        )

    def test_cronsim_agrees_with_us_oct(self):
        """The reference gives the same fall-back runs."""
        assert cronsim_runs("30 2 * * *", self.zone, "2026-10-24T12:00:00+02:00", 2) == runs(
            "30 2 * * *", self.zone, "2026-10-24T12:00:00+02:00", 2
        )

    def test_several_fixed_times_in_gap_collapse_into_one_mar(self):
        """02:00, 02:15, 02:30 and 02:45 all fall in the gap: one run at 03:00."""
        assert runs("0,15,30,45 2 * * *", self.zone, "2026-03-28T12:00:00+01:00", 3) == [
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:00:00+02:00",
            "2026-03-30T02:15:00+02:00",
        ]

    def test_several_fixed_times_in_repeated_hour_each_run_once_oct(self):
        """02:00 to 02:45 run once each, in the first pass only."""
        assert runs("0,15,30,45 2 * * *", self.zone, "2026-10-24T12:00:00+02:00", 5) == [
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:15:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:45:00+02:00",
            "2026-10-26T02:00:00+01:00",
        ]

    def test_gap_runs_and_a_real_run_at_its_end_are_one_run_mar(self):
        """02:00 and 02:30 move to 03:00, where 03:00 runs anyway: a single run, then 03:30."""
        assert runs("0,30 2,3 * * *", self.zone, "2026-03-29T01:00:00+01:00", 3) == [
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:30:00+02:00",
            "2026-03-30T02:00:00+02:00",
        ]

    def test_every_15_minutes_skips_the_gap_mar(self):
        """*/15 follows elapsed time: 01:45 CET is followed by 03:00 CEST, 15 minutes later."""
        assert runs("*/15 * * * *", self.zone, "2026-03-29T01:30:00+01:00", 3) == [
            "2026-03-29T01:45:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:15:00+02:00",
        ]

    def test_every_15_minutes_runs_both_passes_oct(self):
        """*/15 runs in both passes of the repeated hour: eight runs between 02:00 and 03:00."""
        assert runs("*/15 * * * *", self.zone, "2026-10-25T01:45:00+02:00", 9) == [
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:15:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:45:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T02:15:00+01:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-25T02:45:00+01:00",
            "2026-10-25T03:00:00+01:00",
        ]

    def test_hourly_skips_the_gap_mar(self):
        """0 * * * * has no 02:00 on 29 March: 01:00 CET then 03:00 CEST."""
        assert runs("0 * * * *", self.zone, "2026-03-29T00:30:00+01:00", 3) == [
            "2026-03-29T01:00:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T04:00:00+02:00",
        ]

    def test_hourly_runs_both_passes_oct(self):
        """0 * * * * runs at 02:00 CEST and again at 02:00 CET."""
        assert runs("0 * * * *", self.zone, "2026-10-25T01:30:00+02:00", 3) == [
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T03:00:00+01:00",
        ]

    def test_every_two_hours_skips_the_gap_mar(self):
        """0 */2 * * * is not fixed-time: 02:00 is skipped, not moved to 03:00."""
        assert runs("0 */2 * * *", self.zone, "2026-03-28T23:30:00+01:00", 3) == [
            "2026-03-29T00:00:00+01:00",
            "2026-03-29T04:00:00+02:00",
            "2026-03-29T06:00:00+02:00",
        ]

    def test_every_two_hours_runs_both_passes_oct(self):
        """0 */2 * * * runs 02:00 at both passes."""
        assert runs("0 */2 * * *", self.zone, "2026-10-24T23:30:00+02:00", 4) == [
            "2026-10-25T00:00:00+02:00",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T04:00:00+01:00",
        ]

    def test_six_field_fixed_time_in_gap_runs_once_right_after_it_mar(self):
        """'30 2 * * * 0' (02:30:00, seconds last) follows the 5-field rule: 03:00 CEST."""
        assert runs("30 2 * * * 0", self.zone, "2026-03-28T12:00:00+01:00", 2) == [
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
        ]

    def test_six_field_fixed_time_in_repeated_hour_runs_once_oct(self):
        """'30 2 * * * 0' runs at the first pass of 02:30 only."""
        assert runs("30 2 * * * 0", self.zone, "2026-10-24T12:00:00+02:00", 2) == [
            "2026-10-25T02:30:00+02:00",
            "2026-10-26T02:30:00+01:00",
        ]

    def test_six_field_seconds_in_gap_collapse_to_the_gap_end_mar(self):
        """02:30:00 and 02:30:30 both fall in the gap: one run, at 03:00:00 exactly."""
        assert runs("30 2 * * * 0,30", self.zone, "2026-03-28T12:00:00+01:00", 3) == [
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
            "2026-03-30T02:30:30+02:00",
        ]

    def test_six_field_seconds_in_repeated_hour_run_at_first_pass_only_oct(self):
        """02:30:00 and 02:30:30 run once each, in the first pass."""
        assert runs("30 2 * * * 0,30", self.zone, "2026-10-24T12:00:00+02:00", 3) == [
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:30:30+02:00",
            "2026-10-26T02:30:00+01:00",
        ]

    def test_cronsim_does_not_apply_the_rule_to_six_fields_oct(self):
        """cronsim runs seconds-first '0 30 2 * * *' at both passes; we do not (our rule)."""
        assert cronsim_runs("0 30 2 * * *", self.zone, "2026-10-24T12:00:00+02:00", 2) == [
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:30:00+01:00",
        ]

    def test_after_just_before_the_gap_gives_its_end_mar(self):
        """From 01:59:59.999999 CET, both a fixed-time and an elapsed job run next at 03:00 CEST."""
        after = "2026-03-29T01:59:59.999999+01:00"
        assert runs("30 2 * * *", self.zone, after, 1) == ["2026-03-29T03:00:00+02:00"]
        assert runs("*/15 * * * *", self.zone, after, 1) == ["2026-03-29T03:00:00+02:00"]

    def test_after_the_gap_end_itself_is_strictly_later_mar(self):
        """From 03:00 CEST, the moved 02:30 run is already done: next is tomorrow."""
        after = "2026-03-29T03:00:00+02:00"
        assert runs("30 2 * * *", self.zone, after, 1) == ["2026-03-30T02:30:00+02:00"]
        assert runs("*/15 * * * *", self.zone, after, 1) == ["2026-03-29T03:15:00+02:00"]

    def test_after_first_pass_gives_second_pass_for_elapsed_jobs_oct(self):
        """From 02:45 CEST (first pass), */15 runs next at 02:00 CET (second pass)."""
        after = "2026-10-25T02:45:00+02:00"
        assert runs("*/15 * * * *", self.zone, after, 2) == [
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T02:15:00+01:00",
        ]

    def test_after_first_pass_never_reruns_a_fixed_time_job_oct(self):
        """From 02:45 CEST, 30 2 * * * does not run at 02:30 CET: next is tomorrow."""
        after = "2026-10-25T02:45:00+02:00"
        assert runs("30 2 * * *", self.zone, after, 1) == ["2026-10-26T02:30:00+01:00"]

    def test_after_the_first_pass_run_itself_oct(self):
        """From exactly 02:30 CEST (the run), the next is tomorrow, strictly later."""
        after = "2026-10-25T02:30:00+02:00"
        assert runs("30 2 * * *", self.zone, after, 1) == ["2026-10-26T02:30:00+01:00"]

    def test_after_in_second_pass_before_its_0230_oct(self):
        """From 02:15 CET (second pass), 02:30 CET is not a run; */15 still gives 02:30 CET."""
        after = "2026-10-25T02:15:00+01:00"
        assert runs("30 2 * * *", self.zone, after, 1) == ["2026-10-26T02:30:00+01:00"]
        assert runs("*/15 * * * *", self.zone, after, 1) == ["2026-10-25T02:30:00+01:00"]

    def test_after_second_pass_start_oct(self):
        """From 02:00 CET (the instant of the change), runs are strictly later."""
        after = "2026-10-25T02:00:00+01:00"
        assert runs("*/15 * * * *", self.zone, after, 1) == ["2026-10-25T02:15:00+01:00"]
        assert runs("0 * * * *", self.zone, after, 1) == ["2026-10-25T03:00:00+01:00"]
        assert runs("0 3 * * *", self.zone, after, 1) == ["2026-10-25T03:00:00+01:00"]


class TestNewYork:
    """America/New_York: 2026-03-08 02:00 -> 03:00 and 2026-11-01 02:00 -> 01:00."""

    zone = "America/New_York"

    def test_fixed_time_in_gap_runs_once_right_after_it_mar(self):
        """02:30 does not exist on 8 March: the run happens at 03:00 EDT."""
        assert runs("30 2 * * *", self.zone, "2026-03-07T12:00:00-05:00", 2) == [
            "2026-03-08T03:00:00-04:00",
            "2026-03-09T02:30:00-04:00",
        ]

    def test_fixed_time_in_repeated_hour_runs_once_at_first_pass_nov(self):
        """01:30 happens twice on 1 November: the run is at 01:30 EDT only."""
        assert runs("30 1 * * *", self.zone, "2026-10-31T12:00:00-04:00", 2) == [
            "2026-11-01T01:30:00-04:00",
            "2026-11-02T01:30:00-05:00",
        ]

    def test_croniter_alone_runs_the_repeated_hour_twice_nov(self):
        """croniter 7 alone runs 30 1 * * * at 01:30 EDT and again at 01:30 EST."""
        assert croniter_runs("30 1 * * *", self.zone, "2026-10-31T12:00:00-04:00", 2) == [
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:30:00-05:00",
        ]

    def test_several_fixed_times_in_gap_collapse_into_one_mar(self):
        """0,15,30,45 2 * * * runs once at 03:00 EDT on 8 March."""
        assert runs("0,15,30,45 2 * * *", self.zone, "2026-03-08T00:00:00-05:00", 2) == [
            "2026-03-08T03:00:00-04:00",
            "2026-03-09T02:00:00-04:00",
        ]

    def test_every_30_minutes_skips_the_gap_mar(self):
        """*/30 goes from 01:30 EST straight to 03:00 EDT."""
        assert runs("*/30 * * * *", self.zone, "2026-03-08T01:00:00-05:00", 3) == [
            "2026-03-08T01:30:00-05:00",
            "2026-03-08T03:00:00-04:00",
            "2026-03-08T03:30:00-04:00",
        ]

    def test_every_30_minutes_runs_both_passes_nov(self):
        """*/30 runs 01:00 and 01:30 in EDT, then again in EST."""
        assert runs("*/30 * * * *", self.zone, "2026-11-01T00:45:00-04:00", 5) == [
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T01:30:00-05:00",
            "2026-11-01T02:00:00-05:00",
        ]

    def test_after_first_pass_never_reruns_a_fixed_time_job_nov(self):
        """From 01:45 EDT, 30 1 * * * is done for the day; */30 runs at 01:00 EST."""
        after = "2026-11-01T01:45:00-04:00"
        assert runs("30 1 * * *", self.zone, after, 1) == ["2026-11-02T01:30:00-05:00"]
        assert runs("*/30 * * * *", self.zone, after, 1) == ["2026-11-01T01:00:00-05:00"]


class TestLordHowe:
    """Australia/Lord_Howe, 30-minute shifts: 2026-04-05 02:00 -> 01:30, 2026-10-04 02:00 -> 02:30.

    Southern hemisphere: April is the fall-back, October the spring-forward.
    """

    zone = "Australia/Lord_Howe"

    def test_fixed_time_in_gap_runs_once_right_after_it_oct(self):
        """02:15 does not exist on 4 October: the run happens at 02:30 +11:00."""
        assert runs("15 2 * * *", self.zone, "2026-10-03T12:00:00+10:30", 2) == [
            "2026-10-04T02:30:00+11:00",
            "2026-10-05T02:15:00+11:00",
        ]

    def test_fixed_time_in_repeated_half_hour_runs_once_at_first_pass_apr(self):
        """01:45 happens twice on 5 April: the run is at 01:45 +11:00 only."""
        assert runs("45 1 * * *", self.zone, "2026-04-04T12:00:00+11:00", 2) == [
            "2026-04-05T01:45:00+11:00",
            "2026-04-06T01:45:00+10:30",
        ]

    def test_croniter_alone_runs_the_repeated_half_hour_twice_apr(self):
        """croniter 7 alone runs 45 1 * * * at both passes of 01:45."""
        assert croniter_runs("45 1 * * *", self.zone, "2026-04-04T12:00:00+11:00", 2) == [
            "2026-04-05T01:45:00+11:00",
            "2026-04-05T01:45:00+10:30",
        ]

    def test_fixed_times_in_gap_collapse_to_the_half_hour_oct(self):
        """02:00 and 02:15 are skipped and collapse into 02:30, which also runs anyway."""
        assert runs("0,15,30 2 * * *", self.zone, "2026-10-03T12:00:00+10:30", 2) == [
            "2026-10-04T02:30:00+11:00",
            "2026-10-05T02:00:00+11:00",
        ]

    def test_every_15_minutes_skips_the_half_hour_gap_oct(self):
        """*/15 goes from 01:45 +10:30 straight to 02:30 +11:00."""
        assert runs("*/15 * * * *", self.zone, "2026-10-04T01:30:00+10:30", 3) == [
            "2026-10-04T01:45:00+10:30",
            "2026-10-04T02:30:00+11:00",
            "2026-10-04T02:45:00+11:00",
        ]

    def test_every_15_minutes_runs_both_passes_apr(self):
        """*/15 runs 01:30 and 01:45 at +11:00, then again at +10:30."""
        assert runs("*/15 * * * *", self.zone, "2026-04-05T01:15:00+11:00", 5) == [
            "2026-04-05T01:30:00+11:00",
            "2026-04-05T01:45:00+11:00",
            "2026-04-05T01:30:00+10:30",
            "2026-04-05T01:45:00+10:30",
            "2026-04-05T02:00:00+10:30",
        ]

    def test_every_two_hours_runs_on_the_hour_after_the_shift_apr(self):
        """* */2 * * * resumes at 02:00 +10:30, not 02:30 (cronsim's hour arithmetic slips)."""
        assert runs("* */2 * * *", self.zone, "2026-04-05T01:30:00+10:30", 2) == [
            "2026-04-05T02:00:00+10:30",
            "2026-04-05T02:01:00+10:30",
        ]

    def test_after_first_pass_gives_second_pass_for_elapsed_jobs_apr(self):
        """From 01:50 +11:00, */15 runs at 01:30 +10:30 and 45 1 * * * is done for the day."""
        after = "2026-04-05T01:50:00+11:00"
        assert runs("*/15 * * * *", self.zone, after, 1) == ["2026-04-05T01:30:00+10:30"]
        assert runs("45 1 * * *", self.zone, after, 1) == ["2026-04-06T01:45:00+10:30"]


class TestNoDst:
    """Asia/Tokyo (+09:00) and UTC never change offset: DST dates elsewhere are ordinary days."""

    def test_fixed_time_is_ordinary_on_paris_change_day_mar(self):
        """30 2 * * * in Tokyo runs at 02:30 on 29 March as on any day."""
        assert runs("30 2 * * *", "Asia/Tokyo", "2026-03-28T12:00:00+09:00", 2) == [
            "2026-03-29T02:30:00+09:00",
            "2026-03-30T02:30:00+09:00",
        ]

    def test_fixed_time_is_ordinary_on_paris_change_day_oct(self):
        """30 2 * * * in Tokyo runs once at 02:30 on 25 October."""
        assert runs("30 2 * * *", "Asia/Tokyo", "2026-10-24T12:00:00+09:00", 2) == [
            "2026-10-25T02:30:00+09:00",
            "2026-10-26T02:30:00+09:00",
        ]

    def test_elapsed_job_is_even_in_utc_mar(self):
        """*/30 in UTC runs every 30 minutes through the night Paris springs forward."""
        assert runs("*/30 * * * *", "UTC", "2026-03-29T00:45:00+00:00", 3) == [
            "2026-03-29T01:00:00+00:00",
            "2026-03-29T01:30:00+00:00",
            "2026-03-29T02:00:00+00:00",
        ]

    def test_elapsed_job_is_even_in_utc_oct(self):
        """*/30 in UTC runs every 30 minutes through the night Paris falls back."""
        assert runs("*/30 * * * *", "UTC", "2026-10-25T00:45:00+00:00", 3) == [
            "2026-10-25T01:00:00+00:00",
            "2026-10-25T01:30:00+00:00",
            "2026-10-25T02:00:00+00:00",
        ]
