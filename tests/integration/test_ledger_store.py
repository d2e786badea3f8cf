"""Ledger entries on a real SQLite file: every watcher's store, applying the same entries in
its own order, ends with the same rows (the rule of core.ledger, as the store's SQL)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.core.ledger import replay
from scheduler.core.runs import EventKind, RunEvent, RunStatus, RunTrigger, iso_utc
from scheduler.store import Store
from tests.unit.test_ledger_rules import HISTORIES, Entry

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
E = EventKind
#: Each run id's own minute after T0. Not hash(rid): string hashes change per process, and two
#: ids on one minute are one (job, instant) row, which made the test fail now and then.
_MINUTES: dict[str, int] = {}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "scheduler.db") as s:
        yield s


def entry(kind: EventKind, rid: str, step: int, attempt: int | None = None) -> RunEvent:
    """The entry of ``kind`` about run ``rid`` as it would be sent, ``step`` seconds in."""
    extra: dict[str, Any] = {}
    if kind in (E.succeeded, E.failed, E.retrying):
        extra = {"duration_s": 1.5, "worker": "w1"}
    if kind is E.failed:
        extra["error"] = "boom"
    if kind is E.started:
        extra["worker"] = "w1"
    if kind is E.cancelled:
        extra = {"reason": "replaced", "error": "replaced by the next one"}
    if kind is E.waiting:
        extra = {"note": "waits for the earlier one"}
    return RunEvent(
        kind=kind,
        run_id=rid,
        job="tick",
        scheduled_for=iso_utc(T0 + timedelta(minutes=_MINUTES.setdefault(rid, len(_MINUTES)))),
        trigger=RunTrigger.schedule,
        at=iso_utc(T0 + timedelta(seconds=step)),
        attempt=attempt,
        **extra,
    )


def row(store: Store, rid: str) -> dict[str, Any]:
    [found] = [r for r in store.history(limit=100_000) if r.run_id == rid]
    data = found.as_json()
    for key in ("run_id", "rq_job_id", "scheduled_for"):
        del data[key]
    return data


def apply_in_order(store: Store, rid: str, entries: list[tuple[int, Entry]]) -> None:
    for step, (kind, attempt) in entries:
        store.apply_event(entry(kind, rid, step, attempt))


@pytest.mark.parametrize(("history", "entries", "end"), HISTORIES, ids=[h[0] for h in HISTORIES])
def test_every_order_of_a_run_s_entries_ends_in_the_same_row(
    store: Store, history: str, entries: list[Entry], end: Any
) -> None:
    """The store follows the pure rule in any order; without retries, the rows are equal in
    every column (times, reason, note, error), not only in status."""
    numbered = list(enumerate(entries))  # each entry keeps its own time, whatever the order
    rows = []
    for n, order in enumerate(itertools.permutations(numbered)):
        rid = f"tick--{len(entries)}-{n}"
        apply_in_order(store, rid, list(order))
        got = row(store, rid)
        assert (got["status"], got["attempts"]) == (str(end.status), end.attempts), (history, order)
        assert replay(e for _, e in order) == end
        rows.append(got)
    if not any(kind is E.retrying for kind, _ in entries):
        assert all(r == rows[0] for r in rows), history


def test_the_leader_reading_its_own_entries_back_changes_nothing(store: Store) -> None:
    """Every entry applied a second time returns False and leaves the row as it was."""
    for n, kind in enumerate(EventKind):
        rid = f"tick--again-{n}"
        first = entry(kind, rid, 1, 1)
        store.apply_event(first)
        before = row(store, rid)
        assert store.apply_event(first) is False, kind
        assert row(store, rid) == before, kind


def test_a_waiting_run_is_held_without_an_enqueue_time_until_released(store: Store) -> None:
    """waiting: enqueued, reason waiting, no enqueued_at, its note; released sets the time."""
    assert store.apply_event(entry(E.waiting, "tick--w", 1))
    held = row(store, "tick--w")
    assert (held["status"], held["reason"], held["enqueued_at"]) == ("enqueued", "waiting", None)
    assert held["note"] == "waits for the earlier one"
    assert store.apply_event(entry(E.released, "tick--w", 2)) is False  # no status moved
    assert row(store, "tick--w")["enqueued_at"] == iso_utc(T0 + timedelta(seconds=2))


def test_a_deduplicated_entry_fills_the_reason_of_a_row_a_worker_created(store: Store) -> None:
    """The next leader's deduplicated entry, after the worker's started: reason and note come
    from the entry, status stays started."""
    store.apply_event(entry(E.started, "tick--d", 2))
    dup = entry(E.enqueued, "tick--d", 1)
    dup = RunEvent(**{**dup.__dict__, "reason": "deduplicated", "note": "enqueued earlier"})
    assert store.apply_event(dup) is False
    got = row(store, "tick--d")
    assert (got["status"], got["reason"], got["note"]) == ("started", "deduplicated", dup.note)
    assert got["enqueued_at"] == iso_utc(T0 + timedelta(seconds=1))


def test_skipped_and_missed_never_overwrite_a_run(store: Store) -> None:
    """A deposed leader's skip of an instant the next leader sent changes nothing."""
    store.apply_event(entry(E.enqueued, "tick--s", 1))
    assert store.apply_event(entry(E.skipped, "tick--s", 2)) is False
    assert store.apply_event(entry(E.missed, "tick--s", 3)) is False
    assert row(store, "tick--s")["status"] == str(RunStatus.enqueued)


def test_cancelled_ends_only_an_open_run(store: Store) -> None:
    """cancelled: an enqueued run becomes skipped-replaced; a finished one stays finished."""
    store.apply_event(entry(E.enqueued, "tick--c", 1))
    assert store.apply_event(entry(E.cancelled, "tick--c", 2))
    got = row(store, "tick--c")
    assert (got["status"], got["reason"]) == ("skipped", "replaced")
    assert got["finished_at"] == iso_utc(T0 + timedelta(seconds=2))
    store.apply_event(entry(E.succeeded, "tick--c2", 1))
    assert store.apply_event(entry(E.cancelled, "tick--c2", 2)) is False
    assert row(store, "tick--c2")["status"] == "succeeded"
