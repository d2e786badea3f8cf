"""The watcher's results side: worker events from the stream into SQLite, and reconciling.

A mixin of :class:`scheduler.engine.watcher.Watcher`, kept apart so the loop reads on its own: the
reader thread only queues events and wakes the loop; the loop applies them (SQLite, the
gate's view of active runs, failure alerts), and every few seconds asks RQ about runs whose
result never came (``scheduler.engine.reconcile``).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import redis
import structlog

from scheduler.config.liveconfig import LiveConfig
from scheduler.core.policies import Reason
from scheduler.core.runs import EventKind, RunEvent
from scheduler.engine.gate import Gate
from scheduler.store import Store
from scheduler.worker.events import EventReader

log = structlog.get_logger("scheduler.watcher")


class ResultsMixin:
    """Reading, applying and reconciling run results (the watcher's attributes below)."""

    store: Store
    conn: redis.Redis
    gate: Gate
    config: LiveConfig
    _events: queue.SimpleQueue[tuple[str, RunEvent]]
    _reader: EventReader
    _stopping: threading.Event
    _wake: threading.Event
    _threads: list[threading.Thread]

    def _reconcile(self, now: datetime, *, min_age: timedelta) -> None:
        from scheduler.core.runs import RunStatus
        from scheduler.engine.reconcile import reconcile

        rows = [
            row
            for status in (RunStatus.started, RunStatus.enqueued)
            for row in self.store.history(status=status, limit=1000)
            if now - (row.started_at or row.enqueued_at or row.scheduled_for) >= min_age
            and not (row.reason == Reason.waiting and row.enqueued_at is None)  # not in RQ yet
        ]
        try:
            events = reconcile(
                self.conn,
                [(r.run_id, r.job, r.scheduled_for, r.trigger, str(r.status)) for r in rows],
                now,
            )
        except redis.RedisError:
            return  # Redis is down: the next pass tries again
        with self.store.batch():
            for found in events:
                lost = found.kind is EventKind.failed and not found.reason
                event = replace(found, reason=str(Reason.lost)) if lost else found
                self._record(event, reconciled=True)

    def _drain_events(self) -> None:
        acked: list[str] = []
        with self.store.batch():
            self._apply_events(acked)
        if acked:
            # Unacked entries come back on the next read; applying them again is idempotent.
            with contextlib.suppress(redis.RedisError):
                self._reader.ack(acked)

    def _apply_events(self, acked: list[str]) -> None:
        while True:
            try:
                entry_id, event = self._events.get_nowait()
            except queue.Empty:
                break
            self._record(event)
            acked.append(entry_id)

    def _record(self, event: RunEvent, *, reconciled: bool = False) -> None:
        """Apply a report (a worker's, or one reconciliation made up) to the store and the
        gate, and log it if it changed the run: at warning level when reconciled."""
        changed = self.store.apply_event(event)
        self.gate.on_event(event, self.config.jobs.get(event.job), changed=changed)
        if not changed:
            return
        bound = log.bind(
            job=event.job,
            run_id=event.run_id,
            scheduled_for=event.scheduled_for,
            trigger=str(event.trigger),
        )
        if reconciled:
            bound.warning(f"run.{event.kind}", error=event.error, reconciled=True)
            return
        fields: dict[str, Any] = {"worker": event.worker} if event.worker else {}
        if event.duration_s is not None:
            fields["duration_s"] = event.duration_s
        if event.error:
            fields["error"] = event.error
        bound.info(f"run.{event.kind}", **fields)

    def _start_reader(self) -> None:
        thread = threading.Thread(target=self._read_events, name="results-reader", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _read_events(self) -> None:
        backoff = 0.5
        ready = False
        while not self._stopping.is_set():
            try:
                if not ready:
                    self._reader.ensure_group()
                    ready = True
                entries = self._reader.read(block_ms=500)
                backoff = 0.5
            except redis.RedisError as exc:
                log.warning("results.unavailable", error=str(exc))
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            for entry in entries:
                self._events.put(entry)
            if entries:
                self._wake.set()
