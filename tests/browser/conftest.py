"""Fixtures of the tests from outside: one live stack for the whole package (a private
Redis, ``scheduler run`` with a worker, ``scheduler web`` with and without a token), and
Debian's Chromium driven by Playwright.

Starting the stack costs a few seconds, so it is shared by every test here; each test
uses jobs of its own (or only reads), so none depends on another's order. Without
/usr/bin/chromium or the playwright package the browser tests skip, saying which is
missing; schemathesis and promtool skip the same way on their own tools.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scheduler.engine.embedded import EmbeddedRedis
from tests.browser.stack import Stack, live_stack

CHROMIUM = Path("/usr/bin/chromium")
#: Debian's Chromium in a container: no sandbox (root, no user namespaces), nothing that
#: phones home or updates itself while a test runs.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    server = EmbeddedRedis(root / "redis")
    url = server.start()
    try:
        with live_stack(root, url) as running:
            yield running
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright (headless), or a skip naming what is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: apt-get install chromium (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page; dialogs are recorded, never accepted
    silently: a test asserts on ``page.dialogs`` (an ``alert`` from injected markup)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    tab.dialogs = dialogs
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path | None:
    """docs/ when UPDATE_SCREENSHOTS=1 (then the tests rewrite the README's pictures), else
    None: `make test` on CI leaves the tree clean."""
    return DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else None
