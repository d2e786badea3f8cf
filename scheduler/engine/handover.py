"""The watcher's side of high availability: what it does when it gains or loses the lease.

Kept out of ``watcher.py`` (which only calls these hooks) so the loop stays readable. The
lease itself is ``scheduler.engine.leader``; this module decides where dispatching resumes.

The resume point of a job is the later of two instants: the shared one in Redis (the
latest scheduled instant any leader dispatched, written by the dispatch script in the
same step as the run) and this watcher's own (its last dispatch, or when it loaded the
job's current definition). Each watcher may have its own SQLite file, so the shared point
is what lets a standby continue exactly where a dead leader stopped: instants after it
are dispatched (late, within the grace) or accounted for as missed, never skipped silently;
instants before it are never sent again (and the run id would deduplicate them anyway).
"""

from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import redis
import structlog

from scheduler.engine.leader import shared_last_dispatched

if TYPE_CHECKING:
    from scheduler.core.runs import RunRequest
    from scheduler.engine.dispatch import Dispatched
    from scheduler.engine.watcher import Watcher

log = structlog.get_logger("scheduler.handover")

#: The SQLite meta key where the watcher records its role and the leader it sees.
ROLE_META = "leadership"

# Watchers that led from the start -> the jobs their records knew then (see lead_at_start).
_known_at_start: weakref.WeakKeyDictionary[Watcher, set[str]] = weakref.WeakKeyDictionary()


def leading(watcher: Watcher) -> bool:
    """Tick the elector; on becoming leader, resume every job. True while leading."""
    elector = watcher.options.leader
    if elector is None:
        return True
    if elector.tick():
        take_over(watcher, watcher.clock.now())
    known = _known_at_start.pop(watcher, None)
    if known is not None and elector.is_leader:
        _resume_unrecorded(watcher, known, watcher.clock.now())
    return elector.is_leader


def lead_at_start(watcher: Watcher, now: datetime) -> bool:
    """First try for the lease; a leader first brings its records up to the shared points.

    Without HA it is always the leader. A standby loads its jobs and waits (see
    ``standby_points``).
    """
    elector = watcher.options.leader
    if elector is None:
        return True
    elector.tick()
    if not elector.is_leader:
        return False
    shared = _shared(watcher)
    states = watcher.store.job_states()
    _known_at_start[watcher] = set(states)
    # The ordinary restart path resumes from the records; where another watcher led
    # meanwhile, its dispatches are later than what this file knows.
    with watcher.store.batch():
        for name, state in states.items():
            point = shared.get(name)
            if point is None or state.last_scheduled is None or point <= state.last_scheduled:
                continue
            watcher.store.save_job_state(
                job=name,
                last_scheduled=point,
                next_run=state.next_run,
                definition_hash=state.definition_hash,
                source_file=state.source_file,
                enabled=state.enabled,
                updated_at=now,
            )
    return True


def standby_points(watcher: Watcher) -> None:
    """A standby's resume point for each job: the shared one when a leader dispatched it."""
    shared = _shared(watcher)
    for name in watcher.config.jobs:
        point = shared.get(name)
        if point is not None:
            watcher._last[name] = point
            watcher._moved.add(name)


def take_over(watcher: Watcher, now: datetime) -> None:
    """This watcher just became leader: put every job back on schedule from its resume point."""
    shared = _shared(watcher)
    extra: list[RunRequest] = []
    resumed: dict[str, str] = {}
    elector = watcher.options.leader
    # Leading again after a lapse of its own lease (a long start-up, a Redis outage) with
    # nobody in between: a job already queued from its point needs nothing; the loop sends
    # its next instant by the same rules. At 100,000 jobs redoing them all took longer than
    # a lease, which then lapsed again.
    continued = elector is not None and elector.continued
    with watcher.store.batch():
        for job in list(watcher.config.jobs.values()):
            if not job.spec.enabled:
                continue
            points = [p for p in (shared.get(job.name), watcher._last.get(job.name)) if p]
            if not points:
                continue  # never dispatched and not yet loaded: its next instant is queued
            point = max(points)
            if continued and point == watcher._last.get(job.name) and job.name in watcher.due:
                continue
            resumed[job.name] = point.isoformat()
            # Same arithmetic as a loop that fell behind: late runs within the grace go out,
            # older ones are caught up once or recorded missed.
            extra += watcher._advance(job, point, now)
        watcher._send(extra)
    log.info("leader.resumed", watcher=watcher.id, jobs=len(resumed), sent_now=len(extra))


def _resume_unrecorded(watcher: Watcher, known: set[str], now: datetime) -> None:
    """Jobs this watcher's records never held (a new data dir) but another leader ran:
    the startup scheduled them from now; resume them from the shared point instead, so the
    instants since the last leader's last dispatch are not skipped."""
    shared = _shared(watcher)
    extra: list[RunRequest] = []
    with watcher.store.batch():
        for job in list(watcher.config.jobs.values()):
            point = shared.get(job.name)
            if job.name in known or not job.spec.enabled or point is None or point >= now:
                continue
            extra += watcher._advance(job, point, now)
        watcher._send(extra)


def drop_fenced(watcher: Watcher, outcomes: Sequence[Dispatched]) -> list[Dispatched]:
    """Runs Redis refused because another watcher holds the lease: not ours to record."""
    fenced = [o for o in outcomes if o.fenced]
    for outcome in fenced:
        req = outcome.request
        log.warning(
            "run.fenced",
            job=req.job,
            run_id=req.run_id,
            scheduled_for=req.scheduled_for,
            watcher=watcher.id,
        )
    if watcher.options.leader is not None:
        watcher.options.leader.lost("dispatch_fenced")
    return [o for o in outcomes if not o.fenced]


def save_role(watcher: Watcher, now: datetime) -> None:
    """Record the role and the leader this watcher sees, for ``status`` and ``health``."""
    elector = watcher.options.leader
    if elector is None:
        return
    holder = elector.holder
    value = {
        "role": str(elector.role) if elector.is_leader else "standby",
        "leader": None if holder is None else holder.as_json(),
        "lease_s": elector.ttl_s,
    }
    watcher.store.set_meta(ROLE_META, json.dumps(value, sort_keys=True), now)
    if elector.is_leader and elector.token is not None:
        _publish_points(watcher, elector.token)


# Raises the shared points to what the leader accounted for without dispatching (instants
# recorded skipped or missed), only while the given token holds the lease: a deposed leader's
# bookkeeping must not move them.
_RAISE_POINTS = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
    return -2
end
for i = 2, #ARGV, 2 do
    local last = redis.call('HGET', KEYS[1], ARGV[i])
    if not last or tonumber(ARGV[i + 1]) > tonumber(last) then
        redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    end
end
return 1
"""
# Watcher -> the points it last published, so only what moved is sent.
_published: weakref.WeakKeyDictionary[Watcher, dict[str, datetime]] = weakref.WeakKeyDictionary()


def _publish_points(watcher: Watcher, token: str) -> None:
    """Every heartbeat (2 s), the leader publishes its jobs' points that moved.

    Dispatches move the shared point themselves, atomically; this covers the instants a
    leader accounts for without sending anything (a pause, an overlap, a miss), so that a
    new leader does not weigh them again."""
    from scheduler.engine.leader import LAST_DISPATCHED_KEY, LEASE_KEY

    seen = _published.setdefault(watcher, {})
    candidates = list(watcher._moved)
    moved = {
        job: watcher._last[job]
        for job in candidates
        if job in watcher._last
        and job in watcher.config.jobs
        and seen.get(job) != watcher._last[job]
    }
    if not moved:
        watcher._moved.difference_update(candidates)
        return
    args: list[str | int] = [token]
    for job, last in moved.items():
        args += [job, int(last.timestamp() * 1000)]
    with contextlib.suppress(redis.RedisError):
        if watcher.conn.eval(_RAISE_POINTS, 2, LAST_DISPATCHED_KEY, LEASE_KEY, *args) == 1:
            seen.update(moved)
            watcher._moved.difference_update(candidates)


def _shared(watcher: Watcher) -> dict[str, datetime]:
    # Without Redis there is no shared point: this watcher's own records are the best known.
    with contextlib.suppress(redis.RedisError):
        return shared_last_dispatched(watcher.conn)
    return {}
