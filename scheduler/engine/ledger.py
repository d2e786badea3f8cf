"""The ledger entries this watcher records: applied to its own store at once, and published
on the results stream so that every other watcher's store applies them too.

What the leader decides about a run (enqueued, deduplicated, waiting, released, skipped,
missed, replaced, or closed by reconciliation) is one :class:`~scheduler.core.runs.RunEvent`
(``core.ledger.RULES`` says how it moves a run). :meth:`Ledger.record` applies it to the
local store and keeps it; :meth:`Ledger.flush` sends every kept entry in one pipeline. The
steps that record call ``flush`` at their end, inside their SQLite transaction, after the
runs are visible in their queues: dispatch is never delayed, and an entry is on the stream
before its row is committed, so a watcher killed in between finds the entry when it comes
back (entries of an earlier life are applied, only this life's own are skipped); a batch
long enough to commit part-way publishes what is recorded before each such commit. While
Redis is down the entries wait and go with a later flush (reconciliation flushes every few
seconds); past ``MAX_PENDING`` the oldest are dropped, with a warning.
"""

from __future__ import annotations

import secrets

import redis
import structlog

from scheduler.core.runs import RunEvent
from scheduler.store import Store
from scheduler.store.resilient import ResilientStore
from scheduler.worker.events import publish_many

log = structlog.get_logger("scheduler.ledger")

#: Entries kept while Redis is unreachable, at most.
MAX_PENDING = 100_000


class Ledger:
    """Records ledger entries in ``store`` and publishes them on ``conn``'s results stream.

    ``origin`` marks each published entry: ``<watcher id>#<random>``, new for every
    process, so this process's reader skips its own entries (already applied) but a
    restarted watcher applies those of its previous life.
    """

    def __init__(self, *, store: Store, conn: redis.Redis, watcher: str) -> None:
        self._apply = store.apply_event
        self._conn = conn
        self.origin = f"{watcher}#{secrets.token_hex(4)}"
        self._pending: list[RunEvent] = []
        self._failing = False
        if isinstance(store, ResilientStore):  # a long batch commits part-way: publish first
            store.publish_first = self._publish_all

    def record(self, entry: RunEvent) -> bool:
        """Apply ``entry`` to this watcher's store now and keep it to publish; True if it
        created the run's row or moved its status."""
        # Kept first: a batch that its row takes past its length commits part-way, and
        # publishes what is kept before (``ResilientStore.publish_first``).
        self._pending.append(entry)
        return self._apply(entry)

    def publish(self, entry: RunEvent) -> None:
        """Keep an entry applied to the store already, to publish with the others."""
        self._pending.append(entry)

    @property
    def pending(self) -> int:
        """How many entries wait to be published."""
        return len(self._pending)

    def _publish_all(self) -> bool:
        """Flush; True if every entry recorded so far is on the stream."""
        self.flush()
        return not self._pending

    def flush(self) -> None:
        """Publish the kept entries, in the order recorded, in one round trip.

        Never raises for Redis: on failure the entries are kept for the next flush.
        """
        if not self._pending:
            return
        try:
            publish_many(self._conn, self._pending, origin=self.origin)
        except redis.RedisError as exc:
            dropped = len(self._pending) - MAX_PENDING
            if dropped > 0:
                del self._pending[:dropped]
                log.error("ledger.entries_dropped", count=dropped, kept=MAX_PENDING)
            if not self._failing:
                log.warning("ledger.publish_failed", error=str(exc), pending=self.pending)
            self._failing = True
            return
        if self._failing:
            log.info("ledger.published", count=len(self._pending), recovered=True)
            self._failing = False
        self._pending = []
