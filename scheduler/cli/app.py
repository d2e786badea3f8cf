"""The ``scheduler`` command: the click group, its commands, and the entry point.

The commands live in ``cli/commands/`` by family, each parsing options, calling the library
(``engine.api``), printing, and choosing the exit code; what they share is in
``cli/context.py`` and ``cli/options.py``, below this module, so none imports it.

Exit codes: 0 success, 1 the checked thing is wrong (invalid jobs, unknown job),
2 usage error. No input makes it print a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from collections.abc import Iterator, MutableMapping
from importlib import import_module

import click

from scheduler import __version__
from scheduler.cli.context import ExitNow
from scheduler.cli.options import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from scheduler.core.errors import SchedulerError

# name -> (module under cli/commands/, attribute), in the order `--help` has always listed.
_COMMANDS = {
    "validate": ("validate", "validate"),
    "schema": ("validate", "schema"),
    "next": ("jobs", "next_"),
    "list": ("jobs", "list_"),
    "trigger": ("records", "trigger"),
    "history": ("records", "history"),
    "status": ("records", "status"),
    "health": ("records", "health"),
    "run": ("run", "run_"),
    "worker": ("run", "worker"),
    "init": ("scaffold", "init"),
    "new": ("scaffold", "new"),
    "simulate": ("simulate", "simulate"),
    "plan": ("plan", "plan"),
    "diff": ("plan", "diff"),
    "pause": ("pause", "pause"),
    "resume": ("pause", "resume"),
    "web": ("web", "web"),
    "prune": ("maintenance", "prune"),
    "backup": ("maintenance", "backup"),
    "restore": ("maintenance", "restore"),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands, each module imported only when its command is looked up.

    ``scheduler next`` then loads one command family, not the records, Redis and web ones
    it never runs (issue 13: ``next`` under 200 ms, interpreter start included). Listing
    the names (``--help``, did-you-mean) imports nothing; ``--help`` then looks each up.
    """

    def __init__(self, where: dict[str, tuple[str, str]]) -> None:
        self._where = dict(where)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, attr = self._where[name]  # KeyError: no such command, as a dict says
            self._loaded[name] = getattr(import_module(f"scheduler.cli.commands.{module}"), attr)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._where.setdefault(name, ("", ""))
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._where[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


@click.group(
    commands=LazyCommands(_COMMANDS),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="scheduler")
def cli() -> None:
    """Declarative job scheduler: YAML jobs in jobs.d/, dispatched to RQ on Redis."""


_PLUGINS_OFF = ("__all__", "1", "true")  # the values pydantic reads as "no plugins at all"


def _without_plugin_discovery() -> None:
    """With pydantic's plugins off, spare every command the import that only finds them.

    pydantic's plugin loader imports ``importlib.metadata`` (and the email package under
    it: some 10 ms of ``scheduler next``) at its top, even when the variable below tells it
    to return no plugins. Standing in for it with a loader that returns none does what the
    real one would; it is the only name pydantic imports from it (2.x). Used only when the
    variable switches plugins off and the loader is not imported yet.
    """
    name = "pydantic.plugin._loader"
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") not in _PLUGINS_OFF or name in sys.modules:
        return
    loader = types.ModuleType(name, "No pydantic plugins (see scheduler.cli.app).")
    loader.get_plugins = tuple  # type: ignore[attr-defined]  # () : no plugin

    def real(attr: str) -> object:
        # A later pydantic asking for another name gets the real loader, not an ImportError
        # (dunder probes of the import machinery are no such name).
        if attr.startswith("__"):
            raise AttributeError(attr)
        if sys.modules.get(name) is loader:
            del sys.modules[name]
        return getattr(import_module(name), attr)

    loader.__getattr__ = real  # type: ignore[method-assign]
    sys.modules[name] = loader


def main() -> None:
    """Entry point: no exception escapes as a traceback."""
    # pydantic scans every installed package's metadata for plugins on first use (about
    # 15 ms of each command); the CLI uses none. Set the variable to "" to allow them.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    _without_plugin_discovery()
    ExitNow.ends_process = True  # below: the process ends on one (_flush_and_exit)
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
    except ExitNow as exc:
        _flush_and_exit(exc.code)
    except SystemExit:
        raise
    except SchedulerError as exc:  # a known failure (bad settings file, ...): one message
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    except Exception as exc:
        click.echo(f"error: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_INVALID)


def _flush_and_exit(code: object) -> None:
    """End the process now: output and log handlers flushed, nothing else torn down."""
    logging = sys.modules.get("logging")  # not imported for it: no handler to flush then
    if logging is not None:
        logging.shutdown()  # flushes every handler (structlog writes through them or stdout)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to deliver
            stream.flush()
    os._exit(code if isinstance(code, int) else EXIT_INVALID)
