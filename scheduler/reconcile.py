"""Runs the results stream never finished: ask RQ what became of them.

A worker killed mid-task (SIGKILL, a cold shutdown, a lost machine) publishes no final
event, and a stream entry can be trimmed before a long-stopped watcher reads it. So the
watcher periodically looks up its unfinished runs in RQ and closes each one RQ knows
the end of, so that every run ends in exactly one final state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import redis

from scheduler.runs import EventKind, RunEvent, RunTrigger, iso_utc

_JOB_KEY = "rq:job:"
_WORKER_KEY = "rq:worker:"


def reconcile(
    conn: redis.Redis, runs: Sequence[tuple[str, str, datetime, RunTrigger, str]], now: datetime
) -> list[RunEvent]:
    """Final events for runs (run_id, job, scheduled_for, trigger, our status) RQ has ended.

    A run RQ finished becomes succeeded; one RQ failed, stopped or canceled becomes failed;
    one whose RQ job vanished, or whose worker is gone while RQ still says started,
    becomes failed with the reason. Anything still queued or running is left alone.
    """
    if not runs:
        return []
    pipe = conn.pipeline(transaction=False)
    for run_id, *_ in runs:
        pipe.hmget(_JOB_KEY + run_id, "status", "worker_name", "exc_info")
    jobs = pipe.execute()
    workers = {_text(w) for _, w, _ in jobs if w}
    pipe = conn.pipeline(transaction=False)
    for name in sorted(workers):
        pipe.hmget(_WORKER_KEY + name, "birth", "death")
    # A worker that shut down keeps its key for a minute, marked with its death; one that
    # was SIGKILLed keeps it until its heartbeat TTL runs out.
    alive = {
        name: bool(birth) and not death
        for name, (birth, death) in zip(sorted(workers), pipe.execute(), strict=True)
    }
    events = []
    for (run_id, job, scheduled, trigger, ours), (status, worker, _) in zip(
        runs, jobs, strict=True
    ):
        rq_status = _text(status) if status else None
        worker_name = _text(worker) if worker else ""
        kind, error = _verdict(rq_status, ours, alive.get(worker_name, False))
        if kind is None:
            continue
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


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
