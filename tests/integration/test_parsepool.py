"""The cold start's process pool: the same jobs and the same located rejections as one process.

Real files in ``tmp_path`` and real forked workers; the pool is forced on for a small tree
(its threshold is about when it pays, not about what it reads).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scheduler.config import liveconfig, parsepool
from scheduler.config.liveconfig import LiveConfig
from tests.integration.jobtrees import job_text, mixed_tree

NOW = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``jobs.d`` of valid files, with defaults in one folder and a few bad files."""
    monkeypatch.chdir(tmp_path)
    return mixed_tree(Path("jobs.d"))


def pool_of(monkeypatch: pytest.MonkeyPatch, workers: int) -> list[str]:
    """Use ``workers`` processes whatever the count; returns the files sent to them."""
    sent: list[str] = []
    real = parsepool.in_workers

    def spy(work, tasks, count):  # type: ignore[no-untyped-def]
        sent.extend(source for _, source, _ in tasks)
        return real(work, tasks, count)

    monkeypatch.setattr(liveconfig, "pool_size", lambda files: workers)
    monkeypatch.setattr(liveconfig, "in_workers", spy)
    return sent


def rescanned(root: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> LiveConfig:
    """A LiveConfig on ``root`` after its first rescan, parsed by ``workers`` processes."""
    sent = pool_of(monkeypatch, workers)
    config = LiveConfig(root)
    config.rescan(NOW)
    assert len(sent) == (45 if workers else 0)
    return config


def located(config: LiveConfig) -> dict[str, list[tuple[int, int, str, str]]]:
    """Each rejected file's problems, as ``validate`` would show them."""
    return {
        file: [(e.line, e.column, e.path, e.message) for e in errors]
        for file, errors in config.rejected.items()
    }


def test_pool_loads_the_same_jobs(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs parsed by workers equal those parsed in-process: names, files, definitions."""
    alone = rescanned(root, monkeypatch, 0)
    pooled = rescanned(root, monkeypatch, 2)
    assert len(pooled.jobs) == 42
    assert pooled.jobs["job-01"].spec.schedule.timezone == "Europe/Paris"
    assert pooled.jobs.keys() == alone.jobs.keys()
    for name, job in alone.jobs.items():
        other = pooled.jobs[name]
        assert (other.file, other.line, other.name_line) == (job.file, job.line, job.name_line)
        assert other.definition_hash == job.definition_hash
        assert other.spec.schedule.timezone == job.spec.schedule.timezone
    assert pooled.generation == alone.generation


def test_pool_leaves_problems_to_the_parent(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad file parsed by the pool is rejected with the same file, line, field and text."""
    alone = rescanned(root, monkeypatch, 0)
    pooled = rescanned(root, monkeypatch, 2)
    assert set(pooled.rejected) == {
        "jobs.d/bad-cron.yaml",
        "jobs.d/twice.yaml",
        "jobs.d/latin1.yaml",
    }
    assert located(pooled) == located(alone)


def test_pooled_start_writes_the_cache(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the pool parsed is saved, and the next start parses only the rejected files."""
    sent = pool_of(monkeypatch, 2)
    config = LiveConfig(root, cache_dir=tmp_path)
    config.rescan(NOW)
    assert not config.cache_fresh
    config.save_cache()
    sent.clear()
    again = LiveConfig(root, cache_dir=tmp_path)
    again.rescan(NOW)
    assert sorted(sent) == sorted(config.rejected)
    assert again.generation == config.generation
    assert located(again) == located(config)


def test_validate_in_workers_reports_the_same(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate's pooled load (lint done in the workers) gives the same report, in order."""
    from scheduler.config import catalog as catalog_module
    from scheduler.engine import api

    for i in range(25):  # a pile-up: 25 jobs due in the same minute
        (root / f"crowd-{i:02d}.yaml").write_text(job_text(f"crowd-{i:02d}", "cron: '0 3 * * *'"))
    (root / "dst.yaml").write_text(
        job_text("dst", "cron: '30 2 * * *'\n  timezone: Europe/Paris")
        + "params:\n  dry_run: false\n"
    )

    def report(workers: int) -> list[dict[str, str | int]]:
        monkeypatch.setattr(catalog_module, "pool_size", lambda files, min_cores: workers)
        catalog = api.validate([root], NOW)
        api.check_tasks(catalog, liveconfig.load_project(root), import_tasks=False)
        api.lint(catalog, NOW)
        assert len(catalog.jobs) == 68
        return [p.as_dict() for p in [*catalog.errors, *catalog.warnings]]

    alone = report(0)
    assert {p.get("code") for p in alone} >= {"pile-up", "dst-skipped", "production-mode"}
    assert report(2) == alone
