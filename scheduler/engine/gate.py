"""The policies applied at dispatch: runtime pauses and overlap, and failure alerts after.

Every run the watcher is about to send passes :meth:`Gate.admit`, which returns the ones
to send and records the others (``skipped`` with reason ``paused`` or ``overlap``, or
``enqueued``/``waiting`` for a run ``queue_one`` holds back), cancelling the earlier run
first under ``replace``. The gate only gathers each run's situation and applies the
decision: what to do is decided by :func:`scheduler.core.admission.decide` (pure). What
it records goes through the watcher's :class:`~scheduler.engine.ledger.Ledger`, so every
watcher's store gets it.

Where "is a run of this job still active" comes from: the watcher's own records. The
gate keeps, per job, the runs recorded ``enqueued`` or ``started`` (loaded from SQLite at
start, then kept up to date from what the watcher sends and the results stream reports,
the leader's entries included: a standby that takes over knows the runs in flight and
the ones waiting), so a job with nothing active costs one dict lookup. Only when a job
*has* an active run is RQ asked (one pipelined HGET per run, for all the batch's runs at
once): a result may still be on its way on the stream, and RQ knows first that it ended.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime

import redis
import structlog
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from scheduler.core.admission import Active, Hold, Replace, Skip, decide
from scheduler.core.job import LoadedJob
from scheduler.core.pause import Pause, changes
from scheduler.core.policies import OverlapPolicy, Reason
from scheduler.core.runs import EventKind, RunEvent, RunRequest, RunStatus, RunTrigger, iso_utc
from scheduler.engine import pauses
from scheduler.engine.alerts import Alerter, payload
from scheduler.engine.ledger import Ledger
from scheduler.store import Store

log = structlog.get_logger("scheduler.gate")

#: RQ statuses of a job that has not ended (``scheduled``: waiting for a retry).
RQ_ACTIVE = frozenset({"queued", "started", "deferred", "scheduled"})
#: How often the pauses are read from Redis (a pause takes effect within this).
PAUSE_REFRESH_S = 1.0
PAUSED_META = "paused"


class Gate:
    """Pauses and overlap at dispatch, alerts on failure; owned by the watcher's loop thread."""

    def __init__(
        self, *, store: Store, conn: redis.Redis, watcher: str, ledger: Ledger | None = None
    ) -> None:
        self.store = store
        self.conn = conn
        self.watcher = watcher
        self.ledger = ledger or Ledger(store=store, conn=conn, watcher=watcher)
        self.active: dict[str, dict[str, Active]] = {}
        self.paused: dict[str, Pause] = {}
        self.alerter = Alerter()
        self._pauses_read_at = float("-inf")

    # -- state -----------------------------------------------------------------------

    def load(self) -> None:
        """Rebuild the active runs from SQLite (at start)."""
        self.active.clear()
        for row in self.store.active_runs():
            self._track(
                row.job,
                Active(
                    job=row.job,
                    run_id=row.run_id,
                    scheduled_for=row.scheduled_for,
                    trigger=row.trigger,
                    status=row.status,
                    waiting=row.reason == Reason.waiting and row.enqueued_at is None,
                ),
            )

    def _track(self, job: str, run: Active) -> None:
        self.active.setdefault(job, {})[run.run_id] = run

    def _untrack(self, job: str, run_id: str) -> None:
        runs = self.active.get(job)
        if runs is not None:
            runs.pop(run_id, None)
            if not runs:
                del self.active[job]

    def sent(self, request: RunRequest) -> None:
        """A run went onto its RQ queue (or was already there)."""
        self._track(request.job, Active.of(request))

    # -- pauses ----------------------------------------------------------------------

    def refresh_pauses(self, now: datetime, *, force: bool = False) -> None:
        """Read the pauses from Redis (at most every PAUSE_REFRESH_S); log what changed.

        Expired pauses are removed from Redis. Raises redis.RedisError if Redis fails.
        """
        mono = time.monotonic()
        if not force and mono - self._pauses_read_at < PAUSE_REFRESH_S:
            return
        self._pauses_read_at = mono
        change = changes(self.paused, pauses.read(self.conn), now)
        for pause in change.expired:
            if pauses.clear_if_unchanged(self.conn, pause):
                log.info(
                    "job.resumed", job=pause.job, by="expiry", until=iso_utc(pause.until or now)
                )
        for name, pause in change.paused.items():
            log.warning(
                "job.paused",
                job=name,
                by=pause.by,
                reason=pause.reason,
                paused_at=iso_utc(pause.at),
                until=None if pause.until is None else iso_utc(pause.until),
            )
        for name in change.resumed:
            log.info("job.resumed", job=name)
        if change.changed:
            mirror = {n: p.as_json() for n, p in sorted(change.current.items())}
            self.store.set_meta(PAUSED_META, json.dumps(mirror), now)
        self.paused = dict(change.current)

    # -- admission -------------------------------------------------------------------

    def admit(
        self, requests: Sequence[RunRequest], jobs: Mapping[str, LoadedJob], now: datetime
    ) -> list[RunRequest]:
        """The runs to send now; the others are recorded. Raises redis.RedisError."""
        if not requests:
            return []
        self._confirm({r.job for r in requests if self._policy(jobs, r.job) is not None})
        admitted: list[RunRequest] = []
        catching_up: set[str] = set()
        for request in requests:
            runs = self.active.get(request.job)
            decision = decide(
                run_id=request.run_id,
                trigger=request.trigger,
                policy=self._policy(jobs, request.job),
                active=() if runs is None else runs.values(),
                pause=self.paused.get(request.job),
                catching_up=request.job in catching_up,
                now=now,
            )
            match decision:
                case Skip(reason=reason, note=note):
                    self._skip(request, reason, note, now)
                    continue
                case Hold(behind=behind):
                    self._hold(request, behind, now)
                    continue
                case Replace(earlier=earlier):
                    for run in earlier:
                        self._replace(request.job, run, request, now)
            # Admitted (under replace, once the earlier runs are ended): the run goes.
            admitted.append(request)
            if request.trigger is RunTrigger.catch_up:
                catching_up.add(request.job)
            self.sent(request)  # the next request of this job in the batch sees it
        return admitted

    def plain(self, job: LoadedJob) -> bool:
        """A run of ``job`` would be admitted with nothing to weigh: no pause, no overlap."""
        if job.name in self.paused:
            return False
        return job.overlap is OverlapPolicy.allow or not self.active.get(job.name)

    @staticmethod
    def _policy(jobs: Mapping[str, LoadedJob], name: str) -> OverlapPolicy | None:
        job = jobs.get(name)
        if job is None or job.overlap is OverlapPolicy.allow:
            return None
        return job.overlap

    def _confirm(self, names: set[str]) -> None:
        """Drop the active runs of ``names`` that RQ says have ended (results on their way)."""
        todo = [
            (name, run)
            for name in sorted(names)
            for run in self.active.get(name, {}).values()
            if not run.waiting
        ]
        if not todo:
            return
        pipe = self.conn.pipeline(transaction=False)
        for _, run in todo:
            pipe.hget(Job.key_for(run.run_id), "status")
        for (name, run), status in zip(todo, pipe.execute(), strict=True):
            text = status.decode() if isinstance(status, bytes) else status
            if text not in RQ_ACTIVE:
                self._untrack(name, run.run_id)

    def _skip(self, request: RunRequest, reason: Reason, note: str, now: datetime) -> None:
        self.ledger.record(_entry(EventKind.skipped, request, now, reason=str(reason), note=note))
        log.info(
            "run.skipped",
            job=request.job,
            run_id=request.run_id,
            scheduled_for=request.scheduled_for,
            trigger=str(request.trigger),
            reason=str(reason),
            note=note,
        )

    def _hold(self, request: RunRequest, behind: str, now: datetime) -> None:
        self.ledger.record(_entry(EventKind.waiting, request, now, note=f"waits for {behind}"))
        self._track(request.job, Active.of(request, waiting=True))
        log.info(
            "run.waiting",
            job=request.job,
            run_id=request.run_id,
            scheduled_for=request.scheduled_for,
            behind=behind,
        )

    def _replace(self, job: str, earlier: Active, request: RunRequest, now: datetime) -> None:
        """Cancel a queued run or stop a running one, and record it replaced."""
        stopped = False
        if not earlier.waiting:
            status = self.conn.hget(Job.key_for(earlier.run_id), "status")
            text = status.decode() if isinstance(status, bytes) else status
            if text == "started":
                with contextlib.suppress(InvalidJobOperation, NoSuchJobError):
                    send_stop_job_command(self.conn, earlier.run_id)
                stopped = True
            elif text in RQ_ACTIVE:
                with contextlib.suppress(InvalidJobOperation, NoSuchJobError):
                    Job.fetch(earlier.run_id, connection=self.conn).cancel()
        kind = EventKind.failed if stopped else EventKind.cancelled
        error = f"replaced by {request.run_id}"
        self.ledger.record(_entry(kind, earlier, now, reason=str(Reason.replaced), error=error))
        self._untrack(job, earlier.run_id)
        log.warning(
            "run.replaced",
            job=job,
            run_id=earlier.run_id,
            scheduled_for=iso_utc(earlier.scheduled_for),
            by=request.run_id,
            stopped=stopped,
        )

    # -- after dispatch --------------------------------------------------------------

    def releasable(self) -> list[Active]:
        """Waiting runs whose job has nothing else active: their turn has come."""
        out: list[Active] = []
        for runs in self.active.values():
            if all(r.waiting for r in runs.values()):
                out.extend(r for r in runs.values() if r.waiting)
        return out

    def released(self, job: str, run: Active, now: datetime) -> None:
        """A waiting run went onto its RQ queue."""
        self.ledger.record(_entry(EventKind.released, run, now))
        self._track(
            job,
            Active(
                job=job,
                run_id=run.run_id,
                scheduled_for=run.scheduled_for,
                trigger=run.trigger,
            ),
        )
        log.info(
            "run.released", job=job, run_id=run.run_id, scheduled_for=iso_utc(run.scheduled_for)
        )

    def drop_waiting(self, run: Active, reason: Reason, note: str, now: datetime) -> None:
        """A waiting run that will not go out after all: recorded skipped."""
        self.ledger.record(_entry(EventKind.cancelled, run, now, reason=str(reason), error=note))
        self._untrack(run.job, run.run_id)
        log.info(
            "run.skipped",
            job=run.job,
            run_id=run.run_id,
            scheduled_for=iso_utc(run.scheduled_for),
            reason=str(reason),
            note=note,
        )

    def on_event(self, event: RunEvent, job: LoadedJob | None, *, changed: bool = True) -> None:
        """Follow a report about a run (a worker's, or another watcher's ledger entry): the
        run's active state, and an alert if a worker's report says it failed.

        ``changed``: the report created the run's record or moved its status. A replayed
        report (the stream re-delivers after a crash) changes nothing and alerts nobody a
        second time; so does another watcher's entry (that watcher alerted, if anyone).
        """
        kind = event.kind
        if kind in (EventKind.enqueued, EventKind.waiting):
            if changed:  # else the run's worker reported first: it is tracked, or over
                self._track(event.job, Active.of(event, waiting=kind is EventKind.waiting))
        elif kind is EventKind.released:
            held = self.active.get(event.job, {}).get(event.run_id)
            if changed or (held is not None and held.waiting):
                self._track(event.job, Active.of(event))
        elif kind in (EventKind.started, EventKind.retrying):
            # A retrying run waits in RQ for its next attempt: still active.
            started = event.kind is EventKind.started
            self._track(
                event.job,
                Active(
                    job=event.job,
                    run_id=event.run_id,
                    scheduled_for=datetime.fromisoformat(event.scheduled_for),
                    trigger=event.trigger,
                    status=RunStatus.started if started else RunStatus.enqueued,
                ),
            )
        elif kind not in (EventKind.skipped, EventKind.missed):  # those never were active
            self._untrack(event.job, event.run_id)
        alert = changed and event.origin is None and kind is EventKind.failed
        if alert and job is not None and job.spec.on_failure:
            spec = job.spec.on_failure
            body = payload(
                job=event.job,
                run_id=event.run_id,
                scheduled_for=event.scheduled_for,
                trigger=str(event.trigger),
                error=event.error,
                reason=event.reason,
                attempts=event.attempt,
                at=event.at,
                watcher=self.watcher,
            )
            self.alerter.alert(body, webhook=spec.webhook, log_it=spec.log)

    def close(self) -> None:
        self.alerter.close()


def _entry(
    kind: EventKind,
    run: RunRequest | Active,
    now: datetime,
    *,
    reason: str | None = None,
    note: str | None = None,
    error: str | None = None,
) -> RunEvent:
    """The ledger entry of what the gate did to ``run`` at ``now``."""
    scheduled = run.scheduled_for
    return RunEvent(
        kind=kind,
        run_id=run.run_id,
        job=run.job,
        scheduled_for=scheduled if isinstance(scheduled, str) else iso_utc(scheduled),
        trigger=run.trigger,
        at=iso_utc(now),
        reason=reason,
        note=note,
        error=error,
    )
