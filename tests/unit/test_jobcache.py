"""The cache of validated jobs serves a file only while its content is the same, and is
ignored (never trusted) when damaged, tampered with, or written by other code or rules."""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scheduler.config import cacheload, jobcache, liveconfig
from scheduler.config.defaults import Defaults
from scheduler.config.forkcall import ForkCall
from scheduler.config.liveconfig import LiveConfig
from scheduler.config.project import Project, TaskRules
from scheduler.core.runs import RunTrigger
from scheduler.engine.api import validate

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _job(minute: int) -> str:
    return f"name: a\ntask: examples.bots:heartbeat\nschedule:\n  cron: '{minute} * * * *'\n"


def _loaded(root: Path, data: Path, project: Project | None = None) -> LiveConfig:
    config = LiveConfig(root, project, cache_dir=data)
    config.rescan(NOW)
    return config


def _tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    root, data = tmp_path / "jobs.d", tmp_path / "data"
    root.mkdir()
    path = root / "a.yaml"
    path.write_text(_job(1))
    return root, data, path


def _setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    root, data, path = _tree(tmp_path)
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


def test_a_cache_of_hex_digests_is_not_served(tmp_path: Path) -> None:
    """Entries of the earlier form (a file's digest as hex text) are refused as a whole:
    the files are read again, never compared against a digest of another kind."""
    root, data, path = _setup(tmp_path)
    salt = LiveConfig(root)._salt
    entries: dict[str, Any] = dict(jobcache.load(data, salt))
    assert entries
    assert all(len(d) == 32 for d, _, _ in entries.values())  # raw SHA-256
    jobcache.save(data, {f: (d.hex(), jobs, st) for f, (d, jobs, st) in entries.items()}, salt)
    assert jobcache.load(data, salt) == {}
    path.write_text(_job(3))
    assert _loaded(root, data).jobs["a"].spec.schedule.cron == "3 * * * *"


def test_the_generation_is_the_hex_digest_of_each_accepted_file(tmp_path: Path) -> None:
    """The generation a watcher reports (a metric label) stays what it was for the same
    files: each file's content digest written as hex, from a cold read or from the cache."""
    root, data, path = _setup(tmp_path)
    content = hashlib.sha256(path.read_bytes() + Defaults().digest.encode()).hexdigest()
    expected = hashlib.sha256(f"{path}\0{content}\n".encode()).hexdigest()[:16]
    cold = LiveConfig(root)
    cold.rescan(NOW)
    assert cold.generation == expected
    assert _loaded(root, data).generation == expected


class _Clock:
    """``time.time_ns`` as the job cache reads it, moved at will."""

    def __init__(self) -> None:
        self.ns = time.time_ns()

    def time_ns(self) -> int:
        return self.ns

    def after(self, path: Path, ns: int) -> None:
        """Now is ``ns`` after the last change of ``path``."""
        st = path.stat()
        self.ns = max(st.st_mtime_ns, st.st_ctime_ns) + ns


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(jobcache, "time", fake)
    return fake


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return _calls(monkeypatch, liveconfig, "read_job_bytes", 1)  # each read's source


def _calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, arg: int) -> list[str]:
    """The ``arg``-th argument of each call of ``owner.name`` from now on."""
    seen: list[str] = []
    real = getattr(owner, name)

    def counted(*args: Any) -> Any:
        seen.append(os.fspath(args[arg]))
        return real(*args)

    monkeypatch.setattr(owner, name, counted)
    return seen


def test_a_file_unchanged_since_long_before_its_stat_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: _Clock
) -> None:
    root, data, path = _tree(tmp_path)
    clock.after(path, jobcache.RACY_NS + 1)  # the first start comes a while after the write
    _loaded(root, data).save_cache()
    reads = _count_reads(monkeypatch)
    config = _loaded(root, data)
    assert reads == []
    assert config.cache_fresh
    assert config.jobs["a"].spec.schedule.cron == "1 * * * *"
    path.write_text(_job(3))  # a later write changes the stat
    clock.after(path, jobcache.RACY_NS + 1)
    assert _loaded(root, data).jobs["a"].spec.schedule.cron == "3 * * * *"
    assert reads == [str(path)]


def test_a_write_in_the_clock_tick_of_the_stat_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: _Clock
) -> None:
    """A coarse file system clock: a second write just after the first start's stat keeps
    the size and every time stamp; the file was stat'ed too soon to be trusted."""
    root, data, path = _tree(tmp_path)
    frozen = path.stat()
    real_stat = os.stat

    def coarse_stat(target: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        return frozen if Path(target) == path else real_stat(target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", coarse_stat)
    clock.after(path, jobcache.RACY_NS // 2)
    _loaded(root, data).save_cache()
    path.write_text(_job(2))  # same length, and (faked) the same stat
    clock.ns += 10 * jobcache.RACY_NS
    reads = _count_reads(monkeypatch)
    config = _loaded(root, data)
    assert config.jobs["a"].spec.schedule.cron == "2 * * * *"
    assert reads == [str(path)]
    config.save_cache()  # stamped now: the next start trusts the stat
    assert _loaded(root, data).jobs["a"].spec.schedule.cron == "2 * * * *"
    assert reads == [str(path)]


def test_other_defaults_are_not_hidden_by_an_unchanged_stat(tmp_path: Path, clock: _Clock) -> None:
    root, data, path = _tree(tmp_path)
    clock.after(path, jobcache.RACY_NS + 1)
    _loaded(root, data).save_cache()
    (root / "_defaults.yaml").write_text("queue: other\n")
    assert _loaded(root, data).jobs["a"].queue == "other"


PARAMS = """params:
  count: 3
  ratio: 0.1
  big: 123456789012345678901234567890
  day: 2026-06-01
  tags: [a, b]
  nested: {dry_run: false, none: null}
"""


def test_cached_jobs_keep_their_params_as_written(tmp_path: Path) -> None:
    """A served job's params equal the file's, of the same types (a YAML date stays a date)."""
    root, data, path = _setup(tmp_path)
    plain = root / "plain.yaml"
    json_kinds = "".join(
        line for line in PARAMS.splitlines(True) if "big" not in line and "day" not in line
    )
    plain.write_text(_job(3).replace("name: a", "name: plain") + json_kinds)
    path.write_text(_job(1) + PARAMS)
    fresh = _loaded(root, data)
    fresh.save_cache()
    served = _loaded(root, data)
    assert served.cache_fresh
    for name in ("a", "plain"):
        expected = fresh.jobs[name].spec.params
        for job in (fresh.jobs[name], served.jobs[name]):
            assert job.params == job.spec.params == expected
            assert [type(v) for v in job.params.values()] == [type(v) for v in expected.values()]
            assert job.run_request(NOW, RunTrigger.schedule).params == expected
    assert type(served.jobs["a"].params["day"]) is date
    assert served.jobs["plain"].spec == fresh.jobs["plain"].spec
    assert served.jobs["plain"].params["nested"] == {"dry_run": False, "none": None}


def test_a_cached_file_whose_job_another_file_now_names_is_rejected(
    tmp_path: Path, clock: _Clock
) -> None:
    root, data, path = _tree(tmp_path)
    other = root / "b.yaml"
    other.write_text(_job(2).replace("name: a", "name: b"))
    clock.after(other, jobcache.RACY_NS + 1)
    _loaded(root, data).save_cache()
    path.write_text(_job(5).replace("name: a", "name: b"))  # read before b.yaml
    clock.after(path, jobcache.RACY_NS + 1)
    config = _loaded(root, data)
    assert config.jobs["b"].spec.schedule.cron == "5 * * * *"
    assert [e.path for e in config.rejected[str(other)]] == ["name"]


# -- the restart's load: the cache loaded while a forked helper takes the files' stamps --


def _named_job(name: str, minute: int) -> str:
    return f"name: {name}\ntask: examples.bots:heartbeat\nschedule:\n  cron: '{minute} * * * *'\n"


@pytest.fixture
def helped(monkeypatch: pytest.MonkeyPatch, clock: _Clock) -> _Clock:
    """A helper for every cached start, whatever the tree's size and the machine's CPUs."""
    monkeypatch.setattr(cacheload, "HELPER_MIN_FILES", 1)
    monkeypatch.setattr(cacheload, "helper_worth_it", lambda: True)
    return clock


def _many_files(tmp_path: Path, count: int) -> tuple[Path, Path, list[Path]]:
    root, data = tmp_path / "jobs.d", tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    paths = [root / ("sub" if i % 2 else "") / f"j{i}.yaml" for i in range(count)]
    for i, path in enumerate(paths):
        path.write_text(_named_job(f"j{i}", i % 60))
    return root, data, paths


def _restart(root: Path, data: Path) -> LiveConfig:
    config = LiveConfig(root, cache_dir=data, cache_at_rescan=True)
    config.rescan(NOW)
    return config


def test_the_helpers_stamps_serve_the_unchanged_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helped: _Clock
) -> None:
    root, data, paths = _many_files(tmp_path, 40)
    helped.after(paths[-1], jobcache.RACY_NS + 1)
    first = _restart(root, data)  # no cache yet: every file read, no helper
    first.save_cache()
    taken, reads = _calls(monkeypatch, jobcache, "stamp", 0), _count_reads(monkeypatch)
    config = _restart(root, data)
    assert taken == []  # stamped by the helper
    assert reads == []  # served from the cache
    assert config.cache_fresh
    assert {n: j.definition_hash for n, j in config.jobs.items()} == {
        n: j.definition_hash for n, j in first.jobs.items()
    }
    assert len(config.jobs) == 40


def test_same_size_and_mtime_other_content_is_read_anew_beside_the_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helped: _Clock
) -> None:
    root, data, paths = _many_files(tmp_path, 6)
    helped.after(paths[-1], jobcache.RACY_NS + 1)
    _restart(root, data).save_cache()
    before = paths[3].stat()
    paths[3].write_text(_named_job("j3", 9))  # same length
    os.utime(paths[3], ns=(before.st_atime_ns, before.st_mtime_ns))
    assert paths[3].stat().st_size == before.st_size
    helped.after(paths[3], jobcache.RACY_NS + 1)
    reads = _count_reads(monkeypatch)
    config = _restart(root, data)
    assert config.jobs["j3"].spec.schedule.cron == "9 * * * *"
    assert reads == [str(paths[3])]
    assert not config.cache_fresh


def test_without_a_cache_file_no_stamp_is_taken_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helped: _Clock
) -> None:
    root, data, _ = _many_files(tmp_path, 3)
    forked: list[object] = []
    monkeypatch.setattr(cacheload, "ForkCall", forked.append)
    assert len(_restart(root, data).jobs) == 3
    assert forked == []


def test_a_fork_call_returns_its_bytes_or_none_when_it_failed() -> None:
    assert ForkCall(lambda: b"x" * 200_000).result() == b"x" * 200_000
    assert ForkCall(lambda: 1 / 0).result() is None  # type: ignore[arg-type,return-value]
    pending = ForkCall(lambda: b"late")
    pending.cancel()
    assert pending.result() is None


def test_packed_stamps_are_the_stamps(tmp_path: Path, helped: _Clock) -> None:
    _, _, paths = _many_files(tmp_path, 4)
    helped.after(paths[-1], jobcache.RACY_NS + 1)
    files = [str(p) for p in paths] + [str(tmp_path / "gone.yaml")]
    packed = jobcache.packed_stamps(files, lambda p: "d")
    stamps = jobcache.unpacked_stamps(packed, len(files))
    assert stamps is not None
    assert [s or None for s in stamps] == [jobcache.stamp(f, "d") for f in files]
    assert None not in [jobcache.stamp(f, "d") for f in files[:4]]
    assert jobcache.unpacked_stamps(packed[:-1], len(files)) is None


def _malformed(entries: dict[str, jobcache.Entry]) -> list[object]:
    """A well-formed chunk of ``entries`` (one file of one job) altered each way a cache
    must not be trusted in."""
    (file, (digest, jobs, stamp)), *_ = entries.items()
    return [
        [(file, (digest, jobs, stamp))],  # not a dict
        {file.encode(): (digest, jobs, stamp)},  # a name that is not text
        {file: [digest, jobs, stamp]},  # an entry that is not a tuple
        {file: (digest, jobs)},  # of another length
        {file: (digest.hex(), jobs, stamp)},  # a digest that is not bytes
        {file: (digest, list(jobs), stamp)},  # jobs that are not a tuple
        {file: (digest, jobs, str(stamp))},  # a stamp that is not a number
        {file: (digest, jobs, True)},  # nor a bool
        {file: (digest, (*jobs, "job"), stamp)},  # something that is not a job
        {file + "x": (digest, jobs, stamp)},  # a job of another file
        {file: (digest, jobs, stamp), file + "x": (digest, jobs, stamp)},  # one of two
    ]


def test_a_cache_of_unexpected_shapes_is_ignored(tmp_path: Path) -> None:
    _, data, _ = _setup(tmp_path)
    entries = jobcache.load(data, repr(TaskRules()))
    assert len(entries) == 1
    cache = data / jobcache.CACHE_FILE

    def written(chunk: object) -> jobcache.Entries:
        with cache.open("wb") as fh:
            pickle.dump((jobcache._version(""), 1), fh)
            pickle.dump(chunk, fh)
        return jobcache.load(data)

    assert written(entries) == entries  # as the cache writes it: served
    for chunk in _malformed(entries):
        assert written(chunk) == {}, chunk
