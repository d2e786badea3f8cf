"""Faults of time: the clock jumps forward an hour; the two DST nights of Europe/Paris.

The watcher runs in this process with an injected clock (real time plus an offset the test
moves), against a real Redis, a real SQLite file and a real RQ worker process. Instead of
waiting for a night to pass, the test moves the clock to just before each instant it
expects and lets it run from there; anything the watcher schedules in between would become
due at the next move and show up as an extra row.

Europe/Paris, 2026 (UTC instants; local in brackets):
  spring 2026-03-29 01:00Z: 02:00 CET -> 03:00 CEST, local 02:00-02:59 does not exist
  fall   2026-10-25 01:00Z: 03:00 CEST -> 02:00 CET, local 02:00-02:59 happens twice

Invariant: every instant a job's schedule gives (per the Debian-cron rule, or the job's
``dst`` override) is recorded once and executed once, and no other instant is; after the
hour's jump, each instant jumped over is recorded once: executed once or missed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.core.runs import RunStatus
from tests.faults.harness import assert_each_instant_once, job_file, merged_rows, settle
from tests.faults.inprocess import InProcess, Start, succeeded_at
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import write


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def walk(run: InProcess, expected: dict[str, list[datetime]]) -> None:
    """Move the clock to just before each expected instant and wait for its runs to succeed."""
    for instant in sorted({t for ts in expected.values() for t in ts}):
        run.move_to(instant - timedelta(seconds=0.6))
        for job, instants in expected.items():
            if instant in instants:
                wait_for(
                    lambda j=job, t=instant: succeeded_at(run, j, t),
                    timeout=15,
                    message=lambda j=job, t=instant: f"{j} at {t.isoformat()} succeeded",
                )


# Jobs of the DST nights: fixed-time (cron and daily), one following real time, and one
# with the override (skip the gap, run both passes of the repeated hour).
DST_JOBS = {
    "fixed": 'cron: "30 2 * * *"\n  timezone: Europe/Paris',
    "daily": 'daily: "02:30"\n  timezone: Europe/Paris',
    "halfhourly": 'cron: "*/30 * * * *"\n  timezone: Europe/Paris',
}
OVERRIDE = "dst:\n  gap: skip\n  repeat: both\n"

SPRING = {
    "fixed": [utc("2026-03-29T03:00+02:00")],  # 02:30 does not exist: right after the gap
    "daily": [utc("2026-03-29T03:00+02:00")],
    "override": [],  # gap: skip
    "halfhourly": [
        utc("2026-03-29T01:00+01:00"),
        utc("2026-03-29T01:30+01:00"),
        utc("2026-03-29T03:00+02:00"),
        utc("2026-03-29T03:30+02:00"),
    ],
}
FALL = {
    "fixed": [utc("2026-10-25T02:30+02:00")],  # first pass only
    "daily": [utc("2026-10-25T02:30+02:00")],
    "override": [utc("2026-10-25T02:30+02:00"), utc("2026-10-25T02:30+01:00")],  # both
    "halfhourly": [
        utc("2026-10-25T02:00+02:00"),
        utc("2026-10-25T02:30+02:00"),
        utc("2026-10-25T02:00+01:00"),
        utc("2026-10-25T02:30+01:00"),
        utc("2026-10-25T03:00+01:00"),
    ],
}


@pytest.mark.parametrize(
    ("night", "start", "end", "expected"),
    [
        ("spring", "2026-03-29T00:50+01:00", "2026-03-29T03:45+02:00", SPRING),
        ("fall", "2026-10-25T01:50+02:00", "2026-10-25T03:15+01:00", FALL),
    ],
)
def test_dst_nights_run_each_instant_once(
    in_process: Start,
    tmp_path: Path,
    night: str,
    start: str,
    end: str,
    expected: dict[str, list[datetime]],
) -> None:
    """Across a DST night each job runs exactly the instants its rule gives, once each."""
    jobs = tmp_path / "jobs"
    outs = {name: tmp_path / f"{name}.txt" for name in expected}
    for name, schedule in DST_JOBS.items():
        write(jobs / f"{name}.yaml", job_file(name, outs[name], schedule))
    write(
        jobs / "override.yaml",
        job_file("override", outs["override"], DST_JOBS["fixed"], extra=OVERRIDE),
    )
    run = in_process(utc(start))
    walk(run, expected)
    run.move_to(utc(end))
    wait_for(
        lambda: (
            run.watcher.due.peek() is not None
            and all((run.watcher.due.get(name) or utc(end)) > utc(end) for name in expected)
        ),
        timeout=5,
        message="every job's next instant after the night",
    )
    for name, instants in expected.items():
        if not instants:
            assert not merged_rows([run.data], name), f"{name} ran on the {night} night"
            continue
        rows = settle([run.data], name)
        verdict = assert_each_instant_once(rows, outs[name], expected=instants)
        assert sorted(r.scheduled_for for r in rows.values()) == instants, name
        assert verdict.executed == len(instants)


def test_clock_jumps_forward_an_hour(in_process: Start, tmp_path: Path) -> None:
    """The clock jumps 1 h: the hour's instants are each recorded once (run or missed), then
    the schedule goes on from the new time."""
    out = tmp_path / "out.txt"
    write(tmp_path / "jobs" / "minute.yaml", job_file("minute", out, "interval: 1m"))
    run = in_process(utc("2026-06-01T10:00:58+00:00"))
    first = utc("2026-06-01T10:01:00+00:00")
    wait_for(lambda: succeeded_at(run, "minute", first), timeout=15, message="the 10:01 run")

    run.clock.jump(timedelta(hours=1))
    run.watcher._wake.set()
    after = utc("2026-06-01T11:02:00+00:00")
    walk(run, {"minute": [after]})
    rows = settle([run.data], "minute")
    verdict = assert_each_instant_once(rows, out, every=timedelta(minutes=1), through=after)
    assert verdict.instants == 62
    # The hour was accounted for, not replayed: at most the catch-up and the runs within
    # the grace went out late.
    jumped = [r for r in rows.values() if first < r.scheduled_for < after]
    assert len(jumped) == 60
    assert sum(r.status is RunStatus.succeeded for r in jumped) <= 3
