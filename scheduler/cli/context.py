"""What the commands share at run time: the clock, the Redis client, the loaded jobs.

Its own module below ``app.py`` and ``commands/``, so that no command imports the module
that registers it. Only click is imported at import time (``scheduler next`` starts fast):
Redis, the engine and the clock are imported inside the functions.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import click

from scheduler.cli.options import EXIT_INVALID

if TYPE_CHECKING:
    from scheduler.core.catalog import Catalog
    from scheduler.core.job import LoadedJob


def connect_redis(data_dir: Path, redis_url: str | None) -> Any:
    """A client for the Redis in use: the given URL, else the embedded one if it runs.

    Exits 1 when there is neither; a malformed URL is a usage error of ``--redis-url``.
    """
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


def connect_redis_if_known(data_dir: Path, redis_url: str | None) -> Any:
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


def now_utc() -> datetime:
    """The current instant (aware, UTC) from the system clock."""
    from scheduler.core.clock import SystemClock

    return SystemClock().now()


def require_dir(jobs_dir: Path) -> None:
    """A usage error (exit 2) when the jobs directory does not exist."""
    if not jobs_dir.is_dir():
        raise click.UsageError(f"jobs directory {str(jobs_dir)!r} does not exist (see --jobs-dir)")


def load_catalog(jobs_dir: Path) -> Catalog:
    """The catalog of ``jobs_dir``'s valid jobs; invalid files are skipped with a warning.

    Without the loader's dated warnings (a past one-shot, no future run): the commands
    using it print none, and asking every cron for its next run would import croniter.
    """
    from scheduler.engine import api

    require_dir(jobs_dir)
    catalog = api.validate([jobs_dir], None)
    if catalog.errors:
        bad = sorted({e.file for e in catalog.errors})
        click.echo(
            f"warning: {len(bad)} invalid job file(s) skipped ({', '.join(bad)}); "
            "run 'scheduler validate' for details",
            err=True,
        )
    return catalog


def find_job(catalog: Catalog, name: str) -> LoadedJob:
    """The valid job ``name`` of ``catalog``; exits 1 with the reason when there is none."""
    from scheduler.core.errors import SchedulerError
    from scheduler.engine import api

    try:
        return api.find_job(catalog, name)
    except SchedulerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)


class ExitNow(SystemExit):
    """Exit with ``code`` without tearing the interpreter down (``app.main`` acts on it).

    A command that built a large object graph (``validate`` of 10,000 files) spends a
    tenth of its time freeing it at exit, for nothing: the process ends. Raised only where
    no atexit work matters (no user code imported, no child process or server left). Any
    other caller sees a plain ``SystemExit(code)``.
    """

    #: True once ``app.main`` runs the command: the process then ends on an ExitNow, and
    #: what the command changed in the interpreter (the collector turned off) need not be
    #: given back. An in-process caller (click's ``CliRunner``, a library) gets it back.
    ends_process: ClassVar[bool] = False


def exit_now(code: int) -> None:
    """Raise ``ExitNow(code)`` (see there)."""
    raise ExitNow(code)
