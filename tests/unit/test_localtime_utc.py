"""UTC's shortcuts in ``core.localtime`` answer as the general conversions do."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.core import localtime
from scheduler.core.cronexpr import parse_cron
from scheduler.core.localtime import exists, first_instant, offset, wall
from scheduler.core.schedule import CronSchedule, next_runs

#: Not the cached ZoneInfo("UTC") the shortcuts know by identity: the general path.
PLAIN_UTC = ZoneInfo.no_cache("UTC")


def instants(count: int) -> list[datetime]:
    rng = random.Random(13)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    out = [
        start
        + timedelta(seconds=rng.randrange(10 * 365 * 86400), microseconds=rng.randrange(10**6))
        for _ in range(count)
    ]
    return [
        *out,
        datetime(2026, 3, 29, 2, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=UTC),
    ]


@pytest.mark.parametrize("zone", [ZoneInfo("UTC"), UTC])
def test_utc_shortcuts_agree_with_the_general_conversions(zone: ZoneInfo) -> None:
    """Wall time, first instant and offset, value and type, for UTC given either way."""
    assert ZoneInfo("UTC") is localtime._UTC_ZONE  # what a job's schedule holds
    for t in instants(500):
        local = wall(t, zone)
        assert local == wall(t, PLAIN_UTC)
        assert local.tzinfo is None
        assert local.fold == 0
        first = first_instant(local, zone)
        assert first == first_instant(local, PLAIN_UTC) == t
        assert first.tzinfo is UTC
        assert exists(local, zone)
        assert offset(t, zone) == offset(t, PLAIN_UTC) == timedelta(0)


@pytest.mark.parametrize("expr", ["30 2 * * *", "*/7 * * * *", "0 9 * * 1-5 15", "* * * * * */5"])
def test_utc_schedules_run_as_with_the_general_conversions(expr: str) -> None:
    after = datetime(2026, 3, 28, 23, 0, 0, 500, tzinfo=UTC)
    fast = CronSchedule(parse_cron(expr), ZoneInfo("UTC"))
    plain = CronSchedule(parse_cron(expr), PLAIN_UTC)
    assert next_runs(fast, after, 50) == next_runs(plain, after, 50)
