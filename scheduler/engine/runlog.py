"""Read-only queries of the run records for the operator's view (``scheduler web``).

The web process never writes: it opens the watcher's SQLite file with a ``mode=ro`` URI
and ``query_only``, one short-lived connection per read (so any thread may read). Before
the watcher's first start there is no file, which reads as no records (:class:`Empty`
callers check :attr:`RunLog.exists`); a file locked past a short wait is a
:class:`RecordsBusyError`, so a page says so instead of hanging.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.core.errors import StoreError, StoreVersionError
from scheduler.core.ledger import LEDGER, Filter, state
from scheduler.core.runs import iso_utc
from scheduler.store.migrations import SCHEMA_VERSION
from scheduler.store.runrow import RunRow
from scheduler.store.runs import LAST_RUNS_SQL

#: The most rows one history read returns, whatever the caller asks.
MAX_LIMIT = 500
#: How long a read waits for a lock the watcher (or a backup) holds: a page must not hang.
BUSY_TIMEOUT_MS = 1000


class RecordsBusyError(StoreError):
    """The records file stayed locked (or busy) longer than a page may wait."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(path, f"locked by another process ({detail}); try again shortly")


class BadCursorError(ValueError):
    """A history cursor this server did not hand out (or one mangled on the way)."""


@dataclass(frozen=True, kw_only=True)
class HistoryQuery:
    """Which runs to read: a job (None: all), a ledger state, scheduled ``since`` (inclusive)
    ``until`` (exclusive), at most ``limit`` (capped at :data:`MAX_LIMIT`) after ``cursor``."""

    job: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    cursor: str | None = None


def encode_cursor(row: RunRow) -> str:
    """An opaque token for "the runs after this one" (newest first)."""
    raw = json.dumps([iso_utc(row.scheduled_for), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[str, int]:
    """The (scheduled_for, id) a cursor stands for; :class:`BadCursorError` if malformed."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, row_id = json.loads(raw)
        datetime.fromisoformat(at)
    except (ValueError, TypeError, binascii.Error):
        raise BadCursorError(token) from None
    if not isinstance(at, str) or not isinstance(row_id, int):
        raise BadCursorError(token)
    return at, row_id


class RunLog:
    """The records under one data dir, read-only."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def exists(self) -> bool:
        """False until the watcher first creates the file (an empty state, not an error)."""
        return self.path.is_file()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise StoreError(self.path, f"cannot open ({exc})") from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only=ON")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version < SCHEMA_VERSION:
                hint = "start the watcher (`scheduler run`) once to migrate it"
                raise StoreVersionError(self.path, version, SCHEMA_VERSION, hint)
            yield conn
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise RecordsBusyError(self.path, text) from exc
            raise StoreError(self.path, f"cannot read ({text})") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(self.path, f"not a readable SQLite database ({exc})") from exc
        finally:
            conn.close()

    # -- history ---------------------------------------------------------------------

    def history(self, query: HistoryQuery) -> tuple[list[dict[str, Any]], str | None]:
        """Runs newest scheduled first, as ``history --format json`` rows, and the cursor of
        the next page (None: this is the last one). Raises :class:`BadCursorError`."""
        if not self.exists:
            return [], None
        limit = max(1, min(query.limit, MAX_LIMIT))
        pick = LEDGER[query.state] if query.state else Filter()
        clauses: list[str] = []
        params: list[object] = []
        for column, value in (
            ("job", query.job),
            ("status", pick.status),
            ("reason", pick.reason),
            ("trigger", pick.trigger),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(str(value))
        if query.since is not None:
            clauses.append("scheduled_for >= ?")
            params.append(iso_utc(query.since))
        if query.until is not None:
            clauses.append("scheduled_for < ?")
            params.append(iso_utc(query.until))
        if query.cursor:
            at, row_id = decode_cursor(query.cursor)
            clauses.append("(scheduled_for < ? OR (scheduled_for = ? AND id < ?))")
            params += [at, at, row_id]
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        sql = f"SELECT * FROM runs{where} ORDER BY scheduled_for DESC, id DESC LIMIT ?"
        with self._read() as conn:
            rows = [RunRow.from_row(r) for r in conn.execute(sql, [*params, limit + 1])]
        more = len(rows) > limit
        rows = rows[:limit]
        out = [{**r.as_json(), "state": state(r.status, r.reason)} for r in rows]
        return out, encode_cursor(rows[-1]) if more else None

    # -- what the pages and metrics summarise -----------------------------------------

    def last_runs(self) -> dict[str, RunRow]:
        """Each job's run with the latest scheduled instant (the store's query: one seek a job)."""
        if not self.exists:
            return {}
        with self._read() as conn:
            return {row["job"]: RunRow.from_row(row) for row in conn.execute(LAST_RUNS_SQL)}

    def meta(self, keys: tuple[str, ...]) -> dict[str, tuple[str, datetime] | None]:
        """The watcher's facts (heartbeat, generation, ...) by key, with when each was set."""
        out: dict[str, tuple[str, datetime] | None] = dict.fromkeys(keys)
        if not self.exists:
            return out
        marks = ",".join("?" * len(keys))
        with self._read() as conn:
            for row in conn.execute(
                f"SELECT key, value, updated_at FROM meta WHERE key IN ({marks})", keys
            ):
                out[row["key"]] = (row["value"], datetime.fromisoformat(row["updated_at"]))
        return out

    def canaries_left(self) -> dict[str, tuple[str | None, int]]:
        """Per job, the definition hash the watcher last saw and its canary runs left."""
        if not self.exists:
            return {}
        with self._read() as conn:
            rows = conn.execute("SELECT job, definition_hash, canary_left FROM job_state")
            return {r["job"]: (r["definition_hash"], int(r["canary_left"] or 0)) for r in rows}

    def durations(self, job: str, count: int) -> list[RunRow]:
        """The job's last ``count`` runs that have a duration, oldest first (for a plot)."""
        if not self.exists:
            return []
        sql = (
            "SELECT * FROM runs WHERE job = ? AND duration_s IS NOT NULL"
            " ORDER BY scheduled_for DESC, id DESC LIMIT ?"
        )
        with self._read() as conn:
            rows = [RunRow.from_row(r) for r in conn.execute(sql, (job, min(count, MAX_LIMIT)))]
        return rows[::-1]

    def outcomes_per_day(self, job: str, since: datetime) -> dict[str, dict[str, int]]:
        """How many of the job's runs ended in each status, per UTC day from ``since``."""
        if not self.exists:
            return {}
        sql = (
            "SELECT substr(scheduled_for, 1, 10) AS day, status, COUNT(*) AS n FROM runs"
            " WHERE job = ? AND scheduled_for >= ? GROUP BY day, status ORDER BY day"
        )
        out: dict[str, dict[str, int]] = {}
        with self._read() as conn:
            for row in conn.execute(sql, (job, iso_utc(since))):
                out.setdefault(row["day"], {})[row["status"]] = int(row["n"])
        return out

    def window(
        self, start: datetime, end: datetime, jobs: list[str], limit: int = 20_000
    ) -> list[RunRow]:
        """The runs of ``jobs`` scheduled in [start, end), oldest first (the timeline)."""
        if not self.exists or not jobs:
            return []
        marks = ",".join("?" * len(jobs))
        sql = (
            f"SELECT * FROM runs WHERE job IN ({marks}) AND scheduled_for >= ?"
            " AND scheduled_for < ? ORDER BY scheduled_for LIMIT ?"
        )
        with self._read() as conn:
            params = (*jobs, iso_utc(start), iso_utc(end), limit)
            return [RunRow.from_row(r) for r in conn.execute(sql, params)]

    def totals(self) -> dict[tuple[str, str], int]:
        """How many runs each job has in each status, by (job, status)."""
        if not self.exists:
            return {}
        sql = "SELECT job, status, COUNT(*) AS n FROM runs GROUP BY job, status"
        with self._read() as conn:
            return {(r["job"], r["status"]): int(r["n"]) for r in conn.execute(sql)}

    def last_success(self) -> dict[str, datetime]:
        """When each job's latest succeeded run finished, UTC."""
        if not self.exists:
            return {}
        sql = (
            "SELECT job, MAX(finished_at) AS at FROM runs"
            " WHERE status = 'succeeded' AND finished_at IS NOT NULL GROUP BY job"
        )
        with self._read() as conn:
            return {r["job"]: datetime.fromisoformat(r["at"]) for r in conn.execute(sql)}

    def histogram(self, expr: str, buckets: tuple[float, ...]) -> tuple[list[int], int, float]:
        """Cumulative counts of ``expr`` (a vetted SQL expression in seconds) per bucket
        upper bound, then the count and sum of all its non-null values, over every run."""
        if not self.exists:
            return [0] * len(buckets), 0, 0.0
        parts = [f"SUM(CASE WHEN v <= {float(b)!r} THEN 1 ELSE 0 END)" for b in buckets]
        sql = (
            f"SELECT {', '.join(parts)}, COUNT(v), TOTAL(v) FROM"
            f" (SELECT {expr} AS v FROM runs) WHERE v IS NOT NULL"
        )
        with self._read() as conn:
            row = conn.execute(sql).fetchone()
        counts = [int(x or 0) for x in row[: len(buckets)]]
        return counts, int(row[len(buckets)] or 0), float(row[len(buckets) + 1] or 0.0)


#: Run duration in seconds, as the worker measured it.
DURATION_SQL = "duration_s"
#: Dispatch lateness: from the scheduled instant to the enqueue, in seconds.
LATENESS_SQL = (
    "CASE WHEN enqueued_at IS NOT NULL AND trigger = 'schedule' THEN"
    " (julianday(enqueued_at) - julianday(scheduled_for)) * 86400.0 END"
)


def day_start(now: datetime, days: int) -> datetime:
    """Midnight UTC ``days - 1`` days before ``now``'s day (the first day of a plot)."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=days - 1)
