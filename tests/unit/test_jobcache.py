"""The cache of validated jobs serves a file only while its content is the same, and is
ignored (never trusted) when damaged, tampered with, or written by other code or rules."""

from __future__ import annotations

import os
import pickle
from datetime import UTC, datetime
from pathlib import Path

from scheduler.config import jobcache
from scheduler.config.liveconfig import LiveConfig
from scheduler.config.project import Project, TaskRules
from scheduler.engine.api import validate

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _job(minute: int) -> str:
    return f"name: a\ntask: examples.bots:heartbeat\nschedule:\n  cron: '{minute} * * * *'\n"


def _loaded(root: Path, data: Path, project: Project | None = None) -> LiveConfig:
    config = LiveConfig(root, project, cache_dir=data)
    config.rescan(NOW)
    return config


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    root, data = tmp_path / "jobs.d", tmp_path / "data"
    root.mkdir()
    path = root / "a.yaml"
    path.write_text(_job(1))
    _loaded(root, data).save_cache()
    assert (data / jobcache.CACHE_FILE).exists()
    return root, data, path


def test_an_unchanged_file_is_served_from_the_cache(tmp_path: Path) -> None:
    root, data, _ = _setup(tmp_path)
    config = LiveConfig(root, cache_dir=data)
    assert set(config._cached) == {str(root / "a.yaml")}
    assert not config.cache_fresh
    config.rescan(NOW)
    assert config._cached == {}  # taken, not parsed again
    assert config.cache_fresh  # nothing to write back
    assert config.jobs["a"].spec.schedule.cron == "1 * * * *"
    assert config.jobs["a"].schedule.next_after(NOW) == datetime(2026, 6, 1, 12, 1, tzinfo=UTC)


def test_same_size_and_mtime_other_content_is_read_anew(tmp_path: Path) -> None:
    root, data, path = _setup(tmp_path)
    before = path.stat()
    path.write_text(_job(2))  # same length
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    config = _loaded(root, data)
    assert config.jobs["a"].spec.schedule.cron == "2 * * * *"
    assert not config.cache_fresh
    assert validate([root], NOW).jobs["a"].spec.schedule.cron == "2 * * * *"


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    root, data, _ = _setup(tmp_path)
    cache = data / jobcache.CACHE_FILE
    cache.write_bytes(cache.read_bytes()[:50])
    assert jobcache.load(data) == {}
    assert _loaded(root, data).jobs["a"].spec.schedule.cron == "1 * * * *"


def test_a_tampered_cache_runs_nothing(tmp_path: Path) -> None:
    root, data, _ = _setup(tmp_path)
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (f"touch {marker}",))

    (data / jobcache.CACHE_FILE).write_bytes(pickle.dumps((jobcache.code_version(), Exploit())))
    assert jobcache.load(data) == {}
    assert not marker.exists()
    assert _loaded(root, data).jobs["a"].name == "a"


def test_other_task_rules_or_code_do_not_use_it(tmp_path: Path) -> None:
    root, data, _ = _setup(tmp_path)
    strict = Project(root, rules=TaskRules(allowed=("elsewhere",)))
    config = LiveConfig(root, strict, cache_dir=data)
    assert config._cached == {}
    config.rescan(NOW)
    assert config.jobs == {}  # the rules refuse the task now: no stale job served
    entries = jobcache.load(data)
    cache = data / jobcache.CACHE_FILE
    cache.write_bytes(pickle.dumps(("another version", entries)))
    assert jobcache.load(data) == {}
