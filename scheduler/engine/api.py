"""The library behind the CLI: each command is one call here that tests can make directly."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from scheduler.config.catalog import load_paths
from scheduler.config.project import Project
from scheduler.core.catalog import Catalog
from scheduler.core.errors import InvalidJobError, UnknownJobError
from scheduler.core.job import LoadedJob
from scheduler.core.localtime import local_iso
from scheduler.core.schedule import next_runs
from scheduler.engine.runhistory import DB_NAME, history, store_path
from scheduler.engine.statusrows import kept_from_rejected, status_row

__all__ = ["DB_NAME", "history", "store_path"]  # what callers import from here

if TYPE_CHECKING:
    from scheduler.core.runs import RunRequest

MAX_COUNT = 10_000


def validate(
    paths: Sequence[Path],
    now: datetime | None,
    *,
    project: Project | None = None,
    helper: bool = False,
    root: Path | None = None,
) -> Catalog:
    """Load and check every job file under ``paths``; the catalog holds all problems.

    ``now`` None: without the warnings that depend on the date (and no lint findings).

    ``helper``: a big tree may be read with a forked helper process (``load_paths``).
    ``root``: the jobs dir, whose defaults files apply to the paths inside it.
    """
    return load_paths(paths, now, project=project, helper=helper, root=root)


def check_tasks(catalog: Catalog, project: Project, *, import_tasks: bool) -> None:
    """Check tasks and params against the task code (``import_tasks``), flag production mode."""
    from scheduler.config.taskcheck import check_tasks as check

    check(catalog, project, import_tasks=import_tasks)


def lint(catalog: Catalog, now: datetime, *, strict: bool = False) -> None:
    """Add the schedule linter's warnings to the catalog; ``strict`` makes them errors.

    Only ``validate`` lints: ``next`` and ``list`` do not pay for it. Under ``strict`` the
    loader's own warnings (a one-shot in the past, an empty file) become errors too.
    """
    from scheduler.core.lint import lint_catalog

    by_file = {f.file: f for f in catalog.files}
    for warning in lint_catalog(catalog, now):
        by_file[warning.file].warnings.append(warning)
    if strict:
        for f in catalog.files:
            f.errors.extend(w.as_error() for w in f.warnings)
            f.warnings.clear()


def find_job(catalog: Catalog, name: str) -> LoadedJob:
    """The valid job called ``name`` (or that was: a name in its ``previous_names``).

    Raises InvalidJobError when the file defining it is rejected, else UnknownJobError.
    """
    job = catalog.jobs.get(name)
    if job is not None:
        return job
    renamed = [j for j in catalog.jobs.values() if name in j.previous_names]
    if len(renamed) == 1:
        return renamed[0]  # an old name keeps working after a rename
    rejected = catalog.invalid_file_for(name)
    if rejected is not None:
        raise InvalidJobError(name, rejected.errors)
    known = [j.name for f in catalog.files for j in f.jobs]
    import difflib  # only for an unknown name: not on the path of every `next`

    raise UnknownJobError(name, difflib.get_close_matches(name, known, n=2, cutoff=0.6))


@dataclass(frozen=True)
class Upcoming:
    job: LoadedJob
    runs: list[datetime]

    def as_json(self) -> dict[str, Any]:
        tz = self.job.timezone
        return {
            "job": self.job.name,
            "timezone": self.job.timezone_name,
            "runs": [local_iso(r, tz) for r in self.runs],
        }


def upcoming(job: LoadedJob, after: datetime, count: int) -> Upcoming:
    """The next ``count`` runs of ``job`` strictly after ``after`` (aware)."""
    return Upcoming(job, next_runs(job.schedule, after, count))


def job_rows(catalog: Catalog, now: datetime) -> list[dict[str, Any]]:
    """One row per valid job, sorted by name, as ``list --format json`` prints them."""
    rows = []
    for name in sorted(catalog.jobs):
        job = catalog.jobs[name]
        rows.append(job_row(job, job.schedule.next_after(now) if job.spec.enabled else None))
    return rows


def job_row(job: LoadedJob, nxt: datetime | None) -> dict[str, Any]:
    """The ``list --format json`` row of ``job``, whose next run is ``nxt`` (None: none)."""
    from scheduler.core.describe import describe_schedule

    spec = job.spec
    return {
        "name": job.name,
        "description": spec.description,
        "task": spec.task,
        "queue": spec.queue,
        "enabled": spec.enabled,
        "schedule": spec.schedule.model_dump(mode="json", exclude_none=True),
        "schedule_text": describe_schedule(spec.schedule),
        "timezone": spec.schedule.timezone,
        "next_run": None if nxt is None else local_iso(nxt, job.timezone),
        "next_run_utc": None if nxt is None else nxt.astimezone(UTC).isoformat(),
        "file": job.file,
        "line": job.line,
        "params": spec.params,
        "canary": spec.canary,
        "defaults": list(job.defaults_files),
    }


# -- records and the running system --------------------------------------------------

#: `health` calls a heartbeat older than this stale (the watcher writes one every 2 s).
HEARTBEAT_MAX_AGE_S = 30.0
#: What ``status`` and ``health`` read about the watcher ("leadership": see handover.py).
_WATCHER_META = ("generation", "heartbeat", "last_rejected", "leadership", "paused")


def status(
    catalog: Catalog,
    data_dir: Path,
    now: datetime,
    *,
    live_pauses: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Each job with its next run and last run (from SQLite), plus the watcher's health.

    Runtime pauses (drift from git) come from ``live_pauses`` (read from Redis) when
    given, else from the copy the watcher keeps in SQLite.
    """
    from scheduler.core.errors import StoreMissingError
    from scheduler.store import Store

    states: dict[str, Any] = {}
    last: dict[str, Any] = {}
    meta: dict[str, tuple[str, datetime] | None] = {}
    try:
        with Store.open_readonly(store_path(data_dir)) as store:
            states = store.job_states()
            last = store.last_runs()
            meta = {k: store.get_meta(k) for k in _WATCHER_META}
    except StoreMissingError:
        pass
    jobs = []
    for name in sorted(catalog.jobs):
        job = catalog.jobs[name]
        state = states.get(name)
        nxt = state.next_run if state is not None else None
        if nxt is None and job.enabled:
            nxt = job.schedule.next_after(now)
        jobs.append(status_row(name, job.enabled, nxt, last.get(name), job.file, job.timezone))
    for name, state, error in kept_from_rejected(catalog, states):
        # Its file is invalid now, and the watcher runs the last valid definition: shown
        # (in UTC: its zone was in the file), not dropped as if it no longer ran.
        row = status_row(
            name, state.enabled, state.next_run, last.get(name), error.file, ZoneInfo("UTC")
        )
        jobs.append({**row, "rejected": str(error)})
    jobs.sort(key=lambda row: str(row["name"]))
    watcher = watcher_health(meta, now)
    paused = watcher["paused"] if live_pauses is None else live_pauses
    watcher["paused"] = paused
    for row in jobs:
        row["paused"] = paused.get(str(row["name"]))
    return {"watcher": watcher, "jobs": jobs}


def live_pauses(conn: Any, now: datetime) -> dict[str, dict[str, Any]] | None:
    """The pauses in force, read from Redis; None when Redis cannot be read."""
    import redis

    from scheduler.core.pause import active
    from scheduler.engine import pauses

    try:
        found = active(pauses.read(conn), now)
    except redis.RedisError:
        return None
    return {name: p.as_json() for name, p in sorted(found.items())}


def _paused(meta: tuple[str, datetime] | None, now: datetime) -> dict[str, dict[str, Any]]:
    """The watcher's copy of the pauses in force (expired ones left out)."""
    import json

    try:
        value = json.loads(meta[0]) if meta else {}
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    out = {}
    for name, data in value.items():
        until = data.get("until") if isinstance(data, dict) else None
        if until is None or datetime.fromisoformat(until) > now:
            out[name] = data
    return out


def watcher_health(meta: dict[str, tuple[str, datetime] | None], now: datetime) -> dict[str, Any]:
    """The watcher's heartbeat, live config generation and last rejected file."""
    beat = meta.get("heartbeat")
    age = None if beat is None else (now - beat[1]).total_seconds()
    state, _, watcher = (beat[0] if beat else "").partition(" ")
    healthy = (
        beat is not None and state == "running" and age is not None and age <= HEARTBEAT_MAX_AGE_S
    )
    gen = meta.get("generation")
    rejected = meta.get("last_rejected")
    return {
        "healthy": healthy,
        "state": state or "never started",
        "watcher": watcher or None,
        "heartbeat_age_s": None if age is None else round(age, 3),
        "generation": gen[0] if gen else None,
        "last_rejected": rejected[0] if rejected and rejected[0] else None,
        **_leadership(meta.get("leadership"), running=state == "running"),
        "paused": _paused(meta.get("paused"), now),
    }


def _leadership(meta: tuple[str, datetime] | None, *, running: bool) -> dict[str, Any]:
    """This watcher's role (leader or standby) and the leader it last saw (id, since)."""
    import json

    try:
        value = json.loads(meta[0]) if meta else {}
    except ValueError:
        value = {}
    leader = value.get("leader") if isinstance(value, dict) else None
    return {
        "role": value.get("role") if running and isinstance(value, dict) else None,
        "leader": leader if isinstance(leader, dict) else None,
    }


def health(data_dir: Path, now: datetime, conn: Any | None = None) -> dict[str, Any]:
    """The watcher's health from its SQLite heartbeat (works without Redis), and whether
    its records take writes (``records``).

    When the file cannot be read or written (a full disk, a damaged file), a watcher that
    goes on dispatching says so in Redis (``conn``): it is then healthy (alive), and
    ``records`` says what fails.
    """
    from scheduler.core.errors import StoreError, StoreMissingError
    from scheduler.engine.recordhealth import records_status
    from scheduler.store import Store

    records: dict[str, Any] = {"ok": True, "error": None}
    try:
        with Store.open_readonly(store_path(data_dir)) as store:
            meta = {k: store.get_meta(k) for k in _WATCHER_META}
    except StoreMissingError:
        meta = {}
    except StoreError as exc:
        meta = {}
        records = {"ok": False, "error": str(exc)}
    data = watcher_health(meta, now)
    failing = records_status(data_dir, conn)
    if failing is not None:
        records = failing
        if not data["healthy"]:  # its SQLite heartbeat waits with its other writes
            data.update(healthy=True, state="running", watcher=failing.get("watcher"))
    data["records"] = records
    return data


def in_canary(data_dir: Path, job: LoadedJob) -> bool:
    """Whether ``job`` still has canary runs to go (per the watcher's records).

    A job the watcher has not recorded yet, or recorded with another definition, starts
    its canary over.
    """
    from scheduler.core.errors import StoreMissingError
    from scheduler.store import Store

    try:
        with Store.open_readonly(store_path(data_dir)) as store:
            state = store.job_states().get(job.name)
    except StoreMissingError:
        state = None
    if state is None or state.definition_hash != job.definition_hash:
        return job.canary > 0
    return state.canary_left > 0


def trigger(
    conn: Any, job: LoadedJob, now: datetime, *, canary: bool = False, by: str | None = None
) -> dict[str, Any]:
    """Enqueue one manual run of ``job`` now (with dry_run forced when ``canary``).

    ``by``: who asked (the web's ``web:<login>``), kept in the run's note; None for the CLI.
    """
    from scheduler.core.runs import RunTrigger
    from scheduler.engine.dispatch import Dispatcher, rq_options

    request = job.run_request(now, RunTrigger.manual, canary=canary)
    # A manual run is the job's run: same timeout, TTLs and retries as a scheduled one.
    dispatcher = Dispatcher(conn, owner=by or "cli", options=lambda _name: rq_options(job))
    [outcome] = dispatcher.enqueue([request], now)
    if outcome.enqueued:
        _report_enqueued(conn, request, now, note=None if by is None else f"run now by {by}")
    return {
        "job": job.name,
        "run_id": request.run_id,
        "queue": request.queue,
        "scheduled_for": request.scheduled_for,
        "trigger": str(request.trigger),
        "enqueued": outcome.enqueued,
        "canary": request.canary,
    }


def _report_enqueued(
    conn: Any, request: RunRequest, now: datetime, *, note: str | None = None
) -> None:
    """Tell the watcher (the store's only writer) of the run, so history shows it queued.

    Best effort: the run is in RQ already, and without this report its row appears when a
    worker starts it.
    """
    import redis

    from scheduler.core.runs import EventKind, RunEvent, iso_utc
    from scheduler.worker.events import publish

    event = RunEvent(
        kind=EventKind.enqueued,
        run_id=request.run_id,
        job=request.job,
        scheduled_for=request.scheduled_for,
        trigger=request.trigger,
        at=iso_utc(now),
        canary=request.canary,
        note=note,
    )
    with contextlib.suppress(redis.RedisError):
        publish(conn, event)
