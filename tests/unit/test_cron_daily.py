"""The daily fast path of cronexpr (simple time fields, any day or some weekdays) against
croniter itself.

Expressions restricted on minute, hour and second, written as numbers, ranges and steps,
and perhaps on day-of-week as numbers and ranges, get their next match from the day's list
of times rather than from croniter (see ``cronplain.daily_times``). For any such
expression and any naive start, the answer must be croniter's.
"""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core import cronexpr, cronplain
from scheduler.core.cronexpr import CronSyntaxError, parse_cron


def _field(top: int, *, steps: bool = True) -> st.SearchStrategy[str]:
    number = st.integers(0, top).map(str)
    # a < b: croniter reads an equal range a-a as the whole field (cronexpr rewrites it).
    span = st.tuples(st.integers(0, top - 1), st.integers(1, top)).filter(lambda p: p[0] < p[1])
    ranges = span.map(lambda p: f"{p[0]}-{p[1]}")
    items = [number, ranges]
    if steps:
        step = st.integers(1, top)
        items.append(st.tuples(span, step).map(lambda p: f"{p[0][0]}-{p[0][1]}/{p[1]}"))
        items.append(step.map(lambda n: f"*/{n}"))
    lists = st.lists(st.one_of(*items), min_size=1, max_size=3).map(",".join)
    return st.one_of(st.just("*"), lists)


expressions = st.builds(
    lambda m, h, d, s: f"{m} {h} * * {d}" + (f" {s}" if s is not None else ""),
    _field(59),
    _field(23),
    st.one_of(st.just("*"), _field(6, steps=False)),
    st.one_of(st.none(), _field(59)),
)
starts = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31))


@settings(max_examples=400, deadline=None)
@given(expressions, starts)
def test_daily_next_is_croniters(text: str, start: datetime) -> None:
    expr = parse_cron(text)
    if expr.daily is None:
        return  # more than a day's table holds: croniter's own answer, nothing to compare
    reference = croniter(text, start, ret_type=datetime)
    after = start
    for _ in range(3):
        expected = reference.get_next(datetime)
        assert expr.next_local(after) == expected, (text, after)
        after = expected


@pytest.mark.parametrize(
    "text",
    [
        "30 2 * * *",
        "0 9,18 * * *",
        "5 4 * * * 30",
        "0 0 * * * 0,15,30,45",
        "07 08 * * *",
        "*/15 * * * *",
        "0 9 * * 1-5",
        "* * * * *",
        "0 1-3 * * *",
        "0-30/10 */2 * * 0,7",
    ],
)
def test_plain_daily_expressions_need_no_croniter(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_croniter(*_: object) -> None:
        raise AssertionError("croniter built for a plain daily expression")

    monkeypatch.setattr(cronexpr, "_croniter", no_croniter)
    cronexpr._parse_cached.cache_clear()
    expr = parse_cron(text)
    assert expr.daily is not None
    assert expr.next_local(datetime(2026, 3, 29, 1, 59, 59)) is not None


@pytest.mark.parametrize(
    "text",
    ["0 9 1 * *", "0 9 * 1 *", "5/15 * * * *", "0 9 * * fri-mon", "0 9 * * */2", "* * * * * *"],
)
def test_other_expressions_stay_with_croniter(text: str) -> None:
    assert parse_cron(text).daily is None


@pytest.mark.parametrize("text", ["60 2 * * *", "0 24 * * *", "0 2 * * * 60", "0 123 * * *"])
def test_out_of_range_plain_values_are_still_errors(text: str) -> None:
    with pytest.raises(CronSyntaxError):
        parse_cron(text)


@pytest.mark.parametrize(
    "text", ["0 9 * * 7", "30 2 * * 5-7", "0 12 * * 0-7", "0 9 * * sun", "5 6-18 * * Mon-Fri,SUN"]
)
def test_sunday_is_seven_as_well_as_zero(text: str) -> None:
    expr = parse_cron(text)
    assert expr.weekdays is not None
    assert 6 in expr.weekdays
    after = datetime(2026, 3, 27, 23, 0)  # a Friday
    for _ in range(6):
        expected = cronexpr._next_match(expr.engine_fields, expr.day_or, after)
        assert expr.next_local(after) == expected
        after = expected


@pytest.mark.parametrize("text", ["0 9 * * mon", "5 6-18 * * mon-fri", "0 9 * * sat,sun"])
def test_day_names_read_as_croniter_reads_them(text: str) -> None:
    expr = parse_cron(text)
    assert expr.daily is not None
    reference = croniter(text, datetime(2026, 3, 27, 23, 0), ret_type=datetime)
    after = datetime(2026, 3, 27, 23, 0)
    for _ in range(20):
        expected = reference.get_next(datetime)
        assert expr.next_local(after) == expected
        after = expected


@pytest.mark.parametrize("minute", ["0", "7", "07", "59"])
@pytest.mark.parametrize("hour", ["0", "9", "09", "23"])
@pytest.mark.parametrize("second", [None, "0", "5", "59"])
def test_one_time_a_day_reads_as_the_general_path(
    minute: str, hour: str, second: str | None
) -> None:
    """``M H * * *`` (and ``M H * * * S``) takes a shortcut; it gives what the field by
    field reading gives."""
    text = f"{minute} {hour} * * *" + ("" if second is None else f" {second}")
    cronexpr._parse_cached.cache_clear()
    assert parse_cron(text) == cronexpr._compile(text, tuple(text.split()))


@pytest.mark.parametrize(
    "text",
    [
        "9 3 1 */3 *",
        "0 9 1 * *",
        "0 9 * 1 *",
        "0 0 29 2 *",
        "0 9 1,15 * 1-5",
        "*/5 * 31 1,3 *",
        "0 12 * 6-8 sat,sun",
        "0 0 1 1 * 30",
    ],
)
def test_plain_dated_expressions_validate_without_croniter(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain fields that plainly match some date are valid without building a croniter."""

    def no_croniter(*_: object) -> None:
        raise AssertionError("croniter built to validate a plain expression")

    monkeypatch.setattr(cronexpr, "_croniter", no_croniter)
    cronexpr._parse_cached.cache_clear()
    assert parse_cron(text).daily is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6 *", "never fires"),
        ("0 9 */2 * 1", None),  # both day fields restricted, one starting with '*': AND
        ("0 9 1 jan *", None),  # names: croniter reads them
    ],
)
def test_other_dated_expressions_are_still_checked_by_croniter(
    text: str, message: str | None
) -> None:
    cronexpr._parse_cached.cache_clear()
    built: list[str] = []
    real = cronexpr._croniter

    def spy(fields: tuple[str, ...], day_or: bool, start: datetime) -> object:
        built.append(" ".join(fields))
        return real(fields, day_or, start)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cronexpr, "_croniter", spy)
        if message is None:
            parse_cron(text)
        else:
            with pytest.raises(CronSyntaxError, match=message):
                parse_cron(text)
    assert built


def _plain_field(rng: random.Random, low: int, size: int) -> str:
    def item() -> str:
        first = rng.randrange(low, low + size)
        last = rng.randrange(first, low + size)
        step = rng.randrange(1, size)
        return rng.choice(
            ["*", f"*/{step}", str(first), f"{first}-{last}", f"{first}-{last}/{step}"]
        )

    return ",".join(item() for _ in range(rng.choice([1, 1, 2, 3])))


def test_what_validates_without_croniter_croniter_accepts_and_steps() -> None:
    """Every plain expression vouched for without croniter builds one that finds a run."""
    rng = random.Random(13)
    vouched = 0
    for _ in range(3000):
        fields = [
            _plain_field(rng, 0, 60),
            _plain_field(rng, 0, 24),
            _plain_field(rng, 1, 31),
            _plain_field(rng, 1, 12),
            rng.choice(["*", "1-5", "0,6", "sat", "mon-fri", "7", "3"]),
        ]
        if cronplain.daily_times(tuple(fields)) or not cronplain.plainly_fires(tuple(fields)):
            continue
        vouched += 1
        expr = cronexpr._compile(" ".join(fields), tuple(fields))
        assert expr.engine is not None
        built = cronexpr._croniter(expr.engine, expr.day_or, datetime(2026, 1, 1))
        assert built.get_next(datetime) is not None, fields
    assert vouched > 1000
