"""The jobs page's filter, sort and pages, as a function of the query string.

Filters: ``q`` (text in the name, description, task or file), ``queue``, ``status`` (a
job state: enabled, disabled, paused, canary; or the last run's state: succeeded, failed,
never, ...). The job model has no tags field, so there is no tag filter. Sort keys:
name, next (next run), last (last run), status, queue; ``desc`` reverses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PER_PAGE = 50
SORTS = ("name", "next", "last", "status", "queue")
JOB_STATES = ("enabled", "disabled", "paused", "canary")


@dataclass(frozen=True)
class Listing:
    rows: list[dict[str, Any]]
    total: int
    matched: int
    page: int
    pages: int
    query: dict[str, str]


def _last_state(row: Mapping[str, Any]) -> str:
    last = row["last_run"]
    return "never" if last is None else str(last["state"])


def _matches(row: Mapping[str, Any], q: str, queue: str, status: str) -> bool:
    if queue and row["queue"] != queue:
        return False
    if status and status not in (row["state"], _last_state(row)):
        last = row["last_run"]
        if last is None or last["status"] != status:
            return False
    if q:
        hay = " ".join(str(row[k] or "") for k in ("name", "description", "task", "file")).lower()
        return q.lower() in hay
    return True


def _key(sort: str) -> Any:
    if sort == "next":
        return lambda r: (r["next_run_utc"] is None, r["next_run_utc"] or "", r["name"])
    if sort == "last":
        return lambda r: (
            r["last_run"] is None,
            r["last_run"]["scheduled_for"] if r["last_run"] else "",
            r["name"],
        )
    if sort == "status":
        return lambda r: (r["state"], _last_state(r), r["name"])
    if sort == "queue":
        return lambda r: (r["queue"], r["name"])
    return lambda r: r["name"]


def page_of(rows: list[dict[str, Any]], params: Mapping[str, str]) -> Listing:
    """The page the query asks for (unknown values fall back to the defaults)."""
    q = params.get("q", "").strip()[:200]
    queue = params.get("queue", "").strip()[:100]
    status = params.get("status", "").strip()[:40]
    sort = params.get("sort", "name")
    sort = sort if sort in SORTS else "name"
    desc = params.get("desc", "") in ("1", "true", "on")
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    found = [r for r in rows if _matches(r, q, queue, status)] if (q or queue or status) else rows
    if sort != "name" or desc:
        found = sorted(found, key=_key(sort), reverse=desc)
    pages = max(1, -(-len(found) // PER_PAGE))
    page = min(page, pages)
    start = (page - 1) * PER_PAGE
    query = {"q": q, "queue": queue, "status": status, "sort": sort, "desc": "1" if desc else ""}
    return Listing(found[start : start + PER_PAGE], len(rows), len(found), page, pages, query)
