"""Fault: a worker is killed (kill -9) in the middle of a task.

Two cases. Only the work horse dies (out of memory, say): the RQ worker sees it and RQ
marks the job failed. The whole worker dies with its horse (a lost machine): nothing
reports anything, and RQ alone would keep the job "started" until the worker's key expires
(90 s for a busy worker, 7 min idle), then call it abandoned. The watcher's reconciliation
must close the run as failed within seconds, from the worker's missed heartbeats.

Invariant: the killed run is recorded failed (with the reason) and never completed; every
other instant ran once, or was skipped by the overlap policy while the killed run held
the slot; nothing ran twice.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.core.runs import RunStatus
from scheduler.engine.embedded import EmbeddedRedis
from scheduler.store import RunRow
from tests.faults import fault_tasks
from tests.faults.harness import (
    assert_each_instant_once,
    fleet,
    job_file,
    kill9,
    merged_rows,
    settle,
)
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import scheduler_cli, write

EVERY = timedelta(seconds=10)
#: From the kill to the failed record: 3 missed beats of 5 s, slack, a reconcile pass.
DETECTED_WITHIN = {"horse": 20.0, "worker_and_horse": 35.0}


def _first_start(out: Path) -> list[tuple[str, int]]:
    """[(run id, horse pid)] of the first run that wrote its ``start`` line, or []."""
    starts = [line.split() for line in _lines(out) if line.split()[1] == "start"]
    return [(words[0], int(words[2])) for words in starts[:1]]


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])


@pytest.mark.parametrize("victim", ["horse", "worker_and_horse"])
def test_worker_killed_mid_task_is_recorded_failed_quickly(
    tmp_path: Path, redis_server: EmbeddedRedis, victim: str
) -> None:
    """kill -9 mid-task: the run is failed within seconds, never completed, never doubled."""
    assert redis_server.url is not None
    out = tmp_path / "out.txt"
    with fleet(tmp_path, redis_server.url) as group:
        watcher = group.start(workers=2)
        path = write(
            tmp_path / "jobs" / "slow.yaml",
            job_file("slow", out, "interval: 10s", seconds=6),
        )
        [(killed_id, horse)] = wait_for(
            lambda: _first_start(out), timeout=25, message="a run started"
        )
        worker = parent_of(horse)
        assert worker in watcher.worker_pids()
        if victim == "worker_and_horse":
            kill9(worker)
        kill9(horse)
        killed_at = time.monotonic()

        def failed() -> RunRow | None:
            row = merged_rows([watcher.data], "slow").get(killed_id)
            return row if row is not None and row.status is RunStatus.failed else None

        row = wait_for(failed, timeout=DETECTED_WITHIN[victim] + 5, message="the run failed")
        took = time.monotonic() - killed_at
        assert took <= DETECTED_WITHIN[victim], f"detected after {took:.1f} s"
        assert row.error
        if victim == "worker_and_horse":
            assert "worker" in row.error

        # The surviving worker runs the next instants.
        wait_for(
            lambda: any(rid != killed_id for rid in fault_tasks.executions(out)),
            timeout=25,
            message="a later run completed on the other worker",
        )
        mark = watcher.mark()
        through = datetime.now(UTC) - EVERY
        path.unlink()
        watcher.wait_event("config.job_removed", since=mark, job="slow")
        rows = settle([watcher.data], "slow", timeout=30)
    assert fault_tasks.executions(out)[killed_id] == 0
    assert fault_tasks.started(out)[killed_id] == 1
    verdict = assert_each_instant_once(
        rows,
        out,
        every=EVERY,
        through=through.replace(second=through.second // 10 * 10, microsecond=0),
        allow=lambda r: r.status is not RunStatus.failed or r.run_id == killed_id,
    )
    assert verdict.failed == 1


@pytest.mark.parametrize("victim", ["horse", "worker_and_horse"])
def test_worker_killed_mid_task_is_retried_when_the_job_has_retries(
    tmp_path: Path, redis_server: EmbeddedRedis, victim: str
) -> None:
    """With ``retries``, the killed attempt is retried (by RQ when only the horse died, by
    the watcher's reconciliation when the whole worker did) and the run completes once."""
    assert redis_server.url is not None
    out = tmp_path / "out.txt"
    with fleet(tmp_path, redis_server.url) as group:
        watcher = group.start(workers=2)
        retries = "retries:\n  max: 1\n  backoff: 1s\n"
        path = write(
            tmp_path / "jobs" / "slow.yaml",
            job_file("slow", out, "interval: 1h", seconds=4, extra=retries + "overlap: allow\n"),
        )
        since = watcher.mark()
        done = scheduler_trigger(tmp_path, redis_server.url)
        [(killed_id, horse)] = wait_for(
            lambda: _first_start(out), timeout=25, message="the run started"
        )
        assert killed_id == done
        worker = parent_of(horse)
        if victim == "worker_and_horse":
            kill9(worker)
        kill9(horse)

        def succeeded() -> RunRow | None:
            row = merged_rows([watcher.data], "slow").get(killed_id)
            return row if row is not None and row.status is RunStatus.succeeded else None

        row = wait_for(succeeded, timeout=DETECTED_WITHIN[victim] + 15, message="the retry")
        assert row.attempts == 2
        assert fault_tasks.started(out)[killed_id] == 2
        assert fault_tasks.executions(out)[killed_id] == 1
        if victim == "worker_and_horse":  # the reconciliation retried it, and says so
            watcher.wait_event("run.retrying", since=since, run_id=killed_id, reconciled=True)
        path.unlink()


def scheduler_trigger(root: Path, url: str) -> str:
    """``scheduler trigger slow``: one manual run now; its run id."""
    done = scheduler_cli(
        root, "trigger", "slow", "--jobs-dir", "jobs", "--redis-url", url, "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    run_id: str = json.loads(done.stdout)["run_id"]
    return run_id


def _lines(out: Path) -> list[str]:
    try:
        return [line for line in out.read_text().splitlines() if len(line.split()) >= 3]
    except FileNotFoundError:
        return []
