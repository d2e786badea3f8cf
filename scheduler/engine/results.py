"""The watcher's results side: the stream's entries into SQLite, and reconciling.

The stream carries the workers' reports and every watcher's ledger entries. The reader
thread only queues them and wakes the loop; the loop applies them (SQLite, the gate's view
of active runs, failure alerts), skipping the entries this process published itself (it
applied them when it recorded them), and every few seconds asks RQ about runs whose result
never came (``scheduler.engine.reconcile``), publishing what it concludes.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis
import structlog

from scheduler.config.liveconfig import LiveConfig
from scheduler.core.clock import Clock
from scheduler.core.policies import Reason
from scheduler.core.runs import EventKind, RunEvent, RunStatus
from scheduler.engine.gate import Gate
from scheduler.engine.ledger import Ledger
from scheduler.engine.reconcile import reconcile
from scheduler.store import Store
from scheduler.worker.events import EventReader

log = structlog.get_logger("scheduler.watcher")

#: The longest one read waits for new entries (ms). Stopping cuts the wait short (``CLIENT
#: UNBLOCK``), so it only bounds a stop whose unblocking failed; waiting half a second at a
#: time cost a tenth of the idle watcher's CPU at 100,000 jobs.
READ_BLOCK_MS = 5_000


class Results:
    """Reads, applies and reconciles run results.

    ``reader`` reads the results stream (``start`` runs it on a thread of its own until
    ``stopping`` is set, setting ``wake`` when events arrived); the loop thread calls
    ``drain`` to apply them and ``reconcile`` to settle runs whose result never came,
    recording its conclusions in ``ledger``; ``leading()`` says whether this watcher
    leads (only the leader retries a run whose worker died).
    """

    def __init__(
        self,
        *,
        store: Store,
        conn: redis.Redis,
        gate: Gate,
        config: LiveConfig,
        clock: Clock,
        reader: EventReader,
        stopping: threading.Event,
        wake: threading.Event,
        ledger: Ledger,
        leading: Callable[[], bool] = lambda: True,
        mirror: Callable[[RunEvent], None] = lambda entry: None,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._origin = ledger.origin
        self._leading = leading
        self._mirror = mirror
        self._conn = conn
        self._gate = gate
        self._config = config
        self._clock = clock
        self._reader = reader
        self._stopping = stopping
        self._wake = wake
        self._events: queue.SimpleQueue[tuple[str, RunEvent]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._unacked: list[str] = []
        # The reads that wait run on clients of their own, named so that stopping finds them.
        self._listener_name = f"scheduler-results-{os.getpid()}-{id(self):x}"
        self._listener: redis.Redis | None = None

    def reconcile(self, now: datetime, *, min_age: timedelta) -> None:
        """Ask RQ about unfinished runs older than ``min_age`` and record what it knows."""
        rows = [
            row
            for status in (RunStatus.started, RunStatus.enqueued)
            for row in self._store.history(status=status, limit=1000)
            if now - (row.started_at or row.enqueued_at or row.scheduled_for) >= min_age
            and not (row.reason == Reason.waiting and row.enqueued_at is None)  # not in RQ yet
        ]
        try:
            events = reconcile(
                self._conn,
                [(r.run_id, r.job, r.scheduled_for, r.trigger, str(r.status)) for r in rows],
                now,
                retry=self._leading(),
            )
        except redis.RedisError:
            events = []  # Redis is down: the next pass tries again
        with self._store.batch():
            for found in events:
                lost = found.kind is EventKind.failed and not found.reason
                event = replace(found, reason=str(Reason.lost)) if lost else found
                self._record(event, reconciled=True)
            # Also what an earlier flush could not send (Redis was down): every few seconds.
            self._ledger.flush()

    def drain(self) -> None:
        """Apply the events queued so far, then acknowledge them on the stream."""
        acked = self._unacked
        if not acked and self._events.empty():  # every idle turn: no empty transaction
            return
        with self._store.batch():
            self._apply_events(acked)
        # While the records refuse writes (a full disk), the entries stay unacknowledged: a
        # watcher that dies before they are written reads them again when it comes back.
        if acked and self._store.failure is None:
            # Unacked entries come back on the next read; applying them again is idempotent.
            with contextlib.suppress(redis.RedisError):
                self._reader.ack(acked)
            self._unacked = []

    def _apply_events(self, acked: list[str]) -> None:
        origin = self._origin
        while True:
            try:
                entry_id, event = self._events.get_nowait()
            except queue.Empty:
                break
            if event.origin != origin:  # this process's own entries are applied already
                self._record(event)
                if event.origin is not None:  # another watcher's ledger entry
                    self._mirror(event)
            acked.append(entry_id)

    def _record(self, event: RunEvent, *, reconciled: bool = False) -> None:
        """Apply a report (a worker's, another watcher's ledger entry, or one reconciliation
        made up and records as this watcher's entry) to the store and the gate, and log it
        if it changed the run: at warning level when reconciled. Another watcher's entries
        are not logged again: that watcher logged them."""
        changed = self._ledger.record(event) if reconciled else self._store.apply_event(event)
        self._gate.on_event(event, self._config.jobs.get(event.job), changed=changed)
        if not changed or event.origin is not None:
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

    def start(self) -> None:
        """Start reading the stream on the results-reader thread."""
        self._listener = _named_client(self._conn, self._listener_name)
        self._thread = threading.Thread(
            target=self._read_events, name="results-reader", daemon=True
        )
        self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the reader thread to end (after ``stopping``),
        cutting its wait for entries short."""
        thread = self._thread
        if thread is None:
            return
        deadline = time.monotonic() + timeout
        # Again until it ends: an unblock sent just before the read began waiting is lost.
        while thread.is_alive() and time.monotonic() < deadline:
            self._unblock()
            thread.join(timeout=max(0.0, min(0.05, deadline - time.monotonic())))
        if not thread.is_alive() and self._listener is not None:
            self._listener.connection_pool.disconnect()

    def _unblock(self) -> None:
        with contextlib.suppress(redis.RedisError):
            for client in self._conn.client_list():
                if client.get("name") == self._listener_name:
                    self._conn.client_unblock(int(client["id"]))

    def finish(self) -> None:
        """Stopping, the reader ended: apply what the stream holds now, without waiting, and
        close every run a stopped worker never finished (their results are all in)."""
        with contextlib.suppress(redis.RedisError):
            for entry in self._reader.read(block_ms=None):
                self._events.put(entry)
        self.drain()
        self.reconcile(self._clock.now(), min_age=timedelta(0))

    def _read_events(self) -> None:
        backoff = 0.5
        ready = False
        while not self._stopping.is_set():
            try:
                if not ready:
                    self._reader.ensure_group()
                    ready = True
                entries = self._reader.read(block_ms=self._block_ms(), via=self._listener)
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

    def _block_ms(self) -> int:
        # Within the connection's socket timeout, which a longer wait would trip.
        timeout = _socket_timeout(self._conn.connection_pool)
        return READ_BLOCK_MS if not timeout else min(READ_BLOCK_MS, int(timeout * 500))


def _socket_timeout(pool: Any) -> float | None:
    """The pool's socket timeout (s): the one it was given, else its connection class's
    default, which recent redis-py sets to 5 s (a client made without one still has one)."""
    if "socket_timeout" in pool.connection_kwargs:
        return pool.connection_kwargs["socket_timeout"]  # type: ignore[no-any-return]
    for cls in pool.connection_class.__mro__:  # Connection passes it on to its base
        param = inspect.signature(cls.__init__).parameters.get("socket_timeout")
        if param is not None and param.default is not param.empty:
            return param.default  # type: ignore[no-any-return]
    return None


def _named_client(conn: redis.Redis, name: str) -> redis.Redis:
    """A client on the same server as ``conn``, with a pool of its own whose connections
    all carry ``name`` (set again on every reconnect)."""
    pool = conn.connection_pool
    kwargs = {**pool.connection_kwargs, "client_name": name}
    return redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )


def results_group(data_dir: Path) -> str:
    # One consumer group per data directory: each store sees every result event once.
    return "store-" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
