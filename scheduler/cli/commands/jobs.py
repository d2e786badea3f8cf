"""``scheduler next`` and ``scheduler list``: the valid jobs and their coming runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from scheduler.cli.context import exit_now, find_job, load_catalog, now_utc
from scheduler.cli.options import format_option, jobs_dir_option


def _parse_after(value: str | None) -> datetime | None:
    if value is None:
        return None
    from scheduler.core.fieldchecks import MAX_YEAR, MIN_YEAR

    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 date-time (e.g. 2026-03-29T01:00:00+01:00)",
            param_hint="--after",
        ) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise click.BadParameter(
            f"year {parsed.year} is outside {MIN_YEAR}-{MAX_YEAR}", param_hint="--after"
        )
    return parsed


@click.command(name="next")
@click.argument("name")
@click.option(
    "--count",
    "-n",
    type=click.IntRange(1, 10_000),
    default=5,
    show_default=True,
    help="How many runs.",
)
@click.option(
    "--after",
    metavar="ISO8601",
    help="Runs strictly after this instant (default now); without an offset it is "
    "read in the job's time zone.",
)
@jobs_dir_option
@format_option("text", "json")
def next_(name: str, count: int, after: str | None, jobs_dir: Path, fmt: str) -> None:
    """Show the next run instants of job NAME, in its time zone."""
    from scheduler.config.gcpause import paused_gc

    # Most of the command is importing pydantic, yaml and the job model: the collector's
    # passes over what they build (all kept) would find no garbage.
    with paused_gc():
        _show_next(name, count, after, jobs_dir, fmt)
    # Tearing the interpreter down (some 200 modules) would cost about as much as the
    # command's own work, for a process that ends here (issue 13).
    exit_now(0)


def _show_next(name: str, count: int, after: str | None, jobs_dir: Path, fmt: str) -> None:
    from scheduler.cli.report import dumps, upcoming_text
    from scheduler.engine import api

    start = _parse_after(after)
    catalog = load_catalog(jobs_dir)
    job = find_job(catalog, name)
    if start is None:
        start = now_utc()
    elif start.tzinfo is None:
        # A local time read as the job file reads one (a skipped time means the gap's end).
        from scheduler.core.localtime import first_instant

        start = first_instant(start, job.timezone)
    up = api.upcoming(job, start, count)
    click.echo(dumps(up.as_json()) if fmt == "json" else upcoming_text(up))


@click.command(name="list")
@jobs_dir_option
@format_option("text", "json")
def list_(jobs_dir: Path, fmt: str) -> None:
    """List valid jobs: schedule in words, time zone, next run, source file."""
    from scheduler.cli.report import dumps, jobs_table
    from scheduler.engine import api

    catalog = load_catalog(jobs_dir)
    rows = api.job_rows(catalog, now_utc())
    click.echo(dumps(rows) if fmt == "json" else jobs_table(rows))
