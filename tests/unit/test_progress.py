"""Which jobs' points the handover has to publish: only those that moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.engine.progress import Progress

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_a_point_set_again_as_it_was_has_not_moved() -> None:
    """Once published, setting the same point again (a restart from the records) leaves
    nothing to publish; another point does."""
    progress = Progress()
    progress.set_last("a", T0)
    assert progress.moved() == ["a"]
    progress.published(["a"])
    progress.set_last("a", T0)
    assert progress.moved() == []
    progress.set_last("a", T0 + timedelta(seconds=1))
    assert progress.moved() == ["a"]


def test_a_point_others_know_is_not_published_when_set_again() -> None:
    """A point known to be shared (``set_known``), then set as it is: not moved."""
    progress = Progress()
    progress.set_known("a", T0)
    progress.set_last("a", T0)
    assert progress.moved() == []
    assert progress.last("a") == T0


def test_a_point_not_yet_published_stays_moved_when_set_again() -> None:
    """Setting it again as it is does not drop a point still waiting to be published."""
    progress = Progress()
    progress.set_last("a", T0)
    progress.set_last("a", T0)
    assert progress.moved() == ["a"]
