"""Fault: a burst of 500 edits to a job's own file while it is being dispatched every second.

Edits alternate between writing the file in place and an editor's atomic save (write a
temporary file, rename it over), and change the description each time, so each reload
sees an updated definition of the same schedule. Invariant: the job's instants before,
during and after the burst each run exactly once: a reload neither repeats the instant
just dispatched nor drops the one that fell due while the burst was being read.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.engine.embedded import EmbeddedRedis
from tests.faults.harness import (
    assert_each_instant_once,
    fleet,
    job_file,
    stop_job,
    wait_done,
    wait_more_done,
)
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import write

SECOND = timedelta(seconds=1)
EDITS = 500


def test_500_edits_during_dispatch(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    """500 edits of the dispatching job's file: no instant doubled, none skipped."""
    assert redis_server.url is not None
    rng = random.Random(int(os.environ.get("FAULT_SEED", "6")))
    out = tmp_path / "out.txt"
    path = tmp_path / "jobs" / "tick.yaml"
    with fleet(tmp_path, redis_server.url) as group:
        watcher = group.start()
        write(path, job_file("tick", out, "interval: 1s"))
        wait_done(out, 2)
        burst_from = datetime.now(UTC)
        for n in range(EDITS):
            text = job_file("tick", out, "interval: 1s", extra=f"description: edit {n}\n")
            if n % 2:
                tmp = path.with_name(f".tick.yaml.{n}.tmp")
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(path)
            else:
                path.write_text(text, encoding="utf-8")
            # Paced (the fault's timing, not a synchronisation): the burst spans ~3 instants.
            time.sleep(rng.uniform(0, 0.012))
        burst_to = datetime.now(UTC)
        wait_for(
            lambda: len(watcher.find("config.job_loaded", job="tick")) >= 2,
            timeout=10,
            message="the burst reloaded",
        )
        wait_more_done(out, 3, timeout=15)
        rows, through = stop_job(path, [watcher], "tick")
        assert watcher.running
    verdict = assert_each_instant_once(rows, out, every=SECOND, through=through)
    assert verdict.missed == 0, verdict
    assert verdict.executed == verdict.instants
    spanned = [r for r in rows.values() if burst_from <= r.scheduled_for <= burst_to]
    assert spanned, "the burst spanned no instant: it proves nothing"
