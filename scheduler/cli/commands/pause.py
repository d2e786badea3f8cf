"""``scheduler pause NAME`` and ``scheduler resume NAME``: hold a job at runtime, no commit.

The pause is stored in Redis (``scheduler.engine.pauses``), so every watcher on it sees it within
a second and logs it (``job.paused`` / ``job.resumed``); each occurrence due meanwhile is
recorded ``skipped`` with reason ``paused``. ``status`` and ``health`` show pauses as drift
from git. Exit codes: 0 done, 1 unknown or invalid job (or no Redis), 2 usage.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from scheduler.cli.context import connect_redis, find_job, load_catalog, now_utc
from scheduler.cli.options import (
    EXIT_INVALID,
    data_dir_option,
    format_option,
    jobs_dir_option,
    redis_url_option,
)


def parse_until(value: str | None, now: datetime) -> datetime | None:
    """``--until``: a duration from now (``2h``) or an ISO-8601 date-time (naive = UTC)."""
    from scheduler.engine.actions import ActionInputError
    from scheduler.engine.actions import parse_until as parse

    try:
        return parse(value, now)
    except ActionInputError as exc:
        raise click.BadParameter(exc.message, param_hint="--until") from None


@click.command()
@click.argument("name")
@click.option("--reason", required=True, help="Why (shown by status and in the logs).")
@click.option("--until", metavar="WHEN", help="Resume by itself: a duration (2h) or ISO-8601.")
@click.option("--by", default=None, help="Who pauses it [default: user@host].")
@jobs_dir_option
@data_dir_option
@redis_url_option
@format_option("text", "json")
def pause(
    name: str,
    reason: str,
    until: str | None,
    by: str | None,
    jobs_dir: Path,
    data_dir: Path,
    redis_url: str | None,
    fmt: str,
) -> None:
    """Pause job NAME at runtime: its runs are recorded skipped (paused) until resumed."""
    import redis

    from scheduler.cli.report import dumps
    from scheduler.engine import actions

    now = now_utc()
    end = parse_until(until, now)
    if not reason.strip():
        raise click.BadParameter("give a reason", param_hint="--reason")
    job = find_job(load_catalog(jobs_dir), name)
    try:
        conn = connect_redis(data_dir, redis_url)
        record = actions.pause(
            conn, job, now, reason=reason, until=end, by=by or actions.local_user()
        )
    except redis.RedisError as exc:
        click.echo(f"error: cannot reach Redis: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    if fmt == "json":
        click.echo(dumps({"paused": record.as_json()}))
    else:
        tail = f" until {end.isoformat()}" if end else " until 'scheduler resume'"
        click.echo(f"paused {name}{tail}: {record.reason} (by {record.by})")


@click.command()
@click.argument("name")
@jobs_dir_option
@data_dir_option
@redis_url_option
@format_option("text", "json")
def resume(name: str, jobs_dir: Path, data_dir: Path, redis_url: str | None, fmt: str) -> None:
    """Resume job NAME after `scheduler pause` (nothing to do if it is not paused)."""
    import redis

    from scheduler.cli.report import dumps
    from scheduler.engine import actions

    job = find_job(load_catalog(jobs_dir), name)
    try:
        removed = actions.resume(connect_redis(data_dir, redis_url), job)
    except redis.RedisError as exc:
        click.echo(f"error: cannot reach Redis: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    if fmt == "json":
        click.echo(dumps({"job": name, "resumed": removed is not None}))
    elif removed is None:
        click.echo(f"{name} was not paused")
    else:
        click.echo(f"resumed {name} (paused by {removed.by}: {removed.reason})")
