"""``trigger``, ``history``, ``status`` and ``health``: runs and the watcher, as recorded.

``history``, ``status`` and ``health`` read the SQLite records under the data dir (and
Redis, for live pauses); ``trigger`` enqueues one manual run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scheduler.cli.context import (
    connect_redis,
    connect_redis_if_known,
    find_job,
    load_catalog,
    now_utc,
)
from scheduler.cli.options import (
    EXIT_INVALID,
    EXIT_OK,
    data_dir_option,
    format_option,
    jobs_dir_accepted,
    jobs_dir_option,
    redis_url_accepted,
    redis_url_option,
)
from scheduler.core.ledger import LEDGER


def records_text(records: dict[str, object]) -> str:
    """The records' line of ``health``: nothing while they take writes."""
    if records.get("ok"):
        return ""
    waiting = records.get("waiting")
    return f"\nrecords: FAILING: {records.get('error')}" + (
        f" (since {records['since']}, {waiting} writes waiting)" if records.get("since") else ""
    )


@click.command()
@click.argument("name")
@jobs_dir_option
@data_dir_option
@redis_url_option
@format_option("text", "json")
def trigger(name: str, jobs_dir: Path, data_dir: Path, redis_url: str | None, fmt: str) -> None:
    """Run job NAME now: enqueue one run at once, recorded as manual."""
    import redis

    from scheduler.cli.report import dumps
    from scheduler.engine import actions

    catalog = load_catalog(jobs_dir)
    job = find_job(catalog, name)
    try:
        result = actions.trigger(connect_redis(data_dir, redis_url), data_dir, job, now_utc())
    except redis.RedisError as exc:
        click.echo(f"error: cannot reach Redis: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    if fmt == "json":
        click.echo(dumps(result))
    else:
        click.echo(
            f"enqueued {result['job']} as {result['run_id']} on queue {result['queue']}"
            + (" (canary: dry_run forced)" if result["canary"] else "")
        )


@click.command()
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option(
    "--status",
    type=click.Choice(list(LEDGER)),
    default=None,
    help="Only runs in this state: a status, or a ledger state such as skipped-overlap, "
    "missed-downtime, missed-grace, paused, deduplicated, replaced, timeout, manual, catch-up.",
)
@jobs_dir_option
@data_dir_option
@redis_url_accepted
@format_option("text", "json")
def history(
    name: str | None, limit: int, status: str | None, jobs_dir: Path, data_dir: Path, fmt: str
) -> None:
    """Recorded runs (of job NAME), newest first.

    NAME may be a job deleted from the jobs dir: its runs are still shown. A name with no
    runs that no job file defines either is a typo: exit 1, as ``next`` and ``trigger`` do.
    """
    from scheduler.cli.report import dumps, history_table
    from scheduler.core.errors import StoreError
    from scheduler.engine.runhistory import history as read_history

    try:
        rows = read_history(data_dir, job=name, status=status, limit=limit)
        if name is not None and not rows and jobs_dir.is_dir():
            _require_known(name, jobs_dir, data_dir)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    click.echo(dumps(rows) if fmt == "json" else history_table(rows))


def _require_known(name: str, jobs_dir: Path, data_dir: Path) -> None:
    """Exit 1 when ``name`` is neither a job of ``jobs_dir`` nor a job with any run."""
    from scheduler.core.errors import InvalidJobError, UnknownJobError
    from scheduler.engine import api
    from scheduler.engine.runhistory import history as read_history

    try:
        api.find_job(api.validate([jobs_dir], None), name)
    except InvalidJobError:
        return  # its file is rejected, but it names the job: not a typo
    except UnknownJobError as exc:
        if not read_history(data_dir, job=name, status=None, limit=1):
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INVALID)


@click.command()
@jobs_dir_option
@data_dir_option
@redis_url_option
@format_option("text", "json")
def status(jobs_dir: Path, data_dir: Path, redis_url: str | None, fmt: str) -> None:
    """Each job: enabled, next run, last run and its status; and the watcher's health."""
    from scheduler.cli.report import dumps, status_text
    from scheduler.engine import api

    conn = connect_redis_if_known(data_dir, redis_url)
    live = None if conn is None else api.live_pauses(conn, now_utc())
    data = api.status(load_catalog(jobs_dir), data_dir, now_utc(), live_pauses=live)
    click.echo(dumps(data) if fmt == "json" else status_text(data))


@click.command()
@jobs_dir_accepted
@data_dir_option
@redis_url_option
@format_option("text", "json")
def health(data_dir: Path, redis_url: str | None, fmt: str) -> None:
    """Exit 0 when the watcher's heartbeat is fresh, 1 otherwise (a container probe).

    A watcher whose records fail (full disk, damaged file) still dispatches: it is
    healthy, and the records' failure is reported beside.
    """
    from scheduler.cli.report import dumps, leadership_text, paused_text
    from scheduler.engine import api

    data = api.health(data_dir, now_utc(), connect_redis_if_known(data_dir, redis_url))
    if fmt == "json":
        click.echo(dumps(data))
    else:
        age = data["heartbeat_age_s"]
        click.echo(
            f"{'ok' if data['healthy'] else 'unhealthy'}: watcher {data['state']}"
            + (f", heartbeat {age:.1f}s ago" if age is not None else "")
            + (f", generation {data['generation']}" if data["generation"] else "")
            + (f"\n{leadership_text(data)}" if data.get("role") else "")
            + paused_text(data.get("paused") or {})
            + records_text(data["records"])
        )
    sys.exit(EXIT_OK if data["healthy"] else EXIT_INVALID)
