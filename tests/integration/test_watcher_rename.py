"""A job renamed with `previous_names` keeps its history and state (real watcher process)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import Spawn, append_job, runs, spawn, succeeded, write

__all__ = ["spawn"]  # the fixture, re-exported for pytest


def test_renamed_job_carries_its_history_over(spawn: Spawn, tmp_path: Path) -> None:
    """Moving job 'old' to file and name 'new' (previous_names: [old]) moves its runs."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    old_file = write(watcher.jobs / "old.yaml", append_job("old", out, "v1"))
    before = succeeded(watcher.data, "old", count=2)
    text = append_job("new", out, "v2") + "previous_names: [old]\n"
    write(watcher.jobs / "new.yaml", text)
    os.unlink(old_file)
    watcher.wait_event("config.job_renamed", job="new", previous="old")
    wait_for(
        lambda: (
            [r for r in runs(watcher.data, "new") if r.status.value == "succeeded"]
            and len(runs(watcher.data, "new")) > len(before)
        ),
        message="runs of the renamed job",
    )
    carried = {r.run_id for r in runs(watcher.data, "new")}
    assert {r.run_id for r in before} <= carried
    assert runs(watcher.data, "old") == []


def test_store_rename_moves_runs_and_state(tmp_path: Path) -> None:
    """Store.rename_job moves runs and the state row to the new name."""
    from datetime import UTC, datetime

    from scheduler.core.runs import RunTrigger
    from scheduler.store import Store

    at = datetime(2026, 1, 1, tzinfo=UTC)
    with Store(tmp_path / "s.db") as store:
        store.record_enqueued(
            run_id="old--1",
            job="old",
            scheduled_for=at,
            trigger=RunTrigger.schedule,
            enqueued_at=at,
        )
        store.save_job_state(
            job="old",
            last_scheduled=at,
            next_run=None,
            definition_hash="h",
            source_file="f",
            enabled=True,
            updated_at=at,
        )
        assert store.rename_job("old", "new") == 1
        assert [r.job for r in store.history(job="new")] == ["new"]
        assert store.job_states()["new"].last_scheduled == at
        assert "old" not in store.job_states()
