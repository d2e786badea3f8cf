"""How entries about a run move it (core.ledger.RULES): forward only, in any order the same.

Each watcher applies the same entries (the leader's ledger entries, the workers' reports)
in an order of its own; these are the histories a run can have, written as the entries
it gets, each of which must end in one place whatever the order.
"""

from __future__ import annotations

import itertools

import pytest

from scheduler.core.ledger import RULES, Position, advance, replay
from scheduler.core.runs import EventKind, RunStatus

E = EventKind
Entry = tuple[EventKind, int | None]

#: (what happened, the entries the run gets, where it ends)
HISTORIES: list[tuple[str, list[Entry], Position]] = [
    (
        "ran",
        [(E.enqueued, None), (E.started, None), (E.succeeded, None)],
        Position(RunStatus.succeeded),
    ),
    ("running", [(E.enqueued, None), (E.started, None)], Position(RunStatus.started)),
    ("queued", [(E.enqueued, None)], Position(RunStatus.enqueued)),
    (
        "sent again by the next leader (deduplicated)",
        [(E.enqueued, None), (E.enqueued, None), (E.started, None), (E.failed, None)],
        Position(RunStatus.failed),
    ),
    ("skipped", [(E.skipped, None)], Position(RunStatus.skipped)),
    ("missed", [(E.missed, None)], Position(RunStatus.missed)),
    (
        "waited, then ran",
        [(E.waiting, None), (E.released, None), (E.started, None), (E.succeeded, None)],
        Position(RunStatus.succeeded),
    ),
    ("waited, then dropped", [(E.waiting, None), (E.cancelled, None)], Position(RunStatus.skipped)),
    (
        "replaced while queued",
        [(E.enqueued, None), (E.cancelled, None)],
        Position(RunStatus.skipped),
    ),
    (
        "replaced while queued, but a worker had taken it",
        [(E.enqueued, None), (E.cancelled, None), (E.started, None), (E.succeeded, None)],
        Position(RunStatus.succeeded),
    ),
    (
        "stopped by a newer run, or closed by reconciliation",
        [(E.enqueued, None), (E.started, None), (E.failed, None)],
        Position(RunStatus.failed),
    ),
    (
        "failed once, then succeeded",
        [(E.enqueued, None), (E.started, 1), (E.retrying, 1), (E.started, 2), (E.succeeded, 2)],
        Position(RunStatus.succeeded, attempts=2),
    ),
    (
        "failed once, second attempt running",
        [(E.enqueued, None), (E.started, 1), (E.retrying, 1), (E.started, 2)],
        Position(RunStatus.started, attempts=2),
    ),
    (
        "failed once, waiting for the second attempt",
        [(E.enqueued, None), (E.started, 1), (E.retrying, 1)],
        Position(RunStatus.enqueued, attempts=2),
    ),
]

#: How far along a status is; an entry may only keep or raise (attempts, rank).
RANK = {
    RunStatus.enqueued: 0,
    RunStatus.started: 1,
    RunStatus.skipped: 2,
    RunStatus.missed: 2,
    RunStatus.succeeded: 3,
    RunStatus.failed: 3,
}


@pytest.mark.parametrize(("history", "entries", "end"), HISTORIES, ids=[h[0] for h in HISTORIES])
def test_every_order_of_a_run_s_entries_ends_in_the_same_place(
    history: str, entries: list[Entry], end: Position
) -> None:
    """Applied in any order (the leader's at once, a worker's first on a standby), the
    entries of a run leave it in the same status, on the same attempt."""
    ends = {replay(order) for order in itertools.permutations(entries)}
    assert ends == {end}, history


def test_an_overtaken_entry_never_moves_a_run_backwards() -> None:
    """From every position, every entry keeps or raises (attempt, how far along)."""
    for status, attempts, kind in itertools.product(RunStatus, (1, 2, 3), EventKind):
        for attempt in (None, 1, 2, 3):
            before = Position(status, attempts)
            after = advance(before, kind, attempt)
            assert after is not None
            assert (after.attempts, RANK[after.status]) >= (attempts, RANK[status]), (
                before,
                kind,
                attempt,
                after,
            )


def test_applying_an_entry_twice_changes_nothing_more() -> None:
    """A replayed entry, or the leader reading its own back, is a no-op."""
    for status, attempts, kind in itertools.product(RunStatus, (1, 2), EventKind):
        for attempt in (None, 1, 2):
            once = advance(Position(status, attempts), kind, attempt)
            assert advance(once, kind, attempt) == once


def test_a_finished_run_stays_finished() -> None:
    """succeeded and failed are final: no entry of any kind moves a run out of them."""
    for status in (RunStatus.succeeded, RunStatus.failed):
        for kind in EventKind:
            assert advance(Position(status), kind, None) == Position(status)


def test_what_the_leader_records_moves_no_status() -> None:
    """enqueued, waiting, released, skipped and missed only create rows."""
    for kind in (E.enqueued, E.waiting, E.released, E.skipped, E.missed):
        assert not RULES[kind].moves
        assert advance(Position(RunStatus.started), kind) == Position(RunStatus.started)
        assert advance(None, kind) == Position(RULES[kind].status)


def test_a_retry_of_a_run_never_seen_creates_it_on_its_next_attempt() -> None:
    """retrying read before anything else about the run: the row starts on attempt 2."""
    assert advance(None, E.retrying, 1) == Position(RunStatus.enqueued, attempts=2)


def test_a_late_report_about_an_earlier_attempt_is_ignored() -> None:
    """Once on attempt 2, attempt 1's started or retrying changes nothing."""
    on_two = Position(RunStatus.enqueued, attempts=2)
    assert advance(on_two, E.started, 1) == on_two
    assert advance(on_two, E.retrying, 1) == on_two
    assert advance(on_two, E.started, 2) == Position(RunStatus.started, attempts=2)


def test_every_kind_has_a_rule() -> None:
    """A new EventKind without a rule would fail every store that reads it."""
    assert set(RULES) == set(EventKind)
