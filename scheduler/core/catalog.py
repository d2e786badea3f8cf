"""The jobs read together, as values: each file's result, and the set of valid jobs (pure).

Job names are unique across everything loaded together; a second definition of a name is
an error that names both places, and the file holding it is rejected as a whole (as the
watcher would). Reading the files is ``scheduler.config.catalog``'s part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from scheduler.core.errors import JobFileError, JobFileWarning
from scheduler.core.job import LoadedJob


@dataclass(frozen=True)
class JobFindings:
    """What linting one job alone found (``core.lint.job_findings``), where it was parsed."""

    now: datetime
    warnings: tuple[JobFileWarning, ...]
    #: The minutes (POSIX seconds // 60) it runs in over the pile-up window from ``now``.
    run_minutes: frozenset[int]
    #: What a pile-up warning about it names: its zone, its jitter as written, its kind.
    timezone: str
    jitter: str | None
    kind: str


@dataclass
class FileResult:
    """What one job file holds: its valid jobs and every problem found, located."""

    file: str
    jobs: list[LoadedJob] = field(default_factory=list)
    errors: list[JobFileError] = field(default_factory=list)
    warnings: list[JobFileWarning] = field(default_factory=list)
    declared: dict[str, int] = field(default_factory=dict)
    """Every job name a document in the file gives (valid or not), with its line."""
    findings: dict[str, JobFindings] = field(default_factory=dict)
    """Lint findings by job name, when they were computed with the jobs (a worker's)."""

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Catalog:
    """Every job file read together, and the valid jobs of the files that are wholly valid."""

    files: list[FileResult] = field(default_factory=list)
    jobs: dict[str, LoadedJob] = field(default_factory=dict)

    @property
    def errors(self) -> list[JobFileError]:
        return [e for f in self.files for e in f.errors]

    @property
    def warnings(self) -> list[JobFileWarning]:
        return [w for f in self.files for w in f.warnings]

    @property
    def valid(self) -> bool:
        return not self.errors

    def invalid_file_for(self, name: str) -> FileResult | None:
        """The rejected file that declares ``name`` (in a valid document or not), if any."""
        for f in self.files:
            if not f.ok and name in f.declared:
                return f
        return None


def duplicate_name_error(file: str, job: LoadedJob, earlier: LoadedJob) -> JobFileError:
    """The error at ``job``'s name line naming where ``earlier`` already defined it."""
    return JobFileError(
        file,
        job.name_line or job.line,
        job.column,
        "name",
        f"duplicate job name {job.name!r}: already defined at {earlier.file}:"
        f"{earlier.name_line or earlier.line}",
    )


def build_catalog(results: Iterable[FileResult]) -> Catalog:
    """Combine per-file results, flag duplicate names, keep jobs of wholly valid files."""
    catalog = Catalog()
    first_seen: dict[str, LoadedJob] = {}
    for result in results:
        for job in result.jobs:
            earlier = first_seen.get(job.name)
            if earlier is None:
                first_seen[job.name] = job
                continue
            result.errors.append(duplicate_name_error(result.file, job, earlier))
        catalog.files.append(result)
    for result in catalog.files:
        if result.ok:
            catalog.jobs.update((j.name, j) for j in result.jobs)
    return catalog
