"""The ``scheduler`` command: the click group, its commands, and the entry point.

The commands live in ``cli/commands/`` by family, each parsing options, calling the library
(``engine.api``), printing, and choosing the exit code; what they share is in
``cli/context.py`` and ``cli/options.py``, below this module, so none imports it.

Exit codes: 0 success, 1 the checked thing is wrong (invalid jobs, unknown job),
2 usage error. No input makes it print a traceback.
"""

from __future__ import annotations

import os
import sys

import click

from scheduler import __version__
from scheduler.cli.commands.jobs import list_, next_
from scheduler.cli.commands.maintenance import backup, prune, restore
from scheduler.cli.commands.pause import pause, resume
from scheduler.cli.commands.plan import diff, plan
from scheduler.cli.commands.records import health, history, status, trigger
from scheduler.cli.commands.run import run_, worker
from scheduler.cli.commands.scaffold import init, new
from scheduler.cli.commands.simulate import simulate
from scheduler.cli.commands.validate import schema, validate
from scheduler.cli.commands.web import web
from scheduler.cli.options import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from scheduler.core.errors import SchedulerError

_COMMANDS = (
    validate,
    schema,
    next_,
    list_,
    trigger,
    history,
    status,
    health,
    run_,
    worker,
    init,
    new,
    simulate,
    plan,
    diff,
    pause,
    resume,
    web,
    prune,
    backup,
    restore,
)


@click.group(
    commands=_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="scheduler")
def cli() -> None:
    """Declarative job scheduler: YAML jobs in jobs.d/, dispatched to RQ on Redis."""


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
