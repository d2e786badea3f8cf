"""The occurrence ledger's vocabulary: the names ``history --status`` accepts (pure).

A run row has a status (``RunStatus``), a reason (``policies.Reason``, or none) and a
trigger. Each computed occurrence ends in exactly one row; these names pick rows by the
state a reader asks about, such as ``skipped-overlap`` or ``missed-grace``.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.core.policies import Reason
from scheduler.core.runs import RunStatus, RunTrigger


@dataclass(frozen=True, kw_only=True)
class Filter:
    """Which rows a ledger name selects (None: any)."""

    status: RunStatus | None = None
    reason: Reason | None = None
    trigger: RunTrigger | None = None


LEDGER: dict[str, Filter] = {
    **{s.value: Filter(status=s) for s in RunStatus},
    "skipped-overlap": Filter(status=RunStatus.skipped, reason=Reason.overlap),
    "paused": Filter(status=RunStatus.skipped, reason=Reason.paused),
    "missed-downtime": Filter(status=RunStatus.missed, reason=Reason.downtime),
    "missed-grace": Filter(status=RunStatus.missed, reason=Reason.grace),
    "missed-behind": Filter(status=RunStatus.missed, reason=Reason.behind),
    "missed-max-catchup": Filter(status=RunStatus.missed, reason=Reason.max_catchup),
    "deduplicated": Filter(reason=Reason.deduplicated),
    "waiting": Filter(status=RunStatus.enqueued, reason=Reason.waiting),
    "replaced": Filter(reason=Reason.replaced),
    "timeout": Filter(status=RunStatus.failed, reason=Reason.timeout),
    "retried": Filter(reason=Reason.retried),
    "lost": Filter(status=RunStatus.failed, reason=Reason.lost),
    "manual": Filter(trigger=RunTrigger.manual),
    "catch-up": Filter(trigger=RunTrigger.catch_up),
}


def state(status: str, reason: str | None) -> str:
    """How a row reads in one word: ``skipped-overlap``, ``missed-grace``, ``succeeded``."""
    if reason == Reason.paused:
        return "paused"
    if reason in (None, "", Reason.deduplicated, Reason.retried, Reason.waiting):
        return status
    return f"{status}-{reason}".replace("_", "-")
