"""Benchmark: the watcher's start at scale, cold and restarted, against another checkout.

    .venv/bin/python bench/startup.py                      # 100,000 jobs, ours only
    .venv/bin/python bench/startup.py --baseline ../old    # side by side with another checkout

The real process, ``python -m scheduler run --workers 0 --redis-url <private>``, on the job
files of ``bench/dispatch.py``'s scenario B (one job per file, next runs 2-22 h away). A
``--baseline`` directory (a checkout of another commit) is run the same way from that
directory, so its ``scheduler`` package is imported. Per system: a cold start (fresh data
dir) and a restart on the same data dir, each: wall time from launch to the
``watcher.started`` line, the process's CPU time (user+system) at that moment, which other
load on a shared machine disturbs less, and peak RSS (VmHWM), read again once the cold
start's job cache is saved and at the end of the restart's idle window (a spike after
``watcher.started`` shows there; the target is the largest); then the CPU over an idle
window after the restart, and how often the lease was lost (``leader.lost``: never, the
target). ``--history N`` (default 3) runs ours once more on a data dir with a ledger: a
cold start writes its job states, ``bench/records.py`` then adds N ended runs per job
(``--history-age`` old, past the default 30-day ``keep`` and kept by ``keep_last``, so the
idle-time retention pass, 30 s after start, reads every job's runs and deletes none), the
job cache is removed and Redis emptied, and the same cold start and restart are timed (a
``--baseline`` too). Results in ``bench/results/startup.md`` (overwritten).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import (
    CHILDREN,
    REPO,
    LoggedProcess,
    compile_checkout,
    machine_info,
    md_table,
    parse_ts,
    private_redis,
    proc_cpu,
    proc_status,
)
from dispatch import write_far_jobs
from records import generate

from scheduler.config.jobcache import CACHE_FILE
from scheduler.core.durations import parse_duration

PY = sys.executable
RESULTS = REPO / "bench" / "results" / "startup.md"


def start(checkout: Path, jobs: Path, data: Path, url: str, log: Path) -> dict[str, Any]:
    """Launch a watcher, wait for ``watcher.started``; its wall, CPU and peak RSS then."""
    cmd = [PY, "-m", "scheduler", "run", "--jobs-dir", str(jobs), "--data-dir", str(data)]
    proc = LoggedProcess([*cmd, "--redis-url", url, "--workers", "0"], log, cwd=checkout)
    started = proc.wait_event("watcher.started", 900)
    return {
        "wall": parse_ts(started["timestamp"]) - proc.launched,
        "cpu": proc_cpu(proc.pid),
        "rss_mb": hwm_mb(proc),
        "jobs": started.get("jobs"),
        "proc": proc,
    }


def idle_cpu(proc: LoggedProcess, seconds: float) -> float:
    """Percent of one core the process used over ``seconds`` of idling."""
    c0, t0 = proc_cpu(proc.pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (proc_cpu(proc.pid) - c0) / (time.monotonic() - t0)


def cache_saved(proc: LoggedProcess, checkout: Path) -> float | None:
    """Wait for the job cache to be written (a checkout older than it: 60 s at most); the
    process's peak RSS (VmHWM, MB) then, None if it wrote none."""
    try:
        proc.wait_event("config.cache_saved", 300 if checkout == REPO else 60)
    except RuntimeError:
        if checkout == REPO:
            raise
        return None
    return hwm_mb(proc)


def hwm_mb(proc: LoggedProcess) -> float:
    """The process's peak RSS so far (VmHWM), MB."""
    return proc_status(proc.pid)["VmHWM"] / 1024


def peak_mb(phase: dict[str, Any]) -> float:
    """A start's peak RSS over everything read of it: at ``watcher.started``, after the job
    cache's save, at the end of the idle window (a late spike is seen in the later ones)."""
    late = [phase.get("rss_saved_mb"), phase.get("rss_end_mb")]
    return max([phase["rss_mb"], *(x for x in late if x is not None)])


def rss_cell(phase: dict[str, Any], later: str) -> str:
    """ "at started / later" (MB); "-" for a reading not taken."""
    value = phase.get(later)
    return f"{phase['rss_mb']:.0f} / " + ("-" if value is None else f"{value:.0f}")


def measure(
    name: str,
    checkout: Path,
    jobs: Path,
    url: str,
    conn: Any,
    tmp: Path,
    idle: float,
    seed: Callable[[Path], float] | None = None,
) -> dict[str, Any]:
    conn.flushdb()
    data = tmp / f"data-{name}"
    lost = 0
    if seed is not None:  # the job states of a first start, then the ledger added to them
        first = start(checkout, jobs, data, url, tmp / f"{name}-first.log")
        cache_saved(first["proc"], checkout)
        first["proc"].stop()
        lost = len(first["proc"].events("leader.lost"))
        print(f"{name}: runs added in {seed(data / 'scheduler.db'):.0f} s", flush=True)
        (data / CACHE_FILE).unlink(missing_ok=True)
        conn.flushdb()
    cold = start(checkout, jobs, data, url, tmp / f"{name}-cold.log")
    print(f"{name}: cold {cold['wall']:.1f} s, CPU {cold['cpu']:.1f} s", flush=True)
    # The restart measured is the usual one; the save runs beside the first turns.
    cold["rss_saved_mb"] = cache_saved(cold["proc"], checkout)
    cold["proc"].stop()
    warm = start(checkout, jobs, data, url, tmp / f"{name}-restart.log")
    print(f"{name}: restart {warm['wall']:.1f} s, CPU {warm['cpu']:.1f} s", flush=True)
    warm["idle"] = idle_cpu(warm["proc"], idle) if idle > 0 else None
    warm["rss_end_mb"] = hwm_mb(warm["proc"])
    warm["proc"].stop()
    for phase in (cold, warm):
        phase["lost"] = len(phase["proc"].events("leader.lost"))
    cold["lost"] += lost  # the first start's, with a ledger
    return {"cold": cold, "restart": warm}


def render(args: argparse.Namespace, found: dict[str, dict[str, Any]], info: list[Any]) -> str:
    rows = []
    for name, r in found.items():
        c, w = r["cold"], r["restart"]
        idle = "-" if w["idle"] is None else f"{w['idle']:.2f}"
        cells = [c["jobs"], f"{c['wall']:.1f}", f"{c['cpu']:.1f}", rss_cell(c, "rss_saved_mb")]
        cells += [f"{w['wall']:.1f}", f"{w['cpu']:.1f}", rss_cell(w, "rss_end_mb"), idle]
        rows.append([name, *cells, f"{c['lost']}, {w['lost']}"])
    header = ["system", "jobs", "cold s", "cold CPU s", "cold peak RSS MB (started / cache saved)"]
    header += ["restart s", "restart CPU s", "restart peak RSS MB (started / idle end)"]
    header.append(f"idle CPU % ({args.idle:g} s)")
    header.append("leases lost: cold, restart")
    lines = [
        "# Benchmark: the watcher's start at scale",
        "",
        "Written by `bench/startup.py` (see its docstring). Command: `"
        + " ".join(["python", "bench/startup.py", *sys.argv[1:]])
        + "`",
        "",
        md_table(["machine", ""], info),
        "",
        md_table(header, rows),
    ]
    ratios = []
    for name in found:
        if name == "ours":
            continue
        # Another checkout: ours over it; with a ledger: over the same without (its cost).
        top, bottom = ("ours", name) if name == "baseline" else (name, name.split(",")[0])
        cells = [f"{top} ÷ {bottom}"]
        for phase in ("cold", "restart"):
            for key in ("wall", "cpu"):
                cells.append(f"{found[top][phase][key] / found[bottom][phase][key]:.2f}")
            cells.append(f"{peak_mb(found[top][phase]) / peak_mb(found[bottom][phase]):.2f}")
        ratios.append(cells)
    if ratios:
        peaks = ["cold s", "cold CPU s", "cold peak RSS", "restart s", "restart CPU s"]
        lines += ["", md_table(["", *peaks, "restart peak RSS"], ratios)]
    ours = found["ours"]
    peak = max(peak_mb(ours["cold"]), peak_mb(ours["restart"]))
    targets = [
        ["cold start (wall)", f"{ours['cold']['wall']:.1f} s", "<= 10 s"],
        ["restart, unchanged files (wall)", f"{ours['restart']['wall']:.1f} s", "<= 3 s"],
        ["peak RSS, cold and restart", f"{peak:.0f} MB", "<= 200 MB"],
    ]
    for name, r in found.items():
        if not name.startswith("baseline") and r["restart"]["idle"] is not None:
            targets.append(
                [f"idle CPU after the restart, {name}", f"{r['restart']['idle']:.2f} %", "<= 0.5 %"]
            )
    for row in targets:
        measured = float(row[1].split()[0])
        row.append("PASS" if measured <= float(row[2].split()[1]) else "MISS")
    lost = sum(
        r[p]["lost"]
        for n, r in found.items()
        if not n.startswith("baseline")
        for p in ("cold", "restart")
    )
    targets.append(
        ["leases lost during the starts", str(lost), "0", "PASS" if not lost else "MISS"]
    )
    lines += [
        "",
        "## Targets (issue 13)",
        "",
        md_table(["what", "measured", "target", ""], targets),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--baseline", type=Path, help="another checkout, run the same way")
    parser.add_argument("--idle", type=float, default=60.0, help="idle CPU window after restart")
    parser.add_argument("--history", type=int, default=3, help="runs per job in the ledger run")
    parser.add_argument("--history-age", default="40d", help="how old the newest run is")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    for checkout in (REPO, args.baseline):
        if checkout is not None:
            compile_checkout(checkout)  # time the code as an install runs it
    import redis

    def seed(db: Path) -> float:
        end = datetime.now(UTC) - parse_duration(args.history_age)
        total = args.history * args.jobs
        return generate(db, total, args.jobs, end, name_of=lambda i: f"job-{i:06d}", add=True)

    with tempfile.TemporaryDirectory(prefix="startup-bench-") as raw:
        tmp = Path(raw)
        jobs = tmp / "jobs"
        write_far_jobs(jobs, args.jobs, datetime.now(UTC), seed=2)
        with private_redis(tmp) as (url, _pid):
            conn = redis.Redis.from_url(url)
            info = machine_info()
            try:
                systems = {"ours": REPO}
                if args.baseline is not None:
                    systems["baseline"] = args.baseline.resolve()
                found = {}
                for system, checkout in systems.items():
                    found[system] = measure(system, checkout, jobs, url, conn, tmp, args.idle)
                    if args.history > 0:
                        found[f"{system}, {args.history:,} runs per job"] = measure(
                            f"{system}-history", checkout, jobs, url, conn, tmp, args.idle, seed
                        )
            finally:
                for child in CHILDREN:
                    child.stop()
    text = render(args, found, info)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
