"""Benchmark: the watcher's dispatch of 1,000 runs due in the same second, and its idle cost.

Run with ``.venv/bin/python bench/dispatch.py`` (``--quick`` for a short run). In one run it

1. starts a private Redis (``scheduler.engine.embedded.EmbeddedRedis`` in a temporary folder, so
   no other session's data on a shared server is touched and keyspace notifications can be
   switched on);
2. scenario A: writes 10,000 job files, 1,000 of which share a 6-field cron pinned to a few
   instants ~10 s apart (every instant one *burst*: 1,000 runs due in the same second) and
   9,000 due hours later; starts the real watcher (``python -m scheduler run --workers 0``,
   so nothing consumes the queue) and watches ``rq:queue:default`` from the outside:

   - a subscriber to the list's keyspace notifications (``notify-keyspace-events Kl``),
     stamping with ``time.time()`` the elements each RPUSH notice announces (the list's growth,
     asked with ``LLEN`` on the notice: one RPUSH may push a whole burst). Redis sends the
     notice after the command ran, so the stamp is an upper bound of the moment the id was
     visible in the list; the i-th stamp is the i-th element of the list (nothing pops);
   - a second process polling ``LLEN`` every millisecond, as a cross-check (the k-th element
     is stamped with the end of the first poll that saw at least k elements);

   lateness = stamp - scheduled instant (parsed from the run id ``name--YYYYmmddTHHMMSSZ``),
   p50/p99/max per burst, enqueues/s = 1,000 / (last stamp - the instant), duplicates and
   missing ids; beside them, the timestamps the watcher writes itself (SQLite ``enqueued_at``,
   RQ's ``enqueued_at``), which are taken *before* the run is visible and do not count;
3. times, in this process, RQ's own enqueue path for the same 1,000 runs
   (``Queue.enqueue_many`` in one pipeline) against the project's ``Dispatcher`` (building
   the payloads, and sending prepared ones), for the per-run cost ratio;
4. scenario B: 100,000 job files, nothing due for hours: start-up time (process start to
   the ``watcher.started`` log line), peak RSS (``VmHWM``) and CPU (utime + stime from
   ``/proc/PID/stat``) over an idle window (60 s by default), then a restart on the same
   state;
5. runs the watcher in-process on the scenario A workload, with timers around the dispatch
   steps for some bursts and cProfile for the others, and lists the top functions.

Targets (issue 3): p99 lateness < 50 ms for the 1,000-run burst, >= 5,000 enqueues/s,
start-up < 15 s and RSS < 500 MB at 100,000 jobs, idle CPU < 1%. They are reported
PASS/MISS and never fail the run (exit 0). The report is printed and written to
``bench/results/dispatch.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import math
import multiprocessing
import os
import pstats
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "dispatch.md"
PY = sys.executable
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from benchkit import (  # noqa: E402  (bench/ is on sys.path when run as a script)
    CHILDREN,
    QUEUE_KEY,
    LoggedProcess,
    PushNotices,
    ctx_switches,
    fmt_rate,
    machine_info,
    md_table,
    ms,
    parse_ts,
    pct,
    private_redis,
    proc_cpu,
    proc_status,
    publish,
    sleep_until,
    verdict,
)

P99_TARGET_MS = 50.0
P99_TARGET_13_MS = 20.0
RATE_TARGET = 5_000.0
STARTUP_TARGET_S = 15.0
RSS_TARGET_MB = 500.0
IDLE_CPU_TARGET_PCT = 1.0

ZONES = (
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Europe/London",
)
TASKS = ("examples.bots:heartbeat", "examples.bots:birthday", "examples.bots:report")

# --------------------------------------------------------------------------------------
# Job files
# --------------------------------------------------------------------------------------


def burst_job(index: int, instants: Sequence[datetime]) -> str:
    """A job due at every one of ``instants`` (same UTC minute), as a 6-field cron in a zone."""
    zone = ZONES[index % len(ZONES)]
    local = instants[0].astimezone(ZoneInfo(zone))
    seconds = ",".join(str(t.second) for t in instants)
    return (
        f"# burst job {index}: due at {', '.join(t.isoformat() for t in instants)}\n"
        f"name: burst-{index:04d}\n"
        f"description: Benchmark burst job {index}\n"
        f"task: {TASKS[index % len(TASKS)]}\n"
        "params:\n"
        f"  index: {index}\n"
        "  dry_run: true\n"
        f"  label: burst {index}\n"
        # No worker runs: `overlap: forbid` (the default) would skip every later burst.
        "overlap: allow\n"
        "schedule:\n"
        f'  cron: "{local.minute} {local.hour} * * * {seconds}"\n'
        f"  timezone: {zone}\n"
    )


def far_job(rng: random.Random, name: str, now: datetime) -> str:
    """A job whose next run is 2 to 22 hours away (cron, daily, interval or weekly)."""
    zone = rng.choice(ZONES)
    tz = ZoneInfo(zone)
    when = (now + timedelta(hours=rng.randint(2, 21), minutes=rng.randint(0, 59))).astimezone(tz)
    kind = rng.randrange(4)
    if kind == 0:
        schedule = [f'  cron: "{when.minute} {when.hour} * * *"', f"  timezone: {zone}"]
    elif kind == 1:
        schedule = [f'  daily: "{when.hour:02d}:{when.minute:02d}"', f"  timezone: {zone}"]
    elif kind == 2:
        every = rng.choice((24, 48, 168))
        anchor = (now + timedelta(hours=rng.randint(2, 22))).astimezone(UTC)
        schedule = [f"  interval: {every}h", f"  anchor: {anchor.strftime('%Y-%m-%dT%H:%M:%SZ')}"]
    else:
        day = when.strftime("%a").lower()
        schedule = [
            "  weekly:",
            f"    days: [{day}]",
            f'    at: "{when.hour:02d}:{when.minute:02d}"',
            f"  timezone: {zone}",
        ]
    params = [f"  n: {rng.randint(1, 1000)}", f"  dry_run: {rng.choice(['true', 'false'])}"]
    if rng.random() < 0.3:
        params.append(f"  tags: [{', '.join(rng.sample(['a', 'b', 'c', 'd', 'e'], 2))}]")
    return "\n".join(
        [
            f"name: {name}",
            f"description: Benchmark background job {name}",
            f"task: {rng.choice(TASKS)}",
            "params:",
            *params,
            "schedule:",
            *schedule,
            "",
        ]
    )


def write_far_jobs(root: Path, count: int, now: datetime, seed: int) -> float:
    """Write ``count`` files of one job each; returns the seconds it took."""
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for i in range(count):
        name = f"job-{i:06d}"
        (root / f"{name}.yaml").write_text(far_job(rng, name, now))
    return time.perf_counter() - t0


def write_burst_jobs(root: Path, count: int, instants: Sequence[datetime]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (root / f"burst-{i:04d}.yaml").write_text(burst_job(i, instants))


def burst_instants(not_before: float, bursts: int, spacing: int) -> list[datetime]:
    """``bursts`` instants ``spacing`` s apart in one minute, the first at second 5 of the
    first minute that starts at or after ``not_before - 5``."""
    if 5 + (bursts - 1) * spacing > 59:
        raise SystemExit(f"{bursts} bursts {spacing} s apart do not fit in one minute")
    start = datetime.fromtimestamp(not_before - 5, UTC).replace(microsecond=0)
    minute = start.replace(second=0)
    if minute < start:
        minute += timedelta(minutes=1)
    return [minute + timedelta(seconds=5 + k * spacing) for k in range(bursts)]


def instant_of(rq_id: str) -> datetime:
    """The scheduled instant inside a run id ``name--YYYYmmddTHHMMSS[ffffff]Z``."""
    stamp = rq_id.rsplit("--", 1)[1].rstrip("Z")
    fmt = "%Y%m%dT%H%M%S%f" if len(stamp) > 15 else "%Y%m%dT%H%M%S"
    return datetime.strptime(stamp, fmt).replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------
# Observers
# --------------------------------------------------------------------------------------


def _poll_llen(url: str, out: Any, *, start_at: float, stop_at: float, interval: float) -> None:
    """Child process: LLEN in a loop; sends [(t_before, t_after, length)] at each change."""
    import redis

    conn = redis.Redis.from_url(url)
    conn.ping()
    while time.time() < start_at:
        time.sleep(0.05)
    changes: list[tuple[float, float, int]] = []
    last, polls = -1, 0
    while True:
        before = time.time()
        if before >= stop_at:
            break
        n = conn.llen(QUEUE_KEY)
        after = time.time()
        polls += 1
        if n != last:
            changes.append((before, after, n))
            last = n
        time.sleep(interval)
    out.send({"changes": changes, "polls": polls, "window": stop_at - start_at})
    out.close()


class LlenPoller:
    def __init__(self, url: str, start_at: float, stop_at: float, interval: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_poll_llen,
            args=(url, send),
            kwargs={"start_at": start_at, "stop_at": stop_at, "interval": interval},
            daemon=True,
        )
        self._proc.start()
        send.close()

    def result(self, timeout: float) -> dict[str, Any] | None:
        if self._recv.poll(timeout):
            data: dict[str, Any] = self._recv.recv()
            self._proc.join(5)
            return data
        self._proc.kill()
        return None


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------


class Watched(LoggedProcess):
    """``python -m scheduler run`` as a child process, its JSON log lines in a file."""

    def __init__(self, jobs_dir: Path, data_dir: Path, url: str, log_path: Path) -> None:
        cmd = [PY, "-m", "scheduler", "run", "--jobs-dir", str(jobs_dir)]
        cmd += ["--data-dir", str(data_dir), "--redis-url", url, "--workers", "0"]
        super().__init__(cmd, log_path)


# --------------------------------------------------------------------------------------
# Scenario A: the burst, observed from outside
# --------------------------------------------------------------------------------------


@dataclass
class Burst:
    instant: datetime
    expected: int
    ids: list[str] = field(default_factory=list)  # in list order
    stamps: list[float] = field(default_factory=list)  # notice stamps, same order
    poll_stamps: list[float] = field(default_factory=list)
    duplicates: int = 0
    missing: int = 0
    self_reported: list[float] = field(default_factory=list)  # SQLite enqueued_at - instant
    rq_enqueued_at: list[float] = field(default_factory=list)  # RQ hash enqueued_at - instant
    rq_created_at: list[float] = field(default_factory=list)

    def lateness(self, stamps: Sequence[float]) -> list[float]:
        t = self.instant.timestamp()
        return [s - t for s in stamps]

    def summary(self, stamps: Sequence[float]) -> dict[str, float]:
        late = self.lateness(stamps)
        if not late:
            return {}
        t = self.instant.timestamp()
        # From the instant, not from the first stamp: a burst claimed in one script is
        # visible all at once, and the time before its first run counts too.
        span = max(stamps) - t
        return {
            "p50": pct(late, 0.5),
            "p99": pct(late, 0.99),
            "max": max(late),
            "min": min(late),
            "span": span,
            "rate": len(stamps) / span if span > 0 else math.inf,
        }


def scenario_a(args: argparse.Namespace, url: str, conn: Any, tmp: Path) -> dict[str, Any]:
    tmp.mkdir(parents=True, exist_ok=True)
    jobs = tmp / "a-jobs"
    gen_s = write_far_jobs(jobs, args.jobs - args.burst, datetime.now(UTC), seed=1)
    print(f"A: wrote {args.jobs - args.burst} background job files in {gen_s:.1f} s", flush=True)
    watcher, notices, instants, data = _start_before_bursts(args, url, conn, tmp, jobs)
    ready = parse_ts(watcher.events("watcher.started")[0]["timestamp"])
    rss_ready = proc_status(watcher.pid)
    first, last = instants[0].timestamp(), instants[-1].timestamp()
    poller = None
    if args.poll_interval > 0:
        poller = LlenPoller(url, first - 2, last + args.settle, args.poll_interval)
    sleep_until(first - 3)
    cpu0, t0 = proc_cpu(watcher.pid), time.time()
    sleep_until(last + args.settle)
    cpu1, t1 = proc_cpu(watcher.pid), time.time()
    notices.stop()
    polled = poller.result(30) if poller else None
    listed = [x.decode() for x in conn.lrange(QUEUE_KEY, 0, -1)]
    markers = sum(1 for _ in conn.scan_iter("scheduler:run:*", count=1000))
    hashes = _rq_times(conn, listed)
    exit_s = watcher.stop()
    bursts, unexpected = _sort_into_bursts(
        args,
        instants,
        listed,
        stamps=notices.stamps,
        polled=polled,
        hashes=hashes,
        sqlite_times=_sqlite_enqueued(data),
    )
    return {
        "jobs": args.jobs,
        "startup": ready - watcher.launched,
        "rss_ready_kb": rss_ready.get("VmRSS", 0),
        "bursts": bursts,
        "listed": len(listed),
        "notices": len(notices.stamps),
        "notice_chunks": notices.chunks,
        "notice_error": notices.error,
        "polled": polled,
        "unexpected": unexpected,
        "markers": markers,
        "enqueued_logs": len(watcher.events("run.enqueued")),
        "cpu_window": (cpu1 - cpu0, t1 - t0),
        "exit_s": exit_s,
        "exit_code": watcher.proc.returncode,
        "first_after_ready": first - ready,
    }


def _start_before_bursts(
    args: argparse.Namespace, url: str, conn: Any, tmp: Path, jobs: Path
) -> tuple[Watched, PushNotices, list[datetime], Path]:
    """Write the burst jobs and start the watcher, early enough before the first burst."""
    lead = args.lead
    for attempt in range(3):
        data = tmp / f"a-data-{attempt}"
        seed = getattr(args, "seed_data", None)  # bench/prune_burst.py: records to prune
        if seed is not None:
            seed(data)
        instants = burst_instants(time.time() + lead, args.bursts, args.spacing)
        write_burst_jobs(jobs, args.burst, instants)
        conn.flushdb()
        notices = PushNotices(url)
        notices.start()
        watcher = Watched(jobs, data, url, tmp / f"a-watcher-{attempt}.log")
        started = watcher.wait_event("watcher.started", 300)
        ready = parse_ts(started["timestamp"])
        startup = ready - watcher.launched
        first = instants[0].timestamp()
        print(
            f"A: watcher ready in {startup:.1f} s; bursts at "
            f"{', '.join(t.strftime('%H:%M:%S') for t in instants)} UTC "
            f"(first {first - ready:.1f} s after ready)",
            flush=True,
        )
        if first - ready >= args.min_lead:
            return watcher, notices, instants, data
        watcher.stop()
        notices.stop()
        lead += 2 * startup + args.min_lead
        print(f"A: ready too late for the first burst; again with a {lead:.0f} s lead", flush=True)
    raise RuntimeError("the watcher never became ready early enough")


def _sort_into_bursts(
    args: argparse.Namespace,
    instants: Sequence[datetime],
    listed: Sequence[str],
    *,
    stamps: Sequence[float],
    polled: dict[str, Any] | None,
    hashes: dict[str, tuple[float | None, float | None]],
    sqlite_times: dict[str, float],
) -> tuple[list[Burst], int]:
    """Each list element (in list order = push order = notice order) to its burst."""
    bursts = [Burst(t, args.burst) for t in instants]
    by_instant = {b.instant: b for b in bursts}
    counts = Counter(listed)
    poll_stamps = _poll_positions(polled, len(listed)) if polled else []
    unexpected = 0
    for pos, rq_id in enumerate(listed):
        burst = by_instant.get(instant_of(rq_id))
        if burst is None or not rq_id.startswith("burst-"):
            unexpected += 1
            continue
        t = burst.instant.timestamp()
        burst.ids.append(rq_id)
        if pos < len(stamps):
            burst.stamps.append(stamps[pos])
        if pos < len(poll_stamps):
            burst.poll_stamps.append(poll_stamps[pos])
        created, enq = hashes.get(rq_id, (None, None))
        if enq is not None:
            burst.rq_enqueued_at.append(enq - t)
        if created is not None:
            burst.rq_created_at.append(created - t)
        if rq_id in sqlite_times:
            burst.self_reported.append(sqlite_times[rq_id] - t)
    for burst in bursts:
        ids = set(burst.ids)
        burst.duplicates = sum(counts[i] - 1 for i in ids)
        stamp = burst.instant.strftime("%Y%m%dT%H%M%SZ")
        burst.missing = len({f"burst-{i:04d}--{stamp}" for i in range(args.burst)} - ids)
    return bursts, unexpected


def _poll_positions(polled: dict[str, Any], n: int) -> list[float]:
    """For list position k (0-based), the end of the first poll that saw more than k."""
    out: list[float] = []
    for _before, after, length in polled["changes"]:
        while len(out) < min(length, n):
            out.append(after)
    return out


def _rq_times(conn: Any, ids: Sequence[str]) -> dict[str, tuple[float | None, float | None]]:
    pipe = conn.pipeline(transaction=False)
    for rq_id in ids:
        pipe.hmget(f"rq:job:{rq_id}", "created_at", "enqueued_at")
    out: dict[str, tuple[float | None, float | None]] = {}
    for rq_id, (created, enqueued) in zip(ids, pipe.execute(), strict=True):
        out[rq_id] = (
            parse_ts(created.decode()) if created else None,
            parse_ts(enqueued.decode()) if enqueued else None,
        )
    return out


def _sqlite_enqueued(data_dir: Path) -> dict[str, float]:
    from scheduler.engine.api import store_path

    path = store_path(data_dir)
    if not path.exists():
        return {}
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT run_id, enqueued_at FROM runs WHERE enqueued_at IS NOT NULL")
        return {rid: parse_ts(at) for rid, at in rows}
    finally:
        db.close()


# --------------------------------------------------------------------------------------
# RQ's enqueue path against the Dispatcher, in this process
# --------------------------------------------------------------------------------------


def compare_enqueue(conn: Any, n: int, reps: int) -> dict[str, float]:
    """Median seconds for n runs: RQ enqueue_many, Dispatcher build+send, stage, fire."""
    from rq import Queue

    from scheduler.core.runs import RunRequest, RunTrigger, iso_utc, run_id
    from scheduler.engine.dispatch import NO_TIMEOUT, RUNNER, Dispatcher

    instant = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    requests = [
        RunRequest(
            run_id=run_id(f"burst-{i:04d}", instant),
            job=f"burst-{i:04d}",
            task=TASKS[i % len(TASKS)],
            params={"index": i, "dry_run": True, "label": f"burst {i}"},
            scheduled_for=iso_utc(instant),
            trigger=RunTrigger.schedule,
        )
        for i in range(n)
    ]
    now = datetime.now(UTC)
    results: dict[str, list[float]] = {k: [] for k in ("rq", "dispatch", "prepare", "send")}

    def rq_path() -> None:
        queue = Queue("default", connection=conn)
        datas = [
            Queue.prepare_data(
                RUNNER,
                args=(r.as_payload(),),
                job_id=r.run_id,
                timeout=NO_TIMEOUT,
                description=f"{r.job} @ {r.scheduled_for} ({r.trigger})",
            )
            for r in requests
        ]
        pipe = conn.pipeline()
        queue.enqueue_many(datas, pipeline=pipe)
        pipe.execute()

    for _ in range(reps):
        conn.flushdb()
        t0 = time.perf_counter()
        rq_path()
        results["rq"].append(time.perf_counter() - t0)
        assert conn.llen(QUEUE_KEY) == n
        conn.flushdb()
        d = Dispatcher(conn, owner="bench")
        t0 = time.perf_counter()
        out = d.enqueue(requests, now)
        results["dispatch"].append(time.perf_counter() - t0)
        assert sum(o.enqueued for o in out) == n
        assert conn.llen(QUEUE_KEY) == n
        conn.flushdb()
        d = Dispatcher(conn, owner="bench")
        d.fire([(d.stage_burst(requests[:1]), ())], now)  # the script loaded, as in a watcher
        conn.flushdb()
        t0 = time.perf_counter()
        burst = d.stage_burst(requests)
        t1 = time.perf_counter()
        out = d.fire([(burst, ())], now)
        t2 = time.perf_counter()
        results["prepare"].append(t1 - t0)
        results["send"].append(t2 - t1)
        assert sum(o.enqueued for o in out) == n
    conn.flushdb()
    return {k: statistics.median(v) for k, v in results.items()}


# --------------------------------------------------------------------------------------
# Scenario B: 100,000 jobs, idle
# --------------------------------------------------------------------------------------


def scenario_b(
    args: argparse.Namespace, url: str, conn: Any, tmp: Path, redis_pid: int | None
) -> dict[str, Any]:
    jobs = tmp / "b-jobs"
    data = tmp / "b-data"
    now = datetime.now(UTC)
    gen_s = write_far_jobs(jobs, args.idle_jobs, now, seed=2)
    print(f"B: wrote {args.idle_jobs} job files in {gen_s:.1f} s", flush=True)
    conn.flushdb()
    subprocess.run(["sync"], check=False)
    watcher = Watched(jobs, data, url, tmp / "b-watcher.log")
    started = watcher.wait_event("watcher.started", 900)
    ready = parse_ts(started["timestamp"])
    loaded = watcher.events("config.loaded")
    out: dict[str, Any] = {
        "jobs": started.get("jobs"),
        "startup": ready - watcher.launched,
        "loaded_at": parse_ts(loaded[0]["timestamp"]) - watcher.launched if loaded else None,
        "status_ready": proc_status(watcher.pid),
    }
    print(f"B: ready in {out['startup']:.1f} s; idle for {args.idle_seconds:g} s", flush=True)
    samples = []
    cpu0, sw0, t0 = proc_cpu(watcher.pid), ctx_switches(watcher.pid), time.time()
    r0 = proc_cpu(redis_pid) if redis_pid else None
    step = min(10.0, args.idle_seconds)
    while (elapsed := time.time() - t0) < args.idle_seconds - 1e-3:
        time.sleep(min(step, args.idle_seconds - elapsed))
        samples.append((time.time() - t0, proc_cpu(watcher.pid) - cpu0))
    cpu1, sw1, t1 = proc_cpu(watcher.pid), ctx_switches(watcher.pid), time.time()
    r1 = proc_cpu(redis_pid) if redis_pid else None
    out.update(
        idle_wall=t1 - t0,
        idle_cpu=cpu1 - cpu0,
        idle_switches=sw1 - sw0,
        idle_samples=samples,
        redis_cpu=None if r0 is None or r1 is None else r1 - r0,
        status_end=proc_status(watcher.pid),
        dispatched=len(watcher.events("run.enqueued")),
    )
    out["exit_s"] = watcher.stop()
    out["exit_code"] = watcher.proc.returncode
    if args.restart:
        again = Watched(jobs, data, url, tmp / "b-watcher-restart.log")
        started = again.wait_event("watcher.started", 900)
        out["restart_startup"] = parse_ts(started["timestamp"]) - again.launched
        out["restart_status"] = proc_status(again.pid)
        out["restart_exit_s"] = again.stop()
        print(f"B: restart ready in {out['restart_startup']:.1f} s", flush=True)
    return out


# --------------------------------------------------------------------------------------
# In-process: where the burst's time goes
# --------------------------------------------------------------------------------------


@dataclass
class TurnLog:
    """Wall-clock points of the dispatch steps, appended by the wrappers below."""

    points: list[tuple[str, float]] = field(default_factory=list)

    def mark(self, name: str) -> None:
        self.points.append((name, time.time()))


def _timed(log: TurnLog, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*a: Any, **kw: Any) -> Any:
        log.mark(name + ">")
        try:
            return fn(*a, **kw)
        finally:
            log.mark(name + "<")

    return wrapper


def profile_in_process(args: argparse.Namespace, url: str, conn: Any, tmp: Path) -> dict[str, Any]:
    """The watcher in a thread of this process on the scenario A workload.

    The first half of the bursts run with timers around the dispatch steps only; the
    other half with cProfile enabled in the loop thread around every loop turn near them.
    """
    from scheduler.cli import log as slog

    jobs = tmp / "a-jobs"
    instants = burst_instants(time.time() + args.lead, max(2, args.bursts), args.spacing)
    write_burst_jobs(jobs, args.burst, instants)
    conn.flushdb()
    log_file = (tmp / "p-watcher.log").open("w")
    saved = sys.stdout
    sys.stdout = log_file  # structlog's PrintLogger binds the stream at configure time
    try:
        slog.configure("json")
    finally:
        sys.stdout = saved
    marks = TurnLog()
    profiled_from = instants[len(instants) // 2].timestamp() - 2
    prof, startup_prof = cProfile.Profile(), cProfile.Profile()
    t_start = time.time()
    loop = InProcessWatcher(
        url,
        jobs,
        tmp / "p-data",
        lambda w: _instrument(w, marks, (prof, startup_prof), instants, profiled_from),
    )
    try:
        loop.wait_ready()
        print(f"P: in-process watcher ready in {time.time() - t_start:.1f} s", flush=True)
        sleep_until(instants[-1].timestamp() + args.settle)
    finally:
        loop.stop()
        _quiet_logs()
        log_file.close()
    listed = conn.llen(QUEUE_KEY)
    conn.flushdb()
    stats = pstats.Stats(prof, stream=io.StringIO())
    startup = pstats.Stats(startup_prof, stream=io.StringIO())
    return {
        "jobs": args.jobs,
        "startup_total": float(startup.total_tt),  # type: ignore[attr-defined]
        "startup_cum": _top(startup, "cumulative", args.top),
        "startup_own": _top(startup, "tottime", args.top),
        "instants": instants,
        "profiled_from": profiled_from,
        "steps": [_steps(marks.points, t) for t in instants],
        "listed": listed,
        "top_cum": _top(stats, "cumulative", args.top),
        "top_own": _top(stats, "tottime", args.top),
        "total": float(stats.total_tt),  # type: ignore[attr-defined]
    }


class InProcessWatcher:
    """``Watcher.run`` in a thread, built as ``scheduler run`` builds it.

    Everything is built in that thread: SQLite connections belong to the thread that
    opens them. ``setup(watcher)`` runs there before the loop and returns an undo hook.
    """

    def __init__(
        self, url: str, jobs: Path, data: Path, setup: Callable[[Any], Callable[[], None]]
    ) -> None:
        self._args = (url, jobs, data, setup)
        self.watcher: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="watcher", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        import redis

        from scheduler.core.clock import SystemClock
        from scheduler.engine.api import store_path
        from scheduler.engine.watcher import Watcher, WatcherOptions
        from scheduler.store import Store

        url, jobs, data, setup = self._args
        undo: Callable[[], None] = lambda: None  # noqa: E731
        try:
            store = Store(store_path(data))
            try:
                conn = redis.Redis.from_url(url, health_check_interval=10, socket_timeout=10)
                options = WatcherOptions(jobs_dir=jobs, data_dir=data)
                watcher = Watcher(options, store=store, conn=conn, clock=SystemClock())
                undo = setup(watcher)
                self.watcher = watcher
                watcher.run()
            finally:
                undo()
                store.close()
        except BaseException as exc:
            self.error = exc
            raise

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.time() + timeout
        while not (self.watcher is not None and self.watcher.ready.is_set()):
            if not self._thread.is_alive() or time.time() > deadline:
                raise RuntimeError(f"in-process watcher not ready: {self.error!r}")
            time.sleep(0.01)

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self._thread.join(10)


def _instrument(
    watcher: Any,
    marks: TurnLog,
    profilers: tuple[cProfile.Profile, cProfile.Profile],
    instants: Sequence[datetime],
    profiled_from: float,
) -> Callable[[], None]:
    """Timers around the dispatch steps; cProfile around the loop turns near the bursts
    from ``profiled_from`` on, and around the start-up (loading the jobs, first schedule).
    Returns the undo hook (nothing global is patched: the timers are on the instances)."""
    prof, startup_prof = profilers
    turn, startup = watcher._turn, watcher._startup

    def profiled_startup(now: datetime) -> None:
        startup_prof.runcall(startup, now)

    def profiled_turn() -> None:
        near = any(abs(time.time() - t.timestamp()) < 1.5 for t in instants)
        if near and time.time() >= profiled_from:
            prof.enable()
            try:
                turn()
            finally:
                prof.disable()
        else:
            turn()

    watcher._turn = profiled_turn
    watcher._startup = profiled_startup
    scheduler = watcher.scheduler
    for name in ("prepare_soon", "fire_bursts", "dispatch_due", "send"):
        setattr(scheduler, name, _timed(marks, name, getattr(scheduler, name)))
    for name in ("stage_burst", "fire"):
        setattr(watcher.dispatcher, name, _timed(marks, name, getattr(watcher.dispatcher, name)))
    return lambda: None


def _steps(points: list[tuple[str, float]], instant: datetime) -> dict[str, float | None]:
    """The steps around one burst, in seconds after its instant (None: did not happen)."""
    t = instant.timestamp()
    near = [(n, s - t) for n, s in points if -11 < s - t < 5]

    def first(name: str, after: float = -11.0) -> float | None:
        return next((s for n, s in near if n == name and s >= after), None)

    def last_before(name: str) -> float | None:
        return max((s for n, s in near if n == name and s < 0), default=None)

    # The burst was staged by the last staging call before its instant (up to 10 s ahead).
    staged = last_before("stage_burst>")
    fire = first("fire_bursts>", 0.0)
    out: dict[str, float | None] = {
        "stage_start": staged,
        "stage_end": first("stage_burst<", staged) if staged is not None else None,
        "fire_bursts_start": fire,
    }
    if fire is not None:
        out["fire_start"] = first("fire>", fire)
        out["fire_end"] = first("fire<", out["fire_start"] or fire)
        out["dispatch_start"] = first("dispatch_due>", fire)
        out["dispatch_end"] = first("dispatch_due<", out["dispatch_start"] or fire)
    return out


def _top(stats: pstats.Stats, key: str, n: int) -> list[tuple[str, int, float, float]]:
    """Top ``n`` functions; the loop's sleep (Event.wait, lock acquire) is left out."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in raw.items():
        where = re.sub(r"^.*/lib/python3\.\d+/(site-packages/)?", "", file)
        where = where.replace(str(REPO) + "/", "")
        if (where == "threading.py" and func == "wait") or "acquire" in func:
            continue
        name = f"{where}:{line}({func})" if line else func
        rows.append((name, nc, tt, ct))
    index = 3 if key == "cumulative" else 2
    rows.sort(key=lambda r: r[index], reverse=True)
    return rows[:n]


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def report(
    *,
    args: argparse.Namespace,
    machine: list[tuple[str, str]],
    a: dict[str, Any] | None,
    everyone: tuple[argparse.Namespace, dict[str, Any]] | None,
    cmp: dict[str, float] | None,
    b: dict[str, Any] | None,
    p: dict[str, Any] | None,
) -> str:
    out: list[str] = ["# Benchmark: watcher dispatch and idle cost", ""]
    out += [
        "Written by `bench/dispatch.py` (overwritten by every run; see `bench/README.md`).",
        f"Command: `{' '.join(['.venv/bin/python', 'bench/dispatch.py', *sys.argv[1:]])}`",
        "",
        md_table(["machine", ""], machine),
        "",
    ]
    targets: list[list[str]] = []
    if a is not None:
        worst = max(a["bursts"], key=lambda x: x.summary(x.stamps).get("p99", math.inf))
        ws = worst.summary(worst.stamps)
        slowest = min(a["bursts"], key=lambda x: x.summary(x.stamps).get("rate", 0))
        ss = slowest.summary(slowest.stamps)
        ok_counts = all(x.duplicates == 0 and x.missing == 0 for x in a["bursts"])
        targets += [
            [
                "p99 lateness, 1,000-run burst (worst burst)",
                f"{ms(ws.get('p99'))} ms",
                f"< {P99_TARGET_MS:g} ms",
                verdict(ws.get("p99", math.inf) * 1000 < P99_TARGET_MS),
            ],
            [
                "enqueues/s, 1,000 / (last seen - the instant) (slowest burst)",
                fmt_rate(ss.get("rate", 0)),
                f">= {RATE_TARGET:,.0f}",
                verdict(ss.get("rate", 0) >= RATE_TARGET),
            ],
            [
                "duplicates / missing, all bursts",
                f"{sum(x.duplicates for x in a['bursts'])} / {sum(x.missing for x in a['bursts'])}",
                "0 / 0",
                verdict(ok_counts),
            ],
        ]
    if b is not None:
        hwm = max(b["status_end"].get("VmHWM", 0), b["status_ready"].get("VmHWM", 0)) / 1024
        cpu_pct = 100 * b["idle_cpu"] / b["idle_wall"]
        targets += [
            [
                f"start-up, {b['jobs']:,} jobs (launch -> watcher.started)",
                f"{b['startup']:.1f} s",
                f"< {STARTUP_TARGET_S:g} s",
                verdict(b["startup"] < STARTUP_TARGET_S),
            ],
            [
                f"peak RSS (VmHWM), {b['jobs']:,} jobs",
                f"{hwm:.0f} MB",
                f"< {RSS_TARGET_MB:g} MB",
                verdict(hwm < RSS_TARGET_MB),
            ],
            [
                f"CPU over {b['idle_wall']:.0f} idle seconds, {b['jobs']:,} jobs",
                f"{cpu_pct:.2f} % of one core",
                f"< {IDLE_CPU_TARGET_PCT:g} %",
                verdict(cpu_pct < IDLE_CPU_TARGET_PCT),
            ],
        ]
    out += ["## Targets (issue 3)", "", md_table(["what", "measured", "target", ""], targets), ""]
    out += _targets_13(a, everyone)
    if a is not None:
        out += _report_a(args, a)
    if everyone is not None:
        out += _report_a(*everyone)
    if cmp is not None:
        out += _report_cmp(args, cmp, a)
    if b is not None:
        out += _report_b(args, b)
    if p is not None:
        out += _report_p(args, p)
    return "\n".join(out) + "\n"


def _targets_13(
    a: dict[str, Any] | None, everyone: tuple[argparse.Namespace, dict[str, Any]] | None
) -> list[str]:
    """Issue 13: the 1,000-run burst's p99 against its target; the all-due burst reported."""
    rows = []
    for label, part in (
        ("1,000-run burst", a),
        ("all jobs due together", everyone and everyone[1]),
    ):
        if not part:
            continue
        worst = max(part["bursts"], key=lambda x: x.summary(x.stamps).get("p99", math.inf))
        ws = worst.summary(worst.stamps)
        slowest = min(part["bursts"], key=lambda x: x.summary(x.stamps).get("rate", 0))
        rate = slowest.summary(slowest.stamps).get("rate", 0)
        runs = len(worst.stamps)
        p99 = ws.get("p99", math.inf) * 1000
        target = f"<= {P99_TARGET_13_MS:g} ms" if part is a else "reported"
        ok = verdict(p99 <= P99_TARGET_13_MS) if part is a else ""
        rows.append(
            [
                f"p99 lateness, {label} ({runs:,} runs, worst burst)",
                f"{ms(ws.get('p99'))} ms",
                target,
                ok,
            ]
        )
        rows.append([f"enqueues/s, {label} (slowest burst)", fmt_rate(rate), "reported", ""])
    if not rows:
        return []
    return ["## Targets (issue 13)", "", md_table(["what", "measured", "target", ""], rows), ""]


def _report_a(args: argparse.Namespace, a: dict[str, Any]) -> list[str]:
    out = [
        f"## Scenario A: {a['jobs']:,} jobs, {args.burst:,} due in the same second",
        "",
        f"{args.jobs - args.burst:,} jobs are due 2-22 h later (cron, daily, interval, weekly in "
        f"8 time zones); {args.burst:,} share a 6-field cron (seconds last) in the same 8 zones "
        f"that fires at {len(a['bursts'])} instants {args.spacing} s apart: each instant is one "
        f"burst of {args.burst:,} runs due in the same second. The real watcher process "
        f"(`python -m scheduler run --workers 0 --redis-url ...`) was ready "
        f"{a['startup']:.1f} s after launch (RSS {a['rss_ready_kb'] / 1024:.0f} MB) and "
        f"{a['first_after_ready']:.1f} s before the first burst.",
        "",
        "Lateness = the moment the run id is visible in `rq:queue:default` - its scheduled "
        "instant. **Seen** is the keyspace-notification stamp (upper bound of visibility); "
        "**polled** the LLEN poller's (upper bound, plus up to one poll interval).",
        "",
    ]
    rows = []
    for x in a["bursts"]:
        s, q = x.summary(x.stamps), x.summary(x.poll_stamps)
        prepared = (
            f"{ms(min(x.rq_created_at))}"
            if x.rq_created_at
            else "-"  # RQ's created_at: when the payload was built
        )
        rows.append(
            [
                x.instant.strftime("%H:%M:%S"),
                len(x.ids),
                x.duplicates,
                x.missing,
                ms(s.get("min")),
                ms(s.get("p50")),
                ms(s.get("p99")),
                ms(s.get("max")),
                fmt_rate(s.get("rate", math.nan)),
                f"{ms(q.get('p50'))} / {ms(q.get('p99'))} / {ms(q.get('max'))}",
                prepared,
                ms(pct(x.self_reported, 0.5)) if x.self_reported else "-",
                ms(pct(x.rq_enqueued_at, 0.5)) if x.rq_enqueued_at else "-",
            ]
        )
    out += [
        md_table(
            [
                "burst (UTC)",
                "runs",
                "dup",
                "missing",
                "seen min ms",
                "seen p50 ms",
                "seen p99 ms",
                "seen max ms",
                "enqueues/s",
                "polled p50 / p99 / max ms",
                "payload built, ms after instant",
                "SQLite enqueued_at p50 ms",
                "RQ enqueued_at p50 ms",
            ],
            rows,
        ),
        "",
    ]
    all_stamps = [s for x in a["bursts"] for s in x.lateness(x.stamps)]
    polled = a["polled"]
    cpu, wall = a["cpu_window"]
    notes = [
        f"- All bursts pooled ({len(all_stamps):,} runs): p50 {ms(pct(all_stamps, 0.5))} ms, "
        f"p99 {ms(pct(all_stamps, 0.99))} ms, max {ms(max(all_stamps))} ms."
        if all_stamps
        else "- No run was seen.",
        f"- List length at the end {a['listed']:,}; notices {a['notices']:,} in "
        f"{a['notice_chunks']:,} socket reads; RQ ids not from a burst: {a['unexpected']}; "
        f"dedup markers {a['markers']:,}; `run.enqueued` log lines {a['enqueued_logs']:,}."
        + (f" Notice error: {a['notice_error']}." if a["notice_error"] else ""),
    ]
    if polled:
        mean_poll = polled["window"] / max(1, polled["polls"]) * 1000
        notes.append(
            f"- LLEN poller: {polled['polls']:,} polls over {polled['window']:.0f} s "
            f"(one every {mean_poll:.2f} ms on average, {args.poll_interval * 1000:g} ms sleep "
            "between polls), in its own process."
        )
    notes += [
        f"- Watcher CPU from 3 s before the first burst to {args.settle:g} s after the last: "
        f"{cpu:.2f} s over {wall:.1f} s.",
        f"- SIGTERM to exit: {a['exit_s']:.2f} s (exit code {a['exit_code']}).",
        "- *payload built*: the earliest RQ `created_at` of the burst relative to its instant; "
        "negative when the watcher prepared the burst ahead of time (`PREPARE_AHEAD`). "
        "*SQLite enqueued_at* and *RQ enqueued_at* are the watcher's own timestamps: written "
        "before the runs are visible, they do not count as enqueue times.",
        "",
    ]
    return out + notes


def _report_cmp(
    args: argparse.Namespace, cmp: dict[str, float], a: dict[str, Any] | None
) -> list[str]:
    n = args.burst
    rq_per = cmp["rq"] / n
    rows: list[tuple[str, float]] = [
        ("RQ `Queue.enqueue_many` (prepare_data + one pipeline)", cmp["rq"]),
        ("`Dispatcher.enqueue`, not prepared (build + one pipeline)", cmp["dispatch"]),
        ("`Dispatcher.stage_burst` (build and stage, ahead of the instant)", cmp["prepare"]),
        ("`Dispatcher.fire`, staged (the claim at the instant)", cmp["send"]),
    ]
    table = [
        [
            what,
            f"{total * 1000:.1f}",
            f"{total / n * 1e6:.0f}",
            f"{total / n / rq_per:.2f}",
            fmt_rate(n / total),
        ]
        for what, total in rows
    ]
    if a is not None:
        for x in a["bursts"]:
            s = x.summary(x.stamps)
            if s:
                table.append(
                    [
                        f"watcher, burst {x.instant:%H:%M:%S}: instant -> last seen",
                        f"{s['max'] * 1000:.1f}",
                        f"{s['max'] / n * 1e6:.0f}",
                        f"{s['max'] / n / rq_per:.2f}",
                        fmt_rate(n / s["max"]) if s["max"] > 0 else "-",
                    ]
                )
    return [
        f"## Enqueue paths for the same {n:,} runs (in this process, median of {args.reps})",
        "",
        md_table(["path", "total ms", "us per run", "x RQ", "runs/s"], table),
        "",
    ]


def _report_b(args: argparse.Namespace, b: dict[str, Any]) -> list[str]:
    cpu_pct = 100 * b["idle_cpu"] / b["idle_wall"]
    per = ", ".join(f"{t:.0f}s: {c:.2f}" for t, c in b["idle_samples"])
    rows = [
        ["jobs loaded", f"{b['jobs']:,}"],
        [
            "start-up: launch -> `config.loaded`",
            f"{b['loaded_at']:.1f} s" if b["loaded_at"] else "-",
        ],
        ["start-up: launch -> `watcher.started`", f"{b['startup']:.1f} s"],
        ["RSS at `watcher.started`", f"{b['status_ready']['VmRSS'] / 1024:.0f} MB"],
        [
            "peak RSS (VmHWM) at the end of the idle window",
            f"{b['status_end']['VmHWM'] / 1024:.0f} MB "
            f"(RSS {b['status_end']['VmRSS'] / 1024:.0f} MB)",
        ],
        ["threads", str(b["status_end"].get("Threads", "?"))],
        [
            f"CPU over {b['idle_wall']:.1f} idle s (utime+stime)",
            f"{b['idle_cpu']:.2f} s = {cpu_pct:.2f} % of one core",
        ],
        ["cumulative CPU s at each sample", per],
        [
            "context switches over the idle window",
            f"{b['idle_switches']:,} ({b['idle_switches'] / b['idle_wall']:.1f}/s)",
        ],
        [
            "redis-server CPU over the same window",
            "-" if b["redis_cpu"] is None else f"{b['redis_cpu']:.2f} s",
        ],
        ["runs dispatched while idle", str(b["dispatched"])],
        ["SIGTERM to exit", f"{b['exit_s']:.2f} s (exit code {b['exit_code']})"],
    ]
    if "restart_startup" in b:
        rows += [
            [
                "restart on the same data dir: launch -> `watcher.started`",
                f"{b['restart_startup']:.1f} s",
            ],
            [
                "restart: peak RSS at `watcher.started`",
                f"{b['restart_status']['VmHWM'] / 1024:.0f} MB",
            ],
        ]
    return [
        f"## Scenario B: {b['jobs']:,} loaded jobs, idle",
        "",
        "One job per file in one folder, next runs 2-22 h away; fresh data dir. CPU time and "
        "memory from `/proc/PID/stat` and `/proc/PID/status` of the watcher process.",
        "",
        md_table(["what", "measured"], rows),
        "",
    ]


def _report_p(args: argparse.Namespace, p: dict[str, Any]) -> list[str]:
    rows = []
    for instant, st in zip(p["instants"], p["steps"], strict=True):
        profiled = instant.timestamp() >= p["profiled_from"] + 1
        rows.append(
            [
                f"{instant:%H:%M:%S}" + (" (cProfile)" if profiled else ""),
                ms(st.get("stage_start")),
                ms(st.get("stage_end")),
                ms(st.get("fire_bursts_start")),
                ms(st.get("fire_start")),
                ms(st.get("fire_end")),
                ms(st.get("dispatch_start")),
                ms(st.get("dispatch_end")),
            ]
        )
    return [
        "## In-process: where a burst's time goes",
        "",
        "The same workload with the `Watcher` run in a thread of the benchmark (same Store, "
        "Redis client options and clock as `scheduler run`), timestamps around its steps, in ms "
        "after the burst's instant (`-`: did not happen in the window). The burst is staged "
        "ahead (`Dispatcher.stage_burst`) and visible between `Dispatcher.fire` start and end; "
        "`dispatch_due` then records it. The bursts marked cProfile ran under the "
        "profiler (slower); the others with the timers only.",
        "",
        md_table(
            [
                "burst",
                "stage_burst start",
                "stage_burst end",
                "Scheduler.fire_bursts start",
                "Dispatcher.fire start",
                "Dispatcher.fire end",
                "Scheduler.dispatch_due start",
                "Scheduler.dispatch_due end",
            ],
            rows,
        ),
        "",
        f"cProfile of the loop turns within 1.5 s of the profiled bursts "
        f"({p['total']:.3f} s profiled, the loop's sleep included in that total but left out "
        f"of the tables), top {args.top} by cumulative time:",
        "",
        md_table(
            ["function", "calls", "own s", "cumulative s"],
            [[f"`{n}`", c, f"{t:.3f}", f"{ct:.3f}"] for n, c, t, ct in p["top_cum"]],
        ),
        "",
        f"Top {args.top} by own time:",
        "",
        md_table(
            ["function", "calls", "own s", "cumulative s"],
            [[f"`{n}`", c, f"{t:.3f}", f"{ct:.3f}"] for n, c, t, ct in p["top_own"]],
        ),
        "",
        f"cProfile of `Watcher._startup` with {p['jobs']:,} jobs (fresh data dir; "
        f"{p['startup_total']:.2f} s under the profiler), top {args.top} by cumulative time:",
        "",
        md_table(
            ["function", "calls", "own s", "cumulative s"],
            [[f"`{n}`", c, f"{t:.3f}", f"{ct:.3f}"] for n, c, t, ct in p["startup_cum"]],
        ),
        "",
        f"Top {args.top} by own time:",
        "",
        md_table(
            ["function", "calls", "own s", "cumulative s"],
            [[f"`{n}`", c, f"{t:.3f}", f"{ct:.3f}"] for n, c, t, ct in p["startup_own"]],
        ),
        "",
    ]


# --------------------------------------------------------------------------------------


def _quiet_logs() -> None:
    """Warnings and errors only, on stderr (this process's stdout is the report)."""
    import logging

    import structlog

    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.getLogger().handlers[:] = [logging.StreamHandler(sys.stderr)]


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=10_000, help="jobs in scenario A")
    ap.add_argument("--burst", type=int, default=1_000, help="runs due in the same second")
    ap.add_argument("--bursts", type=int, default=5, help="bursts (instants) in scenario A")
    ap.add_argument("--spacing", type=int, default=10, help="seconds between bursts")
    ap.add_argument("--lead", type=float, default=40, help="launch -> first burst, at least (s)")
    ap.add_argument("--min-lead", type=float, default=15, help="ready -> first burst, at least")
    ap.add_argument("--settle", type=float, default=4, help="seconds watched after the last burst")
    ap.add_argument("--poll-interval", type=float, default=0.001, help="LLEN poller sleep; 0: off")
    ap.add_argument("--reps", type=int, default=5, help="rounds of the enqueue path comparison")
    ap.add_argument("--idle-jobs", type=int, default=100_000, help="jobs in scenario B")
    ap.add_argument("--idle-seconds", type=float, default=60, help="idle CPU window (s)")
    ap.add_argument("--no-restart", dest="restart", action="store_false", help="skip restart")
    ap.add_argument("--top", type=int, default=20, help="functions listed from the profile")
    ap.add_argument("--all-burst", type=int, default=10_000, help="jobs in part all, all due")
    ap.add_argument("--only", choices=["a", "all", "b", "compare", "profile"], action="append")
    ap.add_argument("--quick", action="store_true", help="2 bursts, 10,000-job B, 10 idle s")
    ap.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    args = ap.parse_args()
    if args.quick:
        args.bursts, args.idle_jobs, args.idle_seconds, args.reps = 2, 10_000, 10.0, 2
    return args


def main() -> int:
    args = parse_args()
    only = set(args.only or ["a", "all", "b", "compare", "profile"])

    import redis

    _quiet_logs()
    machine = machine_info()
    tmp = Path(tempfile.mkdtemp(prefix="dispatch-bench-"))
    a = cmp = b = p = None
    everyone: tuple[argparse.Namespace, dict[str, Any]] | None = None
    try:
        with private_redis(tmp) as (url, redis_pid):
            conn = redis.Redis.from_url(url)
            conn.config_set("notify-keyspace-events", "Kl")
            print(f"private Redis at {url} (pid {redis_pid}); work dir {tmp}", flush=True)
            if "a" in only:
                a = scenario_a(args, url, conn, tmp)
            if "all" in only:  # issue 13: every job due in the same second
                n = args.all_burst
                wide = argparse.Namespace(**{**vars(args), "burst": n, "jobs": n})
                everyone = (wide, scenario_a(wide, url, conn, tmp / "all"))
            if "compare" in only:
                cmp = compare_enqueue(conn, args.burst, args.reps)
            if "b" in only:
                b = scenario_b(args, url, conn, tmp, redis_pid)
            if "profile" in only:
                if not (tmp / "a-jobs").exists():
                    write_far_jobs(tmp / "a-jobs", args.jobs - args.burst, datetime.now(UTC), 1)
                p = profile_in_process(args, url, conn, tmp)
            conn.close()
    finally:
        for child in CHILDREN:
            child.stop(5)
        shutil.rmtree(tmp, ignore_errors=True)
    with contextlib.suppress(OSError):
        end = os.getloadavg()
        machine.insert(5, ("load average at end", " ".join(f"{x:.2f}" for x in end)))
    text = report(args=args, machine=machine, a=a, everyone=everyone, cmp=cmp, b=b, p=p)
    publish(text, RESULTS, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
