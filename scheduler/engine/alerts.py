"""Failure alerts (``on_failure``): a webhook POST and/or an error-level log event.

Delivery happens on one background thread, so a slow or dead endpoint never holds the
watcher's loop; each POST has a short timeout, and a failed delivery is logged
(``alert.delivery_failed``), never raised. Alerts still queued when the watcher stops
are given a moment to go out, then dropped (and logged).
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import urllib.error
import urllib.request
from typing import Any

import structlog

log = structlog.get_logger("scheduler.alerts")

#: Seconds a webhook may take to answer.
TIMEOUT_S = 5.0
#: Alerts waiting for delivery beyond this are dropped (and logged).
MAX_PENDING = 1000


def payload(
    *,
    job: str,
    run_id: str,
    scheduled_for: str,
    trigger: str,
    error: str | None,
    reason: str | None,
    attempts: int | None,
    at: str,
    watcher: str,
) -> dict[str, Any]:
    """The JSON body a webhook receives (documented in the README)."""
    return {
        "event": "run.failed",
        "job": job,
        "run_id": run_id,
        "scheduled_for": scheduled_for,
        "trigger": trigger,
        "error": error,
        "reason": reason,
        "attempts": attempts,
        "failed_at": at,
        "watcher": watcher,
    }


class Alerter:
    """Sends alerts off the caller's thread; ``close`` waits a little for the last ones."""

    def __init__(self, *, timeout_s: float = TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue(MAX_PENDING)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def alert(self, body: dict[str, Any], *, webhook: str | None, log_it: bool) -> None:
        """Log (now, at error level) and/or queue a webhook POST of ``body``."""
        if log_it:
            log.error(
                "run.failure_alert",
                job=body["job"],
                run_id=body["run_id"],
                scheduled_for=body["scheduled_for"],
                error=body["error"],
                reason=body["reason"],
            )
        if webhook is None:
            return
        self._start()
        try:
            self._queue.put_nowait((webhook, body))
        except queue.Full:
            log.warning("alert.dropped", job=body["job"], run_id=body["run_id"], url=webhook)

    def close(self, wait_s: float = 3.0) -> None:
        """Stop the sender after the queued alerts, waiting at most ``wait_s`` seconds."""
        with self._lock:
            thread = self._thread
        if thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=wait_s)
        thread.join(timeout=wait_s)
        left = self._queue.qsize()
        if thread.is_alive() and left:
            log.warning("alert.undelivered", count=left)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="alerts", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            url, body = item
            deliver(url, body, timeout_s=self.timeout_s)


def deliver(url: str, body: dict[str, Any], *, timeout_s: float = TIMEOUT_S) -> bool:
    """POST ``body`` as JSON to ``url``; True on a 2xx answer. Failures are logged."""
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "scheduler-alerts"},
    )
    try:
        # Only http(s) URLs get here: the job model checks the scheme.
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        log.warning("alert.delivery_failed", url=url, job=body.get("job"), error=str(exc))
        return False
    if not 200 <= status < 300:
        log.warning("alert.delivery_failed", url=url, job=body.get("job"), status=status)
        return False
    log.info("alert.delivered", url=url, job=body.get("job"), run_id=body.get("run_id"))
    return True
