"""What the operator's view shows, assembled from the job files, SQLite and Redis.

One :class:`Overview` serves the pages, the JSON API and ``/metrics``. It reloads the
catalog only when a file under the jobs dir changed (checked at most every
``catalog_check_s``) and rebuilds its snapshot at most every ``snapshot_s``, so 200
clients polling cost one read of the records, not 200. Redis down or SQLite locked are
states it reports (``redis_error``, ``records_error``), never exceptions.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scheduler.core.catalog import Catalog
from scheduler.core.clock import Clock
from scheduler.core.errors import StoreError
from scheduler.core.job import LoadedJob
from scheduler.core.ledger import state
from scheduler.engine import api
from scheduler.engine.runlog import RunLog

_META = ("generation", "heartbeat", "last_rejected", "leadership", "paused")


@dataclass
class Snapshot:
    """The state of everything at ``taken``: job rows, the watcher, the problems."""

    taken: datetime
    jobs: list[dict[str, Any]]
    watcher: dict[str, Any]
    rejected: list[dict[str, Any]]
    records_missing: bool = False
    records_error: str | None = None
    redis_error: str | None = None
    by_name: dict[str, dict[str, Any]] = field(default_factory=dict)


def mode(job: LoadedJob) -> str | None:
    """The dry-run / production badge, from the job's ``dry_run`` param (None: no such)."""
    value = job.spec.params.get("dry_run")
    if value is None:
        return None
    return "dry-run" if value else "production"


class Overview:
    """The view of one jobs dir and data dir (and Redis): cached, safe from any thread."""

    def __init__(
        self,
        jobs_dir: Path,
        data_dir: Path,
        redis_url: str | None,
        clock: Clock,
        *,
        snapshot_s: float = 2.0,
        catalog_check_s: float = 2.0,
    ) -> None:
        self.jobs_dir = jobs_dir
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.clock = clock
        self.runlog = RunLog(api.store_path(data_dir))
        self._snapshot_s = snapshot_s
        self._catalog_check_s = catalog_check_s
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._signature: tuple[Any, ...] = ()
        self._checked = 0.0
        self._snapshot: Snapshot | None = None
        self._snapshot_at = 0.0
        self._next_cache: dict[str, datetime | None] = {}

    # -- the catalog ------------------------------------------------------------------

    def _files_signature(self) -> tuple[Any, ...]:
        out = []
        if self.jobs_dir.is_dir():
            for path in sorted(self.jobs_dir.rglob("*")):
                if path.suffix in (".yaml", ".yml") or path.name == "scheduler.toml":
                    st = path.stat()
                    out.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(out)

    def catalog(self) -> Catalog:
        """The jobs as the files say now (reloaded after a change to any file)."""
        with self._lock:
            return self._catalog_locked()

    def _catalog_locked(self) -> Catalog:
        mono = time.monotonic()
        if self._catalog is None or mono - self._checked >= self._catalog_check_s:
            self._checked = mono
            signature = self._files_signature()
            if self._catalog is None or signature != self._signature:
                self._signature = signature
                self._catalog = (
                    api.validate([self.jobs_dir], self.clock.now())
                    if self.jobs_dir.is_dir()
                    else Catalog()
                )
                self._next_cache = {}
                self._snapshot = None
        assert self._catalog is not None
        return self._catalog

    def find_job(self, name: str) -> LoadedJob:
        """The valid job ``name``; UnknownJobError or InvalidJobError otherwise."""
        return api.find_job(self.catalog(), name)

    def redis(self) -> Any:
        """A Redis client (short timeouts) for the configured or embedded Redis, or None."""
        import redis

        url = self.redis_url
        marker = self.data_dir / "redis.url"
        if url is None and marker.is_file():
            url = marker.read_text(encoding="utf-8").strip()
        if not url:
            return None
        return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    # -- the snapshot -----------------------------------------------------------------

    def invalidate(self) -> None:
        """Forget the snapshot (after an action, so the next page shows its effect)."""
        with self._lock:
            self._snapshot = None

    def snapshot(self) -> Snapshot:
        """The current state, at most ``snapshot_s`` old."""
        with self._lock:
            catalog = self._catalog_locked()
            mono = time.monotonic()
            if self._snapshot is None or mono - self._snapshot_at >= self._snapshot_s:
                self._snapshot = self._build(catalog, self.clock.now())
                self._snapshot_at = mono
            return self._snapshot

    def _next_run(self, job: LoadedJob, now: datetime) -> datetime | None:
        # The schedule's next instant stays right until it passes: computed once per run.
        nxt = self._next_cache.get(job.name)
        if job.name not in self._next_cache or (nxt is not None and nxt <= now):
            nxt = job.schedule.next_after(now) if job.spec.enabled else None
            self._next_cache[job.name] = nxt
        return nxt

    def _build(self, catalog: Catalog, now: datetime) -> Snapshot:
        records_error = None
        last: dict[str, Any] = {}
        meta: dict[str, tuple[str, datetime] | None] = {}
        try:
            last = self.runlog.last_runs()
            meta = self.runlog.meta(_META)
        except StoreError as exc:
            records_error = str(exc)
        watcher = api.watcher_health(meta, now)
        paused, redis_error = self._pauses(now, watcher["paused"])
        rows = []
        for name in sorted(catalog.jobs):
            job = catalog.jobs[name]
            spec = job.spec
            nxt = self._next_run(job, now)
            run = last.get(name)
            pause = paused.get(name)
            rows.append(
                {
                    **api.job_row(job, nxt),
                    "state": _state(spec.enabled, pause, spec.canary),
                    "paused": pause,
                    "mode": mode(job),
                    "last_run": None if run is None else _last(run),
                }
            )
        return Snapshot(
            taken=now,
            jobs=rows,
            watcher=watcher,
            rejected=[
                {"file": e.file, "line": e.line, "column": e.column, "message": e.message}
                for e in catalog.errors
            ],
            records_missing=not self.runlog.exists,
            records_error=records_error,
            redis_error=redis_error,
            by_name={str(r["name"]): r for r in rows},
        )

    def _pauses(self, now: datetime, recorded: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The pauses in force (from Redis; the watcher's copy when Redis is down)."""
        try:
            conn = self.redis()
        except ValueError as exc:
            return recorded, f"bad Redis URL: {exc}"
        if conn is None:
            return recorded, "no Redis known: start `scheduler run` or pass --redis-url"
        try:
            live = api.live_pauses(conn, now)
        finally:
            conn.close()
        if live is None:
            return recorded, "Redis is not reachable: pauses shown as the watcher last saw them"
        return live, None


def _state(enabled: bool, pause: dict[str, Any] | None, canary: int) -> str:
    if not enabled:
        return "disabled"
    if pause is not None:
        return "paused"
    return "canary" if canary else "enabled"


def _last(run: Any) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "scheduled_for": run.scheduled_for.isoformat(),
        "status": str(run.status),
        "state": state(run.status, run.reason),
        "trigger": str(run.trigger),
        "duration_s": run.duration_s,
        "error": run.error,
    }
