"""A compact job's schedule in words and its zone (what ``next`` prints), read from its JSON:
the same text as its spec gives, without validating the spec again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.config.loader import parse_job_documents
from scheduler.core import job as jobmodule
from scheduler.core.describe import describe_job_schedule, describe_schedule
from scheduler.core.job import LoadedJob
from scheduler.engine.api import upcoming

SCHEDULES = (
    'cron: "*/15 9-17 * * 1-5"\n  jitter: 1m',
    "interval: 1h30m\n  timezone: Asia/Kolkata",
    'daily: ["18:30", "07:05:30"]\n  timezone: Europe/Paris',
    'weekly: {days: [sun, Friday, mon, fri], at: "09:00"}\n  timezone: America/St_Johns',
    'at: "2030-12-24T18:00:00+02:00"',
    'at: "2030-06-01T08:00:00"\n  timezone: Europe/Paris\n  jitter: 30s',
    "at: 2030-03-31 02:30:00\n  timezone: Europe/Paris\n  end: 2031-01-01",
    'cron: "30 2 * * *"\n  timezone: Europe/Paris\n  start: 2030-03-31\n  end: "2030-10-27 02:30"',
    "interval: 90m\n  anchor: 2030-01-01T00:15:00\n  start: 2030-02-01\n  jitter: 1m",
)
#: A one-shot at a UTC offset is described through its spec, as the model writes it.
WITH_OFFSET = SCHEDULES[4]


def _job(schedule: str) -> LoadedJob:
    text = f"name: words\ntask: examples.bots:birthday\nschedule:\n  {schedule}\n"
    result = parse_job_documents(text, "jobs.d/words.yaml")
    assert result.ok, result.errors
    return result.jobs[0]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_a_compact_job_is_described_as_its_spec(schedule: str) -> None:
    """Every kind, zone and jitter reads the same from the compact job as from the spec."""
    full = _job(schedule)
    compact = full.compact()
    expected = describe_schedule(full.spec.schedule)
    assert describe_job_schedule(full) == expected
    assert describe_job_schedule(compact) == expected
    assert compact.timezone_name == full.spec.schedule.timezone


@pytest.mark.parametrize("schedule", [s for s in SCHEDULES if s != WITH_OFFSET])
def test_next_of_a_compact_job_rebuilds_no_spec(schedule: str) -> None:
    """``next``'s text and JSON of a compact job (every kind, a window, a phase) come from
    its slots and JSON: its spec is not validated again (no pydantic for them)."""
    from scheduler.cli.report import upcoming_text

    full = _job(schedule)
    compact = _job(schedule).compact()
    after = datetime(2030, 3, 1, tzinfo=UTC)
    jobmodule._spec_from_json.cache_clear()
    text, data = upcoming_text(upcoming(compact, after, 3)), upcoming(compact, after, 3).as_json()
    assert jobmodule._spec_from_json.cache_info().misses == 0
    assert text == upcoming_text(upcoming(full, after, 3))
    assert data == upcoming(full, after, 3).as_json()
