"""The ``scheduler`` command: parse options, call the library (``engine.api``), print, exit.

Exit codes: 0 success, 1 the checked thing is wrong (invalid jobs, unknown job),
2 usage error. No input makes it print a traceback.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from scheduler import __version__
from scheduler.cli.options import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    data_dir_option,
    format_option,
    jobs_dir_option,
    redis_url_option,
)
from scheduler.core.errors import SchedulerError
from scheduler.core.ledger import LEDGER


def _redis(data_dir: Path, redis_url: str | None) -> Any:
    """A client for the Redis in use: the given URL, else the embedded one if it runs."""
    import redis

    url = redis_url
    if url is None:
        marker = data_dir / "redis.url"
        if marker.is_file():
            url = marker.read_text(encoding="utf-8").strip()
    if not url:
        click.echo(
            "error: no Redis to talk to: set --redis-url or REDIS_URL, or start "
            "'scheduler run' (which starts an embedded Redis under the data dir)",
            err=True,
        )
        sys.exit(EXIT_INVALID)
    try:
        return redis.Redis.from_url(url, socket_timeout=10)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--redis-url") from None


def _redis_if_known(data_dir: Path, redis_url: str | None) -> Any:
    """A client for the given or embedded Redis (short timeouts), or None if there is none."""
    import redis

    url = redis_url
    marker = data_dir / "redis.url"
    if url is None and marker.is_file():
        url = marker.read_text(encoding="utf-8").strip()
    if not url:
        return None
    try:
        return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--redis-url") from None


def _now() -> datetime:
    from scheduler.core.clock import SystemClock

    return SystemClock().now()


def _require_dir(jobs_dir: Path) -> None:
    if not jobs_dir.is_dir():
        raise click.UsageError(f"jobs directory {str(jobs_dir)!r} does not exist (see --jobs-dir)")


def _load(jobs_dir: Path) -> Any:
    from scheduler.engine import api

    _require_dir(jobs_dir)
    catalog = api.validate([jobs_dir], _now())
    if catalog.errors:
        bad = sorted({e.file for e in catalog.errors})
        click.echo(
            f"warning: {len(bad)} invalid job file(s) skipped ({', '.join(bad)}); "
            "run 'scheduler validate' for details",
            err=True,
        )
    return catalog


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="scheduler")
def cli() -> None:
    """Declarative job scheduler: YAML jobs in jobs.d/, dispatched to RQ on Redis."""


@cli.command()
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
    from scheduler.cli import report
    from scheduler.config.project import load_project
    from scheduler.engine import api

    if not paths:
        _require_dir(jobs_dir)
    now = _now()
    targets = list(paths) or [jobs_dir]
    project = load_project(targets[0] if targets[0].is_dir() else targets[0].parent)
    catalog = api.validate(targets, now, project=project)
    api.check_tasks(catalog, project, import_tasks=import_tasks)
    api.lint(catalog, now, strict=strict)
    if fmt == "json":
        click.echo(report.dumps(report.validation_json(catalog)))
    elif fmt == "github":
        out = report.validation_github(catalog)
        if out:
            click.echo(out)
    else:
        click.echo(report.validation_text(catalog))
    sys.exit(EXIT_OK if catalog.valid else EXIT_INVALID)


def _parse_after(value: str | None) -> datetime | None:
    if value is None:
        return None
    from scheduler.core.models import MAX_YEAR, MIN_YEAR

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


@cli.command(name="next")
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
    from scheduler.cli import report
    from scheduler.core.errors import SchedulerError
    from scheduler.engine import api

    start = _parse_after(after)
    catalog = _load(jobs_dir)
    try:
        job = api.find_job(catalog, name)
    except SchedulerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    if start is None:
        start = _now()
    elif start.tzinfo is None:
        # A local time read as the job file reads one (a skipped time means the gap's end).
        from scheduler.core.localtime import first_instant

        start = first_instant(start, job.timezone)
    up = api.upcoming(job, start, count)
    click.echo(report.dumps(up.as_json()) if fmt == "json" else report.upcoming_text(up))


@cli.command(name="list")
@jobs_dir_option
@format_option("text", "json")
def list_(jobs_dir: Path, fmt: str) -> None:
    """List valid jobs: schedule in words, time zone, next run, source file."""
    from scheduler.cli import report
    from scheduler.engine import api

    catalog = _load(jobs_dir)
    rows = api.job_rows(catalog, _now())
    click.echo(report.dumps(rows) if fmt == "json" else report.jobs_table(rows))


@cli.command()
@jobs_dir_option
@click.option(
    "--defaults",
    "for_defaults",
    is_flag=True,
    help="The schema of a _defaults.yaml file instead (schemas/defaults.schema.json).",
)
def schema(jobs_dir: Path, for_defaults: bool) -> None:
    """Print the JSON Schema of a job file (what schemas/job.schema.json holds)."""
    from scheduler.cli import report
    from scheduler.config.defaults import json_schema as defaults_schema
    from scheduler.core.models import json_schema

    click.echo(report.dumps(defaults_schema() if for_defaults else json_schema()))


@cli.command(name="run")
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
    lease: timedelta,
    watcher_id: str | None,
) -> None:
    """Run the watcher: follow the jobs dir and enqueue each due run into RQ."""
    from scheduler.cli import log
    from scheduler.engine import daemon

    log.configure("console" if log_format == "console" else "json")
    os.environ["SCHEDULER_LOG_FORMAT"] = log_format  # embedded workers log the same way
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


@cli.command()
@click.argument("queues", nargs=-1)
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
    from scheduler.cli import log
    from scheduler.worker.rqworker import SchedulerWorker

    log.configure("console" if log_format == "console" else "json")
    # Like `rq worker`, make task modules in the working directory importable.
    sys.path.insert(0, os.getcwd())
    conn = _redis(data_dir, redis_url)
    worker = SchedulerWorker(list(queues) or ["default"], connection=conn)
    # with_scheduler: RQ moves retries waiting out their backoff (`retries:`) back onto
    # their queue from inside a worker.
    worker.work(burst=burst, with_scheduler=True)


@cli.command()
@click.argument("name")
@jobs_dir_option
@data_dir_option
@redis_url_option
@format_option("text", "json")
def trigger(name: str, jobs_dir: Path, data_dir: Path, redis_url: str | None, fmt: str) -> None:
    """Run job NAME now: enqueue one run at once, recorded as manual."""
    import redis

    from scheduler.cli import report
    from scheduler.core.errors import SchedulerError
    from scheduler.engine import api

    catalog = _load(jobs_dir)
    try:
        job = api.find_job(catalog, name)
    except SchedulerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    try:
        canary = api.in_canary(data_dir, job)
        result = api.trigger(_redis(data_dir, redis_url), job, _now(), canary=canary)
    except redis.RedisError as exc:
        click.echo(f"error: cannot reach Redis: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    if fmt == "json":
        click.echo(report.dumps(result))
    else:
        click.echo(
            f"enqueued {result['job']} as {result['run_id']} on queue {result['queue']}"
            + (" (canary: dry_run forced)" if result["canary"] else "")
        )


@cli.command()
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option(
    "--status",
    type=click.Choice(list(LEDGER)),
    default=None,
    help="Only runs in this state: a status, or a ledger state such as skipped-overlap, "
    "missed-downtime, missed-grace, paused, deduplicated, replaced, timeout, manual, catch-up.",
)
@data_dir_option
@format_option("text", "json")
def history(name: str | None, limit: int, status: str | None, data_dir: Path, fmt: str) -> None:
    """Recorded runs (of job NAME), newest first."""
    from scheduler.cli import report
    from scheduler.core.errors import StoreError
    from scheduler.engine import api

    try:
        rows = api.history(data_dir, job=name, status=status, limit=limit)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    click.echo(report.dumps(rows) if fmt == "json" else report.history_table(rows))


@cli.command()
@jobs_dir_option
@data_dir_option
@redis_url_option
@format_option("text", "json")
def status(jobs_dir: Path, data_dir: Path, redis_url: str | None, fmt: str) -> None:
    """Each job: enabled, next run, last run and its status; and the watcher's health."""
    from scheduler.cli import report
    from scheduler.engine import api

    conn = _redis_if_known(data_dir, redis_url)
    live = None if conn is None else api.live_pauses(conn, _now())
    data = api.status(_load(jobs_dir), data_dir, _now(), live_pauses=live)
    click.echo(report.dumps(data) if fmt == "json" else report.status_text(data))


@cli.command()
@data_dir_option
@format_option("text", "json")
def health(data_dir: Path, fmt: str) -> None:
    """Exit 0 when the watcher's heartbeat is fresh, 1 otherwise (a container probe)."""
    from scheduler.cli import report
    from scheduler.engine import api

    data = api.health(data_dir, _now())
    if fmt == "json":
        click.echo(report.dumps(data))
    else:
        age = data["heartbeat_age_s"]
        click.echo(
            f"{'ok' if data['healthy'] else 'unhealthy'}: watcher {data['state']}"
            + (f", heartbeat {age:.1f}s ago" if age is not None else "")
            + (f", generation {data['generation']}" if data["generation"] else "")
            + (f"\n{report.leadership_text(data)}" if data.get("role") else "")
            + report.paused_text(data.get("paused") or {})
        )
    sys.exit(EXIT_OK if data["healthy"] else EXIT_INVALID)


def _register_command_modules() -> None:
    # These modules import the option helpers above, so they are imported after them.
    from scheduler.cli.commands.pause import pause, resume
    from scheduler.cli.commands.plan import diff, plan
    from scheduler.cli.commands.scaffold import init, new
    from scheduler.cli.commands.simulate import simulate

    for command in (init, new, simulate, plan, diff, pause, resume):
        cli.add_command(command)


_register_command_modules()


def main() -> None:
    """Entry point: no exception escapes as a traceback."""
    # pydantic scans every installed package's metadata for plugins on first use (about
    # 15 ms of each command); the CLI uses none. Set the variable to "" to allow them.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        cli.main(prog_name="scheduler", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if isinstance(exc, click.UsageError) else EXIT_INVALID)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_OK)
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except SchedulerError as exc:  # a known failure (bad settings file, ...): one message
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    except Exception as exc:
        click.echo(f"error: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_INVALID)
