"""``scheduler init`` and ``scheduler new``: start a jobs folder, add a job file to it.

Both write only files that do not exist yet (never overwrite), and only text that the
loader has just accepted: a new file validates by construction.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scheduler.cli.options import EXIT_INVALID, EXIT_OK, jobs_dir_option


def _schema_file(jobs_dir: Path) -> Path:
    """Where the project's schema lives: ``schemas/job.schema.json`` beside the jobs dir."""
    from scheduler.config.scaffold import SCHEMA_FILE

    return jobs_dir.resolve().parent / SCHEMA_FILE


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INVALID)


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text``; exit 1 if it appeared meanwhile (never overwrite)."""
    from scheduler.config.catalog import display_path

    try:
        with path.open("x", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except FileExistsError:
        _fail(f"{display_path(path)} already exists; nothing was overwritten")
    except OSError as exc:
        _fail(f"cannot write {display_path(path)}: {exc.strerror}")


def _name_taken(jobs_dir: Path, name: str) -> str | None:
    """Why ``name`` cannot be a new job in ``jobs_dir`` (a file, a job or a previous name
    already has it), or None when it is free."""
    from scheduler.config.catalog import display_path, load_paths

    for other in (jobs_dir / f"{name}.yaml", jobs_dir / f"{name}.yml"):
        if other.exists() or other.is_symlink():
            return f"{display_path(other)} already exists"
    for file in load_paths([jobs_dir]).files:
        if name in file.declared:
            return f"a job named {name!r} already exists at {file.file}:{file.declared[name]}"
        for job in file.jobs:
            if name in job.previous_names:
                return (
                    f"{name!r} is a previous name of job {job.name!r} "
                    f"({file.file}:{job.name_line or job.line})"
                )
    return None


@click.command()
@jobs_dir_option
def init(jobs_dir: Path) -> None:
    """Start a jobs folder: one commented example job, and the JSON Schema beside it.

    Writes JOBS_DIR/example.yaml (disabled) and, when absent,
    schemas/job.schema.json next to JOBS_DIR, which the example's first line points
    editors at. Refuses (exit 1) when the folder already holds job files.
    """
    from scheduler.cli.report import dumps
    from scheduler.config import scaffold
    from scheduler.config.catalog import discover, display_path
    from scheduler.config.loader import parse_job_documents
    from scheduler.core.clock import SystemClock
    from scheduler.core.models import json_schema

    example = jobs_dir / f"{scaffold.EXAMPLE_NAME}.yaml"
    if example.exists():
        _fail(f"{display_path(example)} already exists; 'init' never overwrites a file")
    existing = discover(jobs_dir) if jobs_dir.is_dir() else []
    if existing:
        _fail(
            f"{display_path(jobs_dir)} already holds {len(existing)} job file(s) "
            f"({display_path(existing[0])}, ...); nothing written. "
            "Add a job with 'scheduler new NAME --cron \"...\" --task module:function'"
        )
    schema_file = _schema_file(jobs_dir)
    text = scaffold.example_job(scaffold.schema_reference(jobs_dir.resolve(), schema_file))
    result = parse_job_documents(text, display_path(example), SystemClock().now())
    if not result.ok:  # the template itself is wrong: a bug, not the user's input
        raise RuntimeError(f"the example job does not validate: {result.errors[0]}")

    created = []
    try:
        jobs_dir.mkdir(parents=True, exist_ok=True)
        if not schema_file.exists():
            schema_file.parent.mkdir(parents=True, exist_ok=True)
            _write_new(schema_file, dumps(json_schema()) + "\n")
            created.append(schema_file)
    except OSError as exc:
        _fail(f"cannot create {display_path(jobs_dir)}: {exc.strerror}")
    _write_new(example, text)
    created.insert(0, example)
    for path in created:
        click.echo(f"created {display_path(path)}")
    click.echo(
        f"next: point 'task' in {display_path(example)} at a function of yours, set "
        "'enabled: true', and check it with 'scheduler validate'"
    )
    sys.exit(EXIT_OK)


@click.command()
@click.argument("name")
@click.option("--task", required=True, metavar="MODULE:FUNCTION", help="What to run.")
@click.option("--cron", metavar="EXPR", help='A cron expression, e.g. "0 9 * * mon-fri".')
@click.option("--interval", metavar="DURATION", help="Every so long: 30s, 15m, 1h30m, 1d.")
@click.option(
    "--daily",
    metavar="HH:MM",
    multiple=True,
    help="A local time of day (repeat for several).",
)
@click.option("--timezone", metavar="TZ", help="IANA time zone, e.g. Europe/Paris [default: UTC].")
@click.option("--queue", metavar="QUEUE", help="RQ queue [default: default].")
@click.option("--description", metavar="TEXT", help="One line for people.")
@click.option(
    "--param",
    "params",
    metavar="KEY=VALUE",
    multiple=True,
    help="A keyword argument for the task (repeat); VALUE reads as YAML: true, 10, text.",
)
@click.option("--disabled", is_flag=True, help="Write 'enabled: false'.")
@jobs_dir_option
def new(
    name: str,
    task: str,
    cron: str | None,
    interval: str | None,
    daily: tuple[str, ...],
    timezone: str | None,
    queue: str | None,
    description: str | None,
    params: tuple[str, ...],
    disabled: bool,
    jobs_dir: Path,
) -> None:
    """Write JOBS_DIR/NAME.yaml for a new job, validated before it is written.

    Give exactly one of --cron, --interval or --daily. Exit 1, writing nothing, when
    the job would be invalid or NAME is already taken.
    """
    from scheduler.config import scaffold
    from scheduler.config.catalog import display_path
    from scheduler.config.loader import parse_job_documents
    from scheduler.core.clock import SystemClock
    from scheduler.core.localtime import local_iso

    given = [
        opt
        for opt, value in (("--cron", cron), ("--interval", interval), ("--daily", daily or None))
        if value is not None
    ]
    if len(given) != 1:
        raise click.UsageError(
            "give exactly one of --cron, --interval or --daily"
            + (f" (got {' and '.join(given)})" if given else "")
        )
    parsed: dict[str, object] = {}
    for item in params:
        try:
            key, value = scaffold.parse_param(item)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--param") from None
        parsed[key] = value
    if not jobs_dir.is_dir():
        raise click.UsageError(
            f"jobs directory {str(jobs_dir)!r} does not exist "
            "(see --jobs-dir, or start one with 'scheduler init')"
        )

    job = scaffold.NewJob(
        name=name,
        task=task,
        cron=cron,
        interval=interval,
        daily=daily,
        timezone=timezone,
        queue=queue,
        description=description,
        params=parsed,
        enabled=not disabled,
    )
    schema_file = _schema_file(jobs_dir)
    ref = (
        scaffold.schema_reference(jobs_dir.resolve(), schema_file)
        if schema_file.is_file()
        else None
    )
    text = scaffold.job_text(job, ref)
    now = SystemClock().now()
    # A path is built from NAME only once the loader has accepted NAME (no '/', no '..').
    result = parse_job_documents(text, str(Path(display_path(jobs_dir)) / f"{name}.yaml"), now)
    if not result.ok:
        for error in result.errors:
            where = f"{error.path}: " if error.path else ""
            option = scaffold.option_for(error.path)
            hint = f" (from {option})" if option else ""
            click.echo(
                f"error: {error.file}:{error.line}:{error.column}: {where}{error.message}{hint}",
                err=True,
            )
        click.echo("nothing written", err=True)
        sys.exit(EXIT_INVALID)

    path = jobs_dir / f"{name}.yaml"
    clash = _name_taken(jobs_dir, name)
    if clash:
        _fail(f"{clash}; nothing written")
    _write_new(path, text)
    for warning in result.warnings:
        click.echo(f"warning: {warning.path}: {warning.message}", err=True)
    loaded = result.jobs[0]
    upcoming = loaded.schedule.next_after(now)
    when = local_iso(upcoming, loaded.timezone) if upcoming is not None else "none"
    state = "" if job.enabled else ", disabled"
    click.echo(f"created {display_path(path)} (next run: {when}{state})")
    sys.exit(EXIT_OK)
