"""The ledger vocabulary and the pure parts of pauses and retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.core.ledger import LEDGER, state
from scheduler.core.pause import Pause, active
from scheduler.core.policies import Reason
from scheduler.core.runs import RunStatus
from scheduler.engine.dispatch import retry_intervals

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_every_status_is_a_ledger_state():
    """history --status still takes every plain status."""
    assert {s.value for s in RunStatus} <= set(LEDGER)


def test_the_issue_s_states_are_all_queryable():
    """The states the issue names can all be asked for."""
    named = {"skipped-overlap", "missed-downtime", "missed-grace", "paused", "deduplicated"}
    assert named | {"manual", "catch-up", "succeeded", "failed", "enqueued"} <= set(LEDGER)


def test_state_reads_status_and_reason_as_one_word():
    """A row's state: the status, with the reason where it tells why."""
    assert state("skipped", "overlap") == "skipped-overlap"
    assert state("skipped", "paused") == "paused"
    assert state("missed", "max_catchup") == "missed-max-catchup"
    assert state("succeeded", None) == "succeeded"
    assert state("enqueued", "retried") == "enqueued"
    assert state("failed", "timeout") == "failed-timeout"


def test_reason_values_are_stable_strings():
    """Stored in SQLite: the values must not change."""
    assert Reason.grace == "grace"
    assert Reason.overlap == "overlap"


def test_pause_round_trips_and_expires():
    """A pause reads back equal, and drops out of active() at its expiry."""
    p = Pause(job="a", by="ops", at=T0, reason="r", until=T0 + timedelta(hours=1))
    assert Pause.from_json(p.as_json()) == p
    assert active({"a": p}, T0) == {"a": p}
    assert active({"a": p}, T0 + timedelta(hours=1)) == {}
    forever = Pause(job="b", by="ops", at=T0, reason="r")
    assert active({"b": forever}, T0 + timedelta(days=999)) == {"b": forever}


def test_retry_waits_grow_by_factor_up_to_the_cap():
    """backoff 30s, factor 2, cap 10m over 6 retries: 30s 1m 2m 4m 8m 10m."""
    assert retry_intervals(6, 30, 2, 600) == (30, 60, 120, 240, 480, 600)
    assert retry_intervals(2, 1, 1, 600) == (1, 1)
