"""The names outside code relies on outlive any move inside the package.

RQ stores the function path of every queued run; task authors import ``scheduler.tasks``;
supervisors start ``scheduler`` or ``python -m scheduler``. Each is checked from outside.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import redis
from rq import Queue
from rq.job import Job

from scheduler.core.runs import EventKind, RunEvent, RunRequest, RunTrigger, iso_utc, run_id
from scheduler.engine.dispatch import Dispatcher
from scheduler.worker.events import STREAM

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: What every RQ job the scheduler enqueued names, in this version and the ones before.
RUNNER_PATH = "scheduler.runner.run"
SCHEDULED = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 Paris: still 28 March in LA


def _request(target: Path) -> RunRequest:
    return RunRequest(
        run_id=run_id("authored", SCHEDULED),
        job="authored",
        task="tests.integration.author_tasks:note",
        params={"path": str(target), "text": "hello"},
        scheduled_for=iso_utc(SCHEDULED),
        trigger=RunTrigger.schedule,
        timezone="America/Los_Angeles",
    )


def _kinds(conn: redis.Redis) -> list[EventKind]:
    fields = [{k.decode(): v.decode() for k, v in f.items()} for _, f in conn.xrange(STREAM)]
    return [RunEvent.from_fields(f).kind for f in fields]


def test_the_watcher_enqueues_runs_under_the_stable_runner_path(redis_conn: redis.Redis) -> None:
    """A dispatched run names ``scheduler.runner.run``, whatever module holds the runner."""
    request = _request(Path("/nonexistent"))
    Dispatcher(redis_conn).enqueue([request], SCHEDULED)

    assert Job.fetch(request.run_id, connection=redis_conn).func_name == RUNNER_PATH


def test_a_run_queued_by_name_runs_under_a_plain_rq_worker(
    redis_conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    """A run queued as an older version queued it, with a typed task an author wrote
    against ``scheduler.tasks``, is executed by a plain ``rq worker`` and reported."""
    target = tmp_path / "notes.txt"
    request = _request(target)
    Queue("default", connection=redis_conn).enqueue(
        RUNNER_PATH, request.as_payload(), job_id=request.run_id
    )
    subprocess.run(
        [str(BIN / "rq"), "worker", "--burst", "--url", redis_url, "default"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )

    assert target.read_text() == "hello authored 2026-03-28\n"
    assert _kinds(redis_conn) == [EventKind.started, EventKind.succeeded]
    assert Job.fetch(request.run_id, connection=redis_conn).return_value() == (
        "hello authored 2026-03-28"
    )


def test_the_console_script_and_python_m_scheduler_both_answer(tmp_path: Path) -> None:
    """``scheduler`` (the console script ``scheduler.cli:main``) and ``python -m scheduler``."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"scheduler": "scheduler.cli:main"}
    for command in ([str(BIN / "scheduler")], [sys.executable, "-m", "scheduler"]):
        done = subprocess.run(
            [*command, "validate", "--jobs-dir", str(ROOT / "jobs.d")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().splitlines()[-1].startswith("ok: ")
