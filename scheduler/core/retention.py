"""Retention: which recorded runs may go, as values (pure).

A run may be removed only when it has ended, is older than its rule (``keep``, or
``keep_failed`` for a failed run) and is not among its job's last ``keep_last`` runs. The
rule of a job is its own ``history:`` mapping, field by field over the project's
(``[tool.scheduler] history``), over :data:`DEFAULT_RETENTION`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from scheduler.core.durations import format_duration, parse_duration
from scheduler.core.runs import iso_utc

if TYPE_CHECKING:  # the store reads rules without importing the job model (pydantic)
    from scheduler.core.policyspecs import HistorySpec


@dataclass(frozen=True)
class Retention:
    """How long one job's runs are kept. Durations are positive; ``keep_last`` >= 0."""

    keep: timedelta
    keep_failed: timedelta
    keep_last: int

    def cutoffs(self, now: datetime) -> Cutoffs:
        """The instants before which this rule lets runs go, at ``now`` (aware)."""
        return Cutoffs(
            ended_before=iso_utc(now - self.keep),
            failed_before=iso_utc(now - self.keep_failed),
            keep_last=self.keep_last,
        )

    def over(self, spec: HistorySpec | None) -> Retention:
        """This rule with the fields ``spec`` sets replaced (a job's over its project's)."""
        if spec is None:
            return self
        return Retention(
            keep=self.keep if spec.keep is None else parse_duration(spec.keep),
            keep_failed=self.keep_failed
            if spec.keep_failed is None
            else parse_duration(spec.keep_failed),
            keep_last=self.keep_last if spec.keep_last is None else spec.keep_last,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "keep": format_duration(self.keep),
            "keep_failed": format_duration(self.keep_failed),
            "keep_last": self.keep_last,
        }


@dataclass(frozen=True)
class Cutoffs:
    """A rule at one instant, as the store applies it: ISO-8601 UTC text bounds."""

    ended_before: str  # a run that ended otherwise than failed, scheduled before this, may go
    failed_before: str  # a failed run scheduled before this may go
    keep_last: int


#: The built-in rule: a month of every run, three of failures, and always the last 100.
#: At ~250 bytes a run (bench/results/records.md) a job every minute costs ~11 MB.
DEFAULT_RETENTION = Retention(
    keep=timedelta(days=30), keep_failed=timedelta(days=90), keep_last=100
)
