"""``scheduler status`` keeps listing a job whose file turned invalid: the watcher keeps its
last valid definition and runs it, so the job is not gone (DESIGN.md, "The watcher")."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scheduler.engine.runhistory import store_path
from scheduler.store import Store
from tests.cli.conftest import run_cli

JOB = 'name: {name}\ntask: examples.bots:heartbeat\nschedule:\n  cron: "{cron}"\n'


def test_a_job_of_a_rejected_file_is_listed_as_the_watcher_runs_it(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.d"
    jobs.mkdir()
    for name in ("a", "b"):
        (jobs / f"{name}.yaml").write_text(JOB.format(name=name, cron="0 9 * * *"), "utf-8")
    # The job states a watcher on this folder saved (it ran from this directory).
    nxt = datetime(2031, 1, 2, 9, 0, tzinfo=UTC)
    store = Store(store_path(tmp_path / "data"))
    rows = [(n, None, nxt, "h", f"jobs.d/{n}.yaml", True, 0) for n in ("a", "b")]
    store.save_job_states(rows, updated_at=datetime.now(UTC))
    store.close()
    # Then b's file is edited into an invalid one: the watcher keeps b as it was.
    (jobs / "b.yaml").write_text(JOB.format(name="b", cron="0 30 9 * * *"), "utf-8")

    got = run_cli("status", "--format", "json", cwd=tmp_path)
    assert got.code == 0, got.err
    listed = {row["name"]: row for row in got.json()["jobs"]}
    assert sorted(listed) == ["a", "b"]
    assert "rejected" not in listed["a"]
    kept = listed["b"]
    assert kept["next_run"] == "2031-01-02T09:00:00+00:00"
    assert kept["rejected"].startswith("jobs.d/b.yaml:4:")
    assert "schedule.cron" in kept["rejected"]

    text = run_cli("status", cwd=tmp_path)
    assert "b: its file is invalid; the watcher runs its last valid definition" in text.out
