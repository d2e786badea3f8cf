"""A Store that outlives a full disk or a damaged file: what it cannot write, it keeps.

The watcher must go on dispatching when SQLite refuses writes (``SQLITE_FULL``, an I/O
error, a damaged file). :class:`ResilientStore` catches every SQLite error of its writes,
keeps the write (a call with its arguments) in memory, in order, and :meth:`retry` plays
them again once the file takes writes. Replaying is safe because every write is
idempotent (see :mod:`scheduler.store`): a run's entries apply by their rules in any
order, job state and meta are last-wins. A failed transaction (a :meth:`batch`) is kept
whole, since SQLite may have rolled all of it back; a batch of more than ``BATCH_KEPT``
writes commits as it goes, and only its writes since the last commit are kept. Before such
a commit, :attr:`ResilientStore.publish_first` publishes the ledger entries recorded so far
(the ledger's rows are on the results stream before they are committed, as at a batch's
end); while they cannot be, the batch commits only at its end. Reads that
fail return nothing. While writes wait, the watcher leaves the stream's entries
unacknowledged, so a watcher that dies meanwhile reads them again when it comes back:
nothing is lost either way.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Any, ClassVar

from scheduler.store.connection import Database
from scheduler.store.store import Store

#: Writes kept at most while the file refuses them (each a few hundred bytes); past that
#: the oldest go, and the stream's unacknowledged entries are what a restart reads again.
MAX_WAITING = 1_000_000
#: Writes replayed per transaction once the file takes them again.
REPLAY_BATCH = 5_000
#: A batch longer than this commits as it goes (a transaction per this many writes), so
#: the writes kept for a replay stay few: the start's batch has one per job.
BATCH_KEPT = 10_000

_WRITES: dict[str, object] = {
    "apply_event": True,
    "record_enqueued": True,
    "record_missed": True,
    "record_skipped": True,
    "save_job_state": None,
    "save_job_states": None,
    "set_meta": None,
    "forget_job": False,
}
#: Writes of many rows at once, their rows the first argument.
_BULK_WRITES = frozenset({"save_job_states"})
_READS: dict[str, Callable[[], object]] = {
    "active_runs": list,
    "history": list,
    "job_states": dict,
    "job_states_after": list,
    "has_job_states": lambda: True,  # unknown: nothing is scheduled ahead (see Watcher)
    "last_runs": dict,
    "get_meta": lambda: None,
    "last_run": lambda: None,
    "count_runs": int,
}


class ResilientStore(Store):
    """The watcher's writing Store, which keeps the writes SQLite refuses (see module)."""

    def _compose(self, db: Database, *, readonly: bool) -> None:
        super()._compose(db, readonly=readonly)
        self._waiting: list[Callable[[], object]] = []
        self._batch_ops: list[Callable[[], object]] | None = None
        self._batch_writes = 0  # in the batch's ops since it last tried to commit
        #: Called before a batch commits part-way: publishes the ledger entries recorded so
        #: far (:class:`scheduler.engine.ledger.Ledger` sets it), False if some could not be.
        self.publish_first: Callable[[], bool] | None = None
        self._error: str | None = None
        self.failing_since: float | None = None  # time.time() of the first failure
        self.dropped = 0
        self._batch_failed = False
        self.batch = self._batch
        for name, default in _WRITES.items():
            bulk = name in _BULK_WRITES
            setattr(self, name, self._guard_write(getattr(self, name), default, bulk=bulk))
        for name, empty in _READS.items():
            setattr(self, name, self._guard_read(getattr(self, name), empty))

    @property
    def failure(self) -> str | None:
        return self._error

    @property
    def waiting(self) -> int:
        """How many writes wait for the file to take them."""
        return len(self._waiting)

    def _failed(self, exc: sqlite3.Error) -> None:
        self._batch_failed = True
        self._error = f"{type(exc).__name__}: {exc}"
        if self.failing_since is None:
            self.failing_since = time.time()

    def _keep(self, ops: list[Callable[[], object]]) -> None:
        self._waiting.extend(ops)
        over = len(self._waiting) - MAX_WAITING
        if over > 0:
            del self._waiting[:over]
            self.dropped += over

    def _guard_write(
        self, write: Callable[..., Any], default: object, *, bulk: bool = False
    ) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            op = _Write(write, args, kwargs)
            if self._waiting:  # in order: after what already waits
                self._keep([op])
                return default
            ops = self._batch_ops
            if ops is not None:
                ops.append(op)
                # A bulk write (its rows first) is kept as long as its rows' worth of writes.
                self._batch_writes += len(args[0]) if bulk else 1
            try:
                done = op()
            except sqlite3.Error as exc:
                self._failed(exc)
                if ops is None:
                    self._keep([op])
                return default
            if ops is not None and self._batch_writes >= BATCH_KEPT and not self._batch_failed:
                self._commit_so_far(ops)
            return done

        return guarded

    def _commit_so_far(self, ops: list[Callable[[], object]]) -> None:
        publish = self.publish_first
        if publish is not None and not publish():
            # Committed unpublished, the rows of a watcher killed before its batch's end
            # would never reach the other watchers. Kept, they go with the batch (a killed
            # watcher then starts from what it last committed); tried again further on.
            self._batch_writes = 0
            return
        try:
            self._db.commit_so_far()
        except sqlite3.Error as exc:  # the writes since the last commit wait, as in any failure
            self._failed(exc)
            return
        ops.clear()  # written for good: nothing of them to replay
        self._batch_writes = 0

    def _guard_read(
        self, read: Callable[..., Any], empty: Callable[[], object]
    ) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return read(*args, **kwargs)
            except sqlite3.Error as exc:
                self._failed(exc)
                return empty()

        return guarded

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """One transaction, as :meth:`Store.batch`; if any of it failed, all of it waits."""
        if self._batch_ops is not None:
            yield
            return
        ops: list[Callable[[], object]] = []
        self._batch_ops = ops
        self._batch_writes = 0
        self._batch_failed = False
        try:
            with ExitStack() as stack:
                try:
                    stack.enter_context(self._db.batch())
                except sqlite3.Error as exc:  # BEGIN: the body's writes fail one by one
                    self._failed(exc)
                yield
        except sqlite3.Error as exc:  # COMMIT
            self._failed(exc)
        finally:
            self._batch_ops = None
        if self._batch_failed:
            self._keep(ops)

    def retry(self) -> bool:
        """Play the waiting writes again; True when none wait any more (the file is fine)."""
        while self._waiting:
            chunk = self._waiting[:REPLAY_BATCH]
            try:
                with self._db.batch():
                    for op in chunk:
                        op()
            except sqlite3.Error as exc:
                self._failed(exc)
                return False
            del self._waiting[: len(chunk)]
        self._error = None
        self.failing_since = None
        return True

    def rename_job(self, old: str, new: str) -> int:
        try:
            return super().rename_job(old, new)
        except sqlite3.Error as exc:
            self._failed(exc)
            self._keep([partial(Store.rename_job, self, old, new)])
            return 0


class _Write:
    """One write call kept for a replay, compactly: a batch keeps every write until it
    commits, and the start's batch holds one per job (``functools.partial``, with a dict of
    its keywords each, was a sixth of the watcher's peak memory at 100,000 jobs)."""

    __slots__ = ("_args", "_keys", "_values", "_write")

    _KEYS: ClassVar[dict[tuple[str, ...], tuple[str, ...]]] = {}

    def __init__(self, write: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]):
        keys = tuple(kwargs)
        self._write = write
        self._args = args
        self._keys = self._KEYS.setdefault(keys, keys)  # one per call site, not per call
        self._values = tuple(kwargs.values())

    def __call__(self) -> object:
        return self._write(*self._args, **dict(zip(self._keys, self._values, strict=True)))
