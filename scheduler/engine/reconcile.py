"""Runs the results stream never finished: ask RQ what became of them.

A worker killed mid-task (SIGKILL, a cold shutdown, a lost machine) publishes no final
event, and a stream entry can be trimmed before a long-stopped watcher reads it. So the
watcher periodically looks up its unfinished runs in RQ and closes each one RQ knows
the end of, so that every run ends in exactly one final state. What it concludes is
published like any ledger entry, so a run left open by a watcher that died is closed in
every watcher's records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import redis
from rq.exceptions import NoSuchJobError

from scheduler.core.runs import EventKind, RunEvent, RunTrigger, iso_utc
from scheduler.worker.rqworker import HEARTBEAT_FIELD

_JOB_KEY = "rq:job:"
_WORKER_KEY = "rq:worker:"
#: A worker advertising its heartbeat period is dead after this many periods without one
#: (plus some slack for clock skew between its machine and Redis').
MISSED_BEATS = 3
BEAT_SLACK = timedelta(seconds=5)


def reconcile(
    conn: redis.Redis,
    runs: Sequence[tuple[str, str, datetime, RunTrigger, str]],
    now: datetime,
    *,
    retry: bool = True,
) -> list[RunEvent]:
    """Final events for runs (run_id, job, scheduled_for, trigger, our status) RQ has ended.

    A run RQ finished becomes succeeded; one RQ failed, stopped or canceled becomes failed;
    one whose RQ job vanished, or whose worker is gone while RQ still says started,
    becomes failed with the reason. Anything still queued or running is left alone. A run
    whose worker is gone but that has retries left is retried (``retrying``) when
    ``retry``, else left alone: only the leader retries, so that two watchers never requeue
    one run, nor one close as failed a run the other retries.
    """
    if not runs:
        return []
    pipe = conn.pipeline(transaction=False)
    for run_id, *_ in runs:
        pipe.hmget(_JOB_KEY + run_id, "status", "worker_name", "retries_left")
    jobs = pipe.execute()
    workers = {_text(w) for _, w, _ in jobs if w}
    pipe = conn.pipeline(transaction=False)
    for name in sorted(workers):
        pipe.hmget(_WORKER_KEY + name, "birth", "death", "last_heartbeat", HEARTBEAT_FIELD)
    # A worker that shut down keeps its key for a minute, marked with its death; one that
    # was SIGKILLed keeps it until its heartbeat TTL runs out (90 s for a busy RQ worker),
    # unless it is one of ours, whose missed beats show sooner. Redis' clock is the
    # reference: the watcher's own may be injected or off.
    redis_now = _redis_now(conn) if workers else None
    alive = {
        name: _alive(fields, redis_now)
        for name, fields in zip(sorted(workers), pipe.execute(), strict=True)
    }
    events = []
    for (run_id, job, scheduled, trigger, ours), (status, worker, retries_left) in zip(
        runs, jobs, strict=True
    ):
        rq_status = _text(status) if status else None
        worker_name = _text(worker) if worker else ""
        kind, error = _verdict(rq_status, ours, alive.get(worker_name, False))
        if kind is None:
            continue
        attempt = None
        if rq_status == "started" and retries_left and int(_text(retries_left)) > 0:
            if not retry:
                continue
            # RQ itself would retry it only when its registry entry expires (a minute or
            # more after the last beat): do what its clean-up does, now.
            attempt = _retry_abandoned(conn, run_id)
            if attempt is not None:
                kind = EventKind.retrying
        events.append(
            RunEvent(
                kind=kind,
                run_id=run_id,
                job=job,
                scheduled_for=iso_utc(scheduled),
                trigger=trigger,
                at=iso_utc(now),
                worker=worker_name,
                error=error,
                attempt=attempt,
            )
        )
    return events


def _verdict(
    rq_status: str | None, ours: str, worker_alive: bool
) -> tuple[EventKind | None, str | None]:
    if rq_status is None:
        return EventKind.failed, "lost: its RQ job is gone (expired or deleted) without a result"
    if rq_status == "finished":
        return EventKind.succeeded, None
    if rq_status in ("failed", "stopped", "canceled"):
        return EventKind.failed, f"RQ reports the job {rq_status} (the worker sent no result)"
    if rq_status == "started" and ours == "started" and not worker_alive:
        return EventKind.failed, "its worker stopped while running it (killed or shut down)"
    return None, None


def _retry_abandoned(conn: redis.Redis, run_id: str) -> int | None:
    """Requeue (or schedule, after its backoff) an RQ job whose worker died running it, as
    RQ's abandoned-job clean-up does; the attempt that died (1-based), or None if the job
    is gone or no longer started (RQ got there first)."""
    from rq.job import Job, JobStatus
    from rq.queue import Queue

    try:
        job = Job.fetch(run_id, connection=conn)
    except NoSuchJobError:
        return None
    if job.get_status(refresh=False) != JobStatus.STARTED or not job.retries_left:
        return None
    with conn.pipeline() as pipe:
        job.retry(Queue(job.origin, connection=conn), pipe)
        pipe.execute()
    payload = job.args[0] if job.args and isinstance(job.args[0], dict) else {}
    total = int(payload.get("retries") or 0)
    return max(1, total - (job.retries_left or 0))


def _alive(fields: list[bytes | None], redis_now: datetime | None) -> bool:
    birth, death, beat, period = fields
    if not birth or death:
        return False
    if not beat or not period or redis_now is None:
        return True
    try:
        last = datetime.fromisoformat(_text(beat).replace("Z", "+00:00"))
        silent_for = timedelta(seconds=float(_text(period)) * MISSED_BEATS) + BEAT_SLACK
    except ValueError:
        return True
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return redis_now - last <= silent_for


def _redis_now(conn: redis.Redis) -> datetime:
    seconds, micros = conn.time()
    return datetime.fromtimestamp(seconds + micros / 1e6, UTC)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
