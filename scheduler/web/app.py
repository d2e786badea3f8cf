"""The ASGI application: routes of the pages, the API, ``/metrics`` and the probes."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from scheduler.engine.overview import Overview
from scheduler.web import apiroutes, pages
from scheduler.web.metrics import registry
from scheduler.web.openapi import document
from scheduler.web.webstate import WebState, web

STATIC = Path(__file__).parent / "static"
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")


class ForwardedPrefix:
    """Serve under the sub-path a reverse proxy names in ``X-Forwarded-Prefix``.

    The proxy strips the prefix; links then carry it (``root_path``). A value that is not a
    plain path is ignored.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for key, value in scope.get("headers", []):
                if key == b"x-forwarded-prefix":
                    prefix = value.decode("latin-1").rstrip("/")
                    if _PREFIX.match(prefix):
                        scope = {**scope, "root_path": prefix}
        await self.app(scope, receive, send)


def _metrics(request: Request) -> Response:
    # One exposition per snapshot, however many scrapers (and 10,000 jobs' series) ask.
    snap = web(request).overview.snapshot()
    body = snap.render_once("metrics", lambda: generate_latest(request.app.state.registry))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _healthz(request: Request) -> JSONResponse:
    """The web process itself answers (liveness): always 200 while it serves."""
    return JSONResponse({"ok": True})


def _readyz(request: Request) -> JSONResponse:
    """Ready when the records and Redis can be read (the page would show real state)."""
    snap = web(request).overview.snapshot()
    problems = [p for p in (snap.records_error, snap.redis_error) if p]
    return JSONResponse(
        {"ready": not problems, "problems": problems}, status_code=503 if problems else 200
    )


def _openapi(request: Request) -> JSONResponse:
    return JSONResponse(document())


def create_app(overview: Overview, token: str | None) -> ASGIApp:
    """The application over ``overview``; ``token`` None or empty makes it read-only."""
    api = "/api/v1"
    routes = [
        Route("/", pages.jobs_page),
        Route("/timeline", pages.timeline_page),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login_post, methods=["POST"]),
        Route("/logout", pages.logout_post, methods=["POST"]),
        Route("/jobs/{name}", pages.job_page),
        Route("/jobs/{name}/{action}", pages.confirm_page, methods=["GET"]),
        Route("/jobs/{name}/{action}", pages.action_post, methods=["POST"]),
        Route(f"{api}/openapi.json", _openapi),
        Route(f"{api}/health", apiroutes.health),
        Route(f"{api}/jobs", apiroutes.jobs),
        Route(f"{api}/jobs/{{name}}", apiroutes.job),
        Route(f"{api}/jobs/{{name}}/history", apiroutes.history),
        Route(f"{api}/jobs/{{name}}/{{action:str}}", apiroutes.action, methods=["POST"]),
        Route("/metrics", _metrics),
        Route("/healthz", _healthz),
        Route("/readyz", _readyz),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(f"{request.scope.get('root_path', '')}{api}"):
            return apiroutes.error(404, "no such endpoint")
        return pages.not_found(request, f"no page at {request.url.path}")

    async def bad_method(request: Request, exc: Exception) -> Response:
        return apiroutes.error(405, "method not allowed")

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: bad_method})
    app.state.web = WebState.build(overview, token or None)
    app.state.registry = registry(overview)
    return ForwardedPrefix(app)
