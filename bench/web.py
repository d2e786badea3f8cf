"""Benchmark: ``scheduler web`` at 10,000 jobs under 200 concurrent clients, and what that
load does to the watcher's dispatch of a 1,000-run burst.

Run with ``make bench-web`` (``.venv/bin/python bench/web.py``; ``--quick`` for a short
run). In one run it

1. starts a private Redis and writes 10,000 job files: 9,000 due hours later and 1,000
   sharing a 6-field cron pinned to a few instants 10 s apart (``bench/dispatch.py``'s
   burst workload, its code reused);
2. *quiet*: the watcher alone (``scheduler run --workers 0``), the bursts' lateness seen
   from outside (keyspace notices on ``rq:queue:default``, as in ``bench/dispatch.py``);
3. *loaded*: the same bursts again with ``scheduler web`` serving the same jobs dir and
   data dir, and 200 clients on loopback (100 on ``/``, 100 on ``/api/v1/jobs``, keep-alive)
   for 30 s covering every burst: ``wrk`` when it is on PATH (Debian's ``wrk``), else an
   asyncio client in this file (the report says which). Each side's p50/p99 and the bursts'
   p99 lateness with and without the load, side by side;
4. with the load stopped, a fresh ``scheduler web`` on the same dirs, each page requested
   alone (median of up to 20, at most 10 s of requests per page): the issue's target is a
   page served in < 300 ms at 10,000 jobs (reported, never asserted).

The report is printed and written to ``bench/results/web.md``; the script exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "web.md"
PY = sys.executable
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from benchkit import (  # noqa: E402  (bench/ is on sys.path when run as a script)
    CHILDREN,
    QUEUE_KEY,
    LoggedProcess,
    machine_info,
    md_table,
    ms,
    pct,
    private_redis,
    publish,
    sleep_until,
    verdict,
)
from dispatch import (  # noqa: E402
    _sort_into_bursts,
    _start_before_bursts,
    write_far_jobs,
)

PAGE_TARGET_S = 0.300
#: Seconds of single requests per page at most (its median is of the samples taken).
SERIES_BUDGET_S = 10.0
ENDPOINTS = ("/", "/api/v1/jobs")


class Web(LoggedProcess):
    """``python -m scheduler web`` on a port of loopback, read-only (no token)."""

    def __init__(self, jobs: Path, data: Path, url: str, port: int, log: Path) -> None:
        cmd = [PY, "-m", "scheduler", "web", "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--jobs-dir", str(jobs), "--data-dir", str(data), "--redis-url", url]
        env = {k: v for k, v in os.environ.items() if k != "SCHEDULER_WEB_TOKEN"}
        super().__init__(cmd, log, env=env)
        self.base = f"http://127.0.0.1:{port}"

    def wait_serving(self, timeout: float) -> float:
        """Seconds from launch until ``/`` answers 200."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"scheduler web exited {self.proc.returncode}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.base + "/", timeout=30) as answer,
            ):
                if answer.status == 200:
                    return time.time() - self.launched
            time.sleep(0.2)
        raise RuntimeError(f"scheduler web not serving within {timeout:g} s")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------------------
# Load: wrk, else an asyncio client
# --------------------------------------------------------------------------------------

_WRK_PCT = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def start_wrk(url: str, clients: int, seconds: float) -> subprocess.Popen[str]:
    argv = ["wrk", "-t", "1", "-c", str(clients), "-d", f"{seconds:g}s", "--latency"]
    argv += ["--timeout", "10s", url]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parse_wrk(text: str) -> dict[str, Any]:
    found = {q: float(v) * _UNITS[u] for q, v, u in _WRK_PCT.findall(text)}
    requests = re.search(r"(\d+) requests in ([\d.]+)(s|m)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    done = int(requests.group(1)) if requests else 0
    if not done:  # wrk prints zeros for a distribution it has no sample of
        found = {}
    span = (
        float(requests.group(2)) * (60 if requests and requests.group(3) == "m" else 1)
        if requests
        else 0
    )
    return {
        "requests": done,
        "rate": done / span if span else 0.0,
        "p50": found.get("50"),
        "p99": found.get("99"),
        "errors": (errors.group(1).strip() if errors else "none")
        + (f"; non-2xx {non2xx.group(1)}" if non2xx else ""),
    }


async def _client(
    host: str, port: int, path: str, until: float, out: list[float], errs: list[str]
) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length:\s*(\d+)", head)
            if length is None:  # chunked: read to the terminating chunk
                body = await reader.readuntil(b"0\r\n\r\n")
                del body
            else:
                await reader.readexactly(int(length.group(1)))
            if not head.startswith(b"HTTP/1.1 200"):
                errs.append(head.split(b"\r\n", 1)[0].decode(errors="replace"))
            out.append(time.perf_counter() - t0)
    except (OSError, asyncio.IncompleteReadError) as exc:
        errs.append(repr(exc))
    finally:
        writer.close()


def asyncio_load(base: str, clients: int, seconds: float) -> dict[str, dict[str, Any]]:
    """``clients`` keep-alive connections split over ENDPOINTS for ``seconds`` (this process)."""
    host, port = base.split("://", 1)[1].rsplit(":", 1)

    async def run() -> dict[str, dict[str, Any]]:
        until = time.perf_counter() + seconds
        per: dict[str, tuple[list[float], list[str]]] = {p: ([], []) for p in ENDPOINTS}
        tasks = [
            _client(host, int(port), path, until, *per[path])
            for path in ENDPOINTS
            for _ in range(clients // len(ENDPOINTS))
        ]
        await asyncio.gather(*tasks)
        return {
            path: {
                "requests": len(lat),
                "rate": len(lat) / seconds,
                "p50": pct(lat, 0.5) if lat else None,
                "p99": pct(lat, 0.99) if lat else None,
                "errors": f"{len(errs)}" if errs else "none",
            }
            for path, (lat, errs) in per.items()
        }

    return asyncio.run(run())


class Load:
    """The 200 clients, started now for ``seconds``; ``result()`` waits for the end."""

    def __init__(self, base: str, clients: int, seconds: float) -> None:
        self.tool = "wrk" if shutil.which("wrk") else "asyncio"
        self.seconds = seconds
        if self.tool == "wrk":
            share = clients // len(ENDPOINTS)
            self.procs = {p: start_wrk(base + p, share, seconds) for p in ENDPOINTS}
        else:
            import threading

            self.results: dict[str, dict[str, Any]] = {}
            self.thread = threading.Thread(
                target=lambda: self.results.update(asyncio_load(base, clients, seconds))
            )
            self.thread.start()

    def result(self) -> dict[str, dict[str, Any]]:
        if self.tool == "wrk":
            return {
                p: parse_wrk(proc.communicate(timeout=self.seconds + 60)[0])
                for p, proc in self.procs.items()
            }
        self.thread.join(self.seconds + 60)
        return self.results


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


def bursts_phase(
    args: argparse.Namespace, url: str, conn: Any, tmp: Path, jobs: Path, *, loaded: bool
) -> dict[str, Any]:
    """One watcher life on ``jobs``: its bursts' lateness, with or without the web load."""
    tmp.mkdir(parents=True, exist_ok=True)
    watcher, notices, instants, data = _start_before_bursts(args, url, conn, tmp, jobs)
    web = load = None
    out: dict[str, Any] = {}
    try:
        if loaded:
            web = Web(jobs, data, url, free_port(), tmp / "web.log")
            out["web_ready_s"] = web.wait_serving(
                timeout=max(5.0, instants[0].timestamp() - time.time() - 4)
            )
            sleep_until(instants[0].timestamp() - 3)
            load = Load(web.base, args.clients, args.duration)
        sleep_until(instants[-1].timestamp() + args.settle)
        notices.stop()
        listed = [x.decode() for x in conn.lrange(QUEUE_KEY, 0, -1)]
        bursts, unexpected = _sort_into_bursts(
            args, instants, listed, stamps=notices.stamps, polled=None, hashes={}, sqlite_times={}
        )
        late = [x for b in bursts for x in b.lateness(b.stamps)]
        out.update(
            bursts=len(bursts),
            runs=len(late),
            missing=sum(b.missing for b in bursts),
            duplicates=sum(b.duplicates for b in bursts),
            unexpected=unexpected,
            p50=pct(late, 0.5) if late else None,
            p99=pct(late, 0.99) if late else None,
            max=max(late) if late else None,
            worst_p99=max((b.summary(b.stamps).get("p99", 0.0) for b in bursts), default=None),
        )
        if load is not None:
            out["load"] = load.result()
            out["tool"] = load.tool
        if web is not None:
            # A fresh server for the pages alone: the loaded one still owes the requests
            # that wrk gave up on, and would time its own backlog.
            web.stop()
            web = Web(jobs, data, url, free_port(), tmp / "web-alone.log")
            try:
                web.wait_serving(timeout=300)
                out["pages"] = page_times(web.base, args.page_reps)
            except (OSError, ValueError, KeyError, IndexError) as exc:  # reported, not fatal
                out["pages"] = {"/api/v1/jobs": f"no answer: {exc!r}"}
    finally:
        if web is not None:
            web.stop()
        watcher.stop()
    return out


def _get(url: str, timeout: float = 120) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        body: bytes = answer.read()
        return body


def page_times(base: str, reps: int) -> dict[str, list[float] | str]:
    """Each page requested ``reps`` times in a row, alone: seconds per request (or the error
    that ended its series)."""
    import json

    first = json.loads(_get(base + "/api/v1/jobs"))["jobs"][0]["name"]
    paths = ["/", "/api/v1/jobs", f"/jobs/{first}", f"/api/v1/jobs/{first}/history"]
    times: dict[str, list[float] | str] = {}
    for path in [*paths, "/timeline", "/metrics"]:
        took: list[float] = []
        try:
            for _ in range(reps):
                t0 = time.perf_counter()
                _get(base + path)
                took.append(time.perf_counter() - t0)
                if sum(took) > SERIES_BUDGET_S:  # a slow page: fewer samples, not a stall
                    break
        except OSError as exc:
            times[path] = f"error after {len(took)}: {exc!r}"
            continue
        times[path] = took
        print(f"pages: {path} median {ms(statistics.median(took))} ms", flush=True)
    return times


def report(
    args: argparse.Namespace,
    machine: list[tuple[str, str]],
    quiet: dict[str, Any],
    loaded: dict[str, Any],
) -> str:
    tool = loaded.get("tool", "?")
    how = (
        "Debian's `wrk` (1 thread per endpoint)"
        if tool == "wrk"
        else "the asyncio client in bench/web.py"
    )
    flag = " --quick" if args.quick else ""
    ready = loaded.get("web_ready_s", float("nan"))
    lines = [
        "# Benchmark: the web server under load, and the burst beside it",
        "",
        "Written by `bench/web.py` (overwritten by every run).",
        f"Command: `make bench-web` (`.venv/bin/python bench/web.py{flag}`)",
        "",
        md_table(["machine", ""], machine),
        "",
        f"{args.jobs:,} jobs ({args.jobs - args.burst:,} due hours later, {args.burst:,} due "
        f"together at {args.bursts} instants {args.spacing} s apart); the watcher runs "
        "`--workers 0`, the bursts are seen from outside as in `bench/dispatch.py` (keyspace "
        "notices on the queue list).",
        "",
        "## Burst lateness without and with the web load",
        "",
    ]

    def row(name: str, r: dict[str, Any]) -> list[str]:
        return [
            name,
            str(r["runs"]),
            f"{r['missing']} / {r['duplicates']}",
            ms(r["p50"]),
            ms(r["p99"]),
            ms(r["max"]),
        ]

    ratio = (
        (loaded["p99"] / quiet["p99"]) if quiet.get("p99") and loaded.get("p99") else float("nan")
    )
    lines += [
        md_table(
            ["", "runs", "missing / dup", "p50 ms", "p99 ms", "max ms"],
            [row("watcher alone", quiet), row(f"with {args.clients} web clients", loaded)],
        ),
        "",
        f"- p99 lateness with the load / without: **{ratio:.2f}x**.",
        f"- `scheduler web` answered its first `/` {ready:.1f} s after launch.",
        "",
        f"## {args.clients} clients for {args.duration:g} s on loopback ({how})",
        "",
    ]
    load = loaded.get("load", {})
    lines += [
        md_table(
            ["endpoint", "clients", "requests", "req/s", "p50 ms", "p99 ms", "errors"],
            [
                [
                    f"`{p}`",
                    str(args.clients // len(ENDPOINTS)),
                    f"{r['requests']:,}",
                    f"{r['rate']:,.1f}",
                    ms(r["p50"]),
                    ms(r["p99"]),
                    r["errors"],
                ]
                for p, r in load.items()
            ],
        ),
        "",
        f"## One request at a time, no load, {args.jobs:,} jobs (median of up to "
        f"{args.page_reps}; {SERIES_BUDGET_S:g} s of requests per page at most)",
        "",
    ]
    rows = []
    for path, took in loaded.get("pages", {}).items():
        if isinstance(took, str):
            rows.append([f"`{path}`", took, "", "", "", ""])
            continue
        page = not path.startswith("/api") and path != "/metrics"  # the target is for pages
        median = statistics.median(took)
        target = ("< 300 ms", verdict(median < PAGE_TARGET_S)) if page else ("-", "")
        rows.append([f"`{path}`", ms(median), ms(max(took)), str(len(took)), *target])
    lines += [md_table(["page", "median ms", "max ms", "samples", "target", ""], rows), ""]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=10_000)
    ap.add_argument("--burst", type=int, default=1_000, help="runs due in the same second")
    ap.add_argument("--bursts", type=int, default=3, help="bursts per phase, --spacing apart")
    ap.add_argument("--spacing", type=int, default=10)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--duration", type=float, default=30, help="seconds of load")
    ap.add_argument("--lead", type=float, default=60, help="launch -> first burst, at least (s)")
    ap.add_argument("--min-lead", type=float, default=25, help="ready -> first burst (web start)")
    ap.add_argument("--settle", type=float, default=5)
    ap.add_argument("--page-reps", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="2,000 jobs, 200-run bursts, 10 s load")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.jobs, args.burst, args.bursts, args.duration, args.page_reps = 2_000, 200, 2, 10, 5
        args.lead, args.min_lead = 40, 15
    args.duration = max(args.duration, (args.bursts - 1) * args.spacing + args.settle + 3)
    return args


def main() -> int:
    args = parse_args()
    import redis

    machine = machine_info()
    tmp = Path(tempfile.mkdtemp(prefix="web-bench-"))
    try:
        with private_redis(tmp) as (url, redis_pid):
            conn = redis.Redis.from_url(url)
            conn.config_set("notify-keyspace-events", "Kl")
            print(f"private Redis at {url} (pid {redis_pid}); work dir {tmp}", flush=True)
            jobs = tmp / "jobs"
            write_far_jobs(jobs, args.jobs - args.burst, datetime.now(UTC), seed=1)
            quiet = bursts_phase(args, url, conn, tmp / "quiet", jobs, loaded=False)
            print(f"quiet: p99 {ms(quiet['p99'])} ms", flush=True)
            loaded = bursts_phase(args, url, conn, tmp / "loaded", jobs, loaded=True)
            print(f"loaded: p99 {ms(loaded['p99'])} ms", flush=True)
            conn.close()
    finally:
        for child in CHILDREN:
            child.stop(5)
        shutil.rmtree(tmp, ignore_errors=True)
    publish(report(args, machine, quiet, loaded), RESULTS, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
