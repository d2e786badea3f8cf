"""Copies of the records: a consistent backup while the watcher writes, and its checks.

:func:`backup` uses SQLite's online backup API in one step from a read transaction: in WAL
mode the watcher keeps writing meanwhile, and the copy is the file as of one instant. The
copy is written beside its destination and renamed into place, so a crash never leaves a
half-written file under the destination's name, and it is a single file (journal mode
DELETE), fit to copy anywhere. :func:`check_copy` says whether a file can be restored.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from scheduler.core.errors import StoreError
from scheduler.store.migrations import SCHEMA_VERSION

#: Set in every backup: when it was taken (ISO-8601 UTC), so a restore knows from where on
#: the results stream to read again.
TAKEN_AT_META = "backup_taken_at"
#: Set by a restore: the results stream entry the watcher's next start reads again from.
REWIND_META = "restore_rewind_to"


@dataclass(frozen=True)
class CopyFacts:
    """What a check of a records file found."""

    path: Path
    size: int  # bytes
    runs: int
    schema_version: int
    taken_at: str | None  # when the backup was taken, when it is one


def put_meta(conn: sqlite3.Connection, key: str, value: str, at: str) -> None:
    """Set a ``meta`` fact in a records file that no Store has open (a copy)."""
    conn.execute(
        "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key)"
        " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, at),
    )


def backup(source: sqlite3.Connection, dest: Path, taken_at: str) -> CopyFacts:
    """Copy ``source``'s database to ``dest`` (a file path), consistent as of one instant.

    Raises :class:`StoreError` naming ``dest`` when it cannot be written (the partial copy
    is removed).
    """
    partial = dest.with_name(dest.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        target = sqlite3.connect(partial, isolation_level=None)
        try:
            source.backup(target)  # pages=-1: one step, one read snapshot
            target.execute("PRAGMA journal_mode=DELETE")
            put_meta(target, TAKEN_AT_META, taken_at, taken_at)
        finally:
            target.close()
        os.replace(partial, dest)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(dest, f"cannot write the backup ({exc})") from exc
    return check_copy(dest)


def check_copy(path: Path) -> CopyFacts:
    """Open ``path`` read-only and check it is a whole records file this code can use.

    Raises :class:`StoreError` naming ``path`` when it is missing, not SQLite, damaged
    (``PRAGMA quick_check``), not a scheduler's records, or newer than this code.
    """
    if not path.is_file():
        raise StoreError(path, "no such file")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(path, f"cannot open ({exc})") from exc
    try:
        verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise StoreError(path, f"damaged: {verdict}")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version == 0:
            raise StoreError(path, "not a scheduler's records (no schema version)")
        if version > SCHEMA_VERSION:
            raise StoreError(
                path, f"schema version {version} is newer than this scheduler's {SCHEMA_VERSION}"
            )
        runs = int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (TAKEN_AT_META,)).fetchone()
    except sqlite3.Error as exc:
        raise StoreError(path, f"not a readable records file ({exc})") from exc
    finally:
        conn.close()
    return CopyFacts(path, path.stat().st_size, runs, version, None if row is None else row[0])
