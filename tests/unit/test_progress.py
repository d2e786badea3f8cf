"""Which jobs' points the handover has to publish: only those that moved."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
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


def _traced(build: Callable[[Progress], None]) -> tuple[Progress, int]:
    """A new ``Progress`` that ``build`` filled, and the bytes allocated meanwhile."""
    progress = Progress()
    tracemalloc.start()
    try:
        build(progress)
        return progress, tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def test_the_moved_set_is_given_back_once_all_is_published() -> None:
    """A cold start moves every job's point; once they are published (5,000 a call, as the
    handover does) the set's table (2-4 MB at 100,000 jobs) is not kept for good."""
    names = [f"job-{i:06d}" for i in range(100_000)]

    def known(progress: Progress) -> None:
        for name in names:
            progress.set_known(name, T0)

    def published(progress: Progress) -> None:
        for name in names:
            progress.set_last(name, T0)
        moved = progress.moved()
        for start in range(0, len(moved), 5_000):
            progress.published(moved[start : start + 5_000])

    _, points_only = _traced(known)
    progress, after = _traced(published)
    assert progress.moved() == []
    assert after - points_only < 100_000  # the points stay, the set's table does not
    progress.set_last("job-000001", T0 + timedelta(seconds=1))
    assert progress.moved() == ["job-000001"]
