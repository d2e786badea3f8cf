"""The daily fast path of cronexpr (plain time fields, any day) against croniter itself.

Expressions restricted on minute, hour and second only, written as plain numbers, get
their next match from the day's list of times rather than from croniter (see
``cronexpr._daily_times``). For any such expression and any naive start, the answer must
be croniter's.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.core import cronexpr
from scheduler.core.cronexpr import CronSyntaxError, parse_cron


def _field(values: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    lists = st.lists(values, min_size=1, max_size=3).map(lambda v: ",".join(map(str, v)))
    return st.one_of(st.just("*"), lists)


expressions = st.builds(
    lambda m, h, s: f"{m} {h} * * *" + (f" {s}" if s is not None else ""),
    _field(st.integers(0, 59)),
    _field(st.integers(0, 23)),
    st.one_of(st.none(), _field(st.integers(0, 59))),
)
starts = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31))


@settings(max_examples=400, deadline=None)
@given(expressions, starts)
def test_daily_next_is_croniters(text: str, start: datetime) -> None:
    expr = parse_cron(text)
    reference = croniter(text, start, ret_type=datetime)
    after = start
    for _ in range(3):
        expected = reference.get_next(datetime)
        assert expr.next_local(after) == expected, (text, after)
        after = expected


@pytest.mark.parametrize(
    "text", ["30 2 * * *", "0 9,18 * * *", "5 4 * * * 30", "0 0 * * * 0,15,30,45", "07 08 * * *"]
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
    "text", ["*/15 * * * *", "0 9 1 * *", "0 9 * * 1-5", "0 9 * 1 *", "* * * * *", "0 1-3 * * *"]
)
def test_other_expressions_stay_with_croniter(text: str) -> None:
    assert parse_cron(text).daily is None


@pytest.mark.parametrize("text", ["60 2 * * *", "0 24 * * *", "0 2 * * * 60", "0 123 * * *"])
def test_out_of_range_plain_values_are_still_errors(text: str) -> None:
    with pytest.raises(CronSyntaxError):
        parse_cron(text)
