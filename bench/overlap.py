"""Benchmark: the extra latency the overlap and pause checks add per dispatch, at 10,000 jobs.

Run with ``make bench-overlap`` (or ``.venv/bin/python bench/overlap.py [--jobs N]``). It
starts a private Redis (``EmbeddedRedis`` in a temporary folder), a real SQLite store and
the watcher's own ``Gate`` and ``Dispatcher``, builds N jobs (10,000 by default), and times
``Gate.admit`` (the check every run passes before it is sent) on batches of 2,000 runs
(the watcher's pipeline batch), against ``Dispatcher.enqueue`` of the same runs:

* ``allow``: every job ``overlap: allow`` (only the pause lookup);
* ``forbid, idle``: the default policy, no earlier run active (the common case: a dict
  lookup per run, no Redis round trip);
* ``forbid, ended``: every job has an earlier run the watcher still thinks active but RQ
  has finished (a result on its way): one pipelined HGET per run to confirm, then sent;
* ``forbid, running``: every earlier run still active in RQ: each new run is recorded
  ``skipped`` (overlap) in SQLite instead of being sent.

Reports microseconds per run (median of 5 rounds) and writes ``bench/results/overlap.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scheduler.core.job import LoadedJob  # noqa: E402
from scheduler.core.models import JobSpec  # noqa: E402
from scheduler.core.runs import RunRequest, RunTrigger  # noqa: E402
from scheduler.engine.dispatch import Dispatcher  # noqa: E402  (after the path set-up)
from scheduler.engine.embedded import EmbeddedRedis  # noqa: E402
from scheduler.engine.gate import Gate  # noqa: E402
from scheduler.store import Store  # noqa: E402

BATCH = 2000
ROUNDS = 5
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def make_jobs(count: int, overlap: str) -> dict[str, LoadedJob]:
    jobs = {}
    for i in range(count):
        spec = JobSpec.model_validate(
            {
                "name": f"job-{i:05d}",
                "task": "examples.bots:report",
                "schedule": {"interval": "1m"},
                "overlap": overlap,
            }
        )
        jobs[spec.name] = LoadedJob(spec, f"job-{i:05d}.yaml", 1)
    return jobs


def requests_at(jobs: dict[str, LoadedJob], instant: datetime) -> list[RunRequest]:
    return [job.run_request(instant, RunTrigger.schedule) for job in jobs.values()]


def per_run_us(fn: Callable[[list[RunRequest]], object], runs: list[RunRequest]) -> float:
    """Microseconds per run of ``fn`` over ``runs`` in batches of BATCH."""
    start = time.perf_counter()
    for i in range(0, len(runs), BATCH):
        fn(runs[i : i + BATCH])
    return (time.perf_counter() - start) / len(runs) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/overlap.md")
    args = parser.parse_args()
    import logging

    import redis
    import structlog

    # The gate logs every skipped run; a bench measures the checks, not the console.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis")
        url = server.start()
        try:
            conn = redis.Redis.from_url(url)
            results = run(conn, Path(tmp), args.jobs)
        finally:
            server.stop()
    report = render(results, args.jobs)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    return 0


def run(conn: object, tmp: Path, count: int) -> dict[str, list[float]]:
    import redis

    assert isinstance(conn, redis.Redis)
    results: dict[str, list[float]] = {}
    allow = make_jobs(count, "allow")
    forbid = make_jobs(count, "forbid")
    for r in range(ROUNDS):
        conn.flushdb()
        store = Store(tmp / f"bench-{r}.db")
        gate = Gate(store=store, conn=conn, watcher="bench")
        dispatcher = Dispatcher(conn, owner="bench")
        gate.admit(requests_at(allow, T0 - timedelta(minutes=1))[:BATCH], allow, T0)  # warm-up
        gate.active.clear()
        runs = requests_at(allow, T0)
        results.setdefault("allow", []).append(
            per_run_us(lambda b, g=gate: g.admit(b, allow, T0), runs)
        )
        # forbid, idle: nothing active.
        gate.active.clear()
        runs = requests_at(forbid, T0 + timedelta(minutes=1))
        results.setdefault("forbid, idle", []).append(
            per_run_us(lambda b, g=gate: g.admit(b, forbid, T0), runs)
        )
        # enqueue (the reference): the same runs into RQ.
        results.setdefault("Dispatcher.enqueue (reference)", []).append(
            per_run_us(lambda b, d=dispatcher: d.enqueue(b, T0), runs)
        )
        # forbid, ended: the runs just sent are finished in RQ, results not yet read.
        pipe = conn.pipeline(transaction=False)
        for req in runs:
            pipe.hset(f"rq:job:{req.run_id}", "status", "finished")
        pipe.execute()
        later = requests_at(forbid, T0 + timedelta(minutes=2))
        results.setdefault("forbid, ended (RQ confirms)", []).append(
            per_run_us(lambda b, g=gate: g.admit(b, forbid, T0), later)
        )
        # forbid, running: everything admitted above is still queued in RQ.
        pipe = conn.pipeline(transaction=False)
        for req in later:
            pipe.hset(f"rq:job:{req.run_id}", "status", "queued")
        pipe.execute()
        skipped = requests_at(forbid, T0 + timedelta(minutes=3))
        with store.batch():
            results.setdefault("forbid, running (recorded skipped)", []).append(
                per_run_us(lambda b, g=gate: g.admit(b, forbid, T0), skipped)
            )
        store.close()
    return results


def render(results: dict[str, list[float]], count: int) -> str:
    lines = [
        "# Overlap and pause checks per dispatch",
        "",
        f"{count:,} jobs, batches of {BATCH:,} runs, median of {ROUNDS} rounds; private "
        "Redis on a Unix socket, SQLite on local disk; shared 2-vCPU machine.",
        "",
        "| case | µs per run |",
        "|---|---:|",
    ]
    for name, values in results.items():
        lines.append(f"| {name} | {statistics.median(values):.1f} |")
    lines += [
        "",
        "Command: `make bench-overlap` (`.venv/bin/python bench/overlap.py --jobs 10000`).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
