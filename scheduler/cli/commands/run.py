"""``scheduler run`` and ``scheduler worker``: the watcher and an RQ worker, in the foreground."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import click

from scheduler.cli.context import connect_redis, require_dir
from scheduler.cli.options import (
    data_dir_option,
    jobs_dir_accepted,
    jobs_dir_option,
    redis_url_option,
)


@click.command(name="run")
@jobs_dir_option
@data_dir_option
@redis_url_option
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="RQ worker processes to start [default: 2 with the embedded Redis, 0 with --redis-url].",
)
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    default=None,
    envvar="SCHEDULER_HEALTH_PORT",
    show_envvar=True,
    help="Serve GET /healthz on this port (200 while the heartbeat is fresh, else 503).",
)
@click.option(
    "--log-format",
    type=click.Choice(["json", "console"]),
    default="json",
    show_default=True,
    help="JSON lines for log pipelines, console for people.",
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Console format: also show RQ's own info lines (each job taken, done, its result "
    "kept), from the watcher's workers too. JSON lines always have them.",
)
@click.option(
    "--lease",
    default="10s",
    envvar="SCHEDULER_LEASE",
    show_default=True,
    show_envvar=True,
    callback=lambda ctx, param, value: _lease(value),
    help="Leader lease: watchers sharing a Redis elect one leader; a standby takes over "
    "within this time when it dies (at once when it stops cleanly).",
)
@click.option(
    "--watcher-id",
    default=None,
    envvar="SCHEDULER_WATCHER_ID",
    show_envvar=True,
    callback=lambda ctx, param, value: _watcher_id(value),
    help="This watcher's name in status, logs and the lease (unique per watcher) "
    "[default: host:pid].",
)
def run_(
    jobs_dir: Path,
    data_dir: Path,
    redis_url: str | None,
    workers: int | None,
    health_port: int | None,
    log_format: str,
    verbose: bool,
    lease: timedelta,
    watcher_id: str | None,
) -> None:
    """Run the watcher: follow the jobs dir and enqueue each due run into RQ."""
    from scheduler.cli.log import RQ_INFO_ENV, configure

    require_dir(jobs_dir)  # a typo must not start a healthy watcher of nothing

    # First: the logging decides how structlog is imported (see configure).
    configure("console" if log_format == "console" else "json", rq_info=verbose)
    from scheduler.engine import daemon

    os.environ["SCHEDULER_LOG_FORMAT"] = log_format  # embedded workers log the same way
    os.environ[RQ_INFO_ENV] = "1" if verbose else "0"
    code = daemon.run(
        daemon.RunOptions(
            jobs_dir=jobs_dir,
            data_dir=data_dir,
            redis_url=redis_url,
            workers=workers,
            health_port=health_port,
            lease=lease,
            watcher_id=watcher_id,
        )
    )
    sys.exit(code)


def _watcher_id(value: str | None) -> str | None:
    if value is not None and (not value.strip() or "|" in value or len(value) > 200):
        raise click.BadParameter("a watcher id is 1 to 200 characters, without '|'")
    return value


def _lease(text: str) -> timedelta:
    from scheduler.core.durations import DurationSyntaxError, parse_duration

    try:
        lease = parse_duration(text)
    except DurationSyntaxError as exc:
        raise click.BadParameter(str(exc)) from exc
    if lease < timedelta(seconds=1):
        raise click.BadParameter(f"{text!r} is too short: a lease is at least 1s")
    return lease


@click.command()
@click.argument("queues", nargs=-1)
@jobs_dir_accepted
@data_dir_option
@redis_url_option
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option(
    "--log-format",
    type=click.Choice(["json", "console"]),
    default="json",
    envvar="SCHEDULER_LOG_FORMAT",
    show_default=True,
)
def worker(
    queues: tuple[str, ...], data_dir: Path, redis_url: str | None, burst: bool, log_format: str
) -> None:
    """Run an RQ worker for the scheduler's runs (QUEUES default: default)."""
    from scheduler.cli.log import RQ_INFO_ENV, configure

    # First: the logging decides how structlog is imported (see configure).
    configure(
        "console" if log_format == "console" else "json",
        rq_info=os.environ.get(RQ_INFO_ENV) != "0",
    )
    from scheduler.worker import lifeline
    from scheduler.worker.rqworker import SchedulerWorker

    lifeline.hold_from_env()  # started by `scheduler run`: do not outlive it
    # Like `rq worker`, make task modules in the working directory importable.
    sys.path.insert(0, os.getcwd())
    conn = connect_redis(data_dir, redis_url)
    worker = SchedulerWorker(list(queues) or ["default"], connection=conn)
    # with_scheduler: RQ moves retries waiting out their backoff (`retries:`) back onto
    # their queue from inside a worker.
    worker.work(burst=burst, with_scheduler=True)
