"""Fault: the disk under the records fills up, and later has room again; and the file is
damaged (garbage bytes) while the watcher runs.

A real full disk: the data dir is a 6 MB tmpfs (we run as root; the test is skipped where
mounting is not allowed), filled by a file until writes fail with ENOSPC, so SQLite's own
writes fail with SQLITE_FULL. Invariant: the watcher goes on dispatching, logs the failure
(``records.failing``, at most once a minute), ``health`` reports it, and once the filler
is gone every run that ran is in the records, each instant once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.engine.embedded import EmbeddedRedis
from tests.faults.harness import (
    assert_each_instant_once,
    fleet,
    job_file,
    ran_or_overlap_skipped,
    stop_job,
    wait_more_done,
)
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import write

SECOND = timedelta(seconds=1)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/data`` as a 6 MB tmpfs of its own; unmounted at the end."""
    data = tmp_path / "data"
    data.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(data)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


def fill(disk: Path) -> Path:
    """Write a file on ``disk`` until no byte more fits; return it."""
    filler = disk / "filler"
    block = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(block)
        except OSError:
            pass
        try:
            while True:
                out.write(b"\0")
        except OSError:
            pass
    return filler


def health(root: Path, url: str) -> tuple[int, dict[str, object]]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scheduler",
            "health",
            "--data-dir",
            "data",
            "--redis-url",
            url,
            "--format",
            "json",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_full_disk_then_room_again(
    tmp_path: Path, small_disk: Path, redis_server: EmbeddedRedis
) -> None:
    """Dispatch never stops; every run is recorded once the disk has room."""
    assert redis_server.url is not None
    url = redis_server.url
    out = tmp_path / "out.txt"
    with fleet(tmp_path, url) as group:
        watcher = group.start()
        path = write(tmp_path / "jobs" / "tick.yaml", job_file("tick", out, "interval: 1s"))
        wait_more_done(out, 2)
        filler = fill(small_disk)
        watcher.wait_event("records.failing", timeout=90)
        wait_more_done(out, 3)  # dispatch goes on while nothing can be written
        code, data = wait_for(
            lambda: found if not (found := health(tmp_path, url))[1]["records"]["ok"] else None,
            timeout=15,
            message="health reports the records failing",
        )
        assert code == 0, data  # the watcher is alive and dispatching
        assert data["healthy"] is True
        assert "full" in str(data["records"]["error"]), data  # type: ignore[index]
        assert len(watcher.find("records.failing")) == 1  # once a minute, not per event
        filler.unlink()
        watcher.wait_event("records.recovered", timeout=30)
        code, data = health(tmp_path, url)
        assert data["records"] == {"ok": True, "error": None}
        wait_more_done(out, 2)
        rows, through = stop_job(path, [watcher], "tick")
        assert watcher.running, watcher.tail()
    verdict = assert_each_instant_once(
        rows,
        out,
        every=SECOND,
        through=through,
        allow=ran_or_overlap_skipped,
    )
    assert verdict.missed == 0, verdict
    assert verdict.executed >= 7, verdict


def damage(db: Path) -> None:
    """Garbage over the header and first pages of the records and of their WAL and index."""
    with db.open("r+b") as f:  # not a database any more
        f.write(os.urandom(64 * 1024))
    for side in ("-wal", "-shm"):
        side_file = db.with_name(db.name + side)
        if side_file.exists():
            with side_file.open("r+b") as f:
                f.write(os.urandom(32 * 1024))


def test_damaged_file_dispatch_goes_on(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    """Garbage over the file: the watcher keeps dispatching and ``health`` says so."""
    assert redis_server.url is not None
    url = redis_server.url
    out = tmp_path / "out.txt"
    with fleet(tmp_path, url) as group:
        watcher = group.start()
        write(tmp_path / "jobs" / "tick.yaml", job_file("tick", out, "interval: 1s"))
        wait_more_done(out, 2)
        db = watcher.data / "scheduler.db"
        # SQLite notices garbage only on a page it reads, and a checkpoint in flight can
        # copy good pages back over it: the garbage keeps coming until the watcher sees it.
        wait_for(
            lambda: watcher.find("records.failing") or damage(db),
            timeout=60,
            interval=1.0,
            message=lambda: f"records.failing in the watcher's log\n{watcher.tail()}",
        )
        wait_more_done(out, 3)
        code, data = wait_for(
            lambda: found if not (found := health(tmp_path, url))[1]["records"]["ok"] else None,
            timeout=15,
            message="health reports the records failing",
        )
        assert code == 0, data
        assert data["healthy"] is True
        assert watcher.running, watcher.tail()
