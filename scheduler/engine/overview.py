"""What the operator's view shows, assembled from the job files, SQLite and Redis.

One :class:`Overview` serves the pages, the JSON API and ``/metrics``. It reloads the
catalog only when a file under the jobs dir changed (checked at most every
``catalog_check_s``) and rebuilds its snapshot at most every ``snapshot_s``, in the
background, so 200 clients polling cost one read of the records, not 200, and no page
waits for a reload. What depends only on a definition (the schedule in words) is built
once per load. Redis down or SQLite locked are states it reports (``redis_error``,
``records_error``), never exceptions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.core.catalog import Catalog
from scheduler.core.clock import Clock
from scheduler.core.errors import StoreError
from scheduler.core.job import LoadedJob
from scheduler.core.ledger import state
from scheduler.core.localtime import local_iso
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
    #: What front ends rendered from this snapshot (a page, a JSON body), by their key:
    #: 200 clients asking for the same thing cost one rendering per snapshot.
    rendered: dict[Any, bytes] = field(default_factory=dict, compare=False, repr=False)
    _render_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def render_once(self, key: Any, make: Callable[[], bytes]) -> bytes:
        """``make()``'s bytes for ``key``, made once per snapshot (at most 256 kept)."""
        found = self.rendered.get(key)
        if found is not None:
            return found
        with self._render_lock:
            found = self.rendered.get(key)
            if found is None:
                found = make()
                if len(self.rendered) < 256:
                    self.rendered[key] = found
            return found


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
        snapshot_s: float = 5.0,
        catalog_check_s: float = 5.0,
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
        #: Each job's row as far as it depends only on its definition (built once per load).
        self._static: dict[str, dict[str, Any]] = {}
        self._build_lock = threading.Lock()
        self._refreshing = False

    # -- the catalog ------------------------------------------------------------------

    def _files_signature(self) -> tuple[Any, ...]:
        out: list[tuple[str, int | None, int | None]] = []
        if self.jobs_dir.is_dir():
            for path in sorted(self.jobs_dir.rglob("*")):
                if path.suffix in (".yaml", ".yml") or path.name == "scheduler.toml":
                    try:
                        st = path.stat()
                    except OSError:  # a dangling symlink or a loop: the loader reports it
                        out.append((str(path), None, None))
                        continue
                    out.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(out)

    def catalog(self) -> Catalog:
        """The jobs as the files said at the last check (loaded on first use)."""
        with self._lock:
            catalog = self._catalog
        if catalog is not None:
            return catalog
        with self._build_lock:
            return self._reload_if_changed()

    def _reload_if_changed(self) -> Catalog:
        """Reload the catalog when a file changed (checked every ``catalog_check_s``).

        Called under ``_build_lock`` (one loader at a time) but not ``_lock``: a reload of
        many files must not hold up the pages, which go on with the previous catalog.
        """
        with self._lock:
            catalog = self._catalog
            due = catalog is None or time.monotonic() - self._checked >= self._catalog_check_s
        if not due:
            assert catalog is not None
            return catalog
        signature = self._files_signature()
        if catalog is None or signature != self._signature:
            now = self.clock.now()
            fresh = api.validate([self.jobs_dir], now) if self.jobs_dir.is_dir() else Catalog()
            with self._lock:
                self._catalog, self._signature = fresh, signature
                self._next_cache, self._static = {}, {}
            catalog = fresh
        with self._lock:
            self._checked = time.monotonic()
        return catalog

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
        """The current state, about ``snapshot_s`` old at most.

        Only the first read (and the one after :meth:`invalidate`) waits for a build; a
        stale snapshot is served while one thread builds the next, so a page never waits
        for a reload of many jobs. ``snapshot_s`` 0 builds on every read (tests).
        """
        with self._lock:
            snap = self._snapshot
            fresh = snap is not None and time.monotonic() - self._snapshot_at < self._snapshot_s
            if snap is not None and (fresh or self._refreshing):
                return snap
            if snap is not None and self._snapshot_s > 0:
                self._refreshing = True
                threading.Thread(target=self._refresh, name="overview", daemon=True).start()
                return snap
        return self._refresh()

    def _refresh(self) -> Snapshot:
        with self._build_lock:
            try:
                catalog = self._reload_if_changed()
                with self._lock:
                    static = self._static
                built = self._build(catalog, static, self.clock.now())
                with self._lock:
                    self._snapshot = built
                    self._snapshot_at = time.monotonic()
            finally:
                with self._lock:
                    self._refreshing = False
            return built

    def _next_run(self, job: LoadedJob, now: datetime) -> datetime | None:
        # The schedule's next instant stays right until it passes: computed once per run.
        nxt = self._next_cache.get(job.name)
        if job.name not in self._next_cache or (nxt is not None and nxt <= now):
            nxt = job.schedule.next_after(now) if job.spec.enabled else None
            self._next_cache[job.name] = nxt
        return nxt

    def _build(
        self, catalog: Catalog, static: dict[str, dict[str, Any]], now: datetime
    ) -> Snapshot:
        records_error = None
        last: dict[str, Any] = {}
        meta: dict[str, tuple[str, datetime] | None] = {}
        canaries: dict[str, tuple[str | None, int]] = {}
        try:
            last = self.runlog.last_runs()
            meta = self.runlog.meta(_META)
            canaries = self.runlog.canaries_left()
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
            base = static.get(name)
            if base is None:
                base = static[name] = api.job_row(job, None)
            rows.append(
                {
                    **base,
                    "next_run": None if nxt is None else local_iso(nxt, job.timezone),
                    "next_run_utc": None if nxt is None else nxt.astimezone(UTC).isoformat(),
                    "state": _state(spec.enabled, pause, _in_canary(job, canaries.get(name))),
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


def _in_canary(job: LoadedJob, recorded: tuple[str | None, int] | None) -> bool:
    """Whether the job still has canary runs to go (as ``api.in_canary`` decides it)."""
    if recorded is None or recorded[0] != job.definition_hash:
        return job.spec.canary > 0
    return recorded[1] > 0


def _state(enabled: bool, pause: dict[str, Any] | None, canary: bool) -> str:
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
