"""Benchmark: ours against RQ's cron scheduler, rq-scheduler and APScheduler, on one Redis.

Run with ``make bench-compare`` (``.venv/bin/python bench/compare.py``; ``--quick`` for a
short smoke run). In one run it

1. makes (once) ``bench/.peers-venv`` with the peers of ``bench/peers/requirements.txt``:
   RQ (``rq.cron.CronScheduler``), rq-scheduler, APScheduler 3.x and matplotlib, never in
   the project's dependencies;
2. starts a private Redis (``EmbeddedRedis`` in a temporary folder, as ``bench/dispatch.py``)
   with keyspace notifications on;
3. for each workload and each system, on an emptied database: writes the same cron jobs in
   the system's own form (YAML files for ours, ``register``/``cron``/``add_job`` calls for the
   peers, see ``bench/peers/run_peer.py``), starts the scheduler as its own process (ours:
   ``python -m scheduler run --workers 0``), and watches ``rq:queue:default`` from outside:
   the elements each RPUSH keyspace notice announces are stamped as it arrives
   (``benchkit.PushNotices``: the list's growth, one RPUSH may push many), and the i-th
   stamp is the i-th list element (nothing pops). The job behind each element comes
   from its id (ours: ``name--YYYYmmddTHHMMSSZ``) or from RQ's description (the peers enqueue
   ``benchtask.noop(name)``); its scheduled instant is the latest instant of that job's
   schedule not after the stamp;

   - (a) 1,000 and 10,000 jobs, 6-field cron (seconds last), 1,000 of them due at the same
     second at each of a few instants 10 s apart (the others due hours later); (a3) all
     10,000 due at the same second (issue 13: p99 and rate reported);
   - (a, HA) the 1,000-job burst with two instances of ours, of RQ's cron scheduler and of
     rq-scheduler: how each would be run for high availability;
   - (b) 10,000 jobs spread evenly over a minute (job i at second i mod 60), one minute;
   - (c) 100,000 jobs loaded, nothing due: start-up, peak RSS, CPU over an idle minute;

4. reports per system: enqueue lateness p50/p99/max (stamp - scheduled instant, first
   enqueue of each run), runs missed and duplicated in the window, enqueues/s within a
   burst (runs / (last stamp - the instant), the slowest burst), scheduler CPU seconds
   (utime+stime from ``/proc``, over the window and from launch), peak RSS (``VmHWM``) and
   start-up (launch to the ready line); then ours as a ratio to each peer, and the targets
   of issue 7. Writes ``bench/results/compare.md`` and ``compare-lateness.png``.

Absolute times depend on a shared 2-core machine: compare within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from benchkit import (  # noqa: E402  (bench/ is on sys.path when run as a script)
    CHILDREN,
    QUEUE_KEY,
    LoggedProcess,
    PushNotices,
    compile_checkout,
    fmt_rate,
    machine_info,
    md_table,
    parse_ts,
    pct,
    private_redis,
    proc_cpu,
    proc_status,
    sleep_until,
    verdict,
)

BENCH = REPO / "bench"
RESULTS = BENCH / "results" / "compare.md"
PLOT = BENCH / "results" / "compare-lateness.png"
PEERS_VENV = BENCH / ".peers-venv"
PEERS_REQUIREMENTS = BENCH / "peers" / "requirements.txt"
PEER_PACKAGES = ("rq", "rq-scheduler", "APScheduler", "redis", "croniter", "crontab")
PY = sys.executable

OURS = "ours"
PEERS = ("rq-cron", "rq-scheduler", "apscheduler")
LABELS = {
    OURS: "ours (`scheduler run`)",
    "rq-cron": "RQ `CronScheduler`",
    "rq-scheduler": "rq-scheduler",
    "apscheduler": "APScheduler 3 + RQ",
}
HA_SYSTEMS = (OURS, "rq-cron", "rq-scheduler")  # APScheduler 3 has no shared-store HA

# Targets (issue 7), as ours / best peer.
P99_RATIO_TARGET = 1 / 5
RATE_RATIO_TARGET = 3.0
IDLE_CPU_TARGET_PCT = 1.0  # "near zero": under 1 % of one core
SCALE_IDLE_CPU_TARGET_PCT = 0.5  # issue 13: from the first minute after start


@dataclass(frozen=True)
class CronJob:
    """One job of a workload: a 6-field cron (day, month and weekday ``*``), in UTC."""

    name: str
    second: str
    minute: str
    hour: str

    def matcher(self) -> tuple[set[int] | None, set[int] | None, set[int] | None]:
        """The second, minute and hour sets (None: any)."""

        def values(f: str) -> set[int] | None:
            return None if f == "*" else {int(x) for x in f.split(",")}

        return values(self.second), values(self.minute), values(self.hour)


@dataclass
class Workload:
    key: str
    title: str
    jobs: list[CronJob]
    window: tuple[datetime, datetime] | None  # scheduled instants counted, inclusive
    bursts: list[datetime] = field(default_factory=list)  # instants whose rate is reported

    def instants(self, margin: float) -> dict[str, list[float]]:
        """Every job's scheduled instants from ``margin`` s before the window to ``margin``
        s after it (unix seconds, ascending): an enqueue is attributed to one of them."""
        if self.window is None:
            return {}
        start = self.window[0] - timedelta(seconds=margin)
        span = int((self.window[1] - self.window[0]).total_seconds() + 2 * margin)
        seconds = [start + timedelta(seconds=k) for k in range(span + 1)]
        by_fields: dict[tuple[str, str, str], list[float]] = {}
        out: dict[str, list[float]] = {}
        for job in self.jobs:
            key = (job.second, job.minute, job.hour)
            if key not in by_fields:
                sec, minute, hour = job.matcher()
                by_fields[key] = [
                    t.timestamp()
                    for t in seconds
                    if (sec is None or t.second in sec)
                    and (minute is None or t.minute in minute)
                    and (hour is None or t.hour in hour)
                ]
            if by_fields[key]:
                out[job.name] = by_fields[key]
        return out


@dataclass
class Run:
    """The figures of one system (one or two instances) on one workload."""

    system: str
    instances: int
    workload: str
    jobs: int
    startup: float = math.nan  # launch -> ready, the slowest instance
    cpu_window: float = math.nan  # scheduler CPU s over the measured window
    cpu_total: float = math.nan  # scheduler CPU s from launch to the end
    rss_mb: float = math.nan  # peak RSS (VmHWM), the largest instance
    window_s: float = math.nan
    expected: int = 0
    missed: int = 0
    duplicated: int = 0
    stray: int = 0  # enqueues matching no scheduled instant of the window
    lateness: list[float] = field(default_factory=list)
    rate: float = math.nan  # slowest burst, runs / s
    idle_cpu_pct: float = math.nan
    restart: float = math.nan  # (c): launch -> ready again on the same state, files unchanged
    restart_rss_mb: float = math.nan
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS[self.system] + (f" x{self.instances}" if self.instances > 1 else "")

    def p(self, q: float) -> float:
        return pct(self.lateness, q) if self.lateness else math.nan


# --------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------


def first_instants(not_before: float, count: int, spacing: int) -> list[datetime]:
    """``count`` whole-second instants ``spacing`` s apart within one UTC minute, the first
    at or after ``not_before`` (moved to the next minute when they would not fit)."""
    start = datetime.fromtimestamp(math.ceil(not_before), UTC)
    if start.second + (count - 1) * spacing > 59:
        start = start.replace(second=0) + timedelta(minutes=1)
    return [start + timedelta(seconds=k * spacing) for k in range(count)]


def far_jobs(count: int, now: datetime, seed: int, prefix: str = "far") -> list[CronJob]:
    """Jobs due once a day, 2 to 22 hours from ``now``: nothing due during the benchmark."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        t = now + timedelta(hours=2) + timedelta(seconds=rng.randrange(20 * 3600))
        out.append(CronJob(f"{prefix}-{i:06d}", str(t.second), str(t.minute), str(t.hour)))
    return out


def burst_workload(key: str, jobs: int, burst: int, not_before: float, args: Any) -> Workload:
    instants = first_instants(not_before, args.bursts, args.spacing)
    seconds = ",".join(str(t.second) for t in instants)
    first = instants[0]
    hot = [
        CronJob(f"burst-{i:05d}", seconds, str(first.minute), str(first.hour)) for i in range(burst)
    ]
    cold = far_jobs(jobs - burst, first, seed=1)
    title = (
        f"{jobs:,} jobs, {burst:,} due in the same second at {len(instants)} instants "
        f"{args.spacing} s apart"
    )
    return Workload(key, title, hot + cold, (instants[0], instants[-1]), instants)


def spread_workload(jobs: int, seconds: int, not_before: float) -> Workload:
    """Job i fires every minute at second i mod 60; the window is ``seconds`` instants."""
    start = datetime.fromtimestamp(math.ceil(not_before), UTC)
    spec = [CronJob(f"spread-{i:05d}", str(i % 60), "*", "*") for i in range(jobs)]
    end = start + timedelta(seconds=seconds - 1)
    return Workload("b", f"{jobs:,} jobs spread evenly over a minute", spec, (start, end))


# --------------------------------------------------------------------------------------
# Systems
# --------------------------------------------------------------------------------------


def ours_yaml(job: CronJob) -> str:
    # Nothing consumes the queue here: under the default `overlap: forbid` a job's second
    # run would rightly be skipped while its first still waits. The peers have no such
    # check and enqueue every run, so ours is told to as well.
    return (
        f"name: {job.name}\n"
        "task: examples.bots:heartbeat\n"
        "overlap: allow\n"
        "schedule:\n"
        f'  cron: "{job.minute} {job.hour} * * * {job.second}"\n'
        "  timezone: UTC\n"
    )


def write_ours(jobs: Sequence[CronJob], folder: Path) -> None:
    folder.mkdir(parents=True)
    for job in jobs:
        (folder / f"{job.name}.yaml").write_text(ours_yaml(job))


class Launched:
    """The processes of one system (one per instance), launched on a workload's jobs."""

    def __init__(
        self,
        system: str,
        instances: int,
        wl: Workload,
        run_dir: Path,
        url: str,
        ours_jobs: Path,
        *,
        poll: float,
        restart: bool = False,
    ) -> None:
        self.system = system
        self.procs: list[LoggedProcess] = []
        spec = run_dir / "jobs.json"
        if system != OURS:
            rows = [[j.name, j.second, j.minute, j.hour] for j in wl.jobs]
            spec.write_text(json.dumps({"jobs": rows}))
        for k in range(instances):
            log = run_dir / f"{system}-{k}.log"
            if system == OURS:
                cmd = [PY, "-m", "scheduler", "run", "--jobs-dir", str(ours_jobs)]
                cmd += ["--data-dir", str(run_dir / f"data-{k}"), "--redis-url", url]
                cmd += ["--workers", "0"]
            else:
                cmd = [str(peers_python()), str(BENCH / "peers" / "run_peer.py"), system]
                cmd += ["--url", url, "--spec", str(spec)]
                if system == "rq-scheduler":
                    cmd += ["--interval", f"{poll:g}"]  # rq-scheduler's polling period
                    if k > 0 or restart:
                        cmd.append("--no-register")  # the jobs live in Redis: registered once
            self.procs.append(LoggedProcess(cmd, log))

    def wait_ready(self, timeout: float) -> float:
        """Seconds from the first launch to the last instance's ready line."""
        readies = []
        for proc in self.procs:
            if self.system == OURS:
                readies.append(parse_ts(proc.wait_event("watcher.started", timeout)["timestamp"]))
            else:
                readies.append(float(proc.wait_event("ready", timeout)["t"]))
        return max(readies) - self.procs[0].launched

    def cpu(self) -> float:
        return sum(proc_cpu(p.pid) for p in self.procs)

    def rss_mb(self) -> float:
        return max(proc_status(p.pid).get("VmHWM", 0) for p in self.procs) / 1024

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop(10)


def peers_python() -> Path:
    return PEERS_VENV / "bin" / "python"


def ensure_peers_venv() -> dict[str, str]:
    """Create or refresh bench/.peers-venv; returns the installed versions of the peers."""
    stamp = PEERS_VENV / ".requirements.sha256"
    digest = hashlib.sha256(PEERS_REQUIREMENTS.read_bytes()).hexdigest()
    if not (peers_python().exists() and stamp.exists() and stamp.read_text() == digest):
        print(f"creating {PEERS_VENV.relative_to(REPO)} ...", flush=True)
        shutil.rmtree(PEERS_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        pip = [
            str(peers_python()),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]
        subprocess.run([*pip, "-r", str(PEERS_REQUIREMENTS)], check=True)
        stamp.write_text(digest)
    code = (
        "import importlib.metadata as m, json, sys;"
        f"print(json.dumps({{p: m.version(p) for p in {list(PEER_PACKAGES)!r}}}))"
    )
    out = subprocess.run(
        [str(peers_python()), "-c", code], capture_output=True, text=True, check=True
    )
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


# --------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------

DESCRIPTION = re.compile(r"\('([^']+)'\)")


def job_names(conn: Any, ids: Sequence[str]) -> list[str | None]:
    """The benchmark job behind each RQ id: ours from the run id, a peer's from the
    description RQ builds for ``benchtask.noop('name')``."""
    names: list[str | None] = [i.rsplit("--", 1)[0] if "--" in i else None for i in ids]
    missing = [k for k, n in enumerate(names) if n is None]
    pipe = conn.pipeline(transaction=False)
    for k in missing:
        pipe.hget(f"rq:job:{ids[k]}", "description")
    for k, raw in zip(missing, pipe.execute(), strict=True):
        found = DESCRIPTION.search(raw.decode()) if raw else None
        names[k] = found.group(1) if found else None
    return names


def attribute(run: Run, wl: Workload, names: Sequence[str | None], stamps: Sequence[float]) -> None:
    """Counts each scheduled instant's enqueues: lateness of the first, missed, duplicates."""
    assert wl.window is not None
    start, end = wl.window[0].timestamp(), wl.window[1].timestamp()
    # Instants a minute either side too, so that an enqueue of the instant after the
    # window is not taken for a second enqueue of the window's last one.
    scheduled = wl.instants(margin=60)
    firsts: dict[tuple[str, float], float] = {}
    counts: Counter[tuple[str, float]] = Counter()
    for name, stamp in zip(names, stamps, strict=False):
        instants = scheduled.get(name or "")
        # The latest instant not after the stamp (a push cannot precede its notice).
        due = next((t for t in reversed(instants or []) if t <= stamp), None)
        if due is None:
            if name and stamp >= start:
                run.stray += 1
            continue
        if not start <= due <= end:
            continue  # the minute before or after the window (b runs continuously)
        counts[(name or "", due)] += 1
        firsts.setdefault((name or "", due), stamp)
    run.expected = sum(1 for v in scheduled.values() for t in v if start <= t <= end)
    run.missed = run.expected - len(counts)
    run.duplicated = sum(c - 1 for c in counts.values())
    run.lateness = [stamp - due for (_, due), stamp in firsts.items()]
    rates = []
    for burst in wl.bursts:
        t = burst.timestamp()
        seen = [s for (_, due), s in firsts.items() if due == t]
        # From the instant: a burst claimed in one script is visible all at once.
        if seen and max(seen) > t:
            rates.append(len(seen) / (max(seen) - t))
    if rates:
        run.rate = min(rates)


# The last start-up seen of each system: (jobs, seconds), to plan the next run's lead.
STARTUPS: dict[str, tuple[int, float]] = {}


def expected_startup(system: str, jobs: int) -> float:
    """Seconds the system may take to start on ``jobs`` jobs, scaled from its last start."""
    seen, seconds = STARTUPS.get(system, (1, 0.0))
    return seconds * max(1.0, jobs / seen)


def measure_window(
    system: str, instances: int, make: Any, args: Any, url: str, conn: Any, tmp: Path
) -> Run:
    """Launch, wait for the workload's window to pass, count what reached the queue.

    ``make(not_before)`` builds the workload with its first instant at or after
    ``not_before``; the lead grows when the system was not ready ``min_lead`` s before it.
    """
    lead = max(args.lead, 1.5 * expected_startup(system, len(make(time.time()).jobs)))
    lead += args.min_lead
    for _attempt in range(3):
        wl: Workload = make(time.time() + lead)
        assert wl.window is not None
        run_dir = Path(tempfile.mkdtemp(prefix=f"{wl.key}-{system}-", dir=tmp))
        ours_jobs = run_dir / "jobs"
        if system == OURS:
            write_ours(wl.jobs, ours_jobs)
        conn.flushdb()
        notices = PushNotices(url)
        notices.start()
        launched = Launched(
            system, instances, wl, run_dir, url, ours_jobs, poll=args.rq_scheduler_interval
        )
        startup = launched.wait_ready(900)
        ready_at = launched.procs[0].launched + startup
        first, last = wl.window[0].timestamp(), wl.window[1].timestamp()
        if first - ready_at >= args.min_lead:
            break
        launched.stop()
        notices.stop()
        lead += startup * 1.5 + args.min_lead
        print(f"  {system}: ready {first - ready_at:.1f} s before the window; lead {lead:.0f} s")
    else:
        raise RuntimeError(f"{system} never became ready early enough")
    STARTUPS[system] = (len(wl.jobs), startup)
    run = Run(system, instances, wl.key, len(wl.jobs), startup=startup)
    sleep_until(first - 3)
    cpu0, t0 = launched.cpu(), time.time()
    sleep_until(last + args.settle)
    cpu1, t1 = launched.cpu(), time.time()
    run.cpu_window, run.window_s = cpu1 - cpu0, t1 - t0
    run.cpu_total, run.rss_mb = cpu1, launched.rss_mb()
    # Stopped before the observer, so that every element of the list has its notice.
    launched.stop()
    time.sleep(0.2)
    notices.stop()
    listed = [x.decode() for x in conn.lrange(QUEUE_KEY, 0, -1)]
    names = job_names(conn, listed)
    if len(notices.stamps) != len(listed):
        run.notes.append(f"{len(notices.stamps)} notices for {len(listed)} list elements")
    if notices.error:
        run.notes.append(f"notice error: {notices.error}")
    attribute(run, wl, names, notices.stamps)
    shutil.rmtree(run_dir, ignore_errors=True)
    return run


def measure_idle(
    system: str, wl: Workload, ours_jobs: Path, args: Any, url: str, conn: Any, tmp: Path
) -> Run:
    """Start-up, peak RSS and CPU over an idle window with every job far from due."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"c-{system}-", dir=tmp))
    conn.flushdb()
    launched = Launched(system, 1, wl, run_dir, url, ours_jobs, poll=args.rq_scheduler_interval)
    run = Run(system, 1, "c", len(wl.jobs))
    run.startup = launched.wait_ready(1200)
    time.sleep(args.idle_grace)  # past the start-up's tail (first heartbeat, first save)
    cpu0, t0 = launched.cpu(), time.time()
    time.sleep(args.idle_seconds)
    cpu1, t1 = launched.cpu(), time.time()
    run.window_s, run.cpu_window, run.cpu_total = t1 - t0, cpu1 - cpu0, cpu1
    run.idle_cpu_pct = 100 * run.cpu_window / run.window_s
    run.rss_mb = launched.rss_mb()
    if (listed := conn.llen(QUEUE_KEY)) != 0:
        run.notes.append(f"{listed} runs enqueued while idle")
    if system == OURS:  # the restart measured is the usual one: with the job cache written
        launched.procs[0].wait_event("config.cache_saved", 300)
    launched.stop()
    # A restart on what the first start left: ours its data dir (records, job cache), rq-
    # scheduler its jobs in Redis; RQ's cron scheduler and APScheduler (memory job store)
    # keep nothing, so theirs is a start like the first.
    if system not in ("rq-scheduler",):
        conn.flushdb()
    again = Launched(
        system, 1, wl, run_dir, url, ours_jobs, poll=args.rq_scheduler_interval, restart=True
    )
    run.restart = again.wait_ready(1200)
    run.restart_rss_mb = again.rss_mb()
    again.stop()
    shutil.rmtree(run_dir, ignore_errors=True)
    return run


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def fnum(x: float, digits: int = 1) -> str:
    return "-" if math.isnan(x) else f"{x:,.{digits}f}"


def fms(x: float) -> str:
    return "-" if math.isnan(x) else f"{x * 1000:,.1f}"


def ratio(ours: float, peer: float) -> str:
    if math.isnan(ours) or math.isnan(peer) or peer == 0:
        return "-"
    r = ours / peer
    return f"{r:.3f}" if r < 0.1 else f"{r:.2f}"


def window_table(runs: Sequence[Run]) -> list[str]:
    rows = [
        [
            r.label,
            f"{r.expected:,}",
            r.missed,
            r.duplicated,
            fms(r.p(0.5)),
            fms(r.p(0.99)),
            fms(max(r.lateness) if r.lateness else math.nan),
            fmt_rate(r.rate),
            fnum(r.cpu_window, 2),
            fnum(r.cpu_total, 2),
            fnum(r.rss_mb, 0),
            fnum(r.startup),
        ]
        for r in runs
    ]
    header = [
        "system",
        "runs due",
        "missed",
        "dup",
        "p50 ms",
        "p99 ms",
        "max ms",
        "enqueues/s",
        "CPU s (window)",
        "CPU s (total)",
        "peak RSS MB",
        "start-up s",
    ]
    return [md_table(header, rows)]


def ratio_table(runs: Sequence[Run], idle: bool = False) -> list[str]:
    """Ours divided by each peer with the same number of instances."""
    rows = []
    for peer in runs:
        if peer.system == OURS:
            continue
        ours = next((r for r in runs if r.system == OURS and r.instances == peer.instances), None)
        if ours is None:
            continue
        if idle:
            cells = [
                ratio(ours.startup, peer.startup),
                ratio(ours.restart, peer.restart),
                ratio(ours.rss_mb, peer.rss_mb),
                ratio(ours.restart_rss_mb, peer.restart_rss_mb),
                ratio(ours.idle_cpu_pct, peer.idle_cpu_pct),
            ]
        else:
            cells = [
                ratio(ours.p(0.5), peer.p(0.5)),
                ratio(ours.p(0.99), peer.p(0.99)),
                ratio(max(ours.lateness, default=math.nan), max(peer.lateness, default=math.nan)),
                ratio(ours.rate, peer.rate),
                f"{ours.missed + ours.duplicated} / {peer.missed + peer.duplicated}",
                ratio(ours.cpu_window, peer.cpu_window),
                ratio(ours.rss_mb, peer.rss_mb),
                ratio(ours.startup, peer.startup),
            ]
        rows.append([f"ours ÷ {peer.label}", *cells])
    if not rows:
        return []
    header = (
        ["", "start-up", "restart", "peak RSS", "restart peak RSS", "idle CPU"]
        if idle
        else [
            "",
            "p50",
            "p99",
            "max",
            "enqueues/s",
            "missed+dup (ours / peer)",
            "CPU (window)",
            "peak RSS",
            "start-up",
        ]
    )
    return [md_table(header, rows)]


def idle_table(runs: Sequence[Run]) -> list[str]:
    rows = [
        [
            r.label,
            f"{r.jobs:,}",
            fnum(r.startup),
            fnum(r.rss_mb, 0),
            fnum(r.restart),
            fnum(r.restart_rss_mb, 0),
            f"{r.cpu_window:.2f} s = {r.idle_cpu_pct:.2f} %",
            fnum(r.cpu_total, 1),
        ]
        for r in runs
    ]
    header = [
        "system",
        "jobs",
        "start-up s",
        "peak RSS MB",
        "restart s",
        "restart peak RSS MB",
        "idle CPU (one core)",
        "CPU s total",
    ]
    return [md_table(header, rows)]


def summary_table(results: dict[str, list[Run]]) -> list[str]:
    """One row per system; a peer's cell is its figure and, in brackets, ours ÷ it."""

    def find(key: str, system: str, instances: int = 1) -> Run | None:
        runs = results.get(key, [])
        return next((r for r in runs if r.system == system and r.instances == instances), None)

    def bad(r: Run) -> float:
        return float(r.missed + r.duplicated)

    columns: list[tuple[str, str, int, Any, Any]] = [
        # header, workload, instances, figure, format
        ("(a1) p99 ms", "a1", 1, lambda r: r.p(0.99), fms),
        ("(a2) p99 ms", "a2", 1, lambda r: r.p(0.99), fms),
        ("(b) p99 ms", "b", 1, lambda r: r.p(0.99), fms),
        ("(a2) enqueues/s", "a2", 1, lambda r: r.rate, fmt_rate),
        ("(a3) p99 ms", "a3", 1, lambda r: r.p(0.99), fms),
        ("(a3) enqueues/s", "a3", 1, lambda r: r.rate, fmt_rate),
        ("(a1+a2+a3+b) missed+dup", "", 1, None, None),
        ("(ha) x2: missed+dup", "ha", 2, bad, lambda x: f"{x:.0f}"),
        ("(c) start-up s", "c", 1, lambda r: r.startup, fnum),
        ("(c) restart s", "c", 1, lambda r: r.restart, fnum),
        (
            "(c) peak RSS MB",
            "c",
            1,
            peak_rss,
            lambda x: fnum(x, 0),
        ),
        ("(c) idle CPU %", "c", 1, lambda r: r.idle_cpu_pct, lambda x: fnum(x, 2)),
    ]
    systems = [s for s in (OURS, *PEERS) if any(r.system == s for v in results.values() for r in v)]
    rows = []
    for system in systems:
        row = [LABELS[system]]
        for _header, key, instances, figure, fmt in columns:
            if figure is None:  # every single-instance window of this system
                runs = [find(k, system) for k in ("a1", "a2", "a3", "b")]
                row.append(str(sum(int(bad(r)) for r in runs if r is not None)))
                continue
            mine, ours = find(key, system, instances), find(key, OURS, instances)
            if mine is None or math.isnan(figure(mine)):
                row.append("-")
                continue
            cell = fmt(figure(mine))
            if system != OURS and ours is not None and figure is not bad and figure(mine):
                cell += f" ({ratio(figure(ours), figure(mine))})"
            row.append(cell)
        rows.append(row)
    return [md_table(["system", *(c[0] for c in columns)], rows)]


def best(peers: Sequence[Run], key: Any, high: bool = False) -> Run | None:
    scored = [r for r in peers if not math.isnan(key(r))]
    if not scored:
        return None
    return max(scored, key=key) if high else min(scored, key=key)


def targets(results: dict[str, list[Run]]) -> list[list[str]]:
    rows: list[list[str]] = []
    for key in ("a1", "a2"):
        runs = [r for r in results.get(key, []) if r.instances == 1]
        ours = next((r for r in runs if r.system == OURS), None)
        peers = [r for r in runs if r.system != OURS]
        if ours is None or not peers:
            continue
        top = best(peers, lambda r: r.p(0.99))
        if top is not None:
            r = ours.p(0.99) / top.p(0.99)
            rows.append(
                [
                    f"({key}) p99 lateness, ours ÷ best peer ({top.label})",
                    f"{fms(ours.p(0.99))} / {fms(top.p(0.99))} ms = {r:.3f}",
                    f"<= {P99_RATIO_TARGET:.1f} (5x lower)",
                    verdict(r <= P99_RATIO_TARGET),
                ]
            )
        fast = best(peers, lambda r: r.rate, high=True)
        if fast is not None:
            r = ours.rate / fast.rate
            rows.append(
                [
                    f"({key}) enqueues/s in a burst, ours ÷ best peer ({fast.label})",
                    f"{fmt_rate(ours.rate)} / {fmt_rate(fast.rate)} = {r:.1f}",
                    f">= {RATE_RATIO_TARGET:g}",
                    verdict(r >= RATE_RATIO_TARGET),
                ]
            )
    everything = [r for runs in results.values() for r in runs if r.expected]
    ours_bad = sum(r.missed + r.duplicated for r in everything if r.system == OURS)
    peers_bad = sum(r.missed + r.duplicated for r in everything if r.system != OURS)
    if everything:
        rows.append(
            [
                "missed + duplicated runs, all windows (ours / peers)",
                f"{ours_bad} / {peers_bad}",
                "0 for ours",
                verdict(ours_bad == 0),
            ]
        )
    idle = next((r for r in results.get("c", []) if r.system == OURS), None)
    if idle is not None:
        rows.append(
            [
                f"idle CPU with {idle.jobs:,} jobs, ours",
                f"{idle.idle_cpu_pct:.2f} % of one core",
                f"< {IDLE_CPU_TARGET_PCT:g} %",
                verdict(idle.idle_cpu_pct < IDLE_CPU_TARGET_PCT),
            ]
        )
    return rows


def peak_rss(run: Run) -> float:
    """The larger peak of the first start and the restart (a missing one is ignored)."""
    return max((x for x in (run.rss_mb, run.restart_rss_mb) if not math.isnan(x)), default=math.nan)


def scale_targets(results: dict[str, list[Run]]) -> list[list[str]]:
    """Issue 13's absolute targets, for ours."""

    def ours(key: str) -> Run | None:
        runs = results.get(key, [])
        return next((r for r in runs if r.system == OURS and r.instances == 1), None)

    checks: list[tuple[str, str, Any, float, str]] = [
        # workload, what, figure, limit, unit
        ("a1", "(a1) 1,000 due together: p99 lateness", lambda r: 1000 * r.p(0.99), 20.0, "ms"),
        (
            "a2",
            "(a2) 1,000 of 10,000 due together: p99 lateness",
            lambda r: 1000 * r.p(0.99),
            20.0,
            "ms",
        ),
        ("c", "(c) cold start", lambda r: r.startup, 10.0, "s"),
        ("c", "(c) restart, files unchanged", lambda r: r.restart, 3.0, "s"),
        ("c", "(c) peak RSS", peak_rss, 200.0, "MB"),
        ("c", "(c) idle CPU", lambda r: r.idle_cpu_pct, SCALE_IDLE_CPU_TARGET_PCT, "%"),
    ]
    rows = []
    for key, what, figure, limit, unit in checks:
        run = ours(key)
        if run is None or math.isnan(figure(run)):
            continue
        label = what.replace("(c)", f"(c) {run.jobs:,} jobs:") if key == "c" else what
        value = figure(run)
        shown = fnum(value, 2 if unit == "%" else 1)
        rows.append([label, f"{shown} {unit}", f"<= {limit:g} {unit}", verdict(value <= limit)])
    return rows


def report(
    args: Any,
    machine: list[tuple[str, str]],
    versions: dict[str, str],
    results: dict[str, list[Run]],
    titles: dict[str, str],
    elapsed: float,
) -> str:
    cmd = " ".join([".venv/bin/python", "bench/compare.py", *sys.argv[1:]])
    machine = [
        *machine,
        ("peers (bench/.peers-venv)", ", ".join(f"{k} {v}" for k, v in versions.items())),
        ("whole run", f"{elapsed / 60:.1f} min"),
    ]
    out = [
        "# Benchmark: ours against RQ's cron scheduler, rq-scheduler and APScheduler",
        "",
        f"Written by `bench/compare.py` (`make bench-compare`). Command: `{cmd}`",
        "",
        md_table(["machine", ""], machine),
        "",
        "Every system runs as its own process against the same private Redis (emptied between "
        "runs) and enqueues into `rq:queue:default`; nothing consumes the queue. **Lateness** = "
        "the moment the job is visible in the queue (the RPUSH keyspace notice reaching the "
        "observer) - its scheduled instant, for the first enqueue of each scheduled run. "
        "**missed** = runs due in the window never enqueued, **dup** = enqueues beyond the "
        "first of a run. **enqueues/s** = runs of one burst / (last visible - the instant), the "
        "slowest burst. **CPU** = the scheduler processes' utime+stime: over the window (3 s "
        "before the first instant to the end) and since launch (start-up included). "
        "**start-up** = launch to ready (ours: the `watcher.started` line; peers: jobs "
        "registered and the loop about to start; for rq-scheduler that includes writing the "
        "jobs to Redis). Ratios are ours ÷ peer: below 1 ours is lower (better for lateness, "
        "CPU, RSS, start-up); above 1 for enqueues/s ours is faster.",
        "",
        "How each system is set up: ours `scheduler run --workers 0` on YAML files; RQ "
        "`CronScheduler` as `rq cron` runs it (`register(..., cron='M H * * * S')`); "
        f"rq-scheduler `Scheduler(interval={args.rq_scheduler_interval:g}).run()` with "
        "`cron('S M H * * * *')` jobs (its seconds-first 7-field form); APScheduler "
        "3 `BlockingScheduler` with a `CronTrigger` per job whose function is RQ's "
        "`Queue.enqueue` (default executor: 10 threads; default `misfire_grace_time`: 1 s). "
        "Two instances: two processes on the same jobs and Redis (ours deduplicates by run "
        "id; rq-scheduler takes a lock each poll; RQ's cron scheduler has no coordination).",
        "",
        "## Summary",
        "",
        "Each peer's figure, then in brackets ours ÷ that figure (below 1: ours lower; for "
        "enqueues/s above 1: ours faster). Lateness counts the runs that were enqueued: a "
        "system that drops late runs (APScheduler's 1 s misfire grace, rq-scheduler) shows "
        "them as missed, not in its percentiles.",
        "",
        *summary_table(results),
        "",
        "## Targets (issue 7)",
        "",
        md_table(["what", "measured", "target", ""], targets(results)),
        "",
        "## Targets (issue 13)",
        "",
        md_table(["what", "measured", "target", ""], scale_targets(results)),
        "",
    ]
    for key in ("a1", "a2", "a3", "ha", "b"):
        if results.get(key):
            out += [f"## ({key}) {titles[key]}", "", *window_table(results[key]), ""]
            out += [*ratio_table(results[key]), ""]
            out += [f"- {r.label}: {n}" for r in results[key] for n in r.notes]
            out += [""] if any(r.notes for r in results[key]) else []
    if results.get("c"):
        out += [f"## (c) {titles['c']}", "", *idle_table(results["c"]), ""]
        out += [*ratio_table(results["c"], idle=True), ""]
        out += [f"- {r.label}: {n}" for r in results["c"] for n in r.notes]
    out += ["", f"Lateness distributions: [{PLOT.name}]({PLOT.name})", ""]
    return "\n".join(out)


def plot(results: dict[str, list[Run]], titles: dict[str, str], tmp: Path) -> str | None:
    panels = [
        {
            "title": f"({key}) {titles[key]}",
            "series": {r.label.replace("`", ""): r.lateness for r in results[key]},
        }
        for key in ("a1", "a2", "a3", "ha", "b")
        if results.get(key)
    ]
    if not panels:
        return None
    data = tmp / "lateness.json"
    data.write_text(json.dumps({"panels": panels}))
    cmd = [str(peers_python()), str(BENCH / "compare_plot.py"), str(data), str(PLOT)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return None if done.returncode == 0 else done.stderr[-2000:]


# --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["a1", "a2", "a3", "ha", "b", "c"], action="append")
    ap.add_argument("--systems", default=",".join((OURS, *PEERS)), help="comma-separated")
    ap.add_argument("--burst", type=int, default=1_000, help="runs due in the same second")
    ap.add_argument("--big", type=int, default=10_000, help="jobs in (a2), (a3) and (b)")
    ap.add_argument("--idle-jobs", type=int, default=100_000, help="jobs in (c)")
    ap.add_argument("--bursts", type=int, default=2, help="burst instants per (a) run")
    ap.add_argument("--spacing", type=int, default=10, help="seconds between bursts")
    ap.add_argument("--spread-seconds", type=int, default=60, help="(b) window, instants")
    ap.add_argument("--lead", type=float, default=10, help="launch -> first instant, at least")
    ap.add_argument("--min-lead", type=float, default=5, help="ready -> first instant, at least")
    ap.add_argument("--settle", type=float, default=4, help="seconds watched after the window")
    ap.add_argument("--idle-seconds", type=float, default=60, help="(c) idle CPU window")
    ap.add_argument("--idle-grace", type=float, default=5, help="(c) ready -> idle window")
    ap.add_argument("--rq-scheduler-interval", type=float, default=1.0, help="its polling, s")
    ap.add_argument("--quick", action="store_true", help="small jobs counts, short windows")
    ap.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    args = ap.parse_args()
    if args.quick:
        args.big, args.idle_jobs, args.bursts = 2_000, 5_000, 1
        args.spread_seconds, args.idle_seconds, args.idle_grace = 15, 5.0, 2.0
    return args


Plan = tuple[str, Any, list[tuple[str, int]]]  # workload key, builder, (system, instances)


def window_plans(args: argparse.Namespace, systems: list[str], only: list[str]) -> list[Plan]:
    """The windowed workloads to run, each with the systems (and instance counts) it gets."""
    single = [(s, 1) for s in systems]
    plans: list[Plan] = [
        ("a1", lambda t: burst_workload("a1", args.burst, args.burst, t, args), single),
        ("a2", lambda t: burst_workload("a2", args.big, args.burst, t, args), single),
        ("a3", lambda t: burst_workload("a3", args.big, args.big, t, args), single),
        (
            "ha",
            lambda t: burst_workload("ha", args.burst, args.burst, t, args),
            [(s, 2) for s in systems if s in HA_SYSTEMS],
        ),
        ("b", lambda t: spread_workload(args.big, args.spread_seconds, t), single),
    ]
    return [p for p in plans if p[0] in only]


def run_all(
    args: argparse.Namespace, systems: list[str], only: list[str], url: str, conn: Any, tmp: Path
) -> tuple[dict[str, list[Run]], dict[str, str]]:
    results: dict[str, list[Run]] = defaultdict(list)
    titles: dict[str, str] = {}
    for key, make, runs in window_plans(args, systems, only):
        titles[key] = make(time.time()).title
        if key == "ha":
            titles[key] += ", two instances of each system"
        for system, instances in runs:
            print(f"({key}) {system} x{instances} ...", flush=True)
            run = measure_window(system, instances, make, args, url, conn, tmp)
            print(f"  {summary_line(run)}", flush=True)
            results[key].append(run)
    if "c" in only:
        wl = Workload(
            "c",
            f"{args.idle_jobs:,} jobs loaded, nothing due, {args.idle_seconds:g} s idle",
            far_jobs(args.idle_jobs, datetime.now(UTC), seed=3),
            None,
        )
        titles["c"] = wl.title
        ours_jobs = tmp / "c-jobs"
        if OURS in systems:
            write_ours(wl.jobs, ours_jobs)
        for system in systems:
            print(f"(c) {system} ...", flush=True)
            run = measure_idle(system, wl, ours_jobs, args, url, conn, tmp)
            print(f"  {summary_line(run)}", flush=True)
            results["c"].append(run)
    return results, titles


def main() -> int:
    args = parse_args()
    only = args.only or ["a1", "a2", "a3", "ha", "b", "c"]
    systems = [s for s in args.systems.split(",") if s]
    started = time.time()
    versions = ensure_peers_venv()
    compile_checkout()  # as the peers, installed from wheels, have theirs

    import redis

    machine = machine_info()
    tmp = Path(tempfile.mkdtemp(prefix="compare-bench-"))
    results: dict[str, list[Run]] = {}
    titles: dict[str, str] = {}
    error = None
    try:
        with private_redis(tmp) as (url, _redis_pid):
            conn = redis.Redis.from_url(url)
            conn.config_set("notify-keyspace-events", "Kl")
            print(f"private Redis at {url}; work dir {tmp}", flush=True)
            results, titles = run_all(args, systems, only, url, conn, tmp)
            conn.close()
        if not args.no_write:
            error = plot(results, titles, tmp)
    finally:
        for child in CHILDREN:
            child.stop(5)
        shutil.rmtree(tmp, ignore_errors=True)
    with contextlib.suppress(OSError):
        machine.insert(5, ("load average at end", " ".join(f"{x:.2f}" for x in os.getloadavg())))
    text = report(args, machine, versions, results, titles, time.time() - started)
    print()
    print(text)
    if error:
        print(f"plot failed:\n{error}", file=sys.stderr)
    if not args.no_write:
        RESULTS.write_text(text)
        print(f"written to {RESULTS.relative_to(REPO)} and {PLOT.relative_to(REPO)}")
    return 0


def summary_line(run: Run) -> str:
    if run.workload == "c":
        return (
            f"start-up {run.startup:.1f} s, RSS {run.rss_mb:.0f} MB, "
            f"idle CPU {run.idle_cpu_pct:.2f} %"
        )
    return (
        f"due {run.expected:,} missed {run.missed} dup {run.duplicated} stray {run.stray}; "
        f"p50 {fms(run.p(0.5))} p99 {fms(run.p(0.99))} max "
        f"{fms(max(run.lateness, default=math.nan))} ms; {fmt_rate(run.rate)}/s; "
        f"CPU {run.cpu_window:.2f} s; start-up {run.startup:.1f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
