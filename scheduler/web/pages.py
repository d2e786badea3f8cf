"""The HTML pages: jobs, one job, timeline, login, and the confirm-then-do actions.

GET never changes anything. An action is a GET that shows a confirm form and a POST
(with the login cookie and its CSRF token) that does it; without a server token there are
no actions at all and every action POST is refused (403).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from scheduler.core.errors import SchedulerError
from scheduler.web import jobview
from scheduler.web.auth import COOKIE, SESSION_S, clean_login
from scheduler.web.listing import JOB_STATES, page_of
from scheduler.web.webstate import login, page_context, root, web

ACTIONS = ("trigger", "pause", "resume")


def render(request: Request, template: str, status: int = 200, **extra: Any) -> HTMLResponse:
    html = web(request).env.get_template(template).render(page_context(request, **extra))
    return _html(html.encode(), status)


def not_found(request: Request, message: str) -> HTMLResponse:
    return render(request, "error.html", 404, title="Not found", message=message)


def _html(body: bytes, status: int = 200) -> HTMLResponse:
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    return HTMLResponse(body, status_code=status, headers=headers)


def jobs_page(request: Request) -> HTMLResponse:
    """The jobs page; the same query renders once per snapshot unless logged in (a
    logged-in page carries its own CSRF token and login)."""
    snap = web(request).overview.snapshot()

    def make() -> bytes:
        listing = page_of(snap.jobs, dict(request.query_params))
        queues = sorted({r["queue"] for r in snap.jobs})
        page = render(request, "jobs.html", listing=listing, queues=queues, job_states=JOB_STATES)
        return bytes(page.body)

    if login(request) is not None:
        return _html(make())
    return _html(snap.render_once(("page:/", root(request), str(request.url.query)), make))


def job_page(request: Request) -> Response:
    name = request.path_params["name"]
    try:
        job = web(request).overview.find_job(name)
    except SchedulerError as exc:
        return not_found(request, str(exc))
    if job.name != name:  # an old name (previous_names): the page lives at the new one
        return RedirectResponse(f"{root(request)}/jobs/{job.name}", status_code=308)
    try:
        data = jobview.job_detail(web(request).overview, name, dict(request.query_params))
    except SchedulerError as exc:
        return not_found(request, str(exc))
    except jobview.BadQuery as exc:
        return render(request, "error.html", 422, title="Bad query", message=str(exc))
    return render(request, "job.html", **data)


def timeline_page(request: Request) -> HTMLResponse:
    data = jobview.timeline(web(request).overview, dict(request.query_params))
    return render(request, "timeline.html", **data)


def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", error=None)


async def login_post(request: Request) -> Response:
    state = web(request)
    if state.auth.read_only:
        return render(request, "login.html", 403, error="This server is read-only: no token.")
    form = await _form(request)
    who = clean_login(form.get("login"))
    if who is None:
        return render(request, "login.html", 422, error="A login is letters, digits, ._@-")
    if not state.auth.token_ok(form.get("token")):
        return render(request, "login.html", 401, error="Wrong token.")
    response = RedirectResponse(f"{root(request)}/", status_code=303)
    response.set_cookie(
        COOKIE,
        state.auth.session(who),
        max_age=SESSION_S,
        httponly=True,
        samesite="strict",
        path=f"{root(request)}/",
        secure=request.url.scheme == "https",
    )
    return response


async def logout_post(request: Request) -> Response:
    response = RedirectResponse(f"{root(request)}/", status_code=303)
    response.delete_cookie(COOKIE, path=f"{root(request)}/")
    return response


def _refusal(request: Request, form: dict[str, str] | None) -> HTMLResponse | None:
    """Why this request may not act (a 401/403 page), or None when it may."""
    state = web(request)
    if state.auth.read_only:
        return render(
            request,
            "error.html",
            403,
            title="Read-only",
            message=("This server has no SCHEDULER_WEB_TOKEN: it offers no actions."),
        )
    if login(request) is None:
        return render(
            request,
            "error.html",
            401,
            title="Log in first",
            message=("Actions need a login with the server's token."),
        )
    if form is not None and not state.auth.csrf_ok(request.cookies.get(COOKIE), form.get("csrf")):
        return render(
            request,
            "error.html",
            403,
            title="Refused",
            message=("The form's CSRF token is missing or wrong: reload the page and try again."),
        )
    return None


def confirm_page(request: Request) -> HTMLResponse:
    name, action = request.path_params["name"], request.path_params["action"]
    if action not in ACTIONS:
        return not_found(request, f"no action {action!r}")
    try:
        job = web(request).overview.find_job(name)
    except SchedulerError as exc:
        return not_found(request, str(exc))
    refused = _refusal(request, None)
    if refused is not None:
        return refused
    params = request.query_params
    return render(
        request,
        "confirm.html",
        job=job,
        action=action,
        error=None,
        reason=params.get("reason", "")[:500],
        until=params.get("until", "")[:64],
    )


async def action_post(request: Request) -> Response:
    name, action = request.path_params["name"], request.path_params["action"]
    if action not in ACTIONS:
        return not_found(request, f"no action {action!r}")
    form = await _form(request)
    refused = _refusal(request, form)
    if refused is not None:
        return refused
    overview = web(request).overview
    try:
        job = overview.find_job(name)
    except SchedulerError as exc:
        return not_found(request, str(exc))
    by = f"web:{login(request)}"
    outcome = await run_in_threadpool(
        jobview.act, overview, job, action, by, form.get("reason", ""), form.get("until", "")
    )
    if outcome.error is not None:
        return render(
            request,
            "confirm.html",
            outcome.status,
            job=job,
            action=action,
            error=outcome.error,
            reason=form.get("reason", "")[:500],
            until=form.get("until", "")[:64],
        )
    return RedirectResponse(f"{root(request)}/jobs/{job.name}?done={action}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form body (the only kind the pages send), first value of each field."""
    from urllib.parse import parse_qsl

    body = (await request.body())[:100_000].decode("utf-8", "replace")
    out: dict[str, str] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        out.setdefault(key, value)
    return out
