"""The store's one SQLite connection and its transactions, shared by its tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scheduler.core.errors import StoreError


class Database:
    """An open SQLite file at ``path``: the connection, its writes and its batches.

    The tables (:mod:`~scheduler.store.runs`, :mod:`~scheduler.store.jobstate`,
    :mod:`~scheduler.store.meta`) write through :meth:`write`, so a :meth:`batch` around
    several of their writes makes them one transaction.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._in_batch = False

    @classmethod
    def connect(cls, path: Path, target: str, *, uri: bool) -> Database:
        """Open ``target`` (the file name, or a ``file:`` URI when ``uri``) as ``path``."""
        # isolation_level=None: the module's implicit BEGINs are off; write() says BEGIN itself.
        try:
            conn = sqlite3.connect(target, uri=uri, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise StoreError(path, f"cannot open ({exc})") from exc
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=5000")
        return cls(path, conn)

    def close(self) -> None:
        """Close the connection; the store is unusable afterwards. Closing twice is fine."""
        self.conn.close()

    @property
    def schema_version(self) -> int:
        """The file's schema version (``PRAGMA user_version``); 0 for a file never migrated."""
        try:
            row = self.conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(self.path, f"not a readable SQLite database ({exc})") from exc
        return int(row[0])

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode for this file (``wal`` once a writer has opened it)."""
        return str(self.conn.execute("PRAGMA journal_mode").fetchone()[0])

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group the writes made inside into one transaction (one commit for a whole burst)."""
        if self._in_batch:
            yield
            return
        with self.write():
            self._in_batch = True
            try:
                yield
            finally:
                self._in_batch = False

    def commit_so_far(self) -> None:
        """Inside a :meth:`batch`: commit its writes so far, and go on in a new transaction."""
        if not self._in_batch:
            raise RuntimeError("commit_so_far outside a batch")
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN IMMEDIATE")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, or a part of the :meth:`batch` around it."""
        if self._in_batch:
            yield self.conn
            return
        # IMMEDIATE takes the write lock up front, so a conditional UPDATE never has to
        # upgrade a read lock mid-transaction (which fails at once instead of waiting).
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            # SQLite may already have rolled back on its own (SQLITE_FULL, SQLITE_IOERR).
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
