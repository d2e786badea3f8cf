"""Schedule kinds other than cron's DST cases, cron expression parsing, and durations.

Instants are written as ISO strings; everything comes back from the core in UTC.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core.cronexpr import CronSyntaxError, parse_cron
from scheduler.core.durations import DurationSyntaxError, format_duration, parse_duration
from scheduler.core.schedule import (
    AnyOf,
    AtSchedule,
    CronSchedule,
    IntervalSchedule,
    Jitter,
    Window,
    iter_runs,
    jitter_delay,
    next_runs,
)

PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def utc(instants: list[datetime]) -> list[str]:
    return [t.astimezone(UTC).isoformat() for t in instants]


def cron(expr: str, tz=UTC) -> CronSchedule:
    return CronSchedule(parse_cron(expr), tz)


@dataclass(frozen=True)
class Listed:
    """A fake schedule: fixed instants, for testing the iteration without cron strings."""

    instants: tuple[datetime, ...]

    def next_after(self, t: datetime) -> datetime | None:
        return min((i for i in self.instants if i > t), default=None)


# --- next_runs / iter_runs -------------------------------------------------------------


def test_next_runs_is_strictly_after():
    """A run exactly at ``after`` is not returned."""
    assert utc(next_runs(cron("0 * * * *"), at("2026-01-01T10:00:00+00:00"), 2)) == [
        "2026-01-01T11:00:00+00:00",
        "2026-01-01T12:00:00+00:00",
    ]


def test_next_runs_returns_utc_whatever_the_zone_of_after():
    """An ``after`` in another zone is the same instant; results are UTC."""
    found = next_runs(cron("0 * * * *"), at("2026-01-01T11:30:00+01:00"), 1)
    assert found == [at("2026-01-01T11:00:00+00:00")]
    assert found[0].tzinfo is UTC


def test_next_runs_stops_when_the_schedule_is_exhausted():
    """Fewer than ``count`` runs come back when the schedule ends."""
    one = Listed((at("2026-01-01T00:00:00+00:00"),))
    assert next_runs(one, at("2025-01-01T00:00:00+00:00"), 5) == [one.instants[0]]


def test_iter_runs_without_limit_runs_to_exhaustion():
    """iter_runs with no limit yields every remaining instant, ascending."""
    instants = tuple(at(f"2026-01-0{d}T00:00:00+00:00") for d in (3, 1, 2))
    assert list(iter_runs(Listed(instants), at("2025-12-31T00:00:00+00:00"))) == sorted(instants)


def test_iter_runs_rejects_a_schedule_that_goes_backwards():
    """A schedule returning an instant not after t is a programming error, caught loudly."""

    class Stuck:
        def next_after(self, t: datetime) -> datetime:
            return t

    with pytest.raises(AssertionError, match="went backwards"):
        next_runs(Stuck(), at("2026-01-01T00:00:00+00:00"), 1)


@pytest.mark.parametrize(
    "schedule",
    [
        cron("0 * * * *"),
        IntervalSchedule(timedelta(minutes=5)),
        AtSchedule(at("2030-01-01T00:00:00+00:00")),
        Window(cron("0 * * * *"), start=at("2026-01-01T00:00:00+00:00")),
        Jitter(cron("0 * * * *"), timedelta(seconds=5)),
        AnyOf([cron("0 9 * * *"), cron("0 18 * * *")]),
    ],
    ids=["cron", "interval", "at", "window", "jitter", "anyof"],
)
def test_naive_datetimes_are_rejected(schedule):
    """A naive ``after`` raises ValueError, at next_runs and at each kind's next_after."""
    naive = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(ValueError, match="naive"):
        next_runs(schedule, naive, 1)
    with pytest.raises(ValueError, match="naive"):
        schedule.next_after(naive)


# --- IntervalSchedule ------------------------------------------------------------------


def test_interval_runs_on_the_epoch_grid():
    """15m runs on :00, :15, :30, :45 (anchor 1970-01-01T00:00Z)."""
    every = IntervalSchedule(timedelta(minutes=15))
    assert utc(next_runs(every, at("2026-01-01T00:07:00+00:00"), 3)) == [
        "2026-01-01T00:15:00+00:00",
        "2026-01-01T00:30:00+00:00",
        "2026-01-01T00:45:00+00:00",
    ]


def test_interval_runs_on_anchor_plus_multiples():
    """With an anchor, runs are anchor + k * interval, for k before the anchor too."""
    every = IntervalSchedule(timedelta(hours=1, minutes=30), anchor=at("2026-06-01T00:05:00+00:00"))
    assert utc(next_runs(every, at("2026-05-31T21:00:00+00:00"), 4)) == [
        "2026-05-31T21:05:00+00:00",
        "2026-05-31T22:35:00+00:00",
        "2026-06-01T00:05:00+00:00",
        "2026-06-01T01:35:00+00:00",
    ]


def test_interval_after_a_grid_point_is_strictly_later():
    """From a run instant itself, the next run is one interval later."""
    every = IntervalSchedule(timedelta(seconds=90))
    assert utc(next_runs(every, at("1970-01-01T00:03:00+00:00"), 1)) == [
        "1970-01-01T00:04:30+00:00"
    ]


@settings(max_examples=200, deadline=None)
@given(
    seconds=st.integers(1, 3 * 86400),
    after=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),
)
def test_interval_next_is_the_first_grid_point_after_any_start(seconds, after):
    """Whatever ``after`` is, the next run is the smallest anchor + k * interval after it."""
    every = timedelta(seconds=seconds)
    after = after.replace(tzinfo=UTC)
    nxt = IntervalSchedule(every).next_after(after)
    assert nxt is not None
    assert after < nxt <= after + every
    assert (nxt - datetime(1970, 1, 1, tzinfo=UTC)) % every == timedelta(0)


def test_interval_restart_computes_the_same_instants():
    """A fresh schedule started mid-way (a restart, another watcher) continues the same series."""
    every = timedelta(minutes=7)
    long_run = next_runs(IntervalSchedule(every), at("2026-01-01T00:00:00+00:00"), 50)
    restarted = next_runs(IntervalSchedule(every), long_run[20] + timedelta(seconds=11), 29)
    assert restarted == long_run[21:]


def test_interval_across_fall_back_is_real_elapsed_time():
    """1h across Paris's fall-back: 02:00 CEST, 02:00 CET, 03:00 CET, one hour apart each."""
    found = next_runs(IntervalSchedule(timedelta(hours=1)), at("2026-10-25T01:30:00+02:00"), 3)
    assert [t.astimezone(PARIS).isoformat() for t in found] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]


def test_interval_across_spring_forward_is_real_elapsed_time():
    """1h across Paris's spring-forward: 01:00 CET then 03:00 CEST, one hour later."""
    found = next_runs(IntervalSchedule(timedelta(hours=1)), at("2026-03-29T00:30:00+01:00"), 2)
    assert [t.astimezone(PARIS).isoformat() for t in found] == [
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
    ]
    assert found[1] - found[0] == timedelta(hours=1)


# --- AtSchedule ------------------------------------------------------------------------


def test_at_runs_once_then_is_exhausted():
    """A future one-shot runs once; after it, next_after is None."""
    once = AtSchedule(at("2026-07-01T09:00:00+02:00"))
    assert utc(next_runs(once, at("2026-01-01T00:00:00+00:00"), 3)) == ["2026-07-01T07:00:00+00:00"]
    assert once.next_after(at("2026-07-01T07:00:00+00:00")) is None


def test_at_in_the_past_never_runs():
    """A one-shot before ``after`` gives None."""
    assert (
        AtSchedule(at("2020-01-01T00:00:00+00:00")).next_after(at("2026-01-01T00:00:00+00:00"))
        is None
    )


# --- AnyOf -----------------------------------------------------------------------------


def test_anyof_is_the_union_in_order():
    """09:00 and 18:00 interleave, ascending."""
    daily = AnyOf([cron("0 18 * * *", PARIS), cron("0 9 * * *", PARIS)])
    found = next_runs(daily, at("2026-01-01T12:00:00+01:00"), 3)
    assert [t.astimezone(PARIS).isoformat() for t in found] == [
        "2026-01-01T18:00:00+01:00",
        "2026-01-02T09:00:00+01:00",
        "2026-01-02T18:00:00+01:00",
    ]


def test_anyof_runs_equal_instants_once():
    """Two parts due at the same instant make one run."""
    both = AnyOf([cron("0 * * * *"), IntervalSchedule(timedelta(hours=1)), cron("0 9 * * *")])
    assert utc(next_runs(both, at("2026-01-01T08:30:00+00:00"), 3)) == [
        "2026-01-01T09:00:00+00:00",
        "2026-01-01T10:00:00+00:00",
        "2026-01-01T11:00:00+00:00",
    ]


def test_anyof_continues_after_a_part_is_exhausted_and_ends_with_the_last():
    """An exhausted part drops out; when all are exhausted the union is too."""
    parts = AnyOf(
        [AtSchedule(at("2026-01-01T00:00:00+00:00")), AtSchedule(at("2026-02-01T00:00:00+00:00"))]
    )
    assert utc(next_runs(parts, at("2025-01-01T00:00:00+00:00"), 5)) == [
        "2026-01-01T00:00:00+00:00",
        "2026-02-01T00:00:00+00:00",
    ]


# --- Window ----------------------------------------------------------------------------


def test_window_start_is_inclusive():
    """A run exactly at ``start`` happens."""
    hourly = Window(cron("0 * * * *"), start=at("2026-01-01T10:00:00+00:00"))
    assert utc(next_runs(hourly, at("2026-01-01T00:00:00+00:00"), 2)) == [
        "2026-01-01T10:00:00+00:00",
        "2026-01-01T11:00:00+00:00",
    ]


def test_window_end_is_inclusive_then_exhausted():
    """A run exactly at ``end`` happens; nothing after it."""
    hourly = Window(cron("0 * * * *"), end=at("2026-01-01T12:00:00+00:00"))
    assert utc(next_runs(hourly, at("2026-01-01T10:30:00+00:00"), 5)) == [
        "2026-01-01T11:00:00+00:00",
        "2026-01-01T12:00:00+00:00",
    ]


def test_window_after_its_end_is_none():
    """From the end or later, the windowed schedule is exhausted."""
    hourly = Window(cron("0 * * * *"), end=at("2026-01-01T12:00:00+00:00"))
    assert hourly.next_after(at("2026-01-01T12:00:00+00:00")) is None
    assert hourly.next_after(at("2027-01-01T00:00:00+00:00")) is None


def test_window_between_bounds_passes_runs_through():
    """Inside [start, end] the inner schedule is unchanged."""
    window = Window(
        IntervalSchedule(timedelta(minutes=20)),
        start=at("2026-01-01T10:10:00+00:00"),
        end=at("2026-01-01T11:00:00+00:00"),
    )
    assert utc(next_runs(window, at("2026-01-01T00:00:00+00:00"), 9)) == [
        "2026-01-01T10:20:00+00:00",
        "2026-01-01T10:40:00+00:00",
        "2026-01-01T11:00:00+00:00",
    ]


# --- Jitter ----------------------------------------------------------------------------


def test_jitter_moves_every_run_by_the_same_delay():
    """Jitter(hourly, 7s) runs at :00:07."""
    late = Jitter(cron("0 * * * *"), timedelta(seconds=7))
    assert utc(next_runs(late, at("2026-01-01T10:00:03+00:00"), 2)) == [
        "2026-01-01T10:00:07+00:00",
        "2026-01-01T11:00:07+00:00",
    ]


def test_jitter_is_strictly_after_its_own_instants():
    """From a jittered run itself, the next jittered run follows."""
    late = Jitter(cron("0 * * * *"), timedelta(seconds=7))
    assert utc(next_runs(late, at("2026-01-01T10:00:07+00:00"), 1)) == ["2026-01-01T11:00:07+00:00"]


def test_jitter_delay_is_stable_across_calls():
    """The same name and jitter give the same delay, every time."""
    assert {jitter_delay("birthday-daily", timedelta(minutes=10)) for _ in range(5)} == {
        jitter_delay("birthday-daily", timedelta(minutes=10))
    }


def test_jitter_delay_is_stable_across_processes():
    """Other interpreters, with other hash seeds, compute the same delays."""
    names = ["birthday-daily", "profile-visitor", "a", "job.with-dots_1"]
    here = [int(jitter_delay(n, timedelta(hours=1)).total_seconds()) for n in names]
    code = (
        "from datetime import timedelta; from scheduler.core.schedule import jitter_delay; "
        f"print([int(jitter_delay(n, timedelta(hours=1)).total_seconds()) for n in {names!r}])"
    )
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == str(here)


@settings(max_examples=200, deadline=None)
@given(name=st.text(min_size=1, max_size=63), seconds=st.integers(0, 86400))
def test_jitter_delay_is_whole_seconds_in_zero_to_jitter(name, seconds):
    """The delay is a whole number of seconds in [0, jitter) (0 for a jitter of 1s or less)."""
    jitter = timedelta(seconds=seconds)
    delay = jitter_delay(name, jitter)
    assert delay.microseconds == 0
    if seconds <= 1:
        assert delay == timedelta(0)
    else:
        assert timedelta(0) <= delay < jitter


def test_jitter_delays_of_different_names_usually_differ():
    """Across 200 job names and a 1h jitter, nearly all delays are distinct."""
    delays = {jitter_delay(f"job-{i}", timedelta(hours=1)) for i in range(200)}
    assert len(delays) >= 180


# --- cron expressions ------------------------------------------------------------------


def test_both_day_fields_restricted_means_either():
    """'0 0 13 * 5' runs on the 13th and on every Friday (Vixie cron OR)."""
    assert parse_cron("0 0 13 * 5").day_or
    found = next_runs(cron("0 0 13 * 5"), at("2026-02-01T00:00:00+00:00"), 5)
    assert [t.date().isoformat() for t in found] == [
        "2026-02-06",
        "2026-02-13",
        "2026-02-20",
        "2026-02-27",
        "2026-03-06",
    ]


def test_star_step_day_of_month_with_weekday_means_both():
    """'0 0 */2 * mon': '*/2' begins with '*', so odd days that are also Mondays (AND)."""
    assert not parse_cron("0 0 */2 * mon").day_or
    found = next_runs(cron("0 0 */2 * mon"), at("2026-01-01T00:00:00+00:00"), 4)
    assert [t.date().isoformat() for t in found] == [
        "2026-01-05",
        "2026-01-19",
        "2026-02-09",
        "2026-02-23",
    ]


def test_star_step_day_of_week_with_day_of_month_means_both():
    """'0 0 1 * */2': the 1st of the month, only when a Sun, Tue, Thu or Sat (AND)."""
    found = next_runs(cron("0 0 1 * */2"), at("2026-01-01T00:00:00+00:00"), 3)
    assert [t.strftime("%Y-%m-%d %a") for t in found] == [
        "2026-02-01 Sun",
        "2026-03-01 Sun",
        "2026-08-01 Sat",
    ]


@pytest.mark.parametrize(
    ("macro", "fields"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros_expand(macro, fields):
    """Each macro means its five fields."""
    assert parse_cron(macro).fields == tuple(fields.split())


def test_unknown_macro_is_rejected_with_the_known_ones():
    """'@reboot' is an error that lists the supported macros."""
    with pytest.raises(CronSyntaxError, match="@hourly"):
        parse_cron("@reboot")


def test_sixth_field_is_seconds():
    """'* * * * * */5' runs every 5 seconds."""
    assert utc(next_runs(cron("* * * * * */5"), at("2026-01-01T00:00:02+00:00"), 3)) == [
        "2026-01-01T00:00:05+00:00",
        "2026-01-01T00:00:10+00:00",
        "2026-01-01T00:00:15+00:00",
    ]


def test_six_fields_with_fixed_second():
    """'30 9 * * * 15' runs at 09:30:15."""
    assert utc(next_runs(cron("30 9 * * * 15"), at("2026-01-01T00:00:00+00:00"), 1)) == [
        "2026-01-01T09:30:15+00:00"
    ]


def test_quartz_seconds_first_is_rejected_saying_seconds_go_last():
    """'0 30 9 * * *' reads hour 30: an error that shows the seconds-last spelling."""
    with pytest.raises(CronSyntaxError) as caught:
        parse_cron("0 30 9 * * *")
    message = str(caught.value)
    assert "hour field '30'" in message
    assert "seconds last" in message
    assert "'30 9 * * * 0'" in message


def test_never_firing_expression_is_rejected():
    """'0 0 30 2 *' (30 February) parses but never runs: rejected."""
    with pytest.raises(CronSyntaxError, match="never fires"):
        parse_cron("0 0 30 2 *")


@pytest.mark.parametrize("text", ["0 0 1 1 * * 2026", "* * * *", "*", ""])
def test_wrong_number_of_fields_is_rejected(text):
    """Only 5 or 6 fields; 7 (a year) and fewer than 5 are errors."""
    with pytest.raises(CronSyntaxError, match=r"field|empty"):
        parse_cron(text)


def test_seven_fields_message_names_the_year():
    """A 7th field is reported as an unsupported year field."""
    with pytest.raises(CronSyntaxError, match="year"):
        parse_cron("0 0 1 1 * * 2026")


@pytest.mark.parametrize("text", ["H * * * *", "H/15 * * * *", "0 H(0-5) * * *", "0 0 * * h"])
def test_hashed_h_is_rejected_pointing_to_jitter(text):
    """Jenkins-style 'H' is not supported; the message points to schedule.jitter."""
    with pytest.raises(CronSyntaxError, match="jitter"):
        parse_cron(text)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("61 * * * *", "minute"),
        ("0 24 * * *", "hour"),
        ("0 0 32 * *", "day-of-month"),
        ("0 0 * 13 *", "month"),
        ("0 0 * * 8", "day-of-week"),
    ],
)
def test_out_of_range_field_is_named(text, field):
    """The error names the field that is wrong and its allowed range."""
    with pytest.raises(CronSyntaxError, match=f"{field} field"):
        parse_cron(text)


def test_whitespace_is_normalised():
    """Extra spaces and tabs do not change the expression."""
    assert parse_cron("  0\t9  * * 1-5 ") == parse_cron("0 9 * * 1-5")


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("30 2 * * *", True),
        ("0 9,18 * * 1-5", True),
        ("0 2-4 * * *", True),
        ("*/15 * * * *", False),
        ("0 * * * *", False),
        ("0 */2 * * *", False),
        ("30 2 * * * 0", True),
    ],
)
def test_fixed_time_is_minute_and_hour_not_starting_with_star(text, fixed):
    """Debian's test: a job is fixed-time when neither minute nor hour begins with '*'."""
    assert parse_cron(text).fixed_time is fixed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0 9-9 * * *", ["2026-01-01T09:00:00+00:00", "2026-01-02T09:00:00+00:00"]),
        ("5-5 * * * *", ["2026-01-01T00:05:00+00:00", "2026-01-01T01:05:00+00:00"]),
        ("0 0 1-1 * *", ["2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"]),
        ("0 0 * * mon-mon", ["2026-01-05T00:00:00+00:00", "2026-01-12T00:00:00+00:00"]),
        ("0 0 * jun-jun *", ["2026-06-01T00:00:00+00:00", "2026-06-02T00:00:00+00:00"]),
        ("0 0 1-1/3 * *", ["2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"]),
    ],
)
def test_equal_range_means_that_single_value(text, expected):
    """A range 'a-a' means just a, as in cronsim and Vixie cron."""
    assert utc(next_runs(cron(text), at("2026-01-01T00:00:00+00:00"), 2)) == expected


# --- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1d", 86400),
        ("90s", 90),
        (" 1H30M ", 5400),
    ],
)
def test_valid_durations(text, seconds):
    """Numbers with units s/m/h/d, largest first, sum up."""
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0s", "zero"),
        ("0h0m", "zero"),
        ("-5m", "negative"),
        ("90", "no unit"),
        ("1m1h", "out of order"),
        ("1h1h", "twice"),
        ("1.5h", "not a duration"),
        ("soon", "not a duration"),
        ("", "not a duration"),
        ("5 minutes", "not a duration"),
    ],
)
def test_invalid_durations_are_rejected_with_a_reason(text, reason):
    """Zero, negative, unit-less, misordered, repeated and garbage durations are errors."""
    with pytest.raises(DurationSyntaxError, match=reason):
        parse_duration(text)


def test_duration_error_is_a_value_error():
    """DurationSyntaxError is a ValueError, so generic validation code catches it."""
    assert issubclass(DurationSyntaxError, ValueError)


@pytest.mark.parametrize(
    ("seconds", "text"), [(5400, "1h30m"), (30, "30s"), (86400, "1d"), (90061, "1d1h1m1s")]
)
def test_format_duration_is_the_shortest_spelling(seconds, text):
    """format_duration writes largest units first, omitting zeros."""
    assert format_duration(timedelta(seconds=seconds)) == text


@given(seconds=st.integers(1, 3650 * 86400))
def test_format_then_parse_round_trips(seconds):
    """Any positive whole-second duration up to ten years survives format and parse."""
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta
