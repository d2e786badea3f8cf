"""The vocabulary of a run: statuses, triggers, run ids, and the events workers report.

A *run* is one execution of a job for one scheduled instant. Its id is derived from
(job name, scheduled instant in UTC), so every watcher and every retry computes the
same id, and Redis and SQLite refuse a second copy of it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    """Where a run is in its life; each run ends in exactly one of the last four."""

    enqueued = "enqueued"  # in the RQ queue, waiting for a worker
    started = "started"  # a worker is running it
    succeeded = "succeeded"  # the task returned
    failed = "failed"  # the task raised, or was killed
    skipped = "skipped"  # not run on purpose (a policy said so)
    missed = "missed"  # due while nothing could run it, and not caught up


#: The statuses of a run that has not ended: it holds its job's overlap slot.
ACTIVE = (RunStatus.enqueued, RunStatus.started)


class RunTrigger(StrEnum):
    """Why a run exists."""

    schedule = "schedule"  # its scheduled instant came
    manual = "manual"  # `scheduler trigger NAME`
    catch_up = "catch-up"  # it was due while the watcher was down


class EventKind(StrEnum):
    """What an entry on the results stream says about a run.

    A worker reports ``started``, ``succeeded``, ``failed`` and ``retrying``; ``scheduler
    trigger`` reports ``enqueued``; and the leading watcher publishes every ledger entry it
    records (all kinds but ``started``), so that every watcher's records hold the same
    rows. How each kind changes a run is :data:`scheduler.core.ledger.RULES`.
    """

    enqueued = "enqueued"  # put on its RQ queue (reason deduplicated: it already was)
    started = "started"
    succeeded = "succeeded"
    failed = "failed"
    retrying = "retrying"  # an attempt failed; RQ runs another (the run is not over)
    waiting = "waiting"  # held back by overlap queue_one until the earlier run ends
    released = "released"  # a waiting run went onto its RQ queue
    skipped = "skipped"  # not run: a policy said so (reason overlap, paused)
    missed = "missed"  # due while nothing could run it, and not caught up
    cancelled = "cancelled"  # ended before it ran: replaced while queued, or a dropped wait


_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


def run_id(job: str, scheduled_for: datetime, trigger: RunTrigger = RunTrigger.schedule) -> str:
    """The RQ job id of a run: ``<name>--<UTC instant>``, using only RQ's id characters.

    ``_`` and ``.`` in names are escaped (``_2e`` for ``.``) so distinct names never share
    an id. A scheduled run and the catch-up of the same instant share one id on purpose:
    they are the same run. Manual runs get a random suffix: each trigger is a new run.
    """
    if scheduled_for.tzinfo is None:
        raise ValueError("run_id needs an aware datetime")
    name = _UNSAFE.sub(lambda m: f"_{ord(m.group()):02x}", job)
    instant = scheduled_for.astimezone(UTC)
    stamp = instant.strftime("%Y%m%dT%H%M%S")
    if instant.microsecond:
        stamp += f"{instant.microsecond:06d}"
    rid = f"{name}--{stamp}Z"
    if trigger is RunTrigger.manual:
        rid += f"-manual-{secrets.token_hex(4)}"
    return rid


def iso_utc(instant: datetime) -> str:
    """An aware instant as ISO-8601 in UTC (how SQLite, logs and events store times)."""
    return instant.astimezone(UTC).isoformat()


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """Everything a worker needs to execute one run; the payload of the RQ job."""

    run_id: str
    job: str
    task: str
    params: dict[str, Any]
    scheduled_for: str  # ISO-8601 UTC
    trigger: RunTrigger
    queue: str = "default"
    timezone: str = "UTC"  # the job's, for the task's local date
    canary: bool = False  # dry_run was forced on: the job is in its canary runs
    #: RQ's retry attempts after the first (0: none); the runner numbers attempts with it.
    retries: int = 0

    def as_payload(self) -> dict[str, Any]:
        # Not dataclasses.asdict: its deep copy was a sixth of the cost of staging a run,
        # and the payload is serialised at once (a shallow copy of params is enough).
        return {**vars(self), "params": dict(self.params), "trigger": str(self.trigger)}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> RunRequest:
        return cls(**{**data, "trigger": RunTrigger(data["trigger"])})


@dataclass(frozen=True, kw_only=True)
class RunEvent:
    """A report about a run, carried on the Redis results stream: a worker's, or a ledger
    entry a watcher recorded (see :class:`EventKind`).

    ``at`` is when it happened (ISO-8601 UTC). ``duration_s``, ``error``, ``traceback``
    and ``result`` are set on the final event only (``error`` also says why a run was
    cancelled); ``note`` is a ledger entry's explanation for people (the row's note).
    ``origin`` names the watcher process that published a ledger entry (None: a worker's
    report, or an entry not published yet).
    """

    kind: EventKind
    run_id: str
    job: str
    scheduled_for: str
    trigger: RunTrigger
    at: str
    worker: str = ""
    duration_s: float | None = None
    error: str | None = None
    traceback: str | None = None
    result: str | None = None  # JSON text, size-capped by the runner
    canary: bool = False
    attempt: int | None = None  # 1-based, when the job has retries
    reason: str | None = None  # policies.Reason, e.g. timeout
    note: str | None = None
    origin: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_fields(self) -> dict[str, str]:
        """Flat string fields for XADD (absent values are left out)."""
        out = {
            "kind": str(self.kind),
            "run_id": self.run_id,
            "job": self.job,
            "scheduled_for": self.scheduled_for,
            "trigger": str(self.trigger),
            "at": self.at,
            "worker": self.worker,
        }
        for key in (
            "duration_s",
            "error",
            "traceback",
            "result",
            "attempt",
            "reason",
            "note",
            "origin",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = str(value)
        if self.canary:
            out["canary"] = "1"
        return out

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> RunEvent:
        """Parse XREADGROUP fields (already decoded to str); raises ValueError if malformed."""
        try:
            duration = fields.get("duration_s")
            attempt = fields.get("attempt")
            return cls(
                kind=EventKind(fields["kind"]),
                run_id=fields["run_id"],
                job=fields["job"],
                scheduled_for=fields["scheduled_for"],
                trigger=RunTrigger(fields["trigger"]),
                at=fields["at"],
                worker=fields.get("worker", ""),
                duration_s=None if duration is None else float(duration),
                error=fields.get("error"),
                traceback=fields.get("traceback"),
                result=fields.get("result"),
                canary=fields.get("canary") == "1",
                attempt=None if attempt is None else int(attempt),
                reason=fields.get("reason"),
                note=fields.get("note"),
                origin=fields.get("origin"),
            )
        except (KeyError, ValueError) as exc:
            raise ValueError(f"malformed run event {fields!r}: {exc}") from exc
