"""Our cron schedules against cronsim, the Debian-cron DST reference (DESIGN.md, STYLE.md 4).

For an expression and a start instant, ``next_runs`` must give the instants cronsim gives
for ``CronSim(expr, start.astimezone(zone))``, compared in UTC. Six-field expressions are
compared only where cronsim's DST rule and ours coincide (non-fixed-time, or UTC):
cronsim applies the Debian fixed-time rule to 5-field expressions only, we apply it to
both. cronsim writes the optional seconds field first, we write it last.

cronsim is read as-is, except where it is pinned below as wrong per DESIGN.md:

* a fixed-time job started in the second pass of a repeated hour: cronsim restarts from
  the naive wall-clock reading and returns first-pass instants *before* the start, which
  ``next_runs`` (strictly after) cannot; those are dropped;
* non-fixed jobs in zones whose offset does not change on a whole local hour
  (Australia/Lord_Howe shifts by 30 minutes; America/Santiago jumps from 00:00 to 01:00):
  cronsim's hour arithmetic lands on the wrong instants there, so it is read one stretch
  of constant UTC offset at a time, in a fixed-offset zone ("real elapsed time": every
  instant whose local reading matches, which is the design's definition).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim, CronSimError
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scheduler.core.cronexpr import CronSyntaxError, parse_cron
from scheduler.core.schedule import CronSchedule, next_runs

ZONES = (
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "UTC",
    "America/Santiago",
    "Europe/London",
)
# Zones where plain cronsim mishandles non-fixed jobs at transitions (see the pinned tests).
OFF_THE_HOUR = {"Australia/Lord_Howe", "America/Santiago"}
COUNT = 10
LOW = datetime(2025, 1, 1, tzinfo=UTC)
HIGH = datetime(2029, 1, 1, tzinfo=UTC)
_PROBE = timedelta(hours=12)  # no zone changes its offset twice within 12 hours


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    off = instant.astimezone(tz).utcoffset()
    assert off is not None
    return off


def _first_change(lo: datetime, hi: datetime, tz: ZoneInfo, off: timedelta) -> datetime | None:
    """The first instant in (lo, hi] whose offset is not ``off``: 12-hour probes, then minutes.

    Written independently of ``scheduler.core.localtime`` so the oracle does not share its code.
    """
    probe = lo
    while probe < hi:
        nxt = min(probe + _PROBE, hi)
        if _offset(nxt, tz) != off:
            minute = probe.replace(second=0, microsecond=0)
            while minute <= probe or _offset(minute, tz) == off:
                minute += timedelta(minutes=1)
            return minute
        probe = nxt
    return None


def _transitions(zone: str) -> list[datetime]:
    tz, found, t = ZoneInfo(zone), [], LOW
    while (change := _first_change(t, HIGH, tz, _offset(t, tz))) is not None:
        found.append(change)
        t = change
    return found


TRANSITIONS = {zone: _transitions(zone) for zone in ZONES}


def ours(expr: str, zone: str, start: datetime, count: int = COUNT) -> list[datetime]:
    """Our next runs, in UTC."""
    return next_runs(CronSchedule(parse_cron(expr), ZoneInfo(zone)), start, count)


def plain_cronsim(cs_expr: str, zone: str, start: datetime, count: int = COUNT) -> list[datetime]:
    """cronsim from ``start`` read in ``zone``, in UTC, without instants at or before start."""
    found = []
    for dt in CronSim(cs_expr, start.astimezone(ZoneInfo(zone))):
        if dt.astimezone(UTC) > start:
            found.append(dt.astimezone(UTC))
        if len(found) == count:
            break
    return found


def stretched_cronsim(cs_expr: str, zone: str, start: datetime, count: int = COUNT):
    """cronsim read in a fixed-offset zone over each stretch of constant offset, in UTC."""
    tz = ZoneInfo(zone)
    found: list[datetime] = []
    query = lo = start
    off = _offset(start, tz)
    while len(found) < count:
        nxt = next(iter(CronSim(cs_expr, query.astimezone(timezone(off)))), None)
        if nxt is None:
            break
        nxt = nxt.astimezone(UTC)
        change = _first_change(lo, nxt, tz, off)
        if change is None:
            found.append(nxt)
            query = lo = nxt
        else:
            # Resume at the change, in the new offset; cronsim's next tick is the change itself.
            off, lo, query = _offset(change, tz), change, change - timedelta(seconds=1)
    return found


def reference(expr: str, zone: str, start: datetime, count: int = COUNT) -> list[datetime]:
    """What cronsim says ``expr`` (our spelling) runs at, in UTC; see the module docstring."""
    fields = expr.split()
    cs_expr = seconds_first(expr) if len(fields) == 6 else expr
    fixed = not fields[0].startswith("*") and not fields[1].startswith("*")
    if zone in OFF_THE_HOUR and not (fixed and len(fields) == 5):
        return stretched_cronsim(cs_expr, zone, start, count)
    return plain_cronsim(cs_expr, zone, start, count)


def seconds_first(expr: str) -> str:
    """Our seconds-last 6-field spelling rewritten as cronsim's seconds-first one."""
    fields = expr.split()
    return " ".join([fields[5], *fields[:5]])


def iso(instants: list[datetime], zone: str) -> list[str]:
    tz = ZoneInfo(zone)
    return [t.astimezone(tz).isoformat() for t in instants]


# --- building blocks -------------------------------------------------------------------

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def _term(lo: int, hi: int, names: list[str] | None, bias: tuple[int, int] | None, open_step: bool):
    """One non-star item: a number or name, a range 'a-b', 'a-b/n', or (open_step) 'a/n'."""
    number = (
        st.integers(lo, hi) if bias is None else st.one_of(st.integers(*bias), st.integers(lo, hi))
    )
    single = number.map(str) if not names else st.one_of(number.map(str), st.sampled_from(names))

    @st.composite
    def ranged(draw, min_width: int = 0):
        # Includes 'a-a', which croniter alone reads as the whole field.
        a = draw(st.integers(lo, hi - min_width))
        return f"{a}-{draw(st.integers(a + min_width, hi))}"

    steps = st.integers(1, hi - lo + 1)
    # Stepped ranges are at least two wide: cronsim reads 'a-a/n' as 'a/n' (to the end of
    # the field), cron as the single value a (pinned below).
    stepped = st.builds(lambda r, n: f"{r}/{n}", ranged(1), steps)
    parts = [single, ranged(), stepped]
    if open_step:
        parts.append(st.builds(lambda a, n: f"{a}/{n}", st.integers(lo, hi), steps))
    return st.one_of(*parts)


def field(lo, hi, names=None, bias=None, *, open_step: bool = True):
    """A whole field: '*', '*/n', one term, or a list of two or three terms."""
    term = _term(lo, hi, names, bias, open_step)
    return st.one_of(
        st.just("*"),
        st.integers(1, hi - lo + 1).map(lambda n: f"*/{n}"),
        term,
        st.lists(term, min_size=2, max_size=3).map(",".join),
    )


MINUTE = field(0, 59, bias=(0, 1))
HOUR = field(0, 23, bias=(0, 3))  # most DST changes happen between 00:00 and 03:00
DOM = field(1, 31)
MONTH = field(1, 12, MONTHS)
# Includes 'a/n', which croniter alone ends at 6; cron (and cronsim) run it up to 7.
DOW = field(0, 7, DAYS)
SECOND = field(0, 59, bias=(0, 1))


@st.composite
def starts(draw, zone: str) -> datetime:
    """Start instants in 2025-2028, half of them within 3 hours of one of the zone's changes."""
    transitions = TRANSITIONS[zone]
    if transitions and draw(st.booleans()):
        change = draw(st.sampled_from(transitions))
        shift = draw(st.integers(-3 * 3600, 3 * 3600))
        micro = draw(st.sampled_from([0, 0, 1, 999_999]))
        return change + timedelta(seconds=shift, microseconds=micro)
    naive = draw(st.datetimes(LOW.replace(tzinfo=None), HIGH.replace(tzinfo=None)))
    return naive.replace(tzinfo=UTC)


def assert_agrees(expr: str, zone: str, start: datetime) -> None:
    """``expr`` runs at the reference's instants, or cronsim rejects it / it hardly fires."""
    try:
        expected = reference(expr, zone, start)
    except CronSimError:
        assume(False)
    assume(len(expected) == COUNT)
    try:
        got = ours(expr, zone, start)
    except CronSyntaxError as exc:
        pytest.fail(f"{expr!r} rejected ({exc}) but cronsim runs it: {iso(expected, zone)}")
    assert iso(got, zone) == iso(expected, zone), f"{expr!r} in {zone} after {start.isoformat()}"


def is_fixed_time(expr: str) -> bool:
    fields = expr.split()
    return not fields[0].startswith("*") and not fields[1].startswith("*")


# --- properties ------------------------------------------------------------------------

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
FIVE = st.tuples(MINUTE, HOUR, DOM, MONTH, DOW).map(" ".join)


@SETTINGS
@given(data=st.data(), zone=st.sampled_from(ZONES), expr=FIVE)
def test_five_field_runs_equal_cronsim(data, zone, expr):
    """Any 5-field expression runs at cronsim's instants, in every zone, near DST or not."""
    assert_agrees(expr, zone, data.draw(starts(zone), label="start"))


@SETTINGS
@given(data=st.data(), zone=st.sampled_from(ZONES), expr=FIVE, second=SECOND)
def test_six_field_runs_equal_cronsim_reordered(data, zone, expr, second):
    """Seconds-last 6-field expressions equal cronsim's seconds-first ones, where rules coincide."""
    six = f"{expr} {second}"
    assume(zone == "UTC" or not is_fixed_time(six))
    assert_agrees(six, zone, data.draw(starts(zone), label="start"))


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    zone=st.sampled_from(sorted(set(ZONES) - OFF_THE_HOUR)),
    fields=st.tuples(MINUTE, HOUR, DOM, MONTH, DOW).filter(
        lambda f: not is_fixed_time(" ".join(f))
    ),
)
def test_stretched_reading_equals_plain_cronsim_where_cronsim_is_right(data, zone, fields):
    """The per-stretch oracle agrees with plain cronsim wherever offsets change on the hour."""
    expr = " ".join(fields)
    start = data.draw(starts(zone), label="start")
    try:
        plain = plain_cronsim(expr, zone, start)
    except CronSimError:
        assume(False)
    assert stretched_cronsim(expr, zone, start) == plain


# --- a deterministic table -------------------------------------------------------------

TABLE = [
    # fixed-time, on and off DST nights
    ("30 2 * * *", "Europe/Paris", "2026-03-28T12:00:00+00:00"),
    ("30 2 * * *", "Europe/Paris", "2026-10-24T12:00:00+00:00"),
    ("0,15,30,45 2 * * *", "Europe/Paris", "2026-03-29T00:00:00+00:00"),
    ("0,15,30,45 2 * * *", "Europe/Paris", "2026-10-24T23:50:00+00:00"),
    ("0,30 2,3 * * *", "Europe/Paris", "2026-03-28T23:00:00+00:00"),
    ("30 1 * * *", "America/New_York", "2026-11-01T04:00:00+00:00"),
    ("30 2 * * *", "America/New_York", "2026-03-08T05:00:00+00:00"),
    ("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+00:00"),
    ("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00+00:00"),
    ("0 0 * * *", "America/Santiago", "2026-09-05T00:00:00+00:00"),
    ("30 23 * * *", "America/Santiago", "2026-04-04T00:00:00+00:00"),
    ("30 1 * * *", "Europe/London", "2026-03-28T12:00:00+00:00"),
    ("30 1 * * *", "Europe/London", "2026-10-24T12:00:00+00:00"),
    ("0 9,18 * * 1-5", "Europe/Paris", "2026-03-27T12:00:00+00:00"),
    # non-fixed: real elapsed time
    ("*/15 * * * *", "Europe/Paris", "2026-03-29T00:40:00+00:00"),
    ("*/15 * * * *", "Europe/Paris", "2026-10-25T00:40:00+00:00"),
    ("0 * * * *", "America/New_York", "2026-11-01T03:30:00+00:00"),
    ("0 */2 * * *", "Europe/Paris", "2026-03-28T20:00:00+00:00"),
    ("0 */2 * * *", "Europe/Paris", "2026-10-24T20:00:00+00:00"),
    ("*/10 * * * *", "Australia/Lord_Howe", "2026-04-04T14:00:00+00:00"),
    ("*/10 * * * *", "Australia/Lord_Howe", "2026-10-03T15:00:00+00:00"),
    ("*/20 * * * *", "America/Santiago", "2026-04-05T02:10:00+00:00"),
    ("0 * * * *", "America/Santiago", "2026-09-06T03:10:00+00:00"),
    ("17 */3 * * *", "Asia/Kathmandu", "2027-12-31T12:00:00+00:00"),
    # day-of-month and day-of-week: OR when both restricted, AND when either starts with '*'
    ("0 0 13 * 5", "UTC", "2026-01-01T00:00:00+00:00"),
    ("0 0 1,15 * mon-fri", "Europe/Paris", "2026-01-01T00:00:00+00:00"),
    ("0 0 */2 * mon", "UTC", "2026-01-01T00:00:00+00:00"),
    ("0 0 1-7 * */3", "America/New_York", "2026-01-01T00:00:00+00:00"),
    ("0 12 29 feb *", "UTC", "2025-06-01T00:00:00+00:00"),
    ("0 12 29 feb mon", "Europe/London", "2025-06-01T00:00:00+00:00"),
    ("0 0 31 * sun", "UTC", "2026-01-01T00:00:00+00:00"),
    ("5/20 1-3/2 * jan-mar,oct-dec sat,sun", "Europe/Paris", "2026-03-27T00:00:00+00:00"),
    ("0 0 1-31 * mon", "UTC", "2026-01-01T00:00:00+00:00"),
    ("0 0 1 * 0-7", "UTC", "2026-01-01T00:00:00+00:00"),
    # six fields, seconds last
    ("* * * * * */5", "Europe/Paris", "2026-03-29T00:59:50+00:00"),
    ("*/15 * * * * 30", "Europe/Paris", "2026-10-25T00:40:00+00:00"),
    ("0 * * * * 0,30", "America/New_York", "2026-11-01T05:30:00+00:00"),
    ("30 2 * * * 15", "UTC", "2026-03-28T12:00:00+00:00"),
]


@pytest.mark.parametrize(("expr", "zone", "start"), TABLE)
def test_table_runs_equal_cronsim(expr, zone, start):
    """A hand-picked table (DST nights, day-of-month/day-of-week mixes) matches cronsim."""
    t = datetime.fromisoformat(start)
    assert iso(ours(expr, zone, t), zone) == iso(reference(expr, zone, t), zone)


# --- where cronsim is not followed, pinned ---------------------------------------------


def test_cronsim_returns_instants_before_a_second_pass_start():
    """cronsim started in the second pass of 02:xx returns the earlier first pass; we do not."""
    start = datetime.fromisoformat("2026-10-25T02:15:00+01:00")
    raw = next(iter(CronSim("30 2 * * *", start.astimezone(ZoneInfo("Europe/Paris")))))
    assert raw.isoformat() == "2026-10-25T02:30:00+02:00"
    assert raw < start
    assert iso(ours("30 2 * * *", "Europe/Paris", start, 1), "Europe/Paris") == [
        "2026-10-26T02:30:00+01:00"
    ]


def test_cronsim_runs_a_non_fixed_job_in_a_skipped_midnight_hour():
    """Santiago skips 00:00-01:00 on 2026-09-06; cronsim still runs '*/15 0 * * sun' then."""
    santiago = ZoneInfo("America/Santiago")
    start = datetime.fromisoformat("2026-09-05T12:00:00-04:00")
    raw = next(iter(CronSim("*/15 0 * * sun", start.astimezone(santiago))))
    assert raw.isoformat() == "2026-09-06T00:00:00-04:00"  # a wall-clock time that never shows
    assert raw.astimezone(UTC).astimezone(santiago).isoformat() == "2026-09-06T01:00:00-03:00"
    assert iso(ours("*/15 0 * * sun", "America/Santiago", start, 2), "America/Santiago") == [
        "2026-09-13T00:00:00-03:00",
        "2026-09-13T00:15:00-03:00",
    ]


def test_cronsim_skips_half_an_hour_after_lord_howe_falls_back():
    """After 02:00+11:00 -> 01:30+10:30, cronsim's '* */2 * * *' starts at 02:30, not 02:00."""
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    start = datetime.fromisoformat("2026-04-05T01:30:00+10:30")
    raw = next(iter(CronSim("* */2 * * *", start.astimezone(lord_howe))))
    assert raw.isoformat() == "2026-04-05T02:30:00+10:30"
    assert iso(ours("* */2 * * *", "Australia/Lord_Howe", start, 2), "Australia/Lord_Howe") == [
        "2026-04-05T02:00:00+10:30",
        "2026-04-05T02:01:00+10:30",
    ]


@pytest.mark.parametrize(
    ("dow", "days"),
    [
        ("1/2", {"Mon", "Wed", "Fri", "Sun"}),
        ("4/1", {"Thu", "Fri", "Sat", "Sun"}),
        ("7/6", {"Sun"}),
    ],
)
def test_open_step_day_of_week_matches_cronsim(dow, days):
    """Day-of-week 'a/n' steps through 7 (Sunday), as cronsim reads it."""
    expr = f"0 0 * * {dow}"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert {d.strftime("%a") for d in plain_cronsim(expr, "UTC", start, 14)} == days
    assert {d.strftime("%a") for d in ours(expr, "UTC", start, 14)} == days


def test_one_value_stepped_range_is_that_value_unlike_cronsim():
    """'0-0/1' in the hour field is hour 0 only, as in cron; cronsim reads it as '0/1'."""
    runs = next_runs(
        CronSchedule(parse_cron("5 0-0/1 * * *"), UTC), datetime(2026, 1, 1, tzinfo=UTC), 2
    )
    assert [r.isoformat() for r in runs] == [
        "2026-01-01T00:05:00+00:00",
        "2026-01-02T00:05:00+00:00",
    ]
