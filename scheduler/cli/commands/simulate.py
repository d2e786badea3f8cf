"""``scheduler simulate``: what the watcher would do with every run instant of a window.

Naive date-times in ``--from``, ``--to`` and ``--outage`` are UTC: one window serves jobs
in every time zone. Output shows each instant in its job's zone with its UTC offset.

JSON (``--format json``), stable::

    {
      "from": "2026-03-28T00:00:00+00:00",      # the window (from, to], UTC
      "to": "2026-03-30T00:00:00+00:00",
      "outages": [{"start": "...+00:00", "end": "...+00:00"}],   # UTC, sorted, merged
      "counts": {"run": 0, "late": 0, "catch-up": 0, "missed": 0, "skipped": 0},
      "jobs": [{"name", "timezone", "enabled", "counts": {...}}],   # by name
      "occurrences": [{"job", "scheduled_for", "scheduled_for_utc", "outcome",
                       "dispatched_at", "dispatched_at_utc", "reason"}]
    }

``scheduled_for`` / ``dispatched_at`` are local ISO-8601 with offset, the ``_utc`` twins
UTC; ``dispatched_at`` is null for missed and skipped instants. Occurrences are ordered
by scheduled instant, then job name.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scheduler.cli.context import load_catalog
from scheduler.cli.options import EXIT_INVALID, EXIT_OK, format_option, jobs_dir_option

if TYPE_CHECKING:
    from scheduler.core.job import LoadedJob
    from scheduler.core.simulate import Occurrence

_FROM_HELP = "Start of the window (exclusive), ISO-8601; without an offset it is UTC."
_TO_HELP = "End of the window (inclusive), ISO-8601; without an offset it is UTC."
_OUTAGE_HELP = (
    "A stretch with no watcher: START/DURATION (2026-03-29T01:00/2h30m) or START/END. "
    "Nothing dispatches from START; at the end every job resumes as after a restart. "
    "Repeatable."
)


@click.command(name="simulate")
@click.option("--from", "start", required=True, metavar="ISO8601", help=_FROM_HELP)
@click.option("--to", "end", required=True, metavar="ISO8601", help=_TO_HELP)
@click.option("--outage", "outages", multiple=True, metavar="START/DURATION", help=_OUTAGE_HELP)
@click.option("--job", "names", multiple=True, metavar="NAME", help="Only this job (repeatable).")
@jobs_dir_option
@format_option("text", "json")
def simulate(
    start: str,
    end: str,
    outages: tuple[str, ...],
    names: tuple[str, ...],
    jobs_dir: Path,
    fmt: str,
) -> None:
    """Replay the watcher over a window: each run instant and what becomes of it.

    Every instant in (--from, --to] of every job is listed with its outcome: run,
    catch-up, missed, or skipped (disabled job). Date-times without an offset are UTC.
    Exit 1 when a --job is unknown or invalid, 2 on bad options or too big a window.
    """
    from scheduler.cli.report import dumps
    from scheduler.core import simulate as sim
    from scheduler.core.errors import SchedulerError
    from scheduler.engine import api

    window = (_parse_instant(start, "--from"), _parse_instant(end, "--to"))
    asked = [_parse_outage(text) for text in outages]
    try:
        merged = sim.check_window(*window, asked)
    except sim.OutageError as exc:
        raise click.BadParameter(str(exc), param_hint="'--outage'") from None
    except sim.WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="'--from' / '--to'") from None
    catalog = load_catalog(jobs_dir)
    jobs = list(catalog.jobs.values())
    if names:
        try:
            jobs = [api.find_job(catalog, name) for name in dict.fromkeys(names)]
        except SchedulerError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INVALID)
    try:
        found = sim.simulate(jobs, *window, merged)
    except sim.TooManyOccurrencesError as exc:
        raise click.UsageError(f"{exc} (--from/--to, --job NAME)") from None
    jobs.sort(key=lambda j: j.name)
    if fmt == "json":
        click.echo(dumps(_as_json(jobs, window, merged, found)))
    else:
        click.echo(_as_text(jobs, window, merged, found))
    sys.exit(EXIT_OK)


def _parse_instant(text: str, option: str) -> datetime:
    """An ISO-8601 date-time; naive means UTC. Raises click.BadParameter."""
    from scheduler.core.fieldchecks import MAX_YEAR, MIN_YEAR

    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO-8601 date-time (e.g. 2026-03-29T01:00:00+01:00)",
            param_hint=f"'{option}'",
        ) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise click.BadParameter(
            f"year {parsed.year} is outside {MIN_YEAR}-{MAX_YEAR}", param_hint=f"'{option}'"
        )
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _parse_outage(text: str) -> tuple[datetime, datetime]:
    """START/DURATION or START/END as (down, up). Raises click.BadParameter."""
    from scheduler.core.durations import DurationSyntaxError, parse_duration

    head, slash, tail = text.partition("/")
    if not slash or not head.strip() or not tail.strip():
        raise click.BadParameter(
            f"{text!r} is not START/DURATION or START/END (e.g. 2026-03-29T01:00/2h)",
            param_hint="'--outage'",
        )
    down = _parse_instant(head, "--outage")
    try:
        return down, down + parse_duration(tail)
    except DurationSyntaxError as exc:
        duration_error = str(exc)
    try:
        up = _parse_instant(tail, "--outage")
    except click.BadParameter:
        raise click.BadParameter(
            f"{tail.strip()!r} after '/' is neither a duration nor an ISO-8601 date-time "
            f"({duration_error})",
            param_hint="'--outage'",
        ) from None
    return down, up


def _counts(found: list[Occurrence]) -> dict[str, int]:
    from scheduler.core.simulate import Outcome

    tally = Counter(o.outcome for o in found)
    return {str(outcome): tally[outcome] for outcome in Outcome}


def _per_job(jobs: list[LoadedJob], found: list[Occurrence]) -> dict[str, list[Occurrence]]:
    grouped: dict[str, list[Occurrence]] = {job.name: [] for job in jobs}
    for o in found:
        grouped[o.job].append(o)
    return grouped


def _as_json(
    jobs: list[LoadedJob],
    window: tuple[datetime, datetime],
    outages: list[tuple[datetime, datetime]],
    found: list[Occurrence],
) -> dict[str, Any]:
    from scheduler.core.localtime import local_iso
    from scheduler.core.runs import iso_utc

    zones = {job.name: job.timezone for job in jobs}
    per_job = _per_job(jobs, found)
    return {
        "from": iso_utc(window[0]),
        "to": iso_utc(window[1]),
        "outages": [{"start": iso_utc(down), "end": iso_utc(up)} for down, up in outages],
        "counts": _counts(found),
        "jobs": [
            {
                "name": job.name,
                "timezone": job.timezone_name,
                "enabled": job.enabled,
                "counts": _counts(per_job[job.name]),
            }
            for job in jobs
        ],
        "occurrences": [
            {
                "job": o.job,
                "scheduled_for": local_iso(o.scheduled_for, zones[o.job]),
                "scheduled_for_utc": iso_utc(o.scheduled_for),
                "outcome": str(o.outcome),
                "dispatched_at": None
                if o.dispatched_at is None
                else local_iso(o.dispatched_at, zones[o.job]),
                "dispatched_at_utc": None if o.dispatched_at is None else iso_utc(o.dispatched_at),
                "reason": o.reason,
            }
            for o in found
        ],
    }


def _as_text(
    jobs: list[LoadedJob],
    window: tuple[datetime, datetime],
    outages: list[tuple[datetime, datetime]],
    found: list[Occurrence],
) -> str:
    from scheduler.core.localtime import local_iso
    from scheduler.core.runs import iso_utc

    down = "; ".join(f"down {iso_utc(a)} .. {iso_utc(b)}" for a, b in outages) or "no outage"
    lines = [f"simulated {iso_utc(window[0])} .. {iso_utc(window[1])} (UTC), {down}"]
    zones = {job.name: job.timezone for job in jobs}
    width = max((len(job.name) for job in jobs), default=0)
    for o in found:
        tz = zones[o.job]
        note = o.reason
        if o.dispatched_at is not None and o.dispatched_at != o.scheduled_for:
            note += f"; dispatched at {local_iso(o.dispatched_at, tz)}"
        lines.append(
            f"{local_iso(o.scheduled_for, tz)}  {o.job:<{width}}  {o.outcome!s:<8}  {note}"
        )
    if not found:
        lines.append("no run instants in the window")
    lines.append("")
    zone_width = max((len(job.timezone_name) for job in jobs), default=0) + 2
    per_job = _per_job(jobs, found)
    for job in jobs:
        counts = _counts(per_job[job.name])
        tally = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n) or "no runs"
        zone = f"[{job.timezone_name}]"
        lines.append(f"{job.name:<{width}}  {zone:<{zone_width}}  {tally}")
    if not jobs:
        lines.append("no jobs")
    return "\n".join(lines)
