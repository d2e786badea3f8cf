"""The start's one pass over the loaded jobs and the stored job states, by name, a page of
rows at a time (``engine.startstate.stored_states``), on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from scheduler.core.job import LoadedJob
from scheduler.engine import startstate
from scheduler.engine.startstate import stored_states
from scheduler.store import Store

T0 = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


class _Job:
    """What the pass reads of a loaded job."""

    def __init__(self, name: str) -> None:
        self.name, self.file, self.definition_hash = name, f"jobs.d/{name}.yaml", f"h-{name}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "scheduler.db") as s:
        yield s


def _save(store: Store, name: str) -> None:
    store.save_job_state(
        job=name,
        last_scheduled=T0,
        next_run=T0 + timedelta(hours=1),
        definition_hash=f"h-{name}",
        source_file=f"jobs.d/{name}.yaml",
        enabled=True,
        updated_at=T0,
    )


def test_each_job_comes_with_its_state_and_each_row_once_by_name(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs without a row come with none, rows of no loaded job come without a job, and
    a page boundary between any of them changes nothing."""
    monkeypatch.setattr(startstate, "ROWS_PER_READ", 2)
    for name in ("b", "c", "d", "e", "g", "h"):
        _save(store, name)
    jobs = {n: cast(LoadedJob, _Job(n)) for n in ("f", "d", "a", "c", "i")}
    seen = [(n, j is not None, s is not None) for n, j, s in stored_states(store, jobs)]
    assert seen == [
        ("a", True, False),
        ("b", False, True),
        ("c", True, True),
        ("d", True, True),
        ("e", False, True),
        ("f", True, False),
        ("g", False, True),
        ("h", False, True),
        ("i", True, False),
    ]
    for _, job, state in stored_states(store, jobs):
        if job is not None and state is not None:
            assert state.job is job.name  # the loaded job's own string, not a copy


def test_rows_written_during_the_pass_for_the_jobs_given_do_not_come_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start writes a row for each job given without one (and rewrites others) as the
    pass goes: none of them turns up again as a row of no loaded job in a later page."""
    monkeypatch.setattr(startstate, "ROWS_PER_READ", 2)
    for name in ("b", "d", "f", "h"):
        _save(store, name)
    jobs = {n: cast(LoadedJob, _Job(n)) for n in "abcdefghij"}
    seen = []
    for name, job, state in stored_states(store, jobs):
        seen.append((name, state is not None))
        assert job is not None
        _save(store, name)
    assert seen == [(n, n in "bdfh") for n in "abcdefghij"]
    assert set(store.job_states()) == set("abcdefghij")
