"""Helpers for integration tests: waiting on a condition with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str | Callable[[], str] = "the condition",
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns a truthy value, and
    return that value; fail the test after ``timeout`` seconds.

    The only way integration tests wait. ``message`` names what was awaited; a callable
    is evaluated only on failure, so it can read logs or state at that moment.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            pytest.fail(f"timed out after {timeout:g} s waiting for {text}")
        time.sleep(interval)
