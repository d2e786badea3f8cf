"""Into RQ, exactly once: runs are enqueued with ids derived from (job, instant).

Each run is written by one Lua script that claims a marker key (``SET NX``) and only
then saves the RQ job hash and pushes its id on the queue, all atomically. A second
watcher, a retry after a crash, or a catch-up of an instant that was in fact enqueued
all find the marker taken and enqueue nothing. The marker outlives RQ's own job hash
(whose result TTL is minutes), so an id is refused for ``MARKER_TTL`` after first use.
All runs due together go to Redis in one pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from rq import Queue

from scheduler.runs import RunRequest

RUNNER = "scheduler.runner.run"
MARKER_PREFIX = "scheduler:run:"
MARKER_TTL = timedelta(days=30)
#: RQ's default job timeout is 180 s; a scheduled task runs until it ends unless a job
#: sets a timeout (a later issue adds the field).
NO_TIMEOUT = -1

_ENQUEUE_ONCE = """
-- KEYS: marker, job hash, queue list, set of queues
-- ARGV: job id, marker ttl (s), marker value, then field/value pairs of the job hash
if not redis.call('SET', KEYS[1], ARGV[3], 'NX', 'EX', ARGV[2]) then
    return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then
    return 0
end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], KEYS[3])
return 1
"""


@dataclass(frozen=True)
class Dispatched:
    """What became of one run request: enqueued now, or already enqueued before."""

    request: RunRequest
    enqueued: bool
    at: datetime


class Dispatcher:
    """Enqueues run requests into RQ queues on one Redis connection."""

    def __init__(self, conn: redis.Redis, *, owner: str = "") -> None:
        self._conn = conn
        self._owner = owner
        self._queues: dict[str, Queue] = {}
        self._script = conn.register_script(_ENQUEUE_ONCE)
        self._prepared: dict[str, tuple[RunRequest, list[Any], list[Any]]] = {}

    def _queue(self, name: str) -> Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = Queue(name, connection=self._conn)
        return queue

    def prepare(self, requests: Sequence[RunRequest]) -> None:
        """Serialise runs ahead of their instant, so enqueueing them is one Redis round trip.

        Building an RQ job costs a fraction of a millisecond; for a thousand runs due in
        the same second that is most of the lateness, so the watcher pays it beforehand.
        """
        if len(self._prepared) > 100_000:
            self._prepared.clear()
        for request in requests:
            if request.run_id not in self._prepared:
                keys, args = self._script_call(self._queue(request.queue), request)
                self._prepared[request.run_id] = (request, keys, args)

    def enqueue(self, requests: Sequence[RunRequest], now: datetime) -> list[Dispatched]:
        """Enqueue every request in one pipeline; raises redis.RedisError if Redis fails."""
        if not requests:
            return []
        pipe = self._conn.pipeline(transaction=False)
        for request in requests:
            prepared = self._prepared.pop(request.run_id, None)
            if prepared is not None and prepared[0] == request:
                keys, args = prepared[1], prepared[2]
            else:  # not prepared, or the job changed since: build it now
                keys, args = self._script_call(self._queue(request.queue), request)
            self._script(keys=keys, args=args, client=pipe)
        results = pipe.execute()
        return [
            Dispatched(request, bool(result), now)
            for request, result in zip(requests, results, strict=True)
        ]

    def _script_call(self, queue: Queue, request: RunRequest) -> tuple[list[Any], list[Any]]:
        job = queue.create_job(
            RUNNER,
            args=(request.as_payload(),),
            job_id=request.run_id,
            timeout=NO_TIMEOUT,
            description=f"{request.job} @ {request.scheduled_for} ({request.trigger})",
        )
        # What Queue.enqueue_job does before saving (origin, enqueued_at, status).
        queue._prepare_for_queue(job)
        fields: list[Any] = []
        for key, value in job.to_dict().items():
            if value is not None:
                fields += [key, value if isinstance(value, bytes | str) else str(value)]
        keys = [MARKER_PREFIX + request.run_id, job.key, queue.key, Queue.redis_queues_keys]
        args = [job.id, int(MARKER_TTL.total_seconds()), self._owner or "1", *fields]
        return keys, args
