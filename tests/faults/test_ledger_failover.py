"""Fault: after a failover, every watcher's records tell the whole story (one ledger).

Two watchers share one Redis, each with its own data dir (``--lease 3s``), and one worker
of their own (``scheduler worker``, so killing a watcher kills no worker). A job runs every
second and its task takes 1.5 s, so ``overlap: forbid`` skips about every other instant.
The leader is killed (kill -9) while a run is in progress, the other takes over, and later
the killed watcher comes back on its old data dir, as a standby.

Invariant: once it has caught up, ``scheduler history tick --format json`` on both data
dirs lists the same runs with the same statuses: those the dead leader recorded before it
died (skips included, which only ever were in its SQLite), those the survivor recorded
after, and the run that was in progress at the kill, which ended while its first watcher
was away, closed on both. No run that ended is left ``started`` or ``enqueued``; each
instant ran at most once, and every one has its row.

The phases are shorter than the issue's (12 s, then 14 s): what they must contain is a few
runs and skips on each side of the kill, and a run in flight at the kill.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from scheduler.core.runs import RunStatus
from scheduler.engine.embedded import EmbeddedRedis
from tests.faults import fault_tasks
from tests.faults.harness import (
    assert_each_instant_once,
    fleet,
    job_file,
    stop_job,
    wait_done,
    wait_more_done,
)
from tests.faults.test_failover import the_leader
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import child_env, runs, scheduler_cli, write

LEASE = "3s"
#: The dead leader's lease runs out, then the standby's next poll takes it.
TAKEOVER_WITHIN = 3.0 + 1.5


@contextmanager
def one_worker(root: Path, redis_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """``scheduler worker default`` on ``redis_url``, stopped (SIGTERM) at the end."""
    with (root / "worker.out").open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scheduler", "worker", "default", "--redis-url", redis_url],
            cwd=root,
            env=child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def in_progress(out: Path) -> set[str]:
    """Runs whose task has started and not finished yet (per the task's own lines)."""
    return set(fault_tasks.started(out)) - set(fault_tasks.executions(out))


def ledger(data: Path) -> dict[str, str]:
    """run id -> status of every run of ``tick`` in ``data``'s records."""
    return {row.run_id: str(row.status) for row in runs(data, "tick")}


def history_json(root: Path, data: Path) -> dict[str, str]:
    """run id -> status, as ``scheduler history tick --format json`` prints them."""
    done = scheduler_cli(
        root, "history", "tick", "--format", "json", "--limit", "1000", "--data-dir", str(data)
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    rows = payload["runs"] if isinstance(payload, dict) else payload
    return {row["run_id"]: row["status"] for row in rows}


def test_after_a_failover_and_a_return_both_data_dirs_hold_the_same_ledger(
    tmp_path: Path, redis_server: EmbeddedRedis
) -> None:
    """kill -9 the leader mid-run, let the other lead, bring the first back: one ledger."""
    assert redis_server.url is not None
    out = tmp_path / "out.txt"
    with fleet(tmp_path, redis_server.url) as group, one_worker(tmp_path, redis_server.url):
        first = group.start("a", data="data-a", lease=LEASE, watcher_id="a", workers=0)
        second = group.start("b", data="data-b", lease=LEASE, watcher_id="b", workers=0)
        path = write(
            tmp_path / "jobs" / "tick.yaml",
            job_file("tick", out, "interval: 1s", seconds=1.5),
        )
        leader = the_leader([first, second])
        standby = second if leader is first else first

        # The leader's phase: runs done and instants skipped, then kill it mid-run.
        wait_done(out, 3, timeout=20)
        wait_for(lambda: in_progress(out), timeout=10, message="a run in progress")
        open_at_kill = in_progress(out)
        leader.kill9()
        wait_for(standby.leading, timeout=TAKEOVER_WITHIN + 5, message="the standby leading")

        # The survivor's phase: it dispatches, skips, and the run in flight at the kill ends.
        wait_more_done(out, 3, timeout=20)
        assert open_at_kill <= set(fault_tasks.executions(out))

        # The killed watcher comes back on its data dir, as a standby, and catches up.
        back = group.start(
            f"{leader.name}-back",
            data=leader.data_arg,
            lease=LEASE,
            watcher_id=leader.watcher_id,
            workers=0,
        )
        back.wait_event("leader.standby", timeout=10)
        wait_more_done(out, 2, timeout=15)
        assert not back.leading()

        rows, through = stop_job(path, [standby, back], "tick")

        def same() -> bool:
            mine, theirs = ledger(leader.data), ledger(standby.data)
            return bool(mine) and mine == theirs

        wait_for(
            same,
            timeout=15,
            message=lambda: (
                "the same ledger in both data dirs; only in the returned one: "
                f"{sorted(set(ledger(leader.data).items()) - set(ledger(standby.data).items()))}"
                f", only in the survivor's: "
                f"{sorted(set(ledger(standby.data).items()) - set(ledger(leader.data).items()))}"
            ),
        )

        seen = [history_json(tmp_path, w.data) for w in (leader, standby)]
        assert seen[0] == seen[1]
        statuses = set(seen[0].values())
        assert not statuses & {str(RunStatus.started), str(RunStatus.enqueued)}, seen[0]
        assert str(RunStatus.skipped) in statuses  # overlap: forbid skipped some instants
        for run_id in open_at_kill:
            assert seen[0][run_id] == str(RunStatus.succeeded)
        verdict = assert_each_instant_once(rows, out, every=timedelta(seconds=1), through=through)
        assert verdict.failed == 0, verdict
