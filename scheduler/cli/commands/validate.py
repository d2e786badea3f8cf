"""``scheduler validate`` and ``scheduler schema``: check job files, print their schema."""

from __future__ import annotations

import gc
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import click

from scheduler.cli.context import ExitNow, exit_now, now_utc, require_dir
from scheduler.cli.options import (
    EXIT_INVALID,
    EXIT_OK,
    format_option,
    jobs_dir_accepted,
    jobs_dir_option,
)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@jobs_dir_option
@format_option("text", "json", "github")
@click.option("--strict", is_flag=True, help="Treat warnings (schedule lint included) as errors.")
@click.option(
    "--import-tasks",
    is_flag=True,
    help="Import the task modules (task_modules in [tool.scheduler]) and check every "
    "job's task resolves and its params fit the task's declared model.",
)
def validate(
    paths: tuple[Path, ...], jobs_dir: Path, fmt: str, strict: bool, import_tasks: bool
) -> None:
    """Check job files (default: the whole jobs dir). Exit 1 when any is invalid.

    Also lints schedules (warnings with a stable code: step-uneven, day-or-trap,
    rare-date, dst-skipped, dst-repeated, pile-up, production-mode); --strict makes
    warnings errors.
    """
    if not paths:
        require_dir(jobs_dir)
    # What is built here holds next to no cycle: the collector's passes over it (a sixth of
    # validate's CPU at 10,000 files) would free nothing. The CLI leaves it off up to its
    # os._exit: turned back on, its first pass would walk everything built once (0.25 s at
    # 10,000 files); any other caller gets it back as it was.
    with _collector_off():
        _validate(paths, jobs_dir, fmt, strict, import_tasks)


def _collector_off() -> AbstractContextManager[None]:
    if ExitNow.ends_process:
        gc.disable()
        return nullcontext()
    from scheduler.config.gcpause import paused_gc

    return paused_gc()


def _validate(
    paths: tuple[Path, ...], jobs_dir: Path, fmt: str, strict: bool, import_tasks: bool
) -> None:
    from scheduler.cli.report import validation_dumps, validation_github, validation_text
    from scheduler.config.project import load_project
    from scheduler.engine import api

    now = now_utc()
    targets = list(paths) or [jobs_dir]
    project = load_project(targets[0] if targets[0].is_dir() else targets[0].parent)
    # A forked helper only where this process is the command alone (app.main): a caller in
    # process (click's CliRunner, a library) may run threads of its own.
    catalog = api.validate(
        targets, now, project=project, helper=ExitNow.ends_process, root=jobs_dir
    )
    api.check_tasks(catalog, project, import_tasks=import_tasks)
    api.lint(catalog, now, strict=strict)
    if fmt == "json":
        click.echo(validation_dumps(catalog))
    elif fmt == "github":
        out = validation_github(catalog)
        if out:
            click.echo(out)
    else:
        click.echo(validation_text(catalog))
    code = EXIT_OK if catalog.valid else EXIT_INVALID
    if import_tasks:
        sys.exit(code)  # the user's task modules may have work for atexit
    exit_now(code)


@click.command()
@jobs_dir_accepted
@format_option("json", help="Output format (a JSON Schema is JSON).", expose=False)
@click.option(
    "--defaults",
    "for_defaults",
    is_flag=True,
    help="The schema of a _defaults.yaml file instead (schemas/defaults.schema.json).",
)
def schema(for_defaults: bool) -> None:
    """Print the JSON Schema of a job file (what schemas/job.schema.json holds)."""
    from scheduler.cli.report import dumps
    from scheduler.config.defaults import json_schema as defaults_schema
    from scheduler.core.models import json_schema

    click.echo(dumps(defaults_schema() if for_defaults else json_schema()))
