"""The operator's pages in Debian's Chromium, against the live stack (see conftest.py).

Selectors are the hooks the pages promise: ``table#jobs`` with ``tr[data-job=NAME]``,
``#banner li.rejected``, forms with ``data-action=trigger|pause|resume``, ``#readonly``.
With UPDATE_SCREENSHOTS=1 the tests also write docs/jobs-page.png, docs/job-page.png and
docs/timeline.png (the README shows them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from scheduler.core.runs import RunStatus, RunTrigger
from tests.browser.stack import BROKEN_LINE, SCRIPT, TOKEN, Stack
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import holds_for, runs


def login(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.web.url}/login")
    form = page.locator("form.login")
    form.locator("input[name=login]").fill("browser-test")
    form.locator("input[name=token]").fill(TOKEN)
    form.locator("button").click()
    page.wait_for_load_state()
    assert page.locator("#error").count() == 0, page.inner_text("#error")


def act(page: Any, action: str, **fields: str) -> None:
    """Follow the page's ``data-action`` link to its confirm step, fill it in, confirm."""
    page.locator(f"a[data-action={action}]").first.click()
    form = page.locator(f"form[method=post][data-action={action}]")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#error").count() == 0, page.inner_text("#error")


def shoot(page: Any, screenshots: Path | None, name: str, *, full: bool = False) -> None:
    if screenshots is not None:
        page.screenshot(path=str(screenshots / name), full_page=full)


def test_jobs_page_lists_the_jobs(page: Any, stack: Stack, screenshots: Path | None) -> None:
    login(page, stack)  # the picture shows the actions too
    stack.final_runs("audit")  # a last run with its status for the picture
    page.goto(stack.web.url + "/")
    table = page.locator("table#jobs")
    for name in ("report", "pausable", "audit", "sync-00"):
        row = table.locator(f'tr[data-job="{name}"]')
        assert row.count() == 1, name
        assert name in row.inner_text()
    assert "Daily report" in table.locator('tr[data-job="report"]').inner_text()
    assert "failed" in table.locator('tr[data-job="audit"]').inner_text()
    shoot(page, screenshots, "jobs-page.png")


def test_broken_file_is_in_the_banner_with_file_and_line(page: Any, stack: Stack) -> None:
    page.goto(stack.web.url + "/")
    rejected = page.locator("#banner li.rejected")
    assert rejected.count() == 1
    text = rejected.inner_text()
    assert "broken.yaml" in text
    assert str(BROKEN_LINE) in text


def test_run_now_makes_a_run_that_shows_in_the_history(
    page: Any, stack: Stack, screenshots: Path | None
) -> None:
    login(page, stack)
    page.goto(f"{stack.web.url}/jobs/report")
    act(page, "trigger")
    [row] = wait_for(
        lambda: [r for r in runs(stack.data, "report") if r.status is RunStatus.succeeded],
        timeout=20,
        message=lambda: f"a succeeded run of report\n{stack.watcher.tail()}",
    )
    assert row.trigger is RunTrigger.manual

    def shown() -> bool:
        page.goto(f"{stack.web.url}/jobs/report")
        return row.run_id in page.content() or "succeeded" in page.inner_text("body")

    wait_for(shown, timeout=20, interval=0.5, message="the run on the job page")
    assert "succeeded" in page.inner_text("body")
    shoot(page, screenshots, "job-page.png", full=True)


def test_a_pause_shows_its_reason(page: Any, stack: Stack) -> None:
    login(page, stack)
    page.goto(f"{stack.web.url}/jobs/pausable")
    act(page, "pause", reason="disk full on the report host")
    page.goto(stack.web.url + "/")
    row = page.locator('tr[data-job="pausable"]')
    wait_for(
        lambda: "disk full on the report host" in row.inner_text(),
        timeout=15,
        message="the pause reason on the jobs page",
    )
    assert "paused" in row.inner_text().lower()
    page.goto(f"{stack.web.url}/jobs/pausable")
    act(page, "resume")
    page.goto(stack.web.url + "/")
    assert "disk full" not in page.locator('tr[data-job="pausable"]').inner_text()


def test_read_only_offers_no_action_and_refuses_a_forged_post(page: Any, stack: Stack) -> None:
    for path in ("/", "/jobs/report"):
        page.goto(stack.readonly.url + path)
        assert page.locator("#readonly").is_visible()
        assert page.locator("[data-action]").count() == 0
    before = len(runs(stack.data, "pausable"))
    target = "/jobs/pausable/trigger"
    for base in (stack.readonly.url, stack.web.url):  # read-only; no login, no CSRF token
        answer = httpx.post(base + target, data={"csrf": "forged"}, timeout=10)
        assert answer.status_code in (401, 403), (base, answer.status_code)
        api = httpx.post(f"{base}/api/v1/jobs/pausable/trigger", timeout=10)
        assert api.status_code in (401, 403), (base, api.status_code)
    forged = httpx.post(
        f"{stack.web.url}/api/v1/jobs/pausable/trigger",
        headers={"Authorization": "Bearer not-the-token"},
        timeout=10,
    )
    assert forged.status_code == 401
    # Logged in (the session cookie goes along) but without the form's CSRF token.
    login(page, stack)
    cross_site = page.request.post(stack.web.url + target, form={"csrf": "forged"})
    assert cross_site.status == 403
    assert holds_for(lambda: len(runs(stack.data, "pausable")) == before, 2.0)


def test_script_in_a_description_and_an_error_is_text(page: Any, stack: Stack) -> None:
    [failed] = [r for r in stack.final_runs("audit") if r.status is RunStatus.failed]
    assert failed.error is not None
    assert "<script>" in failed.error
    for path in ("/", "/jobs/audit", "/timeline"):
        page.goto(stack.web.url + path)
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.__xss") == "undefined", path
        injected = "[...document.querySelectorAll('script, img[src=x]')]"
        count = page.evaluate(f"{injected}.filter(e => (e.outerHTML).includes('__xss')).length")
        assert count == 0, path
    assert page.dialogs == []
    page.goto(f"{stack.web.url}/jobs/audit")
    body = page.inner_text("body")
    assert SCRIPT in body  # the description, as text
    assert "<script>window.__xss = 1</script>" in body


def test_timeline(page: Any, stack: Stack, screenshots: Path | None) -> None:
    stack.final_runs("audit")
    page.goto(f"{stack.web.url}/timeline")
    assert page.locator("#banner").count() == 1
    body = page.inner_text("body")
    assert "report" in body
    shoot(page, screenshots, "timeline.png")


def test_live_refresh_keeps_filters_and_scroll(page: Any, stack: Stack) -> None:
    page.set_viewport_size({"width": 1280, "height": 500})
    page.goto(stack.web.url + "/?q=sync&sort=name&desc=1")
    rows = page.locator("table#jobs tr[data-job]")
    first = rows.evaluate_all("rs => rs.map(r => r.dataset.job)")
    assert len(first) > 10
    assert all(n.startswith("sync-") for n in first)
    assert first == sorted(first, reverse=True)
    page.locator("input[name=q]").focus()
    page.keyboard.press("End")
    page.keyboard.type("-1")  # typed, not yet submitted: a refresh must not undo it
    page.mouse.wheel(0, 600)
    wait_for(lambda: page.evaluate("window.scrollY") > 0, message="the page scrolled")
    scrolled = page.evaluate("window.scrollY")
    marked = "document.documentElement.getAttribute('data-refreshed')"
    page.wait_for_function(f"{marked} !== null", timeout=25_000)
    assert page.evaluate("window.scrollY") == scrolled
    assert page.locator("input[name=q]").input_value() == "sync-1"
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.job)") == first
