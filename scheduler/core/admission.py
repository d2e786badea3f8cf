"""Admission: whether a run about to be sent goes now, waits, replaces others, or is skipped.

Pure: :func:`decide` weighs one run's situation (its job's pause, overlap policy and
runs not ended yet) and returns the decision as a value. The engine's gate gathers the
situation (asking RQ which runs ended) and applies the decision (SQLite, RQ, the log).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from scheduler.core.pause import Pause
from scheduler.core.policies import OverlapPolicy, Reason
from scheduler.core.runs import RunEvent, RunRequest, RunStatus, RunTrigger


@dataclass(frozen=True, kw_only=True)
class Active:
    """A run of a job that has not ended; ``waiting``: held by queue_one, not in RQ yet."""

    job: str
    run_id: str
    scheduled_for: datetime
    trigger: RunTrigger
    status: RunStatus = RunStatus.enqueued
    waiting: bool = False

    @classmethod
    def of(cls, request: RunRequest | RunEvent, *, waiting: bool = False) -> Active:
        """The active run a request (or a report of one) becomes once sent (or held back,
        ``waiting``)."""
        return cls(
            job=request.job,
            run_id=request.run_id,
            scheduled_for=datetime.fromisoformat(request.scheduled_for),
            trigger=request.trigger,
            waiting=waiting,
        )


@dataclass(frozen=True, kw_only=True)
class Admit:
    """Send the run now."""


@dataclass(frozen=True, kw_only=True)
class Skip:
    """Do not send the run: record it skipped with ``reason``; ``note`` says why to people."""

    reason: Reason
    note: str


@dataclass(frozen=True, kw_only=True)
class Hold:
    """queue_one: keep the run back (recorded enqueued, waiting) until run ``behind`` ends."""

    behind: str


@dataclass(frozen=True, kw_only=True)
class Replace:
    """replace: end the ``earlier`` runs (those in RQ first, then waiting ones), then send."""

    earlier: tuple[Active, ...]


Decision: TypeAlias = Admit | Skip | Hold | Replace


def decide(
    *,
    run_id: str,
    trigger: RunTrigger,
    policy: OverlapPolicy | None,
    active: Iterable[Active],
    pause: Pause | None,
    catching_up: bool,
    now: datetime,
) -> Decision:
    """Admit, skip, hold or replace run ``run_id`` of a job: the pause first, then overlap.

    The situation, as keywords: ``policy``, the job's overlap policy (None, as allow: the
    job is not loaded); ``active``, the job's runs not ended yet as far as known (the run
    itself may be among them, when it is sent again); ``pause``, the job's runtime pause
    if any, expired or not at ``now``; ``catching_up``, this batch already admitted a
    catch-up run of the job. (Keywords, not a record: this runs for every run sent.)
    """
    if pause is not None and not pause.expired(now):
        return Skip(reason=Reason.paused, note=f"paused by {pause.by}: {pause.reason}")
    if policy is None or policy is OverlapPolicy.allow:
        return Admit()
    # A run sent again (Redis failed after admission, a takeover) is not its own rival.
    others = [a for a in active if a.run_id != run_id]
    # run_all's catch-ups are the policy's own request: they may run side by side.
    burst = trigger is RunTrigger.catch_up and catching_up
    if burst or not others:
        return Admit()
    running = [a for a in others if not a.waiting]
    waiting = [a for a in others if a.waiting]
    if policy is OverlapPolicy.forbid:
        first = (running or waiting)[0]
        return Skip(reason=Reason.overlap, note=f"{first.run_id} is still {first.status}")
    if policy is OverlapPolicy.replace_:
        return Replace(earlier=(*running, *waiting))
    if waiting:  # queue_one, one already waiting
        return Skip(reason=Reason.overlap, note=f"{waiting[0].run_id} is already waiting")
    return Hold(behind=running[0].run_id)  # queue_one: until the running one ends
