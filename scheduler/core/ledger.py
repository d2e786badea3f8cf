"""The occurrence ledger (pure): the names ``history --status`` accepts, and how each
entry about a run moves it.

A run row has a status (``RunStatus``), a reason (``policies.Reason``, or none) and a
trigger. Each computed occurrence ends in exactly one row; :data:`LEDGER`'s names pick rows
by the state a reader asks about, such as ``skipped-overlap`` or ``missed-grace``.

Every watcher's records are built from the same entries (the leader's ledger entries and
the workers' reports, all on the results stream), but each watcher applies them in its own
order: the leader applies its entries at once, a worker's ``started`` may reach a standby
before the leader's ``enqueued``. :data:`RULES` makes the outcome independent of that order:
an entry moves a run only forward, from the statuses its rule names, so a report that was
overtaken changes nothing, and every order of the same entries ends in the same status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from scheduler.core.policies import Reason
from scheduler.core.runs import ACTIVE, EventKind, RunStatus, RunTrigger


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


# -- how an entry moves a run ------------------------------------------------------------

_NONE: frozenset[RunStatus] = frozenset()
_OPEN = frozenset(ACTIVE)
#: Not finished by a worker or reconciliation: a report of the run's end still counts.
_UNFINISHED = frozenset(
    {RunStatus.enqueued, RunStatus.started, RunStatus.skipped, RunStatus.missed}
)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """How an entry of one kind changes a run.

    ``status``: the status it records; ``moves``: the statuses from which it moves a
    recorded run to ``status`` (from any other it changes no status); ``creates``: a run
    with no row yet gets one, in ``status``. ``per_attempt``: the entry names an attempt
    and counts only while the run is not on a later one; ``later``: the statuses it also
    moves a run from when it is about a later attempt than the run is on.
    """

    status: RunStatus
    moves: frozenset[RunStatus] = field(default=_NONE)
    creates: bool = True
    per_attempt: bool = False
    later: frozenset[RunStatus] = field(default=_NONE)


RULES: Mapping[EventKind, Rule] = {
    # What the leader records: a new row, or details filled into one a worker's report
    # created first (enqueued_at, reason, note); never a status change.
    EventKind.enqueued: Rule(status=RunStatus.enqueued),
    EventKind.waiting: Rule(status=RunStatus.enqueued),
    EventKind.released: Rule(status=RunStatus.enqueued),
    EventKind.skipped: Rule(status=RunStatus.skipped),
    EventKind.missed: Rule(status=RunStatus.missed),
    # The leader ends a run that has not ended (replaced while queued, a dropped wait).
    EventKind.cancelled: Rule(status=RunStatus.skipped, moves=_OPEN),
    # A worker's reports (and what reconciliation concludes in their place).
    # A later attempt's start also means the earlier one is over, its retrying unread yet.
    EventKind.started: Rule(
        status=RunStatus.started,
        moves=frozenset({RunStatus.enqueued}),
        per_attempt=True,
        later=frozenset({RunStatus.started}),
    ),
    EventKind.retrying: Rule(status=RunStatus.enqueued, moves=_UNFINISHED, per_attempt=True),
    EventKind.succeeded: Rule(status=RunStatus.succeeded, moves=_UNFINISHED),
    EventKind.failed: Rule(status=RunStatus.failed, moves=_UNFINISHED),
}


@dataclass(frozen=True)
class Position:
    """Where a run is: its status and the attempt it is on (1-based)."""

    status: RunStatus
    attempts: int = 1


def advance(
    position: Position | None, kind: EventKind, attempt: int | None = None
) -> Position | None:
    """Where a run at ``position`` (None: no row yet) is after an entry of ``kind``.

    ``attempt`` is the attempt a worker's report is about (None: not numbered). A
    ``retrying`` for attempt n puts the run on attempt n + 1, after which reports about
    attempt n (a late ``started``, another ``retrying``) change nothing.
    """
    rule = RULES[kind]
    if kind is EventKind.retrying and attempt is None:
        attempt = 1  # a retry follows the first attempt at least
    if position is None:
        if not rule.creates:
            return None
        return Position(rule.status, _attempts(kind, 1, attempt))
    if position.status in rule.moves:
        if rule.per_attempt and attempt is not None and position.attempts > attempt:
            return position
    elif not (position.status in rule.later and attempt and position.attempts < attempt):
        return position
    return Position(rule.status, _attempts(kind, position.attempts, attempt))


def _attempts(kind: EventKind, attempts: int, attempt: int | None) -> int:
    if kind is EventKind.retrying:
        return max(attempts, (attempt or 1) + 1)
    if kind in (EventKind.started, EventKind.succeeded, EventKind.failed) and attempt:
        return max(attempts, attempt)
    return attempts


def replay(entries: Iterable[tuple[EventKind, int | None]]) -> Position | None:
    """Where a run ends after ``entries`` (kind, attempt), applied in this order."""
    position: Position | None = None
    for kind, attempt in entries:
        position = advance(position, kind, attempt)
    return position
