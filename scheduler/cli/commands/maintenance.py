"""``prune``, ``backup`` and ``restore``: keeping the SQLite records (retention, copies)."""

from __future__ import annotations

from pathlib import Path

import click

from scheduler.cli.context import connect_redis_if_known, now_utc, require_dir
from scheduler.cli.options import (
    data_dir_option,
    format_option,
    jobs_dir_accepted,
    jobs_dir_option,
    redis_url_accepted,
    redis_url_option,
)


def _size(n: int) -> str:
    """Bytes for people: 1.2 MB (powers of 1,000)."""
    if n < 1000:
        return f"{n} B"
    value = n / 1000
    for unit in ("KB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


@click.command()
@click.option("--dry-run", is_flag=True, help="Only say what would go, per job.")
@click.option(
    "--vacuum",
    is_flag=True,
    help="Then rewrite the file compact (once, for a file made before retention existed; "
    "needs free disk as large as the file, and the watcher's writes wait meanwhile).",
)
@jobs_dir_option
@data_dir_option
@redis_url_accepted
@format_option("text", "json")
def prune(dry_run: bool, vacuum: bool, jobs_dir: Path, data_dir: Path, fmt: str) -> None:
    """Apply the retention rules now: remove the ended runs their job's rule lets go."""
    from scheduler.cli.report import dumps
    from scheduler.config.project import load_project
    from scheduler.engine import api, maintenance

    require_dir(jobs_dir)
    project = load_project(jobs_dir)
    catalog = api.validate([jobs_dir], now_utc(), project=project)
    if catalog.errors:
        # An invalid file's jobs would fall back to the project's rule: refuse instead.
        bad = sorted({e.file for e in catalog.errors})
        raise click.ClickException(
            f"{len(bad)} invalid job file(s) ({', '.join(bad)}): fix them first "
            "(scheduler validate), so that no job is pruned by the wrong rule"
        )
    report = maintenance.prune(catalog, project, data_dir, now_utc(), dry_run=dry_run)
    data = report.as_json()
    size_after = report.size_after
    if vacuum and not dry_run:
        compacted = maintenance.vacuum(data_dir)
        size_after = compacted["size_after"]
        data.update(vacuum=compacted, size_after=size_after)
    if fmt == "json":
        click.echo(dumps(data))
        return
    verb = "would remove" if dry_run else "removed"
    for row in report.jobs:
        failed = f" ({row.failed} failed)" if row.failed else ""
        click.echo(f"{row.job}: {verb} {row.total} runs{failed}, through {row.through}")
    click.echo(
        f"{verb} {data['runs']} runs of {len(report.jobs)} jobs"
        + ("" if dry_run else f"; file {_size(report.size_before)} -> {_size(size_after)}")
    )


@click.command()
@click.argument("dest", type=click.Path(path_type=Path))
@jobs_dir_accepted
@data_dir_option
@redis_url_accepted
@format_option("text", "json")
def backup(dest: Path, data_dir: Path, fmt: str) -> None:
    """Write a consistent copy of the records to DEST (a file, or a folder) while the
    watcher runs."""
    from scheduler.cli.report import dumps
    from scheduler.engine import maintenance

    facts = maintenance.backup(data_dir, dest, now_utc())
    data = {
        "backup": str(facts.path),
        "size": facts.size,
        "runs": facts.runs,
        "taken_at": facts.taken_at,
    }
    if fmt == "json":
        click.echo(dumps(data))
    else:
        click.echo(f"backed up {facts.runs} runs to {facts.path} ({_size(facts.size)})")


@click.command()
@click.argument("src", type=click.Path(path_type=Path))
@jobs_dir_accepted
@data_dir_option
@redis_url_option
@format_option("text", "json")
def restore(src: Path, data_dir: Path, redis_url: str | None, fmt: str) -> None:
    """Replace the records with the backup SRC (the watcher must be stopped)."""
    from scheduler.cli.report import dumps
    from scheduler.engine import maintenance

    data = maintenance.restore(
        data_dir, src, now_utc(), connect_redis_if_known(data_dir, redis_url)
    )
    if fmt == "json":
        click.echo(dumps(data))
        return
    click.echo(
        f"restored {data['runs']} runs from {src} (taken {data['taken_at']})"
        + (f"; the previous file is kept as {data['previous']}" if data["previous"] else "")
        + (
            f"; the watcher's next start reads the results stream again from"
            f" {data['stream_rewind_to']}"
            if data["stream_rewind_to"]
            else ""
        )
    )
