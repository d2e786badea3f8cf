"""The data behind one job's page, the timeline, and the actions (shared by pages and API)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from scheduler.core.errors import SchedulerError
from scheduler.core.job import LoadedJob
from scheduler.core.ledger import LEDGER
from scheduler.core.localtime import local_iso
from scheduler.core.schedule import next_runs
from scheduler.engine.overview import Overview
from scheduler.engine.runlog import MAX_LIMIT, BadCursorError, HistoryQuery, day_start
from scheduler.web import plots

log = structlog.get_logger()


class BadQuery(ValueError):
    """A query parameter the server cannot use: which one, and why."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        self.message = message
        super().__init__(f"{param}: {message}")


def _instant(params: Mapping[str, str], key: str) -> datetime | None:
    text = params.get(key, "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadQuery(key, f"{text!r} is not an ISO-8601 date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def history_query(job: str | None, params: Mapping[str, str], default: int = 50) -> HistoryQuery:
    """The history filters of a query string; :class:`BadQuery` naming a bad parameter.

    ``limit`` above :data:`MAX_LIMIT` is capped, not refused.
    """
    state = params.get("status", params.get("state", "")).strip() or None
    if state is not None and state not in LEDGER:
        raise BadQuery("status", f"{state!r} is not a status or ledger state")
    text = params.get("limit", "").strip()
    limit = default
    if text:
        if not text.isdigit() or int(text) < 1:
            raise BadQuery("limit", f"{text!r} is not a whole number of at least 1")
        limit = min(int(text[:7]), MAX_LIMIT)
    return HistoryQuery(
        job=job,
        state=state,
        since=_instant(params, "since"),
        until=_instant(params, "until"),
        limit=limit,
        cursor=params.get("cursor") or None,
    )


def read_history(
    overview: Overview, query: HistoryQuery
) -> tuple[list[dict[str, Any]], str | None]:
    try:
        return overview.runlog.history(query)
    except BadCursorError:
        raise BadQuery("cursor", "not a cursor this server handed out") from None


def source_lines(overview: Overview, job: LoadedJob) -> list[tuple[int, str]]:
    """The job's YAML document as written, numbered; only a file under the jobs dir is read."""
    root = overview.jobs_dir.resolve()
    path = Path(job.file)
    path = (path if path.is_absolute() else Path.cwd() / path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    start = max(job.line - 1, 0)
    end = start + 1
    while end < len(lines) and lines[end].strip() != "---":
        end += 1
    return [(i + 1, lines[i]) for i in range(start, min(end, start + 500))]


def job_detail(overview: Overview, name: str, params: Mapping[str, str]) -> dict[str, Any]:
    """What a job's page shows; UnknownJobError/InvalidJobError, or BadQuery."""
    job = overview.find_job(name)
    snap = overview.snapshot()
    now = snap.taken
    query = history_query(job.name, params)
    runs, cursor = read_history(overview, query) if not snap.records_error else ([], None)
    nexts = next_runs(job.schedule, now, 10) if job.spec.enabled else []
    durations, outcomes = [], {}
    if not snap.records_error:
        try:
            durations = overview.runlog.durations(job.name, 50)
            outcomes = overview.runlog.outcomes_per_day(job.name, day_start(now, 14))
        except SchedulerError:
            pass
    return {
        "job": job,
        "row": snap.by_name.get(job.name),
        "definition": job.spec.model_dump(mode="json", exclude_defaults=True),
        "source": source_lines(overview, job),
        "next_runs": [local_iso(r, job.timezone) for r in nexts],
        "runs": runs,
        "next_cursor": cursor,
        "query": query,
        "ledger_states": list(LEDGER),
        "duration_plot": plots.durations(durations),
        "lateness_plot": plots.lateness(durations),
        "outcome_plot": plots.outcomes(outcomes, now, 14),
        "done": params.get("done", "")
        if params.get("done") in ("trigger", "pause", "resume")
        else "",
    }


def timeline(overview: Overview, params: Mapping[str, str]) -> dict[str, Any]:
    """The past 24 h of runs and the next 24 h of scheduled runs, per job."""
    snap = overview.snapshot()
    now = snap.taken
    start, end = now - timedelta(hours=24), now + timedelta(hours=24)
    catalog = overview.catalog()
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    names = sorted(catalog.jobs)
    per = 50
    pages = max(1, -(-len(names) // per))
    page = min(page, pages)
    shown = names[(page - 1) * per : page * per]
    past: dict[str, list[Any]] = {}
    if not snap.records_error:
        try:
            for run in overview.runlog.window(start, now, shown):
                past.setdefault(run.job, []).append(run)
        except SchedulerError:
            pass
    rows = []
    for name in shown:
        job = catalog.jobs[name]
        future = _until(job, now, end) if job.spec.enabled else []
        rows.append(plots.timeline_row(job, past.get(name, []), future, start, end))
    return {
        "rows": rows,
        "axis": plots.timeline_axis(start, end, now),
        "page": page,
        "pages": pages,
    }


def _until(job: LoadedJob, now: datetime, end: datetime, most: int = 300) -> list[datetime]:
    """The job's runs after ``now`` and before ``end`` (at most ``most``)."""
    out: list[datetime] = []
    t: datetime | None = job.schedule.next_after(now)
    while t is not None and t < end and len(out) < most:
        out.append(t)
        t = job.schedule.next_after(t)
    return out


@dataclass(frozen=True)
class Outcome:
    status: int
    result: dict[str, Any] | None = None
    error: str | None = None


def act(
    overview: Overview, job: LoadedJob, action: str, by: str, reason: str = "", until: str = ""
) -> Outcome:
    """Do ``action`` on ``job`` as ``by`` through engine.actions; logged as ``web_action``."""
    import redis

    from scheduler.engine import actions

    now = overview.clock.now()
    try:
        conn = overview.redis()
    except ValueError as exc:
        return Outcome(503, error=f"bad Redis URL: {exc}")
    if conn is None:
        return Outcome(503, error="no Redis known: is `scheduler run` running?")
    try:
        if action == "trigger":
            result = actions.trigger(conn, overview.data_dir, job, now, by=by)
        elif action == "pause":
            end = actions.parse_until(until, now)
            result = {
                "paused": actions.pause(conn, job, now, reason=reason, until=end, by=by).as_json()
            }
        else:
            removed = actions.resume(conn, job)
            result = {"job": job.name, "resumed": removed is not None}
    except actions.ActionInputError as exc:
        return Outcome(422, error=str(exc))
    except redis.RedisError as exc:
        return Outcome(503, error=f"cannot reach Redis: {exc}")
    finally:
        conn.close()
    overview.invalidate()
    log.info("web_action", action=action, job=job.name, by=by)
    return Outcome(202 if action == "trigger" else 200, result=result)
