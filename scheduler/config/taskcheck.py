"""Checks of the jobs against their task code: ``validate --import-tasks``, and production mode.

Without importing anything, a job whose params say ``dry_run: false`` is flagged as
running in production mode. With ``--import-tasks`` the project's task modules are
imported, every job's ``task`` must resolve to a callable, and its params must satisfy
the model the task declared (``scheduler.tasks.task``); a ``dry_run`` left out where the
model defaults it to false is production mode too.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from scheduler.config.project import Project
from scheduler.core.catalog import Catalog, FileResult
from scheduler.core.errors import JobFileError, JobFileWarning, TaskImportError
from scheduler.core.job import LoadedJob
from scheduler.worker.tasks import check_params, params_model

PRODUCTION_CODE = "production-mode"


def check_tasks(catalog: Catalog, project: Project, *, import_tasks: bool) -> None:
    """Add task problems to the catalog's files (errors) and production-mode warnings."""
    by_file = {f.file: f for f in catalog.files}
    if not import_tasks:
        for job in catalog.jobs.values():
            by_file[job.file].warnings.extend(_explicit_production(job))
        return
    with _importable(project):
        config_errors = _import_modules(project)
        if config_errors:
            catalog.files[0:0] = [_config_result(project, config_errors)]
        for job in list(catalog.jobs.values()):
            errors, warnings = _check_job(job)
            by_file[job.file].errors.extend(errors)
            by_file[job.file].warnings.extend(warnings)
            if errors:
                del catalog.jobs[job.name]


def _check_job(job: LoadedJob) -> tuple[list[JobFileError], list[JobFileWarning]]:
    from scheduler.worker.runner import import_task  # rq and redis: only when tasks are imported

    line, column = job.position("task")
    try:
        fn = import_task(job.spec.task)
    except TaskImportError as exc:
        return [JobFileError(job.file, line, column, "task", str(exc))], []
    model = params_model(fn)
    if model is None:
        return [], _explicit_production(job)
    errors = []
    for path, message in check_params(model, job.spec.params):
        at_line, at_column = job.position(path)
        errors.append(JobFileError(job.file, at_line, at_column, path, message))
    if errors:
        return errors, []
    dry_run = job.spec.params.get("dry_run")
    field = model.model_fields.get("dry_run")
    defaulted_off = dry_run is None and field is not None and field.default is False
    if dry_run is False or defaulted_off:
        return [], [_production(job, explicit=dry_run is False)]
    return [], []


def _explicit_production(job: LoadedJob) -> list[JobFileWarning]:
    return [_production(job, explicit=True)] if job.params.get("dry_run") is False else []


def _production(job: LoadedJob, *, explicit: bool) -> JobFileWarning:
    path = "params.dry_run" if explicit else "params"
    line, column = job.position(path)
    why = "params.dry_run is false" if explicit else "its task defaults dry_run to false"
    canary = f" after {job.canary} canary run(s)" if job.canary else ""
    return JobFileWarning(
        job.file,
        line,
        column,
        "params.dry_run",
        f"runs in production mode{canary}: {why}",
        code=PRODUCTION_CODE,
    )


@contextmanager
def _importable(project: Project) -> Iterator[None]:
    # Task modules live in the project, as for `rq worker` run from its root.
    root = str(project.root)
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        yield
    finally:
        if added and root in sys.path:
            sys.path.remove(root)


def _import_modules(project: Project) -> list[str]:
    problems = []
    for name in project.task_modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # whatever a module raises while importing is reported
            problems.append(f"task module {name!r} cannot be imported: {type(exc).__name__}: {exc}")
    return problems


def _config_result(project: Project, problems: list[str]) -> FileResult:
    source = project.source or "scheduler.toml"
    return FileResult(
        source, errors=[JobFileError(source, 1, 1, "task_modules", p) for p in problems]
    )
