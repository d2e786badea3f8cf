"""The JSON API under ``/api/v1`` (described by ``openapi.py``, which must match it).

Errors are ``{"error": message}`` with ``param`` for a bad query parameter (422). Actions
take ``Authorization: Bearer <token>``: 401 without it or with a wrong one, 403 when the
server has no token (read-only). A pause's input is a JSON body ``{"reason", "until"}``.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from scheduler.core.errors import SchedulerError
from scheduler.core.job import LoadedJob
from scheduler.web import jobview
from scheduler.web.webstate import web


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _dumps(data: Any) -> bytes:
    # As JSONResponse renders, so a cached body is byte for byte what it would send.
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def jobs(request: Request) -> Response:
    snap = web(request).overview.snapshot()
    body = snap.render_once("api:jobs", lambda: _dumps({"jobs": snap.jobs}))
    return Response(body, media_type="application/json")


def _find(request: Request) -> LoadedJob | JSONResponse:
    """The job the path names, or the 404 to answer."""
    try:
        return web(request).overview.find_job(request.path_params["name"])
    except SchedulerError as exc:
        return error(404, str(exc))


def job(request: Request) -> JSONResponse:
    overview = web(request).overview
    found = _find(request)
    if isinstance(found, JSONResponse):
        return found
    row = overview.snapshot().by_name.get(found.name)
    if row is None:
        return error(404, f"unknown job {found.name!r}")
    return JSONResponse(
        {**row, "params": found.spec.params, "definition": found.spec.model_dump(mode="json")}
    )


def history(request: Request) -> JSONResponse:
    overview = web(request).overview
    found = _find(request)
    if isinstance(found, JSONResponse):
        return found
    try:
        query = jobview.history_query(found.name, dict(request.query_params))
        runs, cursor = jobview.read_history(overview, query)
    except jobview.BadQuery as exc:
        return error(422, exc.message, param=exc.param)
    except SchedulerError as exc:
        return error(503, str(exc))
    return JSONResponse({"runs": runs, "next_cursor": cursor})


def health(request: Request) -> JSONResponse:
    snap = web(request).overview.snapshot()
    return JSONResponse(
        {
            "watcher": snap.watcher,
            "records": "missing" if snap.records_missing else (snap.records_error or "ok"),
            "redis": snap.redis_error or "ok",
            "rejected_files": snap.rejected,
        },
        status_code=200 if snap.watcher["healthy"] else 503,
    )


async def action(request: Request) -> JSONResponse:
    verb = request.path_params["action"]
    state = web(request)
    if verb not in ("trigger", "pause", "resume"):
        return error(404, f"no action {verb!r}")
    if state.auth.read_only:
        return error(403, "read-only server: it has no SCHEDULER_WEB_TOKEN")
    if not state.auth.bearer_ok(request.headers.get("authorization")):
        return error(401, "give the server's token as 'Authorization: Bearer <token>'")
    body: Any = {}
    raw = await request.body()
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError:
            return error(422, "the body is not JSON", param="body")
    if not isinstance(body, dict):
        return error(422, "the body must be a JSON object", param="body")
    reason, until = body.get("reason", ""), body.get("until") or ""
    if not isinstance(reason, str) or not isinstance(until, str):
        return error(422, "reason and until are strings", param="body")
    found = _find(request)
    if isinstance(found, JSONResponse):
        return found
    outcome = await run_in_threadpool(
        jobview.act, state.overview, found, verb, "web:api", reason, until
    )
    if outcome.error is not None:
        return error(outcome.status, outcome.error)
    return JSONResponse(outcome.result, status_code=outcome.status)
