"""Keeps the leader's lease while the loop is busy in a long step.

The loop renews the lease on its turns (``LeaderElector.tick``), but one turn can last
longer than a lease at scale: starting 100,000 jobs, a takeover, a reload of many files, a
burst of dispatches. A thread then renews it in the loop's place, only while the loop is
inside such a step (``busy``) and only the token this watcher still holds (the elector's
renewal compares it in Redis): it never takes a lease, and never keeps one the watcher
lost. A loop stuck in one step for longer than ``BUSY_LIMIT`` is left to lose its lease, so
a hung watcher still hands over to a standby.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog

from scheduler.engine.leader import LeaderElector

log = structlog.get_logger("scheduler.leader")

#: The longest single step during which the thread renews for the loop (seconds).
BUSY_LIMIT = 300.0


class LeaseRenewal:
    """A daemon thread that renews ``elector``'s lease while the loop is ``busy``."""

    def __init__(
        self,
        elector: LeaderElector,
        *,
        limit: float = BUSY_LIMIT,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._elector = elector
        self._limit = limit
        self._monotonic = monotonic
        self._busy_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def busy(self) -> Iterator[None]:
        """The loop's work inside: the lease is renewed for it meanwhile (nesting allowed)."""
        outer = self._busy_since is not None
        if not outer:
            self._busy_since = self._monotonic()
        try:
            yield
        finally:
            if not outer:
                self._busy_since = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lease-renewal", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop renewing (before the lease is released); waits for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        # Checking at a sixth of the lease renews at most half a lease after the last
        # renewal, as the elector asks every third: half a lease of margin left.
        check = self._elector.ttl_s / 6
        while not self._stop.wait(check):
            since = self._busy_since
            if since is None or self._monotonic() - since > self._limit:
                continue
            try:
                self._elector.renew_due()
            except Exception:  # the thread must outlive any one failure
                log.exception("leader.renewal_failed", watcher=self._elector.id)
