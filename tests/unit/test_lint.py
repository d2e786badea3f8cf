"""The schedule linter: each code fires on a minimal job and stays quiet on a clean one.

The DST scenarios use these 2026 transitions, in local wall-clock time:

  Europe/Paris         2026-03-29 02:00 -> 03:00 (+01:00 -> +02:00): 02:00-02:59 skipped
                       2026-10-25 03:00 -> 02:00 (+02:00 -> +01:00): 02:00-02:59 twice
                       2027-03-28 02:00 -> 03:00: the next spring-forward
  Australia/Lord_Howe  2026-04-05 02:00 -> 01:30 (+11:00 -> +10:30): 01:30-01:59 twice
                       2026-10-04 02:00 -> 02:30 (+10:30 -> +11:00): 02:00-02:29 skipped
  Asia/Tokyo, UTC      no daylight-saving time

``now`` is 2026-01-01T00:00Z unless a test says otherwise (a Thursday).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

import scheduler.core.lint
from scheduler.config.loader import parse_job_documents
from scheduler.core.catalog import Catalog, FileResult, build_catalog
from scheduler.core.errors import JobFileWarning
from scheduler.core.job import LoadedJob
from scheduler.core.lint import LintCode, lint_catalog, lint_job
from scheduler.core.schedule import Jitter, next_runs

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def document(name: str, schedule: str, extra: str = "") -> str:
    """One job document; ``schedule`` is the YAML under ``schedule:`` (two-space indented)."""
    body = "\n".join(f"  {line}" for line in schedule.strip().splitlines())
    return f"name: {name}\ntask: pkg.mod:func\nschedule:\n{body}\n{extra}"


def parse(text: str, source: str = "jobs.d/x.yaml") -> FileResult:
    result = parse_job_documents(text, source)
    assert not result.errors, result.errors
    return result


def catalog_of(*schedules: str, extra: str = "") -> Catalog:
    """A catalog with one job per schedule, named j0, j1, ... in one file."""
    docs = [document(f"j{i}", s, extra) for i, s in enumerate(schedules)]
    return build_catalog([parse("---\n".join(docs))])


def one_job(schedule: str) -> LoadedJob:
    return parse(document("job", schedule)).jobs[0]


def warnings(schedule: str, now: datetime = NOW) -> list[JobFileWarning]:
    return lint_job(one_job(schedule), now)


def codes(schedule: str, now: datetime = NOW) -> list[str]:
    return [w.code for w in warnings(schedule, now)]


def cron(expr: str, zone: str = "UTC") -> str:
    return f'cron: "{expr}"\ntimezone: {zone}'


def only(schedule: str, code: LintCode, now: datetime = NOW) -> JobFileWarning:
    """The one warning with ``code`` for ``schedule``."""
    found = [w for w in warnings(schedule, now) if w.code == code]
    assert len(found) == 1, found
    return found[0]


def test_codes_are_stable_and_documented():
    """The codes are the documented strings; the module docstring's table lists each."""
    assert [c.value for c in LintCode] == [
        "step-uneven",
        "day-or-trap",
        "rare-date",
        "dst-skipped",
        "dst-repeated",
        "pile-up",
    ]
    doc = scheduler.core.lint.__doc__ or ""
    for code in LintCode:
        assert re.search(rf"^{code.value}\s", doc, re.MULTILINE), code


def test_clean_job_has_no_warning():
    """A weekday-morning job in Paris is clean."""
    assert warnings(cron("0 9 * * 1-5", "Europe/Paris")) == []


def test_naive_now_is_refused():
    """``now`` must be aware, as everywhere in the core."""
    with pytest.raises(ValueError, match="naive"):
        lint_job(one_job(cron("0 9 * * *")), datetime(2026, 1, 1))


class TestStepUneven:
    @pytest.mark.parametrize(
        "expr",
        [
            "*/45 * * * *",
            "0 */5 * * *",
            "*/90 * * * *",
            "30/15 * * * *",
            "0 0 */2 * *",
            "0 0 * * */2",
            "0 0 * * 1/2",
            "0 0 * */5 *",
            "* * * * * */45",
            "0,*/45 * * * *",
        ],
    )
    def test_uneven_open_step_fires(self, expr: str):
        """An open-ended step whose wrap-around breaks the rhythm is flagged."""
        assert LintCode.step_uneven in codes(cron(expr))

    @pytest.mark.parametrize(
        "expr",
        [
            "*/15 * * * *",
            "*/20 * * * *",
            "*/30 * * * *",
            "*/60 * * * *",
            "5/15 * * * *",
            "0 */2 * * *",
            "0 */6 * * *",
            "0 0 * */3 *",
            "0-30/20 * * * *",
            "0 8-18/5 * * *",
            "* * * * * */10",
        ],
    )
    def test_even_or_bounded_step_is_quiet(self, expr: str):
        """Steps that divide their cycle, and steps with an explicit end, are fine."""
        assert LintCode.step_uneven not in codes(cron(expr))

    def test_minute_message_names_the_times_the_gap_and_the_fix(self):
        """*/45 fires at :00 and :45: 15 minutes apart at the hour; interval: 45m is the fix."""
        message = only(cron("*/45 * * * *"), LintCode.step_uneven).message
        assert ":00 and :45" in message
        assert "15 minutes from :45 to :00" in message
        assert "`interval: 45m`" in message

    def test_hour_message_names_the_short_gap(self):
        """Hour */5 fires 0, 5, 10, 15, 20 and then 0: a 4-hour gap."""
        message = only(cron("0 */5 * * *"), LintCode.step_uneven).message
        assert "00h, 05h, 10h, 15h and 20h" in message
        assert "4 hours from 20h to 00h" in message

    def test_step_longer_than_its_cycle_runs_once_per_cycle(self):
        """Minute */90 is hourly, not every 90 minutes."""
        message = only(cron("*/90 * * * *"), LintCode.step_uneven).message
        assert "once an hour, not every 90 minutes" in message

    def test_day_of_month_step_names_the_month_turn(self):
        """Day-of-month */2 runs on the 31st and on the 1st, one day apart."""
        message = only(cron("0 0 */2 * *"), LintCode.step_uneven).message
        assert "1 day from the 31st to the 1st" in message

    def test_day_of_month_step_judged_by_the_months_named(self):
        """In 30-day months only, */2 ends on the 29th and the gap to the 1st is 2 days."""
        assert LintCode.step_uneven not in codes(cron("0 0 */2 4,6,9,11 *"))


class TestDayOrTrap:
    def test_both_restricted_fires_and_shows_the_nth_weekday(self):
        """1-7 with Monday is every day 1-7 and every Monday; '1#1' is the first Monday."""
        message = only(cron("0 9 1-7 * 1"), LintCode.day_or_trap).message
        assert "EITHER" in message
        assert "Vixie" in message
        assert "'0 9 * * 1#1'" in message

    def test_other_combinations_get_the_general_hint(self):
        """The 1st or a weekday: fires, and explains how to require both."""
        message = only(cron("0 9 1 * 1-5"), LintCode.day_or_trap).message
        assert "'1#1'" in message

    @pytest.mark.parametrize(
        "expr",
        ["0 9 * * 1-5", "0 9 1 * *", "0 9 */2 * 1", "0 9 1 */2 *", "0 9 ? * 1"],
    )
    def test_one_side_unrestricted_is_quiet(self, expr: str):
        """When either field begins with '*' (even '*/2'), both must match: no trap."""
        assert LintCode.day_or_trap not in codes(cron(expr))

    def test_weekly_is_quiet(self):
        """weekly never restricts day-of-month."""
        assert warnings("weekly: {days: [mon], at: '09:00'}") == []


class TestRareDate:
    def test_31st_runs_in_7_months(self):
        """0 0 31 * * names the 5 months without a 31st and suggests 'L'."""
        message = only(cron("0 0 31 * *"), LintCode.rare_date).message
        assert "only 7 months have a 31st" in message
        assert "Feb, Apr, Jun, Sep and Nov" in message
        assert "'0 0 L * *'" in message

    def test_30th_skips_february(self):
        message = only(cron("0 0 30 * *"), LintCode.rare_date).message
        assert "at all in Feb." in message

    def test_29th_skips_february_outside_leap_years(self):
        message = only(cron("0 0 29 * *"), LintCode.rare_date).message
        assert "leap years" in message
        assert "2028-02-29" in message

    def test_29_february_runs_every_four_years(self):
        message = only(cron("0 0 29 2 *"), LintCode.rare_date).message
        assert "once every four years (next 29 February: 2028-02-29)" in message

    def test_next_leap_day_counts_from_now(self):
        """On 2028-01-15, the next 29 February is 2028's; on 2028-03-01, 2032's."""
        early = only(cron("0 0 29 2 *"), LintCode.rare_date, datetime(2028, 1, 15, tzinfo=UTC))
        late = only(cron("0 0 29 2 *"), LintCode.rare_date, datetime(2028, 3, 1, tzinfo=UTC))
        assert "2028-02-29" in early.message
        assert "2032-02-29" in late.message

    def test_months_named_are_the_scope(self):
        """30th and 31st from January to June: only February lacks both."""
        message = only(cron("0 0 30,31 1-6 *"), LintCode.rare_date).message
        assert "only 5 of the 6 months it names have a 30th" in message

    @pytest.mark.parametrize(
        "expr", ["0 0 28 * *", "0 0 L * *", "0 0 31 1,3,5 *", "0 0 15,31 * *", "0 0 31 * 1"]
    )
    def test_every_month_keeps_a_run_is_quiet(self, expr: str):
        """No month loses all its runs (with OR days, the weekday still runs every month)."""
        assert LintCode.rare_date not in codes(cron(expr))

    def test_a_date_that_never_occurs_is_an_error_not_a_warning(self):
        """0 0 31 2 * is rejected by validation itself."""
        result = parse_job_documents(document("never", cron("0 0 31 2 *")), "x.yaml")
        assert [e.path for e in result.errors] == ["schedule.cron"]


class TestPositions:
    def test_warning_points_at_schedule_cron(self):
        """File, line and column are those of the schedule.cron value."""
        text = (
            "# a comment\n"
            + document("first", "daily: '09:00'")
            + "---\n"
            + document("second", 'timezone: UTC\ncron:   "*/45 * * * *"')
        )
        found = lint_catalog(build_catalog([parse(text, "jobs.d/team/a.yaml")]), NOW)
        job = parse(text).jobs[1]
        assert [(w.file, w.line, w.column, w.path) for w in found] == [
            ("jobs.d/team/a.yaml", *job.position("schedule.cron"), "schedule.cron")
        ]
        assert job.position("schedule.cron") == (11, 11)

    def test_list_item_is_located_by_index(self):
        """A daily list names the time at fault: schedule.daily[1]."""
        job = one_job("daily: ['09:00', '02:30']\ntimezone: Europe/Paris")
        found = lint_job(job, NOW)
        assert {w.path for w in found} == {"schedule.daily[1]"}
        assert {(w.line, w.column) for w in found} == {job.positions["schedule.daily[1]"]}

    def test_warning_as_error_keeps_the_code(self):
        """--strict turns warnings into errors with the same location and code."""
        error = only(cron("*/45 * * * *"), LintCode.step_uneven).as_error()
        assert error.as_dict()["code"] == "step-uneven"
        assert error.as_dict()["path"] == "schedule.cron"


class TestDstParis:
    """Europe/Paris: 2026-03-29 02:00 -> 03:00 and 2026-10-25 03:00 -> 02:00."""

    zone = "Europe/Paris"

    def test_fixed_time_in_gap_warns_with_date_and_actual_time_mar(self):
        message = only(cron("30 2 * * *", self.zone), LintCode.dst_skipped).message
        assert "02:30 does not exist in Europe/Paris on 2026-03-29" in message
        assert "runs once at 03:00 (+02:00) instead" in message

    def test_named_time_is_the_run_the_schedule_computes_mar(self):
        """The warning's "runs once at 03:00" is what the schedule itself yields that night."""
        job = one_job(cron("30 2 * * *", self.zone))
        [run] = next_runs(job.schedule, datetime(2026, 3, 28, 23, tzinfo=UTC), 1)
        assert run.astimezone(job.timezone).isoformat() == "2026-03-29T03:00:00+02:00"

    def test_fixed_time_in_overlap_warns_first_pass_oct(self):
        message = only(cron("30 2 * * *", self.zone), LintCode.dst_repeated).message
        assert "02:30 occurs twice in Europe/Paris on 2026-10-25" in message
        assert "at the first pass (UTC offset +02:00)" in message

    def test_jitter_is_added_to_the_actual_time_mar(self):
        """With jitter the run after the gap is 03:00 plus the job's stable delay."""
        job = one_job(f"{cron('30 2 * * *', self.zone)}\njitter: 5m")
        [skipped] = [w for w in lint_job(job, NOW) if w.code == LintCode.dst_skipped]
        assert isinstance(job.schedule, Jitter)
        actual = (datetime(2026, 3, 29, 3) + job.schedule.delay).strftime("%H:%M:%S")
        assert f"runs once at {actual} (+02:00) (the end of the gap plus its jitter" in (
            skipped.message
        )

    def test_several_times_in_the_gap_collapse_mar(self):
        message = only(cron("0,30 2 * * *", self.zone), LintCode.dst_skipped).message
        assert "02:00 and 02:30 do not exist" in message
        assert "collapse into one" in message

    def test_day_that_is_not_the_transition_day_is_quiet(self):
        """Both 2026 nights are Sundays; a Monday job never meets them."""
        assert codes(cron("30 2 * * 1", self.zone)) == []

    def test_elapsed_time_job_is_quiet(self):
        """*/15 in the 2 o'clock hour follows real time by design: nothing to warn about."""
        assert codes(cron("*/15 2 * * *", self.zone)) == []

    def test_time_outside_the_windows_is_quiet(self):
        assert codes(cron("30 3 * * *", self.zone)) == []
        assert codes(cron("59 1 * * *", self.zone)) == []

    def test_daily_and_weekly_times_are_fixed(self):
        assert sorted(codes(f"daily: '02:30'\ntimezone: {self.zone}")) == [
            "dst-repeated",
            "dst-skipped",
        ]
        weekly = f"weekly: {{days: [sun], at: ['02:15:30']}}\ntimezone: {self.zone}"
        assert "02:15:30 does not exist" in only(weekly, LintCode.dst_skipped).message

    def test_one_shot_at_in_gap_mar_and_overlap_oct(self):
        assert codes(f"at: '2026-03-29T02:30'\ntimezone: {self.zone}") == ["dst-skipped"]
        assert codes(f"at: '2026-10-25T02:30'\ntimezone: {self.zone}") == ["dst-repeated"]
        assert codes(f"at: '2026-10-25T02:30+02:00'\ntimezone: {self.zone}") == []

    def test_window_start_after_march_keeps_only_october(self):
        schedule = f"daily: '02:30'\ntimezone: {self.zone}\nstart: '2026-04-01T00:00'"
        assert codes(schedule) == ["dst-repeated"]

    def test_only_the_next_12_months_are_considered(self):
        """From 2026-10-26, the October night has passed, 2027-03-28 is within reach, and
        2027-10-31 is not."""
        found = warnings(cron("30 2 * * *", self.zone), datetime(2026, 10, 26, tzinfo=UTC))
        assert [w.code for w in found] == ["dst-skipped"]
        assert "2027-03-28" in found[0].message

    def test_disabled_job_still_warns(self):
        job = parse(document("paused", cron("30 2 * * *", self.zone), "enabled: false\n")).jobs[0]
        assert len(lint_job(job, NOW)) == 2


class TestDstOtherZones:
    def test_lord_howe_half_hour_overlap(self):
        schedule = "daily: '01:45'\ntimezone: Australia/Lord_Howe"
        message = only(schedule, LintCode.dst_repeated).message
        assert "on 2026-04-05" in message
        assert "30 minutes later" in message

    @pytest.mark.parametrize("zone", ["Asia/Tokyo", "UTC"])
    def test_zone_without_dst_is_quiet(self, zone: str):
        assert codes(cron("30 2 * * *", zone)) == []
        assert codes(f"daily: ['02:30', '01:30']\ntimezone: {zone}") == []


class TestPileUp:
    def test_threshold_is_the_most_allowed(self):
        """20 jobs in one minute is fine; 21 is a pile-up, one warning per job."""
        assert lint_catalog(catalog_of(*[cron("0 9 * * *")] * 20), NOW) == []
        found = lint_catalog(catalog_of(*[cron("0 9 * * *")] * 21), NOW)
        assert [w.code for w in found] == ["pile-up"] * 21
        assert {w.path for w in found} == {"schedule.cron"}
        message = found[0].message
        assert "21 enabled jobs are due in the same minute, 2026-01-01 09:00 (+00:00)" in message
        assert "this one and j1, j10, j11 and 17 more" in message
        assert "jitter: 2m" in message

    def test_custom_threshold(self):
        found = lint_catalog(catalog_of(*[cron("0 9 * * *")] * 3), NOW, pile_up_threshold=2)
        assert len(found) == 3

    def test_same_instant_in_different_zones_counts_together(self):
        """09:00 UTC and 10:00 in Paris (+01:00 in January) are the same minute."""
        schedules = [cron("0 9 * * *")] * 2 + [cron("0 10 * * *", "Europe/Paris")]
        assert len(lint_catalog(catalog_of(*schedules), NOW, pile_up_threshold=2)) == 3

    def test_disabled_jobs_do_not_count(self):
        enabled = [document(f"on{i}", cron("0 9 * * *")) for i in range(2)]
        disabled = document("paused", cron("0 9 * * *"), "enabled: false\n")
        catalog = build_catalog([parse("---\n".join([*enabled, disabled]))])
        assert lint_catalog(catalog, NOW, pile_up_threshold=2) == []

    def test_jitter_spreads_jobs_apart(self):
        """With jitter: 10m each job gets its own stable delay: no minute holds all three."""
        schedules = [f"{cron('0 9 * * *')}\njitter: 10m"] * 3
        assert lint_catalog(catalog_of(*schedules), NOW, pile_up_threshold=2) == []

    def test_job_with_short_jitter_is_told_to_lengthen_it(self):
        schedules = [f"{cron('0 9 * * *')}\njitter: 1s"] * 3
        found = lint_catalog(catalog_of(*schedules), NOW, pile_up_threshold=2)
        assert len(found) == 3
        assert "its jitter (1s) leaves it in that minute" in found[0].message

    def test_one_warning_per_job_however_many_minutes_crowd(self):
        """Hourly jobs meet 24 times a day; each job is told once, at the first crowded minute."""
        found = lint_catalog(catalog_of(*[cron("0 * * * *")] * 3), NOW, pile_up_threshold=2)
        assert len(found) == 3
        assert "2026-01-01 01:00" in found[0].message

    def test_only_the_next_24_hours_are_sampled(self):
        """2026-01-01 is a Thursday: Monday jobs are not due within the sample window."""
        assert lint_catalog(catalog_of(*[cron("0 9 * * 1")] * 3), NOW, pile_up_threshold=2) == []

    @pytest.mark.parametrize("skip_first", [False, True], ids=["default-first", "skip-first"])
    def test_a_dst_rule_is_part_of_the_schedule_counted(self, skip_first: bool):
        """02:30 in Paris on the spring-forward night: the default rule runs at 03:00, a
        ``dst: {gap: skip}`` job not at all; jobs sharing the schedule text but not the
        rule are not counted as one (whichever is seen first)."""
        night = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
        plain = [document(f"run{i}", cron("30 2 * * *", "Europe/Paris")) for i in range(3)]
        skip = [
            document(f"skip{i}", cron("30 2 * * *", "Europe/Paris"), "dst: {gap: skip}\n")
            for i in range(3)
        ]
        docs = [*skip, *plain] if skip_first else [*plain, *skip]
        found = lint_catalog(build_catalog([parse("---\n".join(docs))]), night, pile_up_threshold=2)
        crowd = [w for w in found if w.code == "pile-up"]
        assert len(crowd) == 3
        assert all("3 enabled jobs are due in the same minute" in w.message for w in crowd)
        assert all("skip" not in w.message for w in crowd)

    def test_other_kinds_count_too(self):
        """daily, weekly, interval and at runs in the same minute pile up together."""
        schedules = [
            "daily: '09:00'",
            "weekly: {days: [thu], at: '09:00'}",
            "interval: 1h",
            "at: '2026-01-01T09:00'",
        ]
        found = lint_catalog(catalog_of(*schedules), NOW, pile_up_threshold=3)
        assert [w.path for w in found] == [
            "schedule.daily",
            "schedule.weekly",
            "schedule.interval",
            "schedule.at",
        ]


def test_ten_thousand_jobs_lint():
    """A 10,000-job catalog of mixed schedules and zones lints (no wall-time assertion)."""
    zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe"]
    docs = []
    for i in range(10_000):
        zone = zones[i % len(zones)]
        kind = i % 5
        if kind == 0:
            schedule = cron(f"{i % 60} {i % 24} * * *", zone)
        elif kind == 1:
            schedule = cron(f"*/{(i % 30) + 1} * * * *", zone)
        elif kind == 2:
            schedule = f"daily: '{i % 24:02d}:{i % 60:02d}'\ntimezone: {zone}"
        elif kind == 3:
            schedule = f"weekly: {{days: [mon, thu], at: '0{i % 4}:30'}}\ntimezone: {zone}"
        else:
            schedule = f"interval: {(i % 90) + 1}m"
        docs.append(document(f"job-{i}", schedule))
    files = [
        parse("---\n".join(docs[k : k + 100]), f"jobs.d/f{k}.yaml") for k in range(0, 10_000, 100)
    ]
    catalog = build_catalog(files)
    assert len(catalog.jobs) == 10_000
    found = lint_catalog(catalog, NOW)
    assert {w.code for w in found} >= {"step-uneven", "dst-skipped", "dst-repeated", "pile-up"}
