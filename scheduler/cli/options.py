"""Options and exit codes shared by every command (``cli/app.py`` and ``cli/commands/``).

Its own module, so command modules need not import ``app.py`` (which imports them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def jobs_dir_option(fn: F) -> F:
    return click.option(
        "--jobs-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default="jobs.d",
        envvar="SCHEDULER_JOBS_DIR",
        show_default=True,
        show_envvar=True,
        help="Folder of job files.",
    )(fn)


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
    return click.option(
        "--redis-url",
        envvar="REDIS_URL",
        show_envvar=True,
        default=None,
        help="Redis to use; unset means the embedded one under the data dir.",
    )(fn)


def format_option(*choices: str, help: str = "Output format.") -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default="text",
            show_default=True,
            help=help,
        )(fn)

    return decorate
