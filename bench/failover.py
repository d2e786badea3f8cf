"""Benchmark: from the leader's loss to the first dispatch by the new leader.

Run with ``make bench-failover`` (or ``.venv/bin/python bench/failover.py [--trials N]
[--lease 10s]``). It starts a private Redis (``EmbeddedRedis`` in a temporary folder) and
two ``scheduler run`` processes on one jobs dir holding a job due every second, each with
its own data dir, no workers (nothing needs to execute for this), and its own
``--watcher-id``, as on two machines: the same-host shortcut (a restarted watcher taking
a dead process's lease at once) is not what is measured here.

Each trial finds the leader from its log, stops it, and measures from the moment of the
loss (just before the signal, by this process's wall clock) to the first ``run.enqueued``
logged by the other watcher (its own timestamp: the run is in the queue by then). Then it
starts a fresh standby in place of the stopped one. Two modes:

- ``kill -9``: the lease must run out; expected between lease - lease/3 (the last renewal)
  and lease + the standby's poll (0.25 s), plus up to one second for the next instant;
- ``SIGTERM``: the leader releases the lease; expected within the poll and the next instant.

With ``--jobs N`` the jobs dir also holds N jobs due hours away (``bench/dispatch.py``'s
scenario B), so each trial also measures the takeover itself: from the loss to the new
leader's ``leader.resumed`` (every job back on schedule), and the CPU (user+system, all
threads) the new leader spent from the loss to then. ``--checkout DIR`` runs another
checkout's watchers (with its ``.venv`` when it has one), for a before/after.

The report (p50 / max per mode, each trial's figure) is printed and written to
``bench/results/failover.md`` (``failover-<N>.md`` with ``--jobs``). A benchmark, not a
test: it always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "bench"))

from benchkit import compile_checkout, proc_cpu  # noqa: E402
from dispatch import write_far_jobs  # noqa: E402

from scheduler.core.durations import parse_duration  # noqa: E402
from scheduler.engine.embedded import EmbeddedRedis  # noqa: E402

# Never executed (no workers): any importable task will do.
JOB = (
    "name: tick\ntask: tests.integration.e2e_tasks:fail\n"
    "schedule:\n  interval: 1s\noverlap: allow\n"
)
RESULTS = REPO / "bench" / "results" / "failover.md"


@dataclass(frozen=True)
class Setup:
    root: Path
    url: str
    lease: str
    checkout: Path
    #: The far jobs beside the one due every second (0: none, no takeover figures).
    jobs: int


@dataclass(frozen=True)
class Figures:
    leads: float  # seconds from the loss to the new leader's lease
    dispatches: float  # ... to its first dispatch
    resumed: float | None  # ... to its ``leader.resumed`` (with --jobs)
    takeover: float | None  # from its lease to its ``leader.resumed``
    cpu: float | None  # CPU seconds of the takeover (the event's, else from the loss)


class Watcher:
    def __init__(self, setup: Setup, name: str) -> None:
        self.name = name
        self.out = setup.root / f"{name}.out"
        venv = setup.checkout / ".venv" / "bin" / "python"
        python = str(venv) if setup.checkout != REPO and venv.exists() else sys.executable
        argv = [python, "-m", "scheduler", "run", "--jobs-dir", "jobs"]
        argv += ["--data-dir", f"data-{name}", "--redis-url", setup.url, "--workers", "0"]
        argv += ["--lease", setup.lease, "--watcher-id", name]
        env = {**os.environ, "PYTHONPATH": str(setup.checkout)}
        root = setup.root
        with self.out.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, cwd=root, env=env, stdout=out, stderr=subprocess.DEVNULL
            )

    def records(self) -> list[dict[str, Any]]:
        found = []
        for line in self.out.read_text(errors="replace").splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                found.append(value)
        return found

    def leads(self) -> bool:
        events = [r.get("event") for r in self.records()]
        events = [e for e in events if e in ("leader.acquired", "leader.lost", "leader.released")]
        return bool(events) and events[-1] == "leader.acquired"

    def first_after(self, event: str, t: float) -> float | None:
        """When this watcher first logged ``event`` at or after ``t`` (epoch seconds)."""
        for record in self.records():
            if record.get("event") == event:
                at = datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
                if at.timestamp() >= t:
                    return at.timestamp()
        return None


def wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise SystemExit(f"bench: timed out waiting for {what}")


def lost_leases(watchers: list[Watcher]) -> list[str]:
    """Every ``leader.lost`` any watcher logged, as "name: reason". None is expected: a
    killed leader logs nothing, a stopped one ``leader.released``, and a leader that lost
    its lease while it started or resumed 100,000 jobs would show here."""
    return [
        f"{w.name}: {r.get('reason')}"
        for w in watchers
        for r in w.records()
        if r.get("event") == "leader.lost"
    ]


def trial(setup: Setup, pair: list[Watcher], mode: str, n: int) -> Figures:
    """One loss of the leader and its figures; a fresh standby replaces it afterwards."""
    leader = wait(lambda: next((w for w in pair if w.leads()), None), 900, "a leader")
    other = next(w for w in pair if w is not leader)
    # Both started and the standby settled into polling; then the leader dispatching.
    for w in pair:
        wait(lambda w=w: w.first_after("watcher.started", 0), 900, f"{w.name} started")
    settle(other)
    wait(lambda: leader.first_after("run.enqueued", time.time() - 1.5), 30, "leader dispatching")
    cpu_before = proc_cpu(other.proc.pid)
    lost = time.time()
    leader.proc.send_signal(signal.SIGKILL if mode == "kill -9" else signal.SIGTERM)
    first = wait(lambda: other.first_after("run.enqueued", lost), 60, "the new leader's dispatch")
    acquired = other.first_after("leader.acquired", lost)
    assert acquired is not None
    resumed = cpu = None
    if setup.jobs:
        resumed = wait(lambda: other.first_after("leader.resumed", lost), 60, "its takeover")
        cpu = proc_cpu(other.proc.pid) - cpu_before
        event = next(r for r in reversed(other.records()) if r.get("event") == "leader.resumed")
        cpu = event.get("cpu_s", cpu)  # older checkouts do not log it
    leader.proc.wait(30)
    pair.remove(leader)
    fresh = Watcher(setup, f"w{n}")
    pair.append(fresh)
    return Figures(
        leads=acquired - lost,
        dispatches=first - lost,
        resumed=None if resumed is None else resumed - lost,
        takeover=None if resumed is None else resumed - acquired,
        cpu=cpu,
    )


def settle(standby: Watcher, timeout: float = 120) -> None:
    """Wait until the standby idles (under 5 % of a core over a second), as one in service
    does: right after its start it still writes its job cache and collects garbage."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = proc_cpu(standby.proc.pid)
        time.sleep(1.0)
        if proc_cpu(standby.proc.pid) - before < 0.05:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="trials per mode [5]")
    parser.add_argument("--lease", default="10s", help="the watchers' --lease [10s]")
    parser.add_argument("--jobs", type=int, default=0, help="far jobs besides the tick [0]")
    parser.add_argument("--checkout", type=Path, default=REPO, help="whose watchers [this]")
    args = parser.parse_args()
    compile_checkout(args.checkout)  # time the code as an install runs it
    lease_s = parse_duration(args.lease).total_seconds()
    results: dict[str, list[Figures]] = {"kill -9": [], "SIGTERM": []}
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
        root = Path(tmp)
        (root / "jobs").mkdir()
        (root / "jobs" / "tick.yaml").write_text(JOB)
        if args.jobs:
            write_far_jobs(root / "jobs" / "far", args.jobs, datetime.now(UTC), seed=1)
        server = EmbeddedRedis(root / "redis")
        url = server.start()
        setup = Setup(root, url, args.lease, args.checkout.resolve(), args.jobs)
        pair = [Watcher(setup, "w0"), Watcher(setup, "w1")]
        everyone = list(pair)
        n = 2
        try:
            for mode, figures in results.items():
                for _ in range(args.trials):
                    took = trial(setup, pair, mode, n)
                    everyone.append(pair[-1])
                    n += 1
                    figures.append(took)
                    extra = ""
                    if took.resumed is not None and took.takeover is not None:
                        extra = (
                            f", resumed after {took.resumed:.3f} s (takeover {took.takeover:.3f}"
                            f" s, {took.cpu or 0:.2f} s CPU)"
                        )
                    print(
                        f"{mode:8} lease {args.lease}: leads after {took.leads:.3f} s, "
                        f"first dispatch after {took.dispatches:.3f} s{extra}"
                    )
        finally:
            for w in pair:
                w.proc.terminate()
            for w in pair:
                w.proc.wait(30)
            server.stop()
        lost = lost_leases(everyone)
    report = render(results, args, lease_s, lost)
    path = RESULTS.with_name(f"failover-{args.jobs}.md") if args.jobs else RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report)
    print(report)


def render(
    results: dict[str, list[Figures]], args: argparse.Namespace, lease_s: float, lost: list[str]
) -> str:
    jobs = f"{args.jobs:,} jobs due hours away and " if args.jobs else ""
    who = "" if args.checkout.resolve() == REPO else f", watchers of `{args.checkout}`"
    header = ["leader lost by", "trials", "new leader: p50", "max", "first dispatch: p50", "max"]
    if args.jobs:
        header += ["resumed: p50", "takeover: p50", "max", "its CPU: p50"]
    header.append("each trial: leads / dispatches (s)")
    lines = [
        "# Failover: leader loss to the new leader's first dispatch",
        "",
        f"`make bench-failover` ({datetime.now().astimezone():%Y-%m-%d %H:%M %Z}), "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"two watchers on one Redis, `--lease {args.lease}`, {jobs}a job due every second"
        f"{who}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for mode, figures in results.items():
        leads = [f.leads for f in figures]
        sends = [f.dispatches for f in figures]
        row = [mode, str(len(figures)), f"{statistics.median(leads):.2f} s", f"{max(leads):.2f} s"]
        row += [f"{statistics.median(sends):.2f} s", f"{max(sends):.2f} s"]
        if args.jobs:
            done = [f.resumed or 0.0 for f in figures]
            took = [f.takeover or 0.0 for f in figures]
            cpu = [f.cpu or 0.0 for f in figures]
            row.append(f"{statistics.median(done):.2f} s")
            row += [f"{statistics.median(took):.2f} s", f"{max(took):.2f} s"]
            row.append(f"{statistics.median(cpu):.2f} s")
        row.append(", ".join(f"{f.leads:.2f} / {f.dispatches:.2f}" for f in figures))
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"kill -9: the lease ({lease_s:g} s) must run out; it was last renewed up to a third "
        "of it before the kill, and the standby asks every 0.25 s. SIGTERM: the leader "
        "deletes its lease on the way out, so the standby leads at its next poll. Either "
        "way the new leader sends the instants the handover spanned at once (late, within "
        "the grace); when none passed, its first dispatch waits for the job's next instant "
        "(up to 1 s here), which is why the two columns differ.",
        "",
        f"Leases lost (`leader.lost` in any watcher's log, each cold start included): "
        f"{len(lost)}{': ' + ', '.join(lost) if lost else ''}.",
        "",
    ]
    if args.jobs:
        lines[-1:-1] = [
            "",
            "Resumed: from the loss to the new leader's `leader.resumed` (every job back on "
            "schedule from the shared resume points); takeover: from its `leader.acquired` to "
            "then; its CPU: the event's `cpu_s` (the process's CPU during the takeover), or, "
            "for a checkout that does not log it, the process's CPU from the loss to then.",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
