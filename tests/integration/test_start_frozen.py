"""What a start builds is out of the cyclic collector's reach once the watcher runs: its
passes (and the idle CPU they cost) scale with what changes, not with the jobs."""

from __future__ import annotations

import gc
from pathlib import Path

import redis

from tests.integration.test_lease_kept import watcher_thread
from tests.integration.test_watcher_e2e import job_yaml, write


def test_the_started_jobs_are_frozen_for_a_cold_start_and_a_restart(
    tmp_path: Path, redis_conn: redis.Redis
) -> None:
    """The loaded jobs (read from the files, then served by the job cache) are tracked
    objects that no generation holds: gc.freeze() took them, no collection walks them."""
    for k in range(3):
        write(tmp_path / "jobs" / f"job-{k}.yaml", job_yaml(f"job-{k}", "append"))
    for _ in ("cold", "restart"):
        with watcher_thread(tmp_path, redis_conn, "w") as watcher:
            assert watcher.ready.wait(10)
            jobs = list(watcher.config.jobs.values())
            assert len(jobs) == 3
            assert all(gc.is_tracked(job) for job in jobs)
            young = {id(obj) for obj in gc.get_objects()}
            assert not any(id(job) in young for job in jobs)
