"""The due queue: what pops at `now`, replacement and removal, stale entries, scale.

Pure: every instant is an argument, nothing reads a clock. Where a schedule is needed the
tests use a tiny fake one (STYLE example 2), never a cron string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from scheduler.core.duequeue import DueQueue, DueRun

T0 = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """The instant ``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


@dataclass(frozen=True)
class Every:
    """A fake schedule: every ``step`` from ``start`` (tests only)."""

    start: datetime
    step: timedelta

    def next_after(self, t: datetime) -> datetime | None:
        if t < self.start:
            return self.start
        return self.start + ((t - self.start) // self.step + 1) * self.step


def queue(**jobs: datetime) -> DueQueue:
    """A queue holding ``jobs`` (name -> instant), set in keyword order."""
    q = DueQueue()
    for name, instant in jobs.items():
        q.set(name, instant)
    return q


# --- pop_due ---------------------------------------------------------------------------


def test_pop_due_returns_every_due_run_in_instant_order():
    """Every run at or before now pops, earliest first, whatever the order they were set."""
    q = queue(c=at(3), a=at(1), d=at(4), b=at(2))
    assert q.pop_due(at(4)) == [
        DueRun(at(1), "a"),
        DueRun(at(2), "b"),
        DueRun(at(3), "c"),
        DueRun(at(4), "d"),
    ]
    assert len(q) == 0


def test_pop_due_returns_nothing_due_later_than_now():
    """Runs after now stay in the queue with their instants."""
    q = queue(a=at(1), b=at(5), c=at(10))
    assert q.pop_due(at(4)) == [DueRun(at(1), "a")]
    assert q.get("b") == at(5)
    assert q.get("c") == at(10)
    assert q.pop_due(at(4)) == []


def test_pop_due_includes_a_run_due_exactly_at_now():
    """A run whose instant equals now is due."""
    q = queue(a=at(5))
    assert q.pop_due(at(5)) == [DueRun(at(5), "a")]


def test_pop_due_one_microsecond_early_returns_nothing():
    """A run one microsecond in the future is not due."""
    q = queue(a=at(5))
    assert q.pop_due(at(5) - timedelta(microseconds=1)) == []
    assert "a" in q


def test_pop_due_on_an_empty_queue_returns_nothing():
    """An empty queue has nothing due."""
    assert DueQueue().pop_due(at(100)) == []


def test_popped_job_has_no_entry_left():
    """After popping, the job is gone until the caller sets its next instant."""
    q = queue(a=at(1))
    q.pop_due(at(1))
    assert "a" not in q
    assert q.get("a") is None
    assert q.peek() is None


def test_instants_compare_as_instants_whatever_their_offset():
    """An instant written in another offset sorts by the moment it names."""
    plus2 = (T0 + timedelta(minutes=10)).astimezone(timezone(timedelta(hours=2)))
    q = queue(utc=at(30), plus2=plus2)
    assert q.pop_due(at(60)) == [DueRun(at(10), "plus2"), DueRun(at(30), "utc")]


def test_ties_pop_in_a_deterministic_order():
    """Jobs due at the same instant pop in the same order every time the same sets are made."""
    orders = []
    for _ in range(3):
        q = queue(b=at(1), a=at(1), c=at(1))
        orders.append([r.job for r in q.pop_due(at(1))])
    assert orders[0] == orders[1] == orders[2]
    assert sorted(orders[0]) == ["a", "b", "c"]


def test_ties_pop_by_job_name_whatever_the_set_order():
    """Two queues holding the same runs pop them in the same order, the order upcoming() shows."""
    first = queue(a=at(1), b=at(1))
    second = queue(b=at(1), a=at(1))
    assert first.upcoming(at(1)) == second.upcoming(at(1))
    assert second.pop_due(at(1)) == first.pop_due(at(1))


# --- set / remove / get ----------------------------------------------------------------


def test_set_replaces_the_previous_instant():
    """After a re-set, the old instant never pops; the job pops once, at the new instant."""
    q = queue(a=at(1))
    q.set("a", at(5))
    assert q.get("a") == at(5)
    assert q.pop_due(at(4)) == []
    assert q.pop_due(at(5)) == [DueRun(at(5), "a")]
    assert q.pop_due(at(100)) == []


def test_set_to_an_earlier_instant_moves_the_job_forward():
    """Replacing with an earlier instant makes the job due sooner, and only once."""
    q = queue(a=at(10))
    q.set("a", at(2))
    assert q.pop_due(at(10)) == [DueRun(at(2), "a")]


def test_set_again_to_the_same_instant_keeps_one_entry():
    """Setting the same instant twice still pops the job once."""
    q = queue(a=at(1))
    q.set("a", at(1))
    assert len(q) == 1
    assert q.pop_due(at(1)) == [DueRun(at(1), "a")]


def test_removed_then_set_back_to_the_same_instant_is_listed_and_popped_once():
    """The entry left behind by a removal never counts again, even at the same instant."""
    q = queue(a=at(1), b=at(2))
    q.remove("a")
    q.set("a", at(1))
    q.set("b", at(2))
    assert q.upcoming(at(5)) == [DueRun(at(1), "a"), DueRun(at(2), "b")]
    assert q.pop_due(at(5)) == [DueRun(at(1), "a"), DueRun(at(2), "b")]
    assert q.pop_due(at(5)) == []


def test_remove_drops_the_job():
    """A removed job never pops and is no longer in the queue."""
    q = queue(a=at(1), b=at(2))
    q.remove("a")
    assert "a" not in q
    assert q.get("a") is None
    assert len(q) == 1
    assert q.pop_due(at(10)) == [DueRun(at(2), "b")]


def test_remove_of_an_unknown_job_is_a_no_op():
    """Removing a job the queue does not hold changes nothing."""
    q = queue(a=at(1))
    q.remove("nope")
    assert q.pop_due(at(1)) == [DueRun(at(1), "a")]


def test_set_none_removes_the_job():
    """set(job, None) means the job has no next run: it is removed."""
    q = queue(a=at(1), b=at(2))
    q.set("a", None)
    assert "a" not in q
    assert q.pop_due(at(10)) == [DueRun(at(2), "b")]


def test_removed_then_set_again_pops_only_the_new_instant():
    """A job removed and re-added pops at its new instant only."""
    q = queue(a=at(1))
    q.remove("a")
    q.set("a", at(3))
    assert q.pop_due(at(2)) == []
    assert q.pop_due(at(3)) == [DueRun(at(3), "a")]


def test_naive_instant_is_rejected():
    """set refuses a naive datetime and leaves the queue unchanged."""
    q = queue(a=at(1))
    with pytest.raises(ValueError, match="aware"):
        q.set("b", datetime(2026, 3, 29, 7, 0))
    with pytest.raises(ValueError, match="aware"):
        q.set("a", datetime(2026, 3, 29, 9, 0))
    assert "b" not in q
    assert q.get("a") == at(1)


def test_naive_now_is_rejected_like_a_naive_instant():
    """pop_due refuses a naive now with ValueError, even while the queue is empty."""
    with pytest.raises(ValueError, match="aware"):
        DueQueue().pop_due(datetime(2026, 3, 29, 7, 0))


def test_len_and_contains_count_live_jobs_only():
    """len and `in` see one entry per job, not the stale heap entries."""
    q = queue(a=at(1), b=at(2))
    q.set("a", at(3))
    q.set("a", at(4))
    q.remove("b")
    assert len(q) == 1
    assert "a" in q
    assert "b" not in q


# --- peek / upcoming -------------------------------------------------------------------


def test_peek_returns_the_earliest_run_without_removing_it():
    """peek shows the next run and leaves it in place."""
    q = queue(b=at(2), a=at(1))
    assert q.peek() == DueRun(at(1), "a")
    assert q.peek() == DueRun(at(1), "a")
    assert len(q) == 2


def test_peek_skips_stale_entries():
    """peek never shows a replaced or removed instant."""
    q = queue(a=at(1), b=at(2))
    q.set("a", at(3))
    assert q.peek() == DueRun(at(2), "b")
    q.remove("b")
    assert q.peek() == DueRun(at(3), "a")
    q.set("a", None)
    assert q.peek() is None


def test_peek_on_an_empty_queue_is_none():
    """Nothing queued: peek is None."""
    assert DueQueue().peek() is None


def test_upcoming_lists_runs_until_an_instant_without_removing_them():
    """upcoming shows live runs at or before `until`, earliest first, and pops nothing."""
    q = queue(c=at(3), a=at(1), b=at(2), d=at(9))
    q.set("a", at(2.5))
    assert q.upcoming(at(3)) == [DueRun(at(2), "b"), DueRun(at(2.5), "a"), DueRun(at(3), "c")]
    assert len(q) == 4


# --- limit -----------------------------------------------------------------------------


def test_limit_pops_the_earliest_and_the_rest_stay():
    """With a limit, the earliest due runs pop and the other due ones wait for the next call."""
    q = queue(a=at(1), b=at(2), c=at(3), d=at(4), later=at(50))
    assert q.pop_due(at(10), limit=2) == [DueRun(at(1), "a"), DueRun(at(2), "b")]
    assert q.get("c") == at(3)
    assert q.get("d") == at(4)
    assert q.pop_due(at(10), limit=2) == [DueRun(at(3), "c"), DueRun(at(4), "d")]
    assert q.pop_due(at(10), limit=2) == []
    assert q.get("later") == at(50)


def test_limit_larger_than_the_due_runs_returns_them_all():
    """A limit above the number of due runs changes nothing."""
    q = queue(a=at(1), b=at(2), later=at(50))
    assert q.pop_due(at(10), limit=100) == [DueRun(at(1), "a"), DueRun(at(2), "b")]


def test_limit_skips_stale_entries_without_counting_them():
    """Stale entries at the top do not use up the limit."""
    q = queue(a=at(1), b=at(2), c=at(3))
    q.set("a", at(60))
    q.remove("b")
    assert q.pop_due(at(10), limit=1) == [DueRun(at(3), "c")]


# --- with a schedule -------------------------------------------------------------------


def test_loop_of_pop_and_reschedule_yields_every_run_in_order():
    """Popping due runs and setting each job's next instant replays both schedules in order."""
    schedules = {
        "fast": Every(at(0), timedelta(minutes=2)),
        "slow": Every(at(1), timedelta(minutes=4)),
    }
    q = DueQueue()
    for name, schedule in schedules.items():
        q.set(name, schedule.next_after(at(0)))
    seen: list[tuple[float, str]] = []
    for minute in range(1, 11):
        now = at(minute)
        for run in q.pop_due(now):
            seen.append(((run.instant - T0) / timedelta(minutes=1), run.job))
            q.set(run.job, schedules[run.job].next_after(run.instant))
    assert seen == [
        (1, "slow"),
        (2, "fast"),
        (4, "fast"),
        (5, "slow"),
        (6, "fast"),
        (8, "fast"),
        (9, "slow"),
        (10, "fast"),
    ]


# --- scale -----------------------------------------------------------------------------


def test_pop_due_among_100k_jobs_returns_only_the_10_due():
    """With 100,000 jobs queued and 10 due, one pop_due returns exactly those, in order."""
    q = DueQueue()
    for i in range(100_000):
        # Jobs 0..99,989 are due from one day on; 10 jobs are due in the next minutes.
        q.set(f"job{i:06d}", T0 + timedelta(days=1, seconds=i))
    due_names = [f"job{i:06d}" for i in range(0, 100_000, 10_000)]
    for k, name in enumerate(reversed(due_names)):
        q.set(name, at(k))
    popped = q.pop_due(at(9))
    assert popped == [DueRun(at(k), name) for k, name in enumerate(reversed(due_names))]
    assert len(q) == 100_000 - 10
    assert q.peek() == DueRun(T0 + timedelta(days=1, seconds=1), "job000001")
    assert q.pop_due(at(9)) == []


def test_many_replacements_do_not_grow_the_heap_without_bound():
    """100k re-sets of 10 jobs leave a heap of a bounded size.

    Reads the private ``_heap``: the bound is about memory, which the public API cannot see.
    Lazy deletion leaves one stale entry per re-set, so without compaction the heap would
    hold 100,010 entries here.
    """
    q = DueQueue()
    for i in range(100_000):
        q.set(f"job{i % 10}", at(i))
    assert len(q) == 10
    assert len(q._heap) < 2_000
    assert q.pop_due(at(100_000)) == [DueRun(at(99_990 + k), f"job{k}") for k in range(10)]


def test_compaction_keeps_every_live_instant():
    """After enough re-sets to compact, each job pops once at its latest instant."""
    q = DueQueue()
    for round_ in range(500):
        for j in range(20):
            q.set(f"job{j:02d}", at(round_ * 20 + (19 - j)))
    q.remove("job00")
    expected = [DueRun(at(499 * 20 + (19 - j)), f"job{j:02d}") for j in range(19, 0, -1)]
    assert q.upcoming(at(10_000)) == expected
    assert q.pop_due(at(10_000)) == expected
    assert len(q) == 0


def test_version_grows_with_every_change_and_not_with_pops() -> None:
    """Setting or removing an instant changes the version; popping what is due does not."""
    t = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    queue = DueQueue()
    v0 = queue.version
    queue.set("a", t)
    queue.set("b", t + timedelta(seconds=1))
    v1 = queue.version
    assert v1 > v0
    queue.pop_due(t)
    assert queue.version == v1
    queue.remove("b")
    assert queue.version > v1
    queue.remove("b")  # nothing left to remove: no change
    assert queue.version == v1 + 1


def test_jobs_due_at_one_instant_share_one_object_for_it() -> None:
    """Equal UTC instants (built apart) are held once; another zone's stays as given, and
    the queue gives each job's instant back equal to what was set."""
    q = DueQueue()
    paris = timezone(timedelta(hours=1))
    q.set("a", at(5))
    q.set("b", at(5))
    q.set("c", at(5).astimezone(paris))
    a, b, c = q.get("a"), q.get("b"), q.get("c")
    assert a == b == c == at(5)
    assert a is b
    assert c is not None
    assert c.tzinfo is paris
    q.set("b", at(6))
    assert q.get("b") == at(6)
    assert q.pop_due(at(5)) == [DueRun(at(5), "a"), DueRun(at(5), "c")]


def test_instants_set_unordered_pop_as_if_each_had_been_pushed():
    """Set within ``unordered()`` (replaced, removed, set back), the queue reads and pops as
    one whose instants were set one by one, inside it as well as after it."""
    base = datetime(2026, 3, 29, tzinfo=UTC)
    steps = [(f"j{i % 37}", base + timedelta(minutes=(i * 7919) % 500)) for i in range(300)]
    plain, bulk = DueQueue(), DueQueue()
    with bulk.unordered():
        for k, (job, at) in enumerate(steps):
            for q in (plain, bulk):
                q.set(job, at)
                if k % 11 == 0:
                    q.remove(f"j{k % 5}")
            if k == 150:
                assert bulk.peek() == plain.peek()
                assert bulk.upcoming(base + timedelta(minutes=100)) == plain.upcoming(
                    base + timedelta(minutes=100)
                )
    assert len(bulk) == len(plain)
    end = base + timedelta(days=1)
    assert bulk.pop_due(end) == plain.pop_due(end)
    assert bulk.peek() is None
