"""``scheduler plan --base GITREF`` and ``scheduler diff OLD_DIR NEW_DIR``.

Both compare two sets of jobs and print a :class:`scheduler.core.diff.Plan` as text, Markdown
(a pull-request comment) or JSON (shape in :mod:`scheduler.cli.planreport`). Exit 0 whatever
the diff; 1 when the new side is invalid (its located errors are printed instead); 2 for
usage errors (an unknown revision, no git repository, a missing folder).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from scheduler.cli.options import (
    EXIT_INVALID,
    EXIT_OK,
    format_option,
    jobs_dir_accepted,
    jobs_dir_option,
)

if TYPE_CHECKING:
    from scheduler.cli.planreport import Sides
    from scheduler.core.catalog import Catalog

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("text", "markdown", "json")
_format_option = format_option(
    *FORMATS, help="Output format: text for people, markdown for a pull-request comment, json."
)


def _now_option(fn: F) -> F:
    # Hidden: tests and reproducible output pin the instant the next runs are counted from.
    return click.option("--now", "now_text", hidden=True, metavar="ISO8601")(fn)


@click.command()
@click.option(
    "--base",
    required=True,
    metavar="GITREF",
    help="The git revision to compare against (origin/main, HEAD~1, a tag or commit id).",
)
@jobs_dir_option
@_format_option
@_now_option
def plan(base: str, jobs_dir: Path, fmt: str, now_text: str | None) -> None:
    """Show what the jobs in the working tree change against git revision GITREF.

    Jobs added, removed, renamed and changed field by field, their next 5 runs before and
    after, and warnings a reviewer must not miss. The working tree is the new side,
    uncommitted changes included. Exit 0 whatever the diff, 1 when the working tree's
    jobs are invalid.
    """
    from scheduler.cli.planreport import Sides
    from scheduler.config import gitsource
    from scheduler.config.catalog import display_path, load_paths
    from scheduler.core.catalog import Catalog

    now = _parse_now(now_text)
    try:
        snapshot = gitsource.load_at_ref(jobs_dir, base, now)
        dirty = gitsource.has_uncommitted_changes(snapshot.place)
    except gitsource.UnknownRefError as exc:
        raise click.BadParameter(str(exc), param_hint="--base") from None
    except gitsource.GitError as exc:
        raise click.UsageError(str(exc)) from None
    head_dir = display_path(jobs_dir)
    if jobs_dir.is_dir():
        new = load_paths([jobs_dir], now)
    elif snapshot.dir_exists:
        new = Catalog()  # the change deletes the whole folder
    else:
        raise click.UsageError(
            f"jobs directory {head_dir!r} does not exist, here or at {base} (see --jobs-dir)"
        )
    sides = Sides(
        base_label=base,
        base_commit=snapshot.commit,
        base_dir=snapshot.place.prefix or ".",
        base_exists=snapshot.dir_exists,
        head_label="working tree",
        head_dir=head_dir,
        uncommitted=dirty,
    )
    _report(snapshot.catalog, new, now, sides, fmt, snapshot.source_root, head_dir)


@click.command()
@click.argument("old_dir", type=click.Path(path_type=Path, file_okay=False))
@click.argument("new_dir", type=click.Path(path_type=Path, file_okay=False))
@jobs_dir_accepted
@_format_option
@_now_option
def diff(old_dir: Path, new_dir: Path, fmt: str, now_text: str | None) -> None:
    """Show what changes from the jobs in OLD_DIR to those in NEW_DIR.

    The same report as 'plan', for two folders (two checkouts, a rendered ConfigMap).
    Exit 0 whatever the diff, 1 when NEW_DIR's jobs are invalid.
    """
    from scheduler.cli.planreport import Sides
    from scheduler.config.catalog import display_path, load_paths

    for name, folder in (("OLD_DIR", old_dir), ("NEW_DIR", new_dir)):
        if not folder.is_dir():
            raise click.BadParameter(f"folder {str(folder)!r} does not exist", param_hint=name)
    now = _parse_now(now_text)
    old_label, new_label = display_path(old_dir), display_path(new_dir)
    sides = Sides(
        base_label=old_label, base_dir=old_label, head_label=new_label, head_dir=new_label
    )
    old, new = load_paths([old_dir], now), load_paths([new_dir], now)
    _report(old, new, now, sides, fmt, old_label, new_label)


def _report(
    old: Catalog,
    new: Catalog,
    now: datetime,
    sides: Sides,
    fmt: str,
    old_root: str,
    new_root: str,
) -> None:
    from scheduler.cli.planmarkdown import invalid_markdown, plan_markdown
    from scheduler.cli.planreport import invalid_json, invalid_text, plan_json, plan_text
    from scheduler.cli.report import dumps
    from scheduler.core.diff import diff_catalogs

    if not new.valid:
        if fmt == "json":
            click.echo(dumps(invalid_json(new, sides)))
        elif fmt == "markdown":
            click.echo(invalid_markdown(new, sides), nl=False)
        else:
            click.echo(invalid_text(new, sides))
        click.echo(f"error: the jobs in {sides.head_dir} are invalid; no plan", err=True)
        sys.exit(EXIT_INVALID)
    result = diff_catalogs(old, new, now, old_root=old_root, new_root=new_root)
    if fmt == "json":
        click.echo(dumps(plan_json(result, sides)))
    elif fmt == "markdown":
        click.echo(plan_markdown(result, sides), nl=False)
    else:
        click.echo(plan_text(result, sides))
    sys.exit(EXIT_OK)


def _parse_now(value: str | None) -> datetime:
    if value is None:
        from scheduler.core.clock import SystemClock

        return SystemClock().now()
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 date-time with an offset (2026-06-01T12:00:00Z)",
            param_hint="--now",
        )
    if not 1900 <= parsed.year <= 8000:
        raise click.BadParameter(f"year {parsed.year} is out of range", param_hint="--now")
    return parsed
