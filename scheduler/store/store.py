"""The :class:`Store`: one SQLite file holding the runs, the job states and the meta facts.

The watcher owns the only writing Store; CLI commands open the same file with
:meth:`Store.open_readonly`. WAL mode lets those readers run while the watcher writes.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from scheduler.core.errors import StoreError, StoreMissingError, StoreVersionError
from scheduler.store.backup import CopyFacts, backup
from scheduler.store.connection import Database
from scheduler.store.jobstate import JobStates
from scheduler.store.meta import Meta
from scheduler.store.migrations import SCHEMA_VERSION, migrate
from scheduler.store.prune import Prune
from scheduler.store.runs import Runs

#: How long the watcher's writes wait for a lock another process holds on the file.
WRITER_BUSY_TIMEOUT_MS = 120_000
#: A file written before auto_vacuum was set is rewritten (VACUUM) when the watcher opens
#: it, up to this size (well under a second); a larger one waits for ``prune --vacuum``.
CONVERT_MAX_BYTES = 64 * 1024 * 1024


@contextmanager
def _closed_on_error(db: Database, use: str) -> Iterator[None]:
    """Close ``db`` if the block fails; a SQLite error becomes "cannot ``use`` as ..."."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StoreError(db.path, f"cannot {use} as a SQLite database ({exc})") from exc
    except BaseException:
        db.close()
        raise


class Store:
    """The SQLite run records at ``path``. One thread owns a Store; close it when done.

    It is composed of its tables, :attr:`runs` (:class:`~scheduler.store.runs.Runs`),
    :attr:`jobs` (:class:`~scheduler.store.jobstate.JobStates`) and :attr:`meta`
    (:class:`~scheduler.store.meta.Meta`), over one connection. Their methods are also the
    Store's own, bound once when it opens (``store.history`` calls ``store.runs.history``
    directly), so a call made per run of a burst costs no extra hop.
    """

    def __init__(self, path: Path) -> None:
        """Open or create the file (and its parent folders) for writing, migrating it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database.connect(path, str(path), uri=False)
        with _closed_on_error(db, "use"):
            # The watcher is the only writer, but not the only process that may lock the file
            # (a backup, an open sqlite3 shell). Waiting beats crashing: the loop stalls,
            # its runs go out late, and nothing is lost. The CLI's readers keep 5 s.
            db.conn.execute(f"PRAGMA busy_timeout={WRITER_BUSY_TIMEOUT_MS}")
            if db.schema_version == 0:
                # Only a file with no table yet takes this at once; it lets a prune give
                # the pages it frees back to the file system (PRAGMA incremental_vacuum).
                db.conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            db.conn.execute("PRAGMA journal_mode=WAL")
            db.conn.execute("PRAGMA synchronous=NORMAL")
            db.conn.execute("PRAGMA foreign_keys=ON")
            migrate(db)
            prune = Prune(db)
            if not prune.incremental and path.stat().st_size <= CONVERT_MAX_BYTES:
                with contextlib.suppress(sqlite3.OperationalError):  # no room: stays as is
                    prune.convert()
        self._compose(db, readonly=False)

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """Open an existing file for reading only (CLI commands); never creates or migrates.

        Raises :class:`StoreMissingError` when the file does not exist and
        :class:`StoreVersionError` when the watcher has not migrated it yet.
        """
        path = Path(path)
        if not path.is_file():
            raise StoreMissingError(path)
        db = Database.connect(path, f"{path.resolve().as_uri()}?mode=ro", uri=True)
        with _closed_on_error(db, "read"):
            db.conn.execute("PRAGMA query_only=ON")
            found = db.schema_version
            if found < SCHEMA_VERSION:
                hint = "start the watcher (`scheduler run`) once to migrate it"
                raise StoreVersionError(path, found, SCHEMA_VERSION, hint)
        store = cls.__new__(cls)
        store._compose(db, readonly=True)
        return store

    def _compose(self, db: Database, *, readonly: bool) -> None:
        self.path = db.path
        self.readonly = readonly
        self._db = db
        self.runs = runs = Runs(db)
        self.jobs = jobs = JobStates(db)
        self.meta = meta = Meta(db)
        self.prune = Prune(db)
        self.close = db.close
        self.batch = db.batch
        self.record_enqueued = runs.record_enqueued
        self.record_missed = runs.record_missed
        self.record_skipped = runs.record_skipped
        self.apply_event = runs.apply_event
        self.active_runs = runs.active_runs
        self.history = runs.history
        self.last_run = runs.last_run
        self.last_runs = runs.last_runs
        self.count_runs = runs.count_runs
        self.save_job_state = jobs.save_job_state
        self.save_job_states = jobs.save_job_states
        self.job_states = jobs.job_states
        self.job_states_after = jobs.job_states_after
        self.has_job_states = jobs.has_job_states
        self.forget_job = jobs.forget_job
        self.set_meta = meta.set_meta
        self.get_meta = meta.get_meta

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def failure(self) -> str | None:
        """Why the records cannot be written now (see ``ResilientStore``); None: they can."""
        return None

    @property
    def schema_version(self) -> int:
        """The file's schema version (``PRAGMA user_version``); 0 for a file never migrated."""
        return self._db.schema_version

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode for this file (``wal`` once a writer has opened it)."""
        return self._db.journal_mode

    def backup(self, dest: Path, taken_at: str) -> CopyFacts:
        """Write a consistent copy of the records to ``dest`` (see :mod:`.backup`)."""
        return backup(self._db.conn, dest, taken_at)

    def rename_job(self, old: str, new: str) -> int:
        """Carry ``old``'s runs and state over to ``new`` (a rename via ``previous_names``).

        Returns how many runs moved. State moves only when ``new`` has none yet; a run
        whose slot ``new`` already holds stays under ``old``.
        """
        with self._db.batch():  # one transaction, as both tables change together
            moved = self.runs.move_job(old, new)
            self.jobs.rename_job_state(old, new)
            return moved
