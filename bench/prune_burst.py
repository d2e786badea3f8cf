"""The burst benchmark with and without a prune of a million runs under way.

Runs ``bench/dispatch.py``'s scenario A (10,000 jobs, bursts of 1,000 runs due in the same
second, seen from outside the watcher) twice: on an empty data dir, and on one seeded with
1.1 million runs older than every retention rule (1,100 jobs of 1,000 runs, 100 days old),
so the watcher's idle-time pruning removes a million of them while the bursts fall due
(its first pass starts 30 s after start-up; the first burst is 45 s after launch). Reports
the worst burst's p99 lateness of each, side by side, and how many runs the watcher had
pruned by the end. ``make bench-prune-burst``; results in bench/results/prune-burst.md.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import redis

from bench import dispatch
from bench.benchkit import CHILDREN, REPO, machine_info, md_table, ms, pct, private_redis, publish
from bench.records import generate

SEED_JOBS = 1_100
SEED_PER_JOB = 1_000


def seed(data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    end = datetime.now(UTC) - timedelta(days=100)
    took = generate(data / "scheduler.db", SEED_JOBS * SEED_PER_JOB, SEED_JOBS, end_at=end)
    print(f"seeded {SEED_JOBS * SEED_PER_JOB:,} old runs in {took:.0f} s", flush=True)


def worst_p99(a: dict[str, object]) -> float:
    bursts = a["bursts"]
    assert isinstance(bursts, list)
    return max(pct([s - b.instant.timestamp() for s in b.stamps], 0.99) for b in bursts)


def remaining(tmp: Path) -> int | None:
    found = sorted(tmp.glob("a-data-*/scheduler.db"))
    if not found:
        return None
    with sqlite3.connect(found[-1]) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def run(pruning: bool) -> tuple[float, int | None, dict[str, object]]:
    args = argparse.Namespace(
        jobs=10_000, burst=1_000, bursts=5, spacing=10, lead=45.0, min_lead=15.0, settle=4.0,
        poll_interval=0.0,
    )  # fmt: skip
    if pruning:
        args.seed_data = seed
    tmp = Path(tempfile.mkdtemp(prefix="prune-burst-"))
    try:
        with private_redis(tmp) as (url, _pid):
            conn = redis.Redis.from_url(url)
            conn.config_set("notify-keyspace-events", "Kl")
            a = dispatch.scenario_a(args, url, conn, tmp)
            conn.close()
        left = remaining(tmp)
    finally:
        for child in CHILDREN:
            child.stop(5)
        shutil.rmtree(tmp, ignore_errors=True)
    return worst_p99(a), left, a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    dispatch._quiet_logs()
    machine = machine_info()
    base, _, _ = run(pruning=False)
    during, left, _ = run(pruning=True)
    seeded = SEED_JOBS * SEED_PER_JOB
    runs_in_a = 5 * 1_000
    pruned = None if left is None else seeded + runs_in_a - left
    text = "\n".join(
        [
            "# Burst p99 while a prune of a million runs is under way",
            "",
            "`bench/dispatch.py` scenario A (10,000 jobs; 5 bursts of 1,000 runs due in the same"
            " second, 10 s apart; lateness seen by keyspace notifications), on an empty data dir"
            f" and on one seeded with {seeded:,} runs 100 days old ({SEED_JOBS:,} jobs not in"
            " jobs.d/, so the project's default rule applies: all but each job's last 100 go).",
            "",
            md_table(
                ["", "worst burst p99 lateness", "ratio"],
                [
                    ["no prune", f"{ms(base)} ms", "1.00"],
                    ["prune under way", f"{ms(during)} ms", f"{during / base:.2f}"],
                ],
            ),
            "",
            f"Runs the watcher had pruned by the end of the bursts: {pruned:,}"
            if pruned is not None
            else "Runs pruned: unknown",
            "",
            "Command: `make bench-prune-burst` (`.venv/bin/python bench/prune_burst.py`).",
            "",
            "Machine: " + "; ".join(f"{k} {v}" for k, v in machine),
            "",
        ]
    )
    publish(text, REPO / "bench" / "results" / "prune-burst.md", write=not args.no_write)


if __name__ == "__main__":
    main()
