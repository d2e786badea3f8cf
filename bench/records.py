"""The records at size: 10 million runs across 10,000 jobs, and what reading them costs.

Generates the rows straight into a file made by the real Store (its schema, indexes and
auto_vacuum), with executemany in big transactions, then measures, each the median of
several tries:

- ``scheduler history NAME --limit 20`` as a process (start-up included), target < 100 ms;
- ``scheduler status`` over 10,000 job definitions, target < 500 ms, and the records part
  of it alone (the last run of every job);
- the web page's typical queries (last run per job, one job's history page with filters,
  outcomes per day), target < 100 ms each;
- the file's size and bytes per run (per table and index where SQLite has ``dbstat``), and
  the disk a job costs under the default retention at common frequencies;
- a prune of a million runs: its speed, and the longest write lock one batch holds.

``make bench-records`` (``--rows``/``--jobs`` to change the size; ``--reuse`` keeps a file
generated before with the same size). Results: bench/results/records.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.benchkit import REPO, machine_info, md_table, pct, publish
from scheduler.core.retention import DEFAULT_RETENTION, Retention
from scheduler.engine.pruning import BATCH, JobRules, prune_now
from scheduler.store import Store

END = datetime(2026, 12, 1, tzinfo=UTC)
EVERY = timedelta(hours=2)  # each job's runs: 1,000 of them span ~83 days
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/app/jobs/report.py", line 41, in run\n'
    "    rows = fetch(source)\nRuntimeError: upstream answered 503"
)
COLUMNS = (
    "run_id, job, scheduled_for, trigger, status, enqueued_at, started_at, finished_at,"
    " duration_s, error, traceback, result, worker, note, canary, reason, attempts"
)


def job_name(j: int) -> str:
    return f"job-{j:05d}"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def rows_of(
    j: int, per_job: int, end_at: datetime = END, name_of: Callable[[int], str] = job_name
) -> list[tuple[object, ...]]:
    """One job's runs, oldest first: 90% succeeded, 5% failed (with a traceback), 5% skipped."""
    name = name_of(j)
    end = end_at.timestamp() - j  # jobs a second apart
    out = []
    for k in range(per_job):
        t = end - (per_job - k) * EVERY.total_seconds()
        at = _iso(t)
        kind = k % 20
        if kind == 0:
            row = (
                f"{name}--{at[:19].replace('-', '').replace(':', '')}Z", name, at, "schedule",
                "failed", _iso(t + 0.004), _iso(t + 0.3), _iso(t + 2.1), 1.8,
                "RuntimeError: upstream answered 503", TRACEBACK, None, "worker-1:4242", None,
                0, None, 1,
            )  # fmt: skip
        elif kind == 1:
            row = (
                f"{name}--{at[:19].replace('-', '').replace(':', '')}Z", name, at, "schedule",
                "skipped", None, None, None, None, None, None, None, None,
                "previous run still active", 0, "overlap", 1,
            )  # fmt: skip
        else:
            row = (
                f"{name}--{at[:19].replace('-', '').replace(':', '')}Z", name, at, "schedule",
                "succeeded", _iso(t + 0.004), _iso(t + 0.3), _iso(t + 1.5), 1.2, None, None,
                '{"sent": 3}', "worker-1:4242", None, 0, None, 1,
            )  # fmt: skip
        out.append(row)
    return out


def generate(
    path: Path,
    rows: int,
    jobs: int,
    end_at: datetime = END,
    *,
    name_of: Callable[[int], str] = job_name,
    add: bool = False,
) -> float:
    """Fill a new records file (``add``: add the runs to an existing one, whose job states
    a watcher wrote, none written here); returns the seconds it took."""
    start = time.perf_counter()
    if not add:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    Store(path).close()  # the real schema, indexes and auto_vacuum
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA journal_mode=OFF")  # a bulk load: nothing to roll back to
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    # The secondary indexes are built once at the end (faster than row by row); the UNIQUE
    # ones stay, and rows come in their order (job, then time), so they only append.
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    per_job = rows // jobs
    insert = f"INSERT INTO runs ({COLUMNS}) VALUES ({', '.join('?' * 17)})"
    report = max(500, jobs // 20 // 500 * 500)  # some twenty lines, whatever the size
    conn.execute("BEGIN")
    for j in range(jobs):
        conn.executemany(insert, rows_of(j, per_job, end_at, name_of))
        if j % 500 == 499:
            conn.execute("COMMIT")
            conn.execute("BEGIN")
        if j % report == report - 1:
            print(f"  {(j + 1) * per_job:,} rows, {time.perf_counter() - start:.0f} s", flush=True)
    if not add:
        conn.execute(
            "INSERT INTO job_state (job, last_scheduled, next_run, definition_hash, enabled,"
            " updated_at) SELECT job, MAX(scheduled_for), MAX(scheduled_for), 'x', 1,"
            " MAX(scheduled_for) FROM runs GROUP BY job"
        )
    conn.execute("COMMIT")
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return time.perf_counter() - start


def median_s(call: Callable[[], object], tries: int) -> float:
    call()  # warm: the page cache, as on a machine that serves these pages
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cli_s(args: list[str], cwd: Path, tries: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [str(Path(sys.executable).parent / "scheduler"), *args]

    def run() -> None:
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.decode()}")

    return median_s(run, tries)


def write_jobs(jobs_dir: Path, jobs: int) -> None:
    """``jobs`` job definitions, 500 to a file (YAML documents), as the watcher would load."""
    shutil.rmtree(jobs_dir, ignore_errors=True)
    jobs_dir.mkdir(parents=True)
    for start in range(0, jobs, 500):
        docs = [
            f"name: {job_name(j)}\ntask: examples.bots:birthday\nschedule:\n  interval: 2h\n"
            for j in range(start, min(jobs, start + 500))
        ]
        (jobs_dir / f"jobs-{start:05d}.yaml").write_text("---\n".join(docs))


def web_queries(path: Path) -> dict[str, Callable[[], object]]:
    """The web page's typical reads, on a read-only connection as the web process has."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    store = Store.open_readonly(path)
    job = job_name(5000)
    since = (END - timedelta(days=90)).isoformat()
    day = (END - timedelta(days=1)).isoformat()
    return {
        "last run per job (Store.last_runs, 10,000 jobs)": store.last_runs,
        "one job's history page (50 rows)": lambda: store.history(job=job, limit=51),
        "one job's history page, status failed": lambda: conn.execute(
            "SELECT * FROM runs WHERE job = ? AND status = ?"
            " ORDER BY scheduled_for DESC, id DESC LIMIT 51",
            (job, "failed"),
        ).fetchall(),
        "one job's history page, status + 30-day window": lambda: conn.execute(
            "SELECT * FROM runs WHERE job = ? AND status = ? AND scheduled_for >= ?"
            " AND scheduled_for < ? ORDER BY scheduled_for DESC, id DESC LIMIT 51",
            (job, "succeeded", (END - timedelta(days=30)).isoformat(), END.isoformat()),
        ).fetchall(),
        "one job's outcomes per day (90 days)": lambda: conn.execute(
            "SELECT substr(scheduled_for, 1, 10) AS day, status, COUNT(*) FROM runs"
            " WHERE job = ? AND scheduled_for >= ? GROUP BY day, status ORDER BY day",
            (job, since),
        ).fetchall(),
        "one job's last 100 durations (plot)": lambda: conn.execute(
            "SELECT * FROM runs WHERE job = ? AND duration_s IS NOT NULL"
            " ORDER BY scheduled_for DESC, id DESC LIMIT 100",
            (job,),
        ).fetchall(),
        "every run of the last 24 h (timeline, all jobs)": lambda: conn.execute(
            "SELECT * FROM runs WHERE scheduled_for >= ? AND scheduled_for < ?"
            " ORDER BY scheduled_for LIMIT 20000",
            (day, END.isoformat()),
        ).fetchall(),
    }


def sizes(path: Path) -> list[tuple[str, int]]:
    """Bytes per table and index (``dbstat``), largest first; empty without dbstat."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
    return [(name, int(size)) for name, size in rows]


def prune_million(path: Path, rows: int, per_job: int) -> tuple[int, float, list[float]]:
    """Prune the oldest ~1M runs on a copy; (runs removed, seconds, each batch's seconds)."""
    copy = path.with_name("prune-copy.db")
    shutil.copyfile(path, copy)
    share = min(0.9, 1_000_000 / rows)
    keep = EVERY * (per_job * (1 - share))  # the oldest `share` of every job's runs go
    rule = Retention(keep=keep, keep_failed=keep, keep_last=0)
    batches: list[float] = []
    with Store(copy) as store:
        real_delete = store.prune.delete

        def timed(job: str, cut: object, limit: int) -> int:
            start = time.perf_counter()
            n = real_delete(job, cut, limit)  # type: ignore[arg-type]
            batches.append(time.perf_counter() - start)
            return n

        store.prune.delete = timed  # type: ignore[method-assign]
        start = time.perf_counter()
        report = prune_now(store, JobRules({}, rule), END, dry_run=False)
        took = time.perf_counter() - start
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return sum(p.total for p in report.jobs), took, batches


def disk_cost(bytes_per_run: float) -> list[list[str]]:
    """Per job, under the default retention: runs kept and bytes, at each frequency (5%
    failed, kept longer)."""
    rule = DEFAULT_RETENTION
    out = []
    for label, every in (
        ("every second", timedelta(seconds=1)),
        ("every minute", timedelta(minutes=1)),
        ("every 5 minutes", timedelta(minutes=5)),
        ("hourly", timedelta(hours=1)),
        ("daily", timedelta(days=1)),
    ):
        kept = rule.keep / every * 0.95 + rule.keep_failed / every * 0.05
        kept = max(kept, rule.keep_last)
        out.append([label, f"{kept:,.0f}", _mb(kept * bytes_per_run)])
    return out


def row(label: str, seconds: float, target: float | None) -> list[str]:
    if target is None:
        return [label, f"{seconds * 1000:.1f}", "-", "-"]
    return [label, f"{seconds * 1000:.1f}", f"< {target * 1000:.0f} ms", f"{seconds / target:.2f}"]


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n / 1e3:,.0f} kB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=REPO / "bench" / ".records")
    parser.add_argument("--reuse", action="store_true", help="keep a file generated before")
    parser.add_argument("--no-write", action="store_true", help="do not write the results")
    args = parser.parse_args()
    data = args.dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    path = data / "scheduler.db"
    stamp = args.dir / f"generated-{args.rows}-{args.jobs}"
    took = None
    if not (args.reuse and stamp.exists() and path.exists()):
        print(f"generating {args.rows:,} runs of {args.jobs:,} jobs in {path} ...", flush=True)
        stamp.unlink(missing_ok=True)
        took = generate(path, args.rows, args.jobs)
        stamp.write_text("")
    print("migrating (a file generated by an older schema gets its new indexes) ...", flush=True)
    Store(path).close()
    write_jobs(args.dir / "jobs.d", args.jobs)
    size = path.stat().st_size
    runs = args.rows // args.jobs * args.jobs
    per_run = size / runs
    job = job_name(args.jobs // 2)
    d = ["--data-dir", str(data)]
    status = ["status", "--jobs-dir", "jobs.d", "--format", "json", *d]
    figures: list[tuple[str, float, float | None]] = [
        ("`scheduler history NAME` (process)", cli_s(["history", job, *d], args.dir, 7), 0.1),
        (
            "`scheduler history NAME --status failed`",
            cli_s(["history", job, "--status", "failed", *d], args.dir, 7),
            0.1,
        ),
        (f"`scheduler status` (process, {args.jobs:,} jobs)", cli_s(status, args.dir, 3), 0.5),
        ("`scheduler --help` (start-up alone, reference)", cli_s(["--help"], args.dir, 7), None),
    ]

    def status_records() -> None:
        with Store.open_readonly(path) as store:
            store.job_states()
            store.last_runs()

    figures.append(("`status`'s records part (job states, last run per job)",
                    median_s(status_records, 5), 0.5))  # fmt: skip
    for label, call in web_queries(path).items():
        figures.append((label, median_s(call, 7), 0.1))
    removed, prune_s, batches = prune_million(path, runs, runs // args.jobs)
    lines = [
        "# Records at size",
        "",
        f"{runs:,} runs across {args.jobs:,} jobs ({runs // args.jobs:,} each, one every 2 h),"
        " 90% succeeded, 5% failed with a traceback, 5% skipped; a file made by the real Store "
        "(schema v5, WAL, auto_vacuum=INCREMENTAL). Each figure is the median of 3 to 7 tries "
        "after one warm-up (the file in the page cache); shared 2-vCPU machine.",
        "",
        md_table(["what", "ms", "target", "ratio to target"], [row(*f) for f in figures]),
        "",
        f"File: {size / 1e9:.2f} GB, **{per_run:.0f} bytes per run** (indexes included)"
        + ("" if took is None else f"; generated in {took:.0f} s")
        + ".",
        "",
    ]
    parts = sizes(path)
    if parts:
        lines += [
            "Where the bytes go (`dbstat`):",
            "",
            md_table(
                ["table or index", "bytes per run", "share"],
                [[n, f"{b / runs:.0f}", f"{b / size:.0%}"] for n, b in parts if b / size >= 0.005],
            ),
            "",
        ]
    lines += [
        "Disk per job under the default retention (keep 30d, keep_failed 90d, keep_last 100;"
        f" 5% failed) at {per_run:.0f} bytes per run:",
        "",
        md_table(["a job that runs", "runs kept", "disk"], disk_cost(per_run)),
        "",
        f"Prune: {removed:,} runs removed in {prune_s:.1f} s ({removed / prune_s:,.0f} runs/s),"
        f" in batches of {BATCH} (each one transaction: how long the write lock is held):"
        f" p50 {pct(batches, 0.5) * 1000:.1f} ms, p99 {pct(batches, 0.99) * 1000:.1f} ms,"
        f" max {max(batches) * 1000:.1f} ms (a WAL checkpoint's fsync lands in some batch).",
        "",
        "Command: `make bench-records` (`.venv/bin/python bench/records.py --rows "
        f"{args.rows} --jobs {args.jobs}`).",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in machine_info()),
        "",
    ]
    publish("\n".join(lines), REPO / "bench" / "results" / "records.md", write=not args.no_write)


if __name__ == "__main__":
    main()
