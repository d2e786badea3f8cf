"""Applying an entry about a run (a worker's report, or a watcher's ledger entry) to the
``runs`` table, by the entry's rule (:data:`scheduler.core.ledger.RULES`).

Each rule becomes the WHERE clause of a conditional UPDATE: a run moves only from the
statuses its rule names, so a replayed, late or out-of-order entry moves no run backwards,
and every watcher that applies the same entries, in whatever order, ends with the same
statuses. A run with no row yet gets one; an entry that finds the row created by a report
that overtook it fills in only what the row lacks.
"""

from __future__ import annotations

import functools
from datetime import datetime

from scheduler.core.ledger import RULES
from scheduler.core.policies import Reason
from scheduler.core.runs import EventKind, RunEvent, RunStatus, RunTrigger
from scheduler.store.connection import Database
from scheduler.store.instants import aware

#: A new row only for a run no prune has passed: an entry read late (replayed from the
#: stream) about a run retention removed must not bring it back. (``WHERE`` keeps SQLite's
#: upsert parser from reading ``ON CONFLICT`` as a join constraint.)
_NOT_PRUNED = "WHERE NOT EXISTS (SELECT 1 FROM pruned WHERE job = ? AND through >= ?)"

#: Ledger entries that record a run as enqueued (held back, or let go) and move no status.
_RECORDED = frozenset({EventKind.enqueued, EventKind.waiting, EventKind.released})


def _among(statuses: frozenset[RunStatus]) -> tuple[str, tuple[str, ...]]:
    """``status IN (?, ...)`` and its parameters (never true for no status)."""
    values = tuple(sorted(s.value for s in statuses))
    return (f"status IN ({', '.join('?' * len(values))})" if values else "0"), values


#: Per kind: the statuses it moves a run from, and from which a later attempt moves it.
_MOVES = {kind: _among(rule.moves) for kind, rule in RULES.items()}
_LATER = {kind: _among(rule.later) for kind, rule in RULES.items()}


# A burst's entries share their instants: parsing each text once saves ~2 µs per run.
@functools.lru_cache(maxsize=4096)
def _parse_text(value: str, name: str) -> str:
    """Normalise an ISO-8601 string from an event to the stored form; naive is an error."""
    return aware(datetime.fromisoformat(value), name)


class Entries:
    """Writes the entries about runs into ``db``'s ``runs`` table."""

    def __init__(self, db: Database) -> None:
        self._write = db.write

    def insert(
        self,
        *,
        run_id: str,
        job: str,
        scheduled_for: str,
        trigger: RunTrigger,
        status: RunStatus,
        enqueued_at: str | None = None,
        note: str | None = None,
        canary: bool = False,
        reason: str | None = None,
    ) -> bool:
        """Insert a run's row; False if that run (id or slot) is already recorded."""
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO runs (run_id, job, scheduled_for, trigger, status, enqueued_at, note,"
                f" canary, reason) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? {_NOT_PRUNED}"
                " ON CONFLICT DO NOTHING",
                (
                    run_id,
                    job,
                    scheduled_for,
                    str(trigger),
                    str(status),
                    enqueued_at,
                    note,
                    canary,
                    reason,
                    job,
                    scheduled_for,
                ),
            )
            return cur.rowcount == 1

    def apply(self, event: RunEvent) -> bool:
        """Apply an entry about a run, a worker's report or a ledger entry, by its rule.

        True if it created the run's row or changed its status. How each kind moves a run
        is :data:`scheduler.core.ledger.RULES`: only forward, so late, replayed or
        out-of-order entries are harmless and any order of the same entries ends the same.
        A run with no row yet (enqueued by another watcher, or its entry not read yet) gets
        one in the entry's status. A ledger entry that finds the row already created by a
        worker's report fills in what it knows (enqueued time, reason, note) and changes no
        status. Raises ValueError if the event's instants are not aware ISO-8601.
        """
        at = _parse_text(event.at, "event.at")
        scheduled_for = _parse_text(event.scheduled_for, "event.scheduled_for")
        kind = event.kind
        if kind in _RECORDED:
            return self._apply_recorded(event, scheduled_for, at)
        if kind is EventKind.skipped or kind is EventKind.missed:
            return self.insert(
                run_id=event.run_id,
                job=event.job,
                scheduled_for=scheduled_for,
                trigger=event.trigger,
                status=RULES[kind].status,
                note=event.note,
                reason=event.reason,
            )
        worker = event.worker or None
        if kind is EventKind.retrying:
            return self._apply_retrying(event, scheduled_for, worker)
        started = kind is EventKind.started
        status = RULES[kind].status
        moves, among = _MOVES[kind]
        with self._write() as conn:
            if started and event.attempt is not None:
                later, later_among = _LATER[kind]
                cur = conn.execute(
                    "UPDATE runs SET status = ?, started_at = ?, worker = COALESCE(?, worker),"
                    " attempts = MAX(attempts, ?) WHERE run_id = ?"
                    f" AND (({moves} AND attempts <= ?) OR ({later} AND attempts < ?))",
                    (
                        str(status),
                        at,
                        worker,
                        event.attempt,
                        event.run_id,
                        *among,
                        event.attempt,
                        *later_among,
                        event.attempt,
                    ),
                )
            elif started:
                cur = conn.execute(
                    "UPDATE runs SET status = ?, started_at = ?, worker = COALESCE(?, worker)"
                    f" WHERE run_id = ? AND {moves}",
                    (str(status), at, worker, event.run_id, *among),
                )
            elif kind is EventKind.cancelled:
                cur = conn.execute(
                    "UPDATE runs SET status = ?, reason = ?, error = ?, finished_at = ?"
                    f" WHERE run_id = ? AND {moves}",
                    (str(status), event.reason, event.error, at, event.run_id, *among),
                )
            else:
                cur = conn.execute(
                    "UPDATE runs SET status = ?, finished_at = ?, duration_s = ?, error = ?,"
                    " traceback = ?, result = ?, worker = COALESCE(?, worker),"
                    # An attempt's retry, or a cancel the run outran, is not why it ended.
                    " reason = COALESCE(?, NULLIF(NULLIF(reason, 'retried'), 'replaced')),"
                    f" attempts = MAX(attempts, COALESCE(?, 1)) WHERE run_id = ? AND {moves}",
                    (
                        str(status),
                        at,
                        event.duration_s,
                        event.error,
                        event.traceback,
                        event.result,
                        worker,
                        event.reason,
                        event.attempt,
                        event.run_id,
                        *among,
                    ),
                )
            if cur.rowcount == 1:
                return True
            cur = conn.execute(
                "INSERT INTO runs (run_id, job, scheduled_for, trigger, status, started_at,"
                " finished_at, duration_s, error, traceback, result, worker, canary, reason,"
                f" attempts) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? {_NOT_PRUNED}"
                " ON CONFLICT DO NOTHING",
                (
                    event.run_id,
                    event.job,
                    scheduled_for,
                    str(event.trigger),
                    str(status),
                    at if started else None,
                    None if started else at,
                    event.duration_s,
                    event.error,
                    event.traceback,
                    event.result,
                    worker,
                    event.canary,
                    event.reason,
                    event.attempt or 1,
                    event.job,
                    scheduled_for,
                ),
            )
            if cur.rowcount == 1:
                return True
            if started:  # overtaken by the run's end: only when it started is news
                conn.execute(
                    "UPDATE runs SET started_at = ? WHERE run_id = ? AND started_at IS NULL",
                    (at, event.run_id),
                )
            return False

    def _apply_recorded(self, event: RunEvent, scheduled_for: str, at: str) -> bool:
        """A run put on its queue, held back (``waiting``) or let go (``released``): its row,
        or, when a worker's report overtook the entry, what the row lacks of it."""
        kind = event.kind
        enqueued_at = None if kind is EventKind.waiting else at
        reason = str(Reason.waiting) if kind is not EventKind.enqueued else event.reason
        if self.insert(
            run_id=event.run_id,
            job=event.job,
            scheduled_for=scheduled_for,
            trigger=event.trigger,
            status=RunStatus.enqueued,
            enqueued_at=enqueued_at,
            note=event.note,
            canary=event.canary,
            reason=reason,
        ):
            return True
        with self._write() as conn:
            # Only what is missing, and only if something is: reading one's own entry
            # back (or the same entry twice) writes nothing. Two leaders' entries (the
            # second deduplicated) keep the earlier enqueue time, whichever came first.
            conn.execute(
                "UPDATE runs SET enqueued_at = CASE WHEN ?1 < enqueued_at THEN ?1"
                " ELSE COALESCE(enqueued_at, ?1) END,"
                " reason = COALESCE(reason, ?2), note = COALESCE(note, ?3) WHERE run_id = ?4"
                " AND ((?1 IS NOT NULL AND (enqueued_at IS NULL OR ?1 < enqueued_at))"
                " OR (reason IS NULL AND ?2 IS NOT NULL) OR (note IS NULL AND ?3 IS NOT NULL))",
                (enqueued_at, reason, event.note, event.run_id),
            )
        return False

    def _apply_retrying(self, event: RunEvent, scheduled_for: str, worker: str | None) -> bool:
        """An attempt failed and RQ will run another: back to enqueued, on the next attempt."""
        attempt = event.attempt or 1
        reason = event.reason or str(Reason.retried)
        status = str(RULES[EventKind.retrying].status)
        moves, among = _MOVES[EventKind.retrying]
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, error = ?, traceback = ?, duration_s = ?,"
                " reason = ?, attempts = MAX(attempts, ?), worker = COALESCE(?, worker)"
                f" WHERE run_id = ? AND {moves} AND attempts <= ?",
                (
                    status,
                    event.error,
                    event.traceback,
                    event.duration_s,
                    reason,
                    attempt + 1,
                    worker,
                    event.run_id,
                    *among,
                    attempt,
                ),
            )
            if cur.rowcount == 1:
                return True
            cur = conn.execute(
                "INSERT INTO runs (run_id, job, scheduled_for, trigger, status, error, traceback,"
                " duration_s, reason, attempts, worker, canary) SELECT ?, ?, ?, ?, ?, ?, ?, ?,"
                f" ?, ?, ?, ? {_NOT_PRUNED} ON CONFLICT DO NOTHING",
                (
                    event.run_id,
                    event.job,
                    scheduled_for,
                    str(event.trigger),
                    status,
                    event.error,
                    event.traceback,
                    event.duration_s,
                    reason,
                    attempt + 1,
                    worker,
                    event.canary,
                    event.job,
                    scheduled_for,
                ),
            )
            return cur.rowcount == 1
