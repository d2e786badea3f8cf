"""The SQLite record of runs, per-job state and watcher metadata.

The watcher owns the only writing :class:`Store`; CLI commands open the same file with
:meth:`Store.open_readonly`. WAL mode lets those readers run while the watcher writes.
Every write is its own short transaction and is idempotent: duplicates are refused by
UNIQUE constraints and status changes are conditional UPDATEs, so replaying a write or an
event changes nothing. Instants are stored as ISO-8601 UTC text (:func:`iso_utc`), which
also sorts chronologically.

Modules: :mod:`.store` (the Store, composed of the others), :mod:`.runs`, :mod:`.entries`
(applying the entries about runs, by their rules) and :mod:`.runrow` (the ``runs`` table),
:mod:`.jobstate`, :mod:`.meta`, :mod:`.migrations` (the schema), :mod:`.connection` (the
connection and its transactions), :mod:`.instants`.
"""

from scheduler.core.errors import StoreError, StoreMissingError, StoreVersionError
from scheduler.store.jobstate import JobState, StateRow
from scheduler.store.migrations import MIGRATIONS, SCHEMA_VERSION
from scheduler.store.runrow import RunRow
from scheduler.store.store import WRITER_BUSY_TIMEOUT_MS, Store

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "WRITER_BUSY_TIMEOUT_MS",
    "JobState",
    "RunRow",
    "StateRow",
    "Store",
    "StoreError",
    "StoreMissingError",
    "StoreVersionError",
]
