"""``scheduler history NAME``: an unknown name is an error, as for ``next`` and ``trigger``."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import run_cli
from tests.integration.web_helpers import record_runs, write_job


def test_history_of_an_unknown_job_exits_1(tmp_path: Path) -> None:
    """A name that no job file defines and no run records: exit 1 naming it (a typo)."""
    write_job(tmp_path / "jobs.d", "alpha")
    result = run_cli("history", "alpah", cwd=tmp_path)
    assert result.code == 1
    assert "no job named 'alpah'" in result.err
    assert "did you mean 'alpha'" in result.err


def test_history_of_a_known_job_without_runs_exits_0(tmp_path: Path) -> None:
    """A job of jobs.d/ that has not run yet: an empty history, exit 0."""
    write_job(tmp_path / "jobs.d", "alpha")
    result = run_cli("history", "alpha", "--format", "json", cwd=tmp_path)
    assert (result.code, result.json()) == (0, [])


def test_history_of_a_removed_job_still_shows_its_runs(tmp_path: Path) -> None:
    """A job deleted from jobs.d/ keeps its recorded runs: they are shown, exit 0."""
    write_job(tmp_path / "jobs.d", "alpha")
    (tmp_path / "data").mkdir()
    record_runs(tmp_path / "data", "gone", 2)
    result = run_cli("history", "gone", "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.err
    assert [row["job"] for row in result.json()] == ["gone", "gone"]


def test_history_of_a_job_in_a_rejected_file_exits_0(tmp_path: Path) -> None:
    """A job whose file is invalid is known by name: no runs yet is no error."""
    jobs = tmp_path / "jobs.d"
    write_job(jobs, "alpha")
    (jobs / "beta.yaml").write_text("name: beta\ntask: examples.bots:birthday\nschedule: {}\n")
    result = run_cli("history", "beta", cwd=tmp_path)
    assert result.code == 0, result.err
