"""Into RQ, exactly once: runs are enqueued with ids derived from (job, instant).

Each run is written by a Lua script that claims a marker key (``SET NX``) and only
then saves the RQ job hash and pushes its id on the queue, all atomically. A second
watcher, a retry after a crash, or a catch-up of an instant that was in fact enqueued
all find the marker taken and enqueue nothing. The marker outlives RQ's own job hash
(whose result TTL is minutes), so an id is refused for ``MARKER_TTL`` after first use.
All runs due together go to Redis in one pipeline; bursts staged ahead of their instant
with their lists (``Dispatcher.stage_burst``) are claimed by one call naming only the lists
(``Dispatcher.fire``), and staged runs sent the ordinary way by one script call per
``CLAIM_CHUNK`` runs. The scripts are in ``scheduler.engine.claims``.

High availability adds two things to the same scripts (see ``scheduler.engine.leader``): a
fencing check (a dispatcher given a ``fence`` enqueues only while the lease holds that
token, so a deposed leader's late dispatch is refused, returned as ``fenced``) and the
shared resume point (each scheduled run raises its job's entry in ``LAST_DISPATCHED_KEY``
in the same atomic step, so a new leader knows where the old one stopped).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError
from rq import Queue, Retry
from rq.job import Job

from scheduler.core.durations import parse_duration
from scheduler.core.runs import RunRequest, RunTrigger
from scheduler.engine.claims import CLAIM_STAGED, ENQUEUE_ONCE, SWEEP_BURSTS
from scheduler.engine.leader import LAST_DISPATCHED_KEY, LEASE_KEY

if TYPE_CHECKING:
    from scheduler.core.job import LoadedJob

RUNNER = "scheduler.runner.run"
MARKER_PREFIX = "scheduler:run:"
MARKER_TTL = timedelta(days=30)
#: RQ's default job timeout is 180 s; a scheduled task runs until it ends unless its job
#: sets ``timeout``.
NO_TIMEOUT = -1


@dataclass(frozen=True, kw_only=True)
class RqOptions:
    """What a job file says about its RQ jobs: timeout, TTLs and retries (seconds)."""

    timeout: int = NO_TIMEOUT
    result_ttl: int | None = None  # None: RQ's default (500 s)
    failure_ttl: int | None = None  # None: RQ's default (1 year)
    retry_intervals: tuple[int, ...] = ()  # one wait per retry; empty: no retries


def retry_intervals(count: int, backoff: float, factor: float, cap: float) -> tuple[int, ...]:
    """The waits before each of ``count`` retries: backoff * factor**n, capped, whole seconds."""
    return tuple(int(min(backoff * factor**n, cap)) for n in range(count))


#: The job fields that decide its RQ options: a job setting none takes ``RqOptions()``.
RQ_FIELDS = ("timeout", "result_ttl", "failure_ttl", "retries")


def rq_options(job: LoadedJob) -> RqOptions:
    """Timeout, TTLs and retry waits of the job's RQ jobs, in seconds."""
    if job.leaves_default(*RQ_FIELDS):  # nearly every job: no spec rebuilt, no model
        return RqOptions()
    spec = job.spec

    def seconds(text: str | None) -> int | None:
        return None if text is None else int(parse_duration(text).total_seconds())

    intervals: tuple[int, ...] = ()
    if spec.retries is not None:
        r = spec.retries
        intervals = retry_intervals(
            r.max,
            parse_duration(r.backoff).total_seconds(),
            r.factor,
            parse_duration(r.max_backoff).total_seconds(),
        )
    return RqOptions(
        timeout=seconds(spec.timeout) or NO_TIMEOUT,
        result_ttl=seconds(spec.result_ttl),
        failure_ttl=seconds(spec.failure_ttl),
        retry_intervals=intervals,
    )


#: A script, its KEYS and its ARGV.
ScriptCall = tuple[Script, list[Any], list[Any]]

#: Runs claimed by one call of ``CLAIM_STAGED``.
CLAIM_CHUNK = 1000
_NOT_STAGED = -1
_FENCED = -2
_WITHDRAWN = -3
STAGE_PREFIX = "scheduler:staged:"
BURST_PREFIX = "scheduler:burst:"
#: The burst lists not claimed yet, by the time (unix ms) when they and what they staged
#: are deleted (``SWEEP_BURSTS``); a run withdrawn from its burst keeps its copy that long.
BURST_INDEX = "scheduler:burst-index"
STAGE_TTL = 3600
#: How often staging also sweeps the lists whose time is up (s), and how many at most.
SWEEP_EVERY = 60.0
SWEEP_LISTS = 100


@dataclass(frozen=True, eq=False)
class Burst:
    """Runs staged together, with their list in Redis: claimed at the instant by its key."""

    key: str
    requests: tuple[RunRequest, ...]


@dataclass(frozen=True)
class Dispatched:
    """What became of one run request: enqueued now, or already enqueued before."""

    request: RunRequest
    enqueued: bool
    at: datetime
    #: Refused: the dispatcher's fence token no longer holds the lease (not its leader).
    fenced: bool = False


class Dispatcher:
    """Enqueues run requests into RQ queues on one Redis connection."""

    def __init__(
        self,
        conn: redis.Redis,
        *,
        owner: str = "",
        fence: Callable[[], str | None] | None = None,
        options: Callable[[str], RqOptions] | None = None,
    ) -> None:
        self._conn = conn
        self._owner = owner
        self._fence = fence
        #: The RQ options (timeout, TTLs, retries) of a job's runs, by job name.
        self._options = options or (lambda _job: RqOptions())
        self._queues: dict[str, Queue] = {}
        self._script = conn.register_script(ENQUEUE_ONCE)
        self._claim_script = conn.register_script(CLAIM_STAGED)
        self._sweep_script = conn.register_script(SWEEP_BURSTS)
        self._next_sweep = time.monotonic()
        self._staged: dict[str, RunRequest] = {}

    def _queue(self, name: str) -> Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = Queue(name, connection=self._conn)
        return queue

    def stage_burst(self, requests: Sequence[RunRequest]) -> Burst:
        """Stage runs in Redis ahead of their instant, with their list, for ``fire``.

        Building and sending an RQ job hash costs a fraction of a millisecond; for a
        thousand runs due in the same second that is most of the lateness. So the watcher
        writes each hash beforehand under a staging key (expiring, invisible to workers),
        and at the instant one script call claims the burst's runs and renames each hash
        into place; the call carries only the burst's key, so its cost on the client does
        not grow with the burst. A run withdrawn from its burst stays staged, for
        ``enqueue``. The burst's list stays in ``BURST_INDEX`` until its claim, and is
        swept with its staged copies ``STAGE_TTL`` after staging if never claimed. Raises
        redis.RedisError if Redis fails.
        """
        burst = Burst(BURST_PREFIX + uuid.uuid4().hex, tuple(requests))
        now_ms = int(time.time() * 1000)
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_EVERY
            self._sweep_script(keys=[BURST_INDEX], args=[now_ms, STAGE_PREFIX, SWEEP_LISTS])
        pipe = self._conn.pipeline(transaction=False)
        entries: list[str | int] = []
        for request in burst.requests:
            _, job, instant_ms = _ha_args("", request)
            entries += [request.run_id, request.queue, job, instant_ms]
        # Indexed and listed before any copy is written: whatever part of the pipeline
        # reaches Redis if the connection drops, each copy there is one a sweep will find.
        pipe.zadd(BURST_INDEX, {burst.key: now_ms + STAGE_TTL * 1000})
        pipe.rpush(burst.key, *entries)
        fresh = self._stage(pipe, burst.requests)
        # Loaded now, not on the NOSCRIPT of the first claim: that reply, SCRIPT LOAD and
        # the claim again were a round trip and a compile at the instant (1.5-6 ms). Every
        # staging loads them again (a hash lookup when known): Redis forgets its scripts
        # when it restarts, not its staged copies.
        pipe.script_load(self._claim_script.script)
        pipe.script_load(self._script.script)
        pipe.execute()
        self._remember(fresh)
        return burst

    def fire(
        self, bursts: Sequence[tuple[Burst, Collection[str]]], now: datetime
    ) -> list[Dispatched]:
        """Claim staged bursts in one script call, each but the run ids given with it.

        Returns what became of every run claimed (the withdrawn ones are left staged, for
        ``enqueue``). Raises redis.RedisError if Redis fails.
        """
        if not bursts:
            return []
        fence = (self._fence() if self._fence is not None else None) or ""
        keys = [LEASE_KEY, LAST_DISPATCHED_KEY, Queue.redis_queues_keys, BURST_INDEX]
        keys += [burst.key for burst, _ in bursts]
        args = self._claim_head(fence) + [run for _, withdrawn in bursts for run in withdrawn]
        # On the connection, not in a pipeline: a pipeline asks SCRIPT EXISTS first, one
        # more round trip before the runs are visible.
        replies = self._claim_script(keys=keys, args=args)
        requests: list[RunRequest] = []
        results: list[Any] = []
        for (burst, _), claimed in zip(bursts, replies, strict=True):
            if len(claimed) != len(burst.requests):  # its list is gone: none claimed here
                continue
            for request, result in zip(burst.requests, claimed, strict=True):
                if result != _WITHDRAWN:
                    self._staged.pop(request.run_id, None)
                    requests.append(request)
                    results.append(result)
        return self._outcomes(requests, results, fence, now)

    def enqueue(self, requests: Sequence[RunRequest], now: datetime) -> list[Dispatched]:
        """Enqueue every request in one pipeline; raises redis.RedisError if Redis fails."""
        if not requests:
            return []
        fence = (self._fence() if self._fence is not None else None) or ""
        staged: list[int] = []
        direct: list[int] = []
        for i, request in enumerate(requests):
            # Not staged, or the job changed since: the whole job is sent now.
            same = self._staged.pop(request.run_id, None) == request
            (staged if same else direct).append(i)
        chunks = [staged[k : k + CLAIM_CHUNK] for k in range(0, len(staged), CLAIM_CHUNK)]
        calls = [self._claim([requests[i] for i in chunk], fence) for chunk in chunks]
        calls += [self._script_call(requests[i], fence) for i in direct]
        replies = run_scripts(self._conn, calls)
        claims, singles = replies[: len(chunks)], replies[len(chunks) :]
        results: list[Any] = [None] * len(requests)
        for chunk, claimed in zip(chunks, claims, strict=True):
            for i, result in zip(chunk, claimed, strict=True):
                results[i] = result
        for i, result in zip(direct, singles, strict=True):
            results[i] = result
        return self._outcomes(requests, results, fence, now)

    def _stage(self, pipe: Any, requests: Sequence[RunRequest]) -> list[RunRequest]:
        """Queue on ``pipe`` the staged hashes of the runs not staged yet; returns those."""
        fresh = [r for r in requests if self._staged.get(r.run_id) != r]
        for request in fresh:
            _, fields = self._job_fields(self._queue(request.queue), request)
            key = STAGE_PREFIX + request.run_id
            pipe.hset(key, mapping=dict(zip(fields[::2], fields[1::2], strict=True)))
        return fresh

    def _remember(self, fresh: list[RunRequest]) -> None:
        if len(self._staged) > 100_000:
            self._staged.clear()
        for request in fresh:
            self._staged[request.run_id] = request

    def _outcomes(
        self, requests: Sequence[RunRequest], results: list[Any], fence: str, now: datetime
    ) -> list[Dispatched]:
        """The claims' results as outcomes, once the runs not staged went the long way."""
        unstaged = [i for i, result in enumerate(results) if result == _NOT_STAGED]
        if unstaged:  # the staged copy expired or another watcher took it: the long way
            calls = [self._script_call(requests[i], fence) for i in unstaged]
            for i, result in zip(unstaged, run_scripts(self._conn, calls), strict=True):
                results[i] = result
        return [
            Dispatched(request, result == 1, now, fenced=result == _FENCED)
            for request, result in zip(requests, results, strict=True)
        ]

    def _claim_head(self, fence: str) -> list[str | int]:
        """The ARGV of ``CLAIM_STAGED`` before its runs: fence, marker, key prefixes, TTL."""
        # The markers' expiry as an instant: SET's EX would be rewritten to one for the AOF.
        expiry = int((time.time() + MARKER_TTL.total_seconds()) * 1000)
        args: list[str | int] = [fence, self._owner or "1", expiry]
        args += [STAGE_PREFIX, MARKER_PREFIX, Job.redis_job_namespace_prefix]
        return [*args, Queue.redis_queue_namespace_prefix, STAGE_TTL]

    def _claim(self, requests: list[RunRequest], fence: str) -> ScriptCall:
        """One claim of these staged runs (see ``CLAIM_STAGED``)."""
        args = self._claim_head(fence)
        for request in requests:
            _, job, instant_ms = _ha_args(fence, request)
            args += [request.run_id, request.queue, job, instant_ms]
        keys = [LEASE_KEY, LAST_DISPATCHED_KEY, Queue.redis_queues_keys, BURST_INDEX]
        return self._claim_script, keys, args

    def _job_fields(self, queue: Queue, request: RunRequest) -> tuple[Any, list[Any]]:
        opts = self._options(request.job)
        retry = None
        if opts.retry_intervals:
            retry = Retry(max=len(opts.retry_intervals), interval=list(opts.retry_intervals))
        job = queue.create_job(
            RUNNER,
            args=(request.as_payload(),),
            job_id=request.run_id,
            timeout=opts.timeout,
            result_ttl=opts.result_ttl,
            failure_ttl=opts.failure_ttl,
            retry=retry,
            description=f"{request.job} @ {request.scheduled_for} ({request.trigger})",
        )
        # What Queue.enqueue_job does before saving (origin, enqueued_at, status).
        queue._prepare_for_queue(job)
        fields: list[Any] = []
        for key, value in job.to_dict().items():
            if value is not None:
                fields += [key, value if isinstance(value, bytes | str) else str(value)]
        return job, fields

    def _script_call(self, request: RunRequest, fence: str) -> ScriptCall:
        """One run sent whole (see ``ENQUEUE_ONCE``)."""
        queue = self._queue(request.queue)
        job, fields = self._job_fields(queue, request)
        keys = [MARKER_PREFIX + request.run_id, job.key, queue.key, Queue.redis_queues_keys]
        keys += [LEASE_KEY, LAST_DISPATCHED_KEY]
        args = [job.id, int(MARKER_TTL.total_seconds()), self._owner or "1"]
        args += [*_ha_args(fence, request), *fields]
        return self._script, keys, args


def _ha_args(fence: str, request: RunRequest) -> list[str | int]:
    """ARGV of the fencing check and the resume point: manual runs move no resume point."""
    if request.trigger is RunTrigger.manual:
        return [fence, "", 0]
    instant = datetime.fromisoformat(request.scheduled_for)
    return [fence, request.job, int(instant.timestamp() * 1000)]


def run_scripts(conn: redis.Redis, calls: Sequence[ScriptCall]) -> list[Any]:
    """The replies of these script calls, sent as plain EVALSHA in one pipeline.

    redis-py's pipeline asks SCRIPT EXISTS before every pipeline that holds a script: one
    more round trip before the runs are visible. A NOSCRIPT reply (Redis restarted or
    flushed its scripts) ran nothing, so those calls are sent again once their scripts are
    loaded. Raises the first error a call got, or redis.RedisError if Redis fails.
    """
    replies = _evalsha(conn, calls)
    missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
    if missing:
        for script in {id(calls[i][0]): calls[i][0] for i in missing}.values():
            script.sha = conn.script_load(script.script)
        for i, reply in zip(missing, _evalsha(conn, [calls[i] for i in missing]), strict=True):
            replies[i] = reply
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


def _evalsha(conn: redis.Redis, calls: Sequence[ScriptCall]) -> list[Any]:
    pipe = conn.pipeline(transaction=False)
    for script, keys, args in calls:
        pipe.evalsha(script.sha, len(keys), *keys, *args)
    return list(pipe.execute(raise_on_error=False))
