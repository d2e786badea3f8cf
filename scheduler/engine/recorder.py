"""What the scheduler records of the runs it settles: each one sent (enqueued, or found in
Redis already) and each instant a misfire rule does not run, as ledger entries
(``engine.ledger``) and log lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from scheduler.core import catchup
from scheduler.core.catchup import Resume
from scheduler.core.clock import Clock
from scheduler.core.job import LoadedJob
from scheduler.core.policies import Reason
from scheduler.core.runs import EventKind, RunEvent, RunTrigger, iso_utc, run_id
from scheduler.engine.dispatch import Dispatched
from scheduler.engine.gate import Gate
from scheduler.engine.ledger import Ledger
from scheduler.engine.progress import Progress

log = structlog.get_logger("scheduler.watcher")

_DEDUPLICATED = str(Reason.deduplicated)


class RunRecorder:
    """Records runs sent and instants missed. ``fenced`` takes the dispatch outcomes and
    returns those that are this watcher's to record (it drops the runs Redis refused
    because another watcher leads)."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        gate: Gate,
        progress: Progress,
        clock: Clock,
        fenced: Callable[[Sequence[Dispatched]], list[Dispatched]],
    ) -> None:
        self._ledger = ledger
        self._gate = gate
        self._progress = progress
        self._clock = clock
        self._fenced = fenced

    def sent(self, outcomes: list[Dispatched]) -> None:
        """Record and log what became of runs sent (those refused by the fence dropped)."""
        if any(o.fenced for o in outcomes):
            outcomes = self._fenced(outcomes)
        sent_at = iso_utc(self._clock.now())  # when the runs became visible in their queues
        record = self._ledger.record
        for outcome in outcomes:
            req = outcome.request
            bound = log.bind(job=req.job, run_id=req.run_id, scheduled_for=req.scheduled_for)
            # A duplicate is an expected outcome (another watcher, an earlier attempt): the
            # run exists in Redis, so it is recorded here too, and logged at info level.
            record(
                RunEvent(
                    kind=EventKind.enqueued,
                    run_id=req.run_id,
                    job=req.job,
                    scheduled_for=req.scheduled_for,
                    trigger=req.trigger,
                    at=sent_at,
                    canary=req.canary,
                    note=None if outcome.enqueued else "enqueued by another watcher or earlier",
                    reason=None if outcome.enqueued else _DEDUPLICATED,
                )
            )
            self._gate.sent(req)
            if req.canary:
                self._progress.canary_sent(req.job)
            if outcome.enqueued:
                bound.info("run.enqueued", trigger=str(req.trigger), queue=req.queue)
            else:
                bound.info("run.deduplicated", trigger=str(req.trigger))

    def missed(self, job: LoadedJob, plan: Resume, reason: Reason, why: str) -> None:
        """Record the instants ``plan`` does not run, each with its reason (the ledger)."""
        rows = catchup.missed(plan, reason)
        at = iso_utc(self._clock.now())
        for row in rows:
            self._ledger.record(
                RunEvent(
                    kind=EventKind.missed,
                    run_id=run_id(job.name, row.instant),
                    job=job.name,
                    scheduled_for=iso_utc(row.instant),
                    trigger=RunTrigger.schedule,
                    at=at,
                    note=why,
                    reason=str(row.reason),
                )
            )
        if plan.missed_total:
            first = min((row.instant for row in rows), default=None)
            log.warning(
                "run.missed",
                job=job.name,
                count=plan.missed_total,
                recorded=len(rows),
                reason=why,
                policy=str(job.spec.misfire.policy),
                stale=len(plan.stale),
                first=None if first is None else iso_utc(first),
            )
