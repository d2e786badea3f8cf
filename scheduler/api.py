"""The library behind the CLI: each command is one call here that tests can make directly."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.catalog import Catalog, load_paths
from scheduler.errors import InvalidJobError, UnknownJobError
from scheduler.job import LoadedJob, local_iso
from scheduler.schedule import next_runs

MAX_COUNT = 10_000


def validate(paths: Sequence[Path], now: datetime) -> Catalog:
    """Load and check every job file under ``paths``; the catalog holds all problems."""
    return load_paths(paths, now)


def find_job(catalog: Catalog, name: str) -> LoadedJob:
    """The valid job called ``name``.

    Raises InvalidJobError when the file defining it is rejected, else UnknownJobError.
    """
    job = catalog.jobs.get(name)
    if job is not None:
        return job
    rejected = catalog.invalid_file_for(name)
    if rejected is not None:
        raise InvalidJobError(name, rejected.errors)
    known = [j.name for f in catalog.files for j in f.jobs]
    raise UnknownJobError(name, difflib.get_close_matches(name, known, n=2, cutoff=0.6))


@dataclass(frozen=True)
class Upcoming:
    job: LoadedJob
    runs: list[datetime]

    def as_json(self) -> dict[str, Any]:
        tz = self.job.timezone
        return {
            "job": self.job.name,
            "timezone": self.job.spec.schedule.timezone,
            "runs": [local_iso(r, tz) for r in self.runs],
        }


def upcoming(job: LoadedJob, after: datetime, count: int) -> Upcoming:
    """The next ``count`` runs of ``job`` strictly after ``after`` (aware)."""
    return Upcoming(job, next_runs(job.schedule, after, count))


def job_rows(catalog: Catalog, now: datetime) -> list[dict[str, Any]]:
    """One row per valid job, sorted by name, as ``list --format json`` prints them."""
    from scheduler.describe import describe_schedule

    rows = []
    for name in sorted(catalog.jobs):
        job = catalog.jobs[name]
        spec = job.spec
        nxt = job.schedule.next_after(now) if spec.enabled else None
        rows.append(
            {
                "name": name,
                "description": spec.description,
                "task": spec.task,
                "queue": spec.queue,
                "enabled": spec.enabled,
                "schedule": spec.schedule.model_dump(mode="json", exclude_none=True),
                "schedule_text": describe_schedule(spec.schedule),
                "timezone": spec.schedule.timezone,
                "next_run": None if nxt is None else local_iso(nxt, job.timezone),
                "next_run_utc": None if nxt is None else nxt.astimezone(UTC).isoformat(),
                "file": job.file,
                "line": job.line,
                "params": spec.params,
            }
        )
    return rows
