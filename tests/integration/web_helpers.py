"""Shared set-up of the web tests: a jobs dir, records in a real SQLite file, a client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from scheduler.core.clock import SystemClock
from scheduler.core.runs import EventKind, RunEvent, RunTrigger, iso_utc, run_id
from scheduler.engine.overview import Overview
from scheduler.store import Store
from scheduler.web.app import create_app

TOKEN = "s3cret-token"

JOB = """\
name: {name}
description: "{description}"
task: examples.bots:birthday
params:
  dry_run: true
schedule:
  cron: "*/15 * * * *"
  timezone: Europe/Paris
"""


def write_job(jobs: Path, name: str, description: str = "A job") -> None:
    jobs.mkdir(parents=True, exist_ok=True)
    (jobs / f"{name}.yaml").write_text(JOB.format(name=name, description=description))


def record_runs(data: Path, job: str, count: int, *, error: str | None = None) -> list[str]:
    """``count`` finished runs of ``job``, one every 15 minutes back from now; their ids."""
    now = datetime.now(UTC).replace(microsecond=0)
    ids = []
    with Store(data / "scheduler.db") as store:
        for i in range(count):
            at = now - timedelta(minutes=15 * (i + 1))
            rid = run_id(job, at, RunTrigger.schedule)
            store.record_enqueued(
                run_id=rid,
                job=job,
                scheduled_for=at,
                trigger=RunTrigger.schedule,
                enqueued_at=at + timedelta(milliseconds=20),
            )
            failed = error is not None and i == 0
            store.apply_event(
                RunEvent(
                    kind=EventKind.failed if failed else EventKind.succeeded,
                    run_id=rid,
                    job=job,
                    scheduled_for=iso_utc(at),
                    trigger=RunTrigger.schedule,
                    at=iso_utc(at + timedelta(seconds=2)),
                    duration_s=1.5 + i,
                    error=error if failed else None,
                )
            )
            ids.append(rid)
    return ids


def client(
    jobs: Path, data: Path, *, token: str | None = None, redis_url: str | None = None
) -> TestClient:
    overview = Overview(jobs, data, redis_url, SystemClock(), snapshot_s=0.0)
    return TestClient(create_app(overview, token))
