"""The fault suite's harness: watchers as real processes, a Redis of the test's own, and the
invariant every test asserts.

The invariant: each scheduled instant of a job is executed at most once, and at least
once unless the ledger says it was skipped or missed. It is checked on two independent
records: the SQLite rows (merged over every watcher's data dir) and the task's own side
effect (``fault_tasks.record`` appends one ``<run id> done`` line per execution).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.core.policies import Reason
from scheduler.core.runs import RunStatus, RunTrigger
from scheduler.store import RunRow
from tests.faults import fault_tasks
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import WatcherProcess, child_env, runs

TASK = "tests.faults.fault_tasks:record"
#: A run in one of these has ended.
FINAL = {RunStatus.succeeded, RunStatus.failed, RunStatus.skipped, RunStatus.missed}
#: Most informative first, when stores disagree (a standby's store may lag).
_RANK = {
    RunStatus.succeeded: 0,
    RunStatus.failed: 1,
    RunStatus.missed: 2,
    RunStatus.skipped: 3,
    RunStatus.started: 4,
    RunStatus.enqueued: 5,
}


def job_file(name: str, out: Path, schedule: str, *, seconds: float = 0, extra: str = "") -> str:
    """A job recording each execution in ``out``; ``schedule`` is one YAML line."""
    params = f"  path: {str(out)!r}\n" + (f"  seconds: {seconds}\n" if seconds else "")
    return f"name: {name}\ntask: {TASK}\nparams:\n{params}schedule:\n  {schedule}\n{extra}"


class FaultWatcher(WatcherProcess):
    """``scheduler run`` with the flags the fault tests need (lease, id) and extra env."""

    def __init__(
        self,
        root: Path,
        redis_url: str,
        *,
        name: str,
        data: str = "data",
        workers: int = 1,
        lease: str | None = None,
        watcher_id: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(root, redis_url, name=name, data=data, workers=workers)
        self.extra = [*(["--lease", lease] if lease else [])]
        self.extra += ["--watcher-id", watcher_id] if watcher_id else []
        self.watcher_id = watcher_id
        self.env = env or {}

    def start(self) -> None:
        self.jobs.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "scheduler", "run", "--jobs-dir", "jobs"]
        argv += ["--data-dir", self.data_arg, "--redis-url", self.redis_url]
        argv += ["--workers", str(self.workers), *self.extra]
        with self.out.open("ab") as out, self.err.open("ab") as err:
            self.proc = subprocess.Popen(
                argv,
                cwd=self.root,
                env={**child_env(), **self.env},
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )

    def leading(self) -> bool:
        """True once this process logged ``leader.acquired`` and no later ``leader.lost``."""
        events = [str(r.get("event", "")) for r in self.records()]
        events = [e for e in events if e.startswith("leader.")]
        gained = [i for i, e in enumerate(events) if e == "leader.acquired"]
        lost = [i for i, e in enumerate(events) if e in ("leader.lost", "leader.released")]
        return bool(gained) and (not lost or gained[-1] > lost[-1])


@dataclass
class Fleet:
    """Watchers started in one folder against one Redis; all are stopped at the end."""

    root: Path
    redis_url: str
    started: list[FaultWatcher] = field(default_factory=list)

    def start(self, name: str = "watcher", *, wait: bool = True, **kwargs: object) -> FaultWatcher:
        proc = FaultWatcher(self.root, self.redis_url, name=name, **kwargs)  # type: ignore[arg-type]
        self.started.append(proc)
        proc.start()
        if wait:
            proc.wait_started(timeout=30)
        return proc

    def close(self) -> None:
        for proc in reversed(self.started):
            proc.close()


@contextlib.contextmanager
def fleet(root: Path, redis_url: str) -> Iterator[Fleet]:
    group = Fleet(root, redis_url)
    try:
        yield group
    finally:
        group.close()


# --- the ledger ------------------------------------------------------------------------


def merged_rows(data_dirs: Iterable[Path], job: str) -> dict[str, RunRow]:
    """Every run of ``job`` in any of the stores, the most advanced status winning."""
    best: dict[str, RunRow] = {}
    for data in data_dirs:
        for row in runs(data, job):
            seen = best.get(row.run_id)
            if seen is None or _RANK[row.status] < _RANK[seen.status]:
                best[row.run_id] = row
    return best


def settle(data_dirs: list[Path], job: str, *, timeout: float = 30) -> dict[str, RunRow]:
    """Wait until every run of ``job`` has ended (in the merged view); return them."""

    def check() -> dict[str, RunRow]:
        rows = merged_rows(data_dirs, job)
        return rows if rows and all(r.status in FINAL for r in rows.values()) else {}

    return wait_for(
        check,
        timeout=timeout,
        message=lambda: (
            "every run ended: "
            + str(
                sorted(
                    (r.run_id, str(r.status))
                    for r in merged_rows(data_dirs, job).values()
                    if r.status not in FINAL
                )
            )
        ),
    )


def stop_job(
    path: Path, watchers: list[FaultWatcher], job: str, *, timeout: float = 30
) -> tuple[dict[str, RunRow], datetime]:
    """End the test's schedule: delete the job file, wait until every running watcher has
    dropped the job and every run has ended. Returns (the runs, the last whole second that
    the schedule surely reached before the deletion: ``through`` for the invariant)."""
    marks = [(w, w.mark()) for w in watchers if w.running]
    through = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    path.unlink()
    for watcher, since in marks:
        watcher.wait_event("config.job_removed", since=since, job=job)
    return settle([w.data for w in watchers], job, timeout=timeout), through


def wait_done(out: Path, count: int, *, timeout: float = 15, what: str = "runs") -> None:
    """Wait until ``count`` executions have completed in all (``done`` lines in ``out``)."""
    wait_for(
        lambda: sum(fault_tasks.executions(out).values()) >= count,
        timeout=timeout,
        message=f"{count} completed {what}",
    )


def wait_more_done(out: Path, more: int, *, timeout: float = 15, what: str = "runs") -> None:
    """Wait until ``more`` executions complete beyond those already done."""
    wait_done(out, sum(fault_tasks.executions(out).values()) + more, timeout=timeout, what=what)


@dataclass(frozen=True)
class Verdict:
    executed: int
    missed: int
    skipped: int
    failed: int
    instants: int


def ran_or_overlap_skipped(r: RunRow) -> bool:
    """A row a records fault must not explain away: not failed, and skipped only by the
    overlap rule (a 1 s job whose run outlasts its second)."""
    return r.status is not RunStatus.failed and (
        r.status is not RunStatus.skipped or r.reason == Reason.overlap
    )


def assert_each_instant_once(
    rows: dict[str, RunRow],
    out: Path,
    *,
    every: timedelta | None = None,
    expected: list[datetime] | None = None,
    through: datetime | None = None,
    allow: Callable[[RunRow], bool] = lambda row: row.status is not RunStatus.failed,
) -> Verdict:
    """The invariant, on the records and on the side effect.

    - at most once: no run id has more than one ``done`` line, and no instant two rows;
    - at least once: every instant of the schedule (``expected``, or the grid ``every``
      from the first recorded instant to ``through``) has a row, and a row that is not
      skipped or missed has its ``done`` line, a skipped or missed one none;
    - nothing ran unrecorded: every ``done`` line names a recorded run.
    """
    done = fault_tasks.executions(out)
    scheduled = [r for r in rows.values() if r.trigger is not RunTrigger.manual]
    by_instant = Counter(r.scheduled_for for r in scheduled)
    doubled = {t: n for t, n in by_instant.items() if n > 1}
    assert not doubled, f"instants with two runs: {doubled}"
    twice = {rid: n for rid, n in done.items() if n > 1}
    assert not twice, f"executed more than once: {twice}"
    unknown = set(done) - set(rows)
    assert not unknown, f"executed without a record: {sorted(unknown)}"
    if expected is None:
        assert every is not None
        assert through is not None
        first = min(by_instant)
        count = int((through - first) / every) + 1
        expected = [first + k * every for k in range(count)]
    missing = sorted(set(expected) - set(by_instant))
    assert not missing, f"instants with no record at all (silent gaps): {missing}"
    verdict = Counter[str]()
    for row in scheduled:
        ran = done.get(row.run_id, 0)
        assert allow(row), f"unexpected outcome {row.status} for {row.run_id}: {row.error}"
        if row.status is RunStatus.succeeded:
            assert ran == 1, f"{row.run_id} recorded succeeded but its side effect is missing"
            verdict["executed"] += 1
        elif row.status in (RunStatus.missed, RunStatus.skipped):
            assert ran == 0, f"{row.run_id} recorded {row.status} but it ran"
            verdict[str(row.status)] += 1
        else:
            assert row.status is RunStatus.failed, f"{row.run_id} did not end: {row.status}"
            verdict["failed"] += 1
    return Verdict(
        executed=verdict["executed"],
        missed=verdict["missed"],
        skipped=verdict["skipped"],
        failed=verdict["failed"],
        instants=len(by_instant),
    )


def kill9(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 9)
