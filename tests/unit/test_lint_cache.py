"""The linter's caches: jobs that share an expression but not a zone (or bounds, or jitter)
each get the runs and warnings of their own schedule.

The pile-up rule lists a cron expression's wall-clock matches once and gives each zone its
slice; the DST rules share matches between zones that change at the same local time.
Transitions used (2026, local wall-clock time):

  Europe/Paris, Europe/Berlin  2026-03-29 02:00 -> 03:00 (02:00-02:59 skipped)
                               2026-10-25 03:00 -> 02:00 (02:00-02:59 twice)
  America/New_York             2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00
  Australia/Lord_Howe          2026-04-05 02:00 -> 01:30, 2026-10-04 02:00 -> 02:30
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from scheduler.config.loader import parse_job_documents
from scheduler.core.catalog import build_catalog
from scheduler.core.job import LoadedJob
from scheduler.core.lint import PILE_UP_MAX_RUNS, PILE_UP_WINDOW, lint_catalog, lint_job
from scheduler.core.lint.pileup import RunCache, run_minutes
from scheduler.core.schedule import Jitter

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"]
SCHEDULES = [
    "cron: '30 2 * * *'",
    "cron: '*/15 * * * *'",
    "cron: '0 9 1-7 * 1'",
    "cron: '5 1-3 * * *'",
    "cron: '*/20 * * * * 30'",
    "daily: ['01:30', '02:15']",
    "weekly: {days: [sat, sun], at: '02:30'}",
    "interval: 7m\nanchor: '2026-01-01T00:00:30'",
    "cron: '0 */2 * * *'\nstart: '2026-03-29T05:00'\nend: '2026-03-29T20:00'",
    "daily: '02:30'\njitter: 10m",
]
NOWS = [
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 3, 28, 12, 0, 0, 250_000, tzinfo=UTC),  # Paris springs forward inside
    datetime(2026, 3, 7, 18, tzinfo=UTC),  # New York springs forward inside
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # Paris falls back inside
    datetime(2026, 10, 3, 10, tzinfo=UTC),  # Lord Howe springs forward by 30 minutes
]


def document(name: str, schedule: str, zone: str) -> str:
    body = "\n".join(f"  {line}" for line in f"{schedule}\ntimezone: {zone}".splitlines())
    return f"name: {name}\ntask: pkg.mod:func\nschedule:\n{body}\n"


def jobs_of(pairs: list[tuple[str, str]]) -> list[LoadedJob]:
    docs = [document(f"j{i}", schedule, zone) for i, (schedule, zone) in enumerate(pairs)]
    result = parse_job_documents("---\n".join(docs), "jobs.d/x.yaml")
    assert not result.errors, result.errors
    return result.jobs


def stepped_minutes(job: LoadedJob, now: datetime) -> frozenset[int]:
    """The pile-up minutes the slow way: every run through ``next_after``."""
    schedule, delay = job.schedule, 0
    if isinstance(schedule, Jitter):
        schedule, delay = schedule.inner, int(schedule.delay.total_seconds())
    seconds: list[int] = []
    t, stop = now, now + PILE_UP_WINDOW
    while len(seconds) < PILE_UP_MAX_RUNS:
        nxt = schedule.next_after(t)
        if nxt is None or nxt > stop:
            break
        seconds.append(math.floor(nxt.timestamp()))
        t = nxt
    return frozenset((s + delay) // 60 for s in seconds)


@pytest.mark.parametrize("now", NOWS, ids=lambda d: f"{d:%Y-%m-%dT%H:%M}")
def test_shared_cache_gives_each_job_the_runs_of_its_own_schedule(now):
    """One cache for every job of one now, as the linter keeps it: same minutes as stepping."""
    jobs = jobs_of([(schedule, zone) for zone in ZONES for schedule in SCHEDULES])
    runs = RunCache(now)
    for job in jobs:
        assert run_minutes(job, runs) == stepped_minutes(job, now), job.spec.schedule


def test_same_cron_in_two_zones_is_two_pile_ups():
    """Three jobs at 09:00 in each of UTC and Tokyo: two crowds, 15 hours apart, not one."""
    pairs = [("cron: '0 9 * * *'", "UTC")] * 3 + [("cron: '0 9 * * *'", "Asia/Tokyo")] * 3
    catalog = build_catalog([parse_job_documents(_join(pairs), "jobs.d/x.yaml")])
    found = lint_catalog(catalog, datetime(2026, 1, 1, tzinfo=UTC), pile_up_threshold=2)
    assert len(found) == 6
    assert sum("2026-01-01 09:00 (+00:00): this one and j1 and j2." in w.message for w in found)
    assert sum("2026-01-02 09:00 (+09:00): this one and j4 and j5." in w.message for w in found)
    assert all("3 enabled jobs" in w.message for w in found)


def test_same_cron_in_zones_changing_together_names_each_zone():
    """Paris and Berlin skip the same local hour on the same night: each warning names its own
    zone."""
    pairs = [("cron: '30 2 * * *'", "Europe/Paris"), ("cron: '30 2 * * *'", "Europe/Berlin")]
    catalog = build_catalog([parse_job_documents(_join(pairs), "jobs.d/x.yaml")])
    found = [w for w in lint_catalog(catalog, datetime(2026, 1, 1, tzinfo=UTC)) if w.line]
    skipped = sorted(w.message for w in found if w.code == "dst-skipped")
    assert len(skipped) == 2
    assert skipped[0].startswith("02:30 does not exist in Europe/Berlin on 2026-03-29")
    assert skipped[1].startswith("02:30 does not exist in Europe/Paris on 2026-03-29")


def _join(pairs: list[tuple[str, str]]) -> str:
    return "---\n".join(document(f"j{i}", s, z) for i, (s, z) in enumerate(pairs))


@pytest.mark.parametrize(
    ("expr", "skipped"),
    [
        ("30 2 29 3 *", True),
        ("30 1-3 29 3 *", True),
        ("30 0/2 29 3 *", True),
        ("30 9,2 29 3 *", True),
        ("30 1-3/2 29 3 *", False),
        ("30 3-23 29 3 *", False),
    ],
)
def test_dst_skipped_by_hours_of_an_engine_expression(expr, skipped):
    """Day-of-month restricted (the cron engine's path): an hour field that cannot reach the
    02:00-02:59 gap of Paris on 2026-03-29 gives no warning; one that can, does."""
    job = jobs_of([(f"cron: '{expr}'", "Europe/Paris")])[0]
    found = [w.code for w in lint_job(job, datetime(2026, 1, 1, tzinfo=UTC))]
    assert ("dst-skipped" in found) is skipped, found
