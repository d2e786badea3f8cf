"""The ``meta`` table: watcher facts (heartbeat, watcher id, config generation, ...) by key."""

from __future__ import annotations

from datetime import datetime

from scheduler.store.connection import Database
from scheduler.store.instants import aware, instant


class Meta:
    """The key/value facts saved in ``db``, each with when it was set."""

    def __init__(self, db: Database) -> None:
        self._write = db.write
        self._conn = db.conn

    def set_meta(self, key: str, value: str, at: datetime) -> None:
        """Set a watcher fact (heartbeat, config generation, ...) and when it was set."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, aware(at, "at")),
            )

    def get_meta(self, key: str) -> tuple[str, datetime] | None:
        """The value of ``key`` and when it was set (aware UTC), or None if never set."""
        row = self._conn.execute(
            "SELECT value, updated_at FROM meta WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        at = instant(row["updated_at"])
        assert at is not None  # set_meta always writes it
        return row["value"], at
