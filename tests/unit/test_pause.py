"""The pure parts of runtime pauses: expiry and what a fresh read of the pauses changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.core.pause import Pause, changes

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
A = Pause(job="a", by="ops", at=T0, reason="INC-1", until=T0 + timedelta(minutes=5))
B = Pause(job="b", by="ops", at=T0, reason="INC-2")
B2 = Pause(job="b", by="bob", at=T0 + timedelta(minutes=1), reason="longer")


def test_a_pause_expires_at_its_end():
    """Expired from ``until`` on, never without one."""
    assert not A.expired(T0 + timedelta(minutes=4, seconds=59))
    assert A.expired(T0 + timedelta(minutes=5))
    assert not B.expired(T0 + timedelta(days=999))


def test_nothing_stored_nothing_before():
    """No pauses anywhere: no change."""
    change = changes({}, {}, T0)
    assert (change.expired, dict(change.current), dict(change.paused)) == ((), {}, {})
    assert (change.resumed, change.changed) == ((), False)


def test_new_pauses_are_paused():
    """Pauses read for the first time are new: paused, and a change."""
    change = changes({}, {"a": A, "b": B}, T0)
    assert dict(change.current) == {"a": A, "b": B}
    assert dict(change.paused) == {"a": A, "b": B}
    assert (change.expired, change.resumed, change.changed) == ((), (), True)


def test_the_same_pauses_read_again_change_nothing():
    """A second read of the same pauses: nothing to log, nothing to mirror."""
    change = changes({"a": A, "b": B}, {"a": A, "b": B}, T0)
    assert dict(change.paused) == {}
    assert (change.resumed, change.changed) == ((), False)


def test_a_changed_pause_is_paused_again():
    """Someone paused b again with another reason: it counts as paused anew."""
    change = changes({"a": A, "b": B}, {"a": A, "b": B2}, T0)
    assert dict(change.paused) == {"b": B2}
    assert (change.resumed, change.changed) == ((), True)


def test_a_removed_pause_is_resumed():
    """``scheduler resume`` removed b: b is resumed."""
    change = changes({"a": A, "b": B}, {"a": A}, T0)
    assert dict(change.current) == {"a": A}
    assert (change.expired, change.resumed, change.changed) == ((), ("b",), True)


def test_an_expired_pause_is_removed_and_resumed():
    """a's end came: it is to be removed from the store, and it is resumed."""
    later = T0 + timedelta(minutes=6)
    change = changes({"a": A, "b": B}, {"a": A, "b": B}, later)
    assert change.expired == (A,)
    assert dict(change.current) == {"b": B}
    assert (change.resumed, change.changed) == (("a",), True)


def test_an_expired_pause_never_seen_is_only_removed():
    """A pause that ended before this watcher read it: removed, not paused nor resumed."""
    change = changes({}, {"a": A}, T0 + timedelta(minutes=6))
    assert change.expired == (A,)
    assert dict(change.paused) == {}
    assert (change.resumed, change.changed) == ((), False)
