"""Fault: a save that shows the job gone for a moment (the file truncated before it is written,
or deleted and written anew, as some editors and ``git checkout`` do).

The watcher, in this process on a clock the test moves, reads the file in that moment and
removes the job; the save completes and the job is back. Invariant: the instant that fell
due while the job was briefly gone still runs, once, and no other instant is added. A job
gone for longer (``RESTORE_WITHIN``) was really removed: it starts afresh when it is back,
and the instants of its absence never run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.engine.reload import RESTORE_WITHIN
from tests.faults import fault_tasks
from tests.faults.harness import assert_each_instant_once, job_file, merged_rows
from tests.faults.inprocess import InProcess, Start, succeeded_at
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import write

START = datetime(2026, 1, 1, 0, 0, 58, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
FIRST = START + timedelta(seconds=2)  # 00:01:00


def truncate(path: Path) -> None:
    path.write_text("", encoding="utf-8")


def delete(path: Path) -> None:
    path.unlink()


def _ticking(in_process: Start, tmp_path: Path) -> tuple[InProcess, Path, Path, str]:
    """The watcher with ``tick`` (every minute) after its first run: (run, out, file, text)."""
    out = tmp_path / "out.txt"
    path = tmp_path / "jobs" / "tick.yaml"
    text = job_file("tick", out, "interval: 1m")
    write(path, text)
    run = in_process(START)
    _run_at(run, FIRST)
    return run, out, path, text


def _run_at(run: InProcess, instant: datetime) -> None:
    """Move the clock to just before ``instant`` and wait for the tick run there to succeed."""
    run.move_to(instant - timedelta(seconds=0.6))
    wait_for(
        lambda: succeeded_at(run, "tick", instant),
        timeout=15,
        message=f"the tick run at {instant.isoformat()}",
    )


def _gone(run: InProcess, path: Path, how: Callable[[Path], None]) -> None:
    how(path)
    wait_for(lambda: "tick" not in run.watcher.config.jobs, timeout=10, message="tick removed")


def _back(run: InProcess, path: Path, text: str) -> None:
    write(path, text)
    wait_for(lambda: "tick" in run.watcher.config.jobs, timeout=10, message="tick back")


@pytest.mark.parametrize("how", [truncate, delete], ids=["truncated", "deleted"])
def test_a_job_gone_for_a_moment_keeps_the_instant_it_missed(
    in_process: Start, tmp_path: Path, how: Callable[[Path], None]
) -> None:
    run, out, path, text = _ticking(in_process, tmp_path)
    second = FIRST + MINUTE
    run.move_to(second - timedelta(seconds=1))
    _gone(run, path, how)
    run.move_to(second + timedelta(seconds=0.5))  # 00:02:00 falls due while tick is gone
    _back(run, path, text)
    wait_for(lambda: succeeded_at(run, "tick", second), timeout=15, message="the missed run")
    _run_at(run, second + MINUTE)

    rows = merged_rows([run.data], "tick")
    verdict = assert_each_instant_once(rows, out, expected=[FIRST, second, second + MINUTE])
    assert verdict.executed == 3, verdict


def test_a_job_removed_for_longer_starts_afresh(in_process: Start, tmp_path: Path) -> None:
    run, out, path, text = _ticking(in_process, tmp_path)
    run.move_to(FIRST + timedelta(seconds=30))
    _gone(run, path, truncate)
    away = 4 * MINUTE
    assert away > RESTORE_WITHIN
    run.move_to(FIRST + timedelta(seconds=30) + away)  # 00:05:30; 00:02 to 00:05 passed
    _back(run, path, text)
    later = FIRST + 5 * MINUTE  # 00:06:00, the first instant after it came back
    assert run.watcher.due.get("tick") == later
    _run_at(run, later)

    rows = merged_rows([run.data], "tick")
    assert sorted(rows) == ["tick--20260101T000100Z", "tick--20260101T000600Z"]
    assert sorted(fault_tasks.executions(out)) == sorted(rows)
