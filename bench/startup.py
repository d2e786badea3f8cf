"""Benchmark: the watcher's start at scale, cold and restarted, against another checkout.

    .venv/bin/python bench/startup.py                      # 100,000 jobs, ours only
    .venv/bin/python bench/startup.py --baseline ../old    # side by side with another checkout

The real process, ``python -m scheduler run --workers 0 --redis-url <private>``, on the job
files of ``bench/dispatch.py``'s scenario B (one job per file, next runs 2-22 h away). A
``--baseline`` directory (a checkout of another commit) is run the same way from that
directory, so its ``scheduler`` package is imported. Per system: a cold start (fresh data
dir) and a restart on the same data dir, each: wall time from launch to the
``watcher.started`` line, the process's CPU time (user+system) at that moment, which other
load on a shared machine disturbs less, and peak RSS (VmHWM); then the CPU over an idle
window after the restart. Results in ``bench/results/startup.md`` (overwritten).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit import (
    CHILDREN,
    REPO,
    LoggedProcess,
    machine_info,
    md_table,
    parse_ts,
    private_redis,
    proc_cpu,
    proc_status,
)
from dispatch import write_far_jobs

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
        "rss_mb": proc_status(proc.pid)["VmHWM"] / 1024,
        "jobs": started.get("jobs"),
        "proc": proc,
    }


def idle_cpu(proc: LoggedProcess, seconds: float) -> float:
    """Percent of one core the process used over ``seconds`` of idling."""
    c0, t0 = proc_cpu(proc.pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (proc_cpu(proc.pid) - c0) / (time.monotonic() - t0)


def measure(
    name: str, checkout: Path, jobs: Path, url: str, conn: Any, tmp: Path, idle: float
) -> dict[str, Any]:
    conn.flushdb()
    data = tmp / f"data-{name}"
    cold = start(checkout, jobs, data, url, tmp / f"{name}-cold.log")
    print(f"{name}: cold {cold['wall']:.1f} s, CPU {cold['cpu']:.1f} s", flush=True)
    if name == "ours":  # the restart measured is the usual one: with the job cache written
        cold["proc"].wait_event("config.cache_saved", 300)
    cold["proc"].stop()
    warm = start(checkout, jobs, data, url, tmp / f"{name}-restart.log")
    print(f"{name}: restart {warm['wall']:.1f} s, CPU {warm['cpu']:.1f} s", flush=True)
    warm["idle"] = idle_cpu(warm["proc"], idle) if idle > 0 else None
    warm["proc"].stop()
    return {"cold": cold, "restart": warm}


def render(args: argparse.Namespace, found: dict[str, dict[str, Any]], info: list[Any]) -> str:
    rows = []
    for name, r in found.items():
        c, w = r["cold"], r["restart"]
        idle = "-" if w["idle"] is None else f"{w['idle']:.2f}"
        cells = [c["jobs"], f"{c['wall']:.1f}", f"{c['cpu']:.1f}", f"{c['rss_mb']:.0f}"]
        rows.append(
            [name, *cells, f"{w['wall']:.1f}", f"{w['cpu']:.1f}", f"{w['rss_mb']:.0f}", idle]
        )
    header = ["system", "jobs", "cold s", "cold CPU s", "cold peak RSS MB"]
    header += ["restart s", "restart CPU s", "restart peak RSS MB", f"idle CPU % ({args.idle:g} s)"]
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
    if "baseline" in found:
        o, b = found["ours"], found["baseline"]
        ratio = [["ours ÷ baseline"]]
        for phase in ("cold", "restart"):
            for key in ("wall", "cpu", "rss_mb"):
                ratio[0].append(f"{o[phase][key] / b[phase][key]:.2f}")
        lines += ["", md_table(["", *header[2:5], *header[5:8]], ratio)]
    targets = [
        ["cold start (wall)", f"{found['ours']['cold']['wall']:.1f} s", "<= 10 s"],
        ["restart, unchanged files (wall)", f"{found['ours']['restart']['wall']:.1f} s", "<= 3 s"],
        ["peak RSS", f"{found['ours']['cold']['rss_mb']:.0f} MB", "<= 200 MB"],
    ]
    for row in targets:
        measured = float(row[1].split()[0])
        row.append("PASS" if measured <= float(row[2].split()[1]) else "MISS")
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
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    import redis

    with tempfile.TemporaryDirectory(prefix="startup-bench-") as raw:
        tmp = Path(raw)
        jobs = tmp / "jobs"
        write_far_jobs(jobs, args.jobs, datetime.now(UTC), seed=2)
        with private_redis(tmp) as (url, _pid):
            conn = redis.Redis.from_url(url)
            info = machine_info()
            try:
                found = {"ours": measure("ours", REPO, jobs, url, conn, tmp, args.idle)}
                if args.baseline is not None:
                    found["baseline"] = measure(
                        "baseline", args.baseline.resolve(), jobs, url, conn, tmp, args.idle
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
