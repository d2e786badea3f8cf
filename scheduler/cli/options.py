"""Options and exit codes shared by every command (``cli/app.py`` and ``cli/commands/``).

Its own module, so command modules need not import ``app.py`` (which imports them).
The contract (DESIGN.md, "The command line") gives every command ``--jobs-dir``, every one
that touches records or Redis ``--data-dir`` and ``--redis-url``, so that a script can pass
the same options to all of them; a command that has no use for one takes it through the
``*_accepted`` form, which checks the value (and its environment variable) and drops it.
tests/cli/test_common_options.py holds every command to this.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


UNUSED = " Accepted for a uniform command line; this command does not use it."


def _jobs_dir(help: str, *, expose: bool) -> Callable[[F], F]:
    return click.option(
        "--jobs-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default="jobs.d",
        envvar="SCHEDULER_JOBS_DIR",
        show_default=True,
        show_envvar=True,
        expose_value=expose,
        help=help,
    )


def _redis_url(help: str, *, expose: bool) -> Callable[[F], F]:
    return click.option(
        "--redis-url",
        envvar="REDIS_URL",
        show_envvar=True,
        default=None,
        expose_value=expose,
        callback=_check_redis_url,
        help=help,
    )


def _check_redis_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A malformed URL is a usage error (exit 2) on every command, the watcher included."""
    if value:
        from redis.connection import parse_url  # only when given: `next` never pays for it

        try:
            parse_url(value)  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def jobs_dir_option(fn: F) -> F:
    return _jobs_dir("Folder of job files.", expose=True)(fn)


def jobs_dir_accepted(fn: F) -> F:
    """``--jobs-dir`` on a command that does not read job files (its value is not passed)."""
    return _jobs_dir("Folder of job files." + UNUSED, expose=False)(fn)


def data_dir_option(fn: F) -> F:
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default="data",
        envvar="SCHEDULER_DATA_DIR",
        show_default=True,
        show_envvar=True,
        help="Folder of the SQLite records (and of the embedded Redis).",
    )(fn)


def redis_url_option(fn: F) -> F:
    return _redis_url(
        "Redis to use; unset means the embedded one under the data dir.", expose=True
    )(fn)


def redis_url_accepted(fn: F) -> F:
    """``--redis-url`` on a command that reads only the records (its value is not passed)."""
    return _redis_url("Redis to use." + UNUSED, expose=False)(fn)


def format_option(
    *choices: str, help: str = "Output format.", expose: bool = True
) -> Callable[[F], F]:
    """``--format`` with these choices; the first is the default. ``expose=False`` for a
    command with one format, which takes the option only to accept it."""

    def decorate(fn: F) -> F:
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default=choices[0],
            show_default=True,
            expose_value=expose,
            help=help,
        )(fn)

    return decorate
