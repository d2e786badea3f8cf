"""What every handler of one server shares: the view of the system, the auth, templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request

from scheduler.engine.overview import Overview
from scheduler.web.auth import COOKIE, Auth

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class WebState:
    overview: Overview
    auth: Auth
    env: jinja2.Environment

    @classmethod
    def build(cls, overview: Overview, token: str | None) -> WebState:
        # autoescape on for every template: no job, task or user string is ever trusted.
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        return cls(overview, Auth(token), env)


def web(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def root(request: Request) -> str:
    """The path prefix the page lives under (``--root-path`` or ``X-Forwarded-Prefix``)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def login(request: Request) -> str | None:
    """Who is logged in on this request (None: nobody, or the server is read-only)."""
    return web(request).auth.login_of(request.cookies.get(COOKIE))


def page_context(request: Request, **extra: Any) -> dict[str, Any]:
    """What every page's template gets: the prefix, the auth state, the snapshot."""
    state = web(request)
    cookie = request.cookies.get(COOKIE)
    who = login(request)
    return {
        "root": root(request),
        "read_only": state.auth.read_only,
        "login": who,
        "csrf": state.auth.csrf(cookie) if who and cookie else "",
        "snap": state.overview.snapshot(),
        "request_path": request.url.path,
        **extra,
    }
