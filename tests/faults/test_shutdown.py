"""Fault: signals at any moment, `make run` stopped by its process group, the watcher kill -9'd.

`scheduler run` with its embedded Redis and one worker, as a newcomer starts it. Signals come
from a seeded random generator (``FAULT_SEED``, default 15), so a failure replays.

Invariant: the watcher exits 0 within 10 s of the first signal, and nothing it started is
left: no process of its tree (recorded before the signals: Redis, the worker, the work
horse, RQ's scheduler process) and no process whose command line names its data dir. After
a kill -9 (nothing can run in the watcher then) the same holds 10 s later.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.engine.embedded import EmbeddedRedis
from tests.faults.harness import job_file
from tests.integration.embedded_run import (
    REPO,
    EmbeddedRun,
    descendants,
    kill_all,
    processes_mentioning,
    run_env,
    still_running,
)
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import write

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs procfs")

STARTS = 8
#: The contract: the watcher is gone, and everything it started, this long after a signal.
GONE_WITHIN = 10.0
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def leftovers(tree: dict[int, str], data: Path) -> dict[int, str]:
    """What is still running of ``tree`` or names ``data`` in its command line."""
    return {**still_running(tree), **processes_mentioning(str(data))}


def test_one_to_five_signals_at_random_moments_stop_everything(tmp_path: Path) -> None:
    """8 starts, each ended by 1-5 SIGTERM/SIGINT (some back to back, as `make` forwards
    them; some a second apart: stop now) during start-up or while a task runs."""
    rng = random.Random(int(os.environ.get("FAULT_SEED", "15")))
    for start in range(STARTS):
        root = tmp_path / f"s{start}"
        out = root / "out.txt"
        write(root / "jobs" / "tick.yaml", job_file("tick", out, "interval: 1s", seconds=0.6))
        run = EmbeddedRun(root)
        try:
            during = ("start-up", "running")[start % 2]
            if during == "start-up":
                run.wait_for_text("embedded_redis.started")
                time.sleep(rng.uniform(0, 0.2))  # the fault's timing, not a synchronisation
            else:
                run.wait_for_text("run.started")
                time.sleep(rng.uniform(0, 0.8))
            tree = descendants(run.pid)
            signals = [rng.choice(SIGNALS) for _ in range(rng.randint(1, 5))]
            first = time.monotonic()
            for sig in signals:
                tree.update(descendants(run.pid))
                run.proc.send_signal(sig)
                time.sleep(rng.choice([0.0, rng.uniform(0, 0.05), rng.uniform(0.6, 1.2)]))
            what = f"start {start}: {[s.name for s in signals]} during {during}"
            try:
                code = run.proc.wait(max(0.1, first + GONE_WITHIN - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"{what}: still running after {GONE_WITHIN:g} s\n{run.tail()}")
            assert code == 0, f"{what}: exit code {code}\n{run.tail()}"
            assert not leftovers(tree, run.data), f"{what}: left running\n{run.tail()}"
            assert "embedded_redis.stopped" in run.text(), f"{what}: Redis not stopped by it"
        finally:
            run.close()


@pytest.mark.parametrize("redis", ["embedded", "external"])
def test_kill_9_of_the_watcher_leaves_no_child(
    tmp_path: Path, request: pytest.FixtureRequest, redis: str
) -> None:
    """kill -9 while a task runs: the worker, its horse, RQ's scheduler and the embedded
    Redis go too. With an external Redis the worker lives on a few seconds (the task may
    finish), then cuts the task short."""
    out = tmp_path / "out.txt"
    write(tmp_path / "jobs" / "slow.yaml", job_file("slow", out, "interval: 1h", seconds=60))
    url: list[str] = []
    if redis == "external":
        server: EmbeddedRedis = request.getfixturevalue("redis_server")
        assert server.url is not None
        url = ["--redis-url", server.url]
    run = EmbeddedRun(tmp_path, *url)
    try:
        run.wait_for_text("watcher.started")
        argv = [sys.executable, "-m", "scheduler", "trigger", "slow", "--jobs-dir", str(run.jobs)]
        trigger = subprocess.run(
            [*argv, "--data-dir", str(run.data), *url],
            cwd=REPO,
            env=run_env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert trigger.returncode == 0, trigger.stderr
        wait_for(lambda: " start " in out.read_text() if out.exists() else False, timeout=20)
        tree = descendants(run.pid)
        assert len(tree) >= 3, f"a worker, its horse, RQ's scheduler (and Redis): {tree}"
        run.proc.kill()
        run.proc.wait(5)
        killed = time.monotonic()
        wait_for(
            lambda: not leftovers(tree, run.data),
            timeout=GONE_WITHIN,
            message=lambda: f"no process left: {leftovers(tree, run.data)}",
        )
        print(f"everything gone {time.monotonic() - killed:.1f} s after kill -9")
    finally:
        run.close()


def test_make_run_stopped_by_a_sigterm_to_its_process_group(tmp_path: Path) -> None:
    """`make run`, then `kill -TERM -- -PGID` (a supervisor): make forwards the SIGTERM, so
    the watcher gets two at once; it still stops cleanly, and nothing is left."""
    make = shutil.which("make")
    venv = Path(sys.prefix)
    if make is None or not (venv / "bin" / "scheduler").exists():
        pytest.skip("needs make and a virtual environment with the scheduler command")
    out = tmp_path / "out.txt"
    jobs, data = tmp_path / "jobs", tmp_path / "data"
    write(jobs / "tick.yaml", job_file("tick", out, "interval: 1s", seconds=0.3))
    log = tmp_path / "make.out"
    argv = [make, "-C", str(REPO), "-o", str(venv / ".installed"), "run", f"VENV={venv}"]
    argv += [f"JOBS_DIR={jobs}", f"DATA_DIR={data}", "WORKERS=1"]
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            argv, env=run_env(), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(
            lambda: "run.succeeded" in log.read_text() or proc.poll() is not None,
            timeout=30,
            message=lambda: f"a run succeeded\n{log.read_text()[-3000:]}",
        )
        assert proc.poll() is None, log.read_text()[-3000:]
        tree = descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(GONE_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"make run still running after {GONE_WITHIN:g} s\n{log.read_text()}")
        assert not leftovers(tree, data), log.read_text()[-3000:]
        text = log.read_text()
        assert "watcher.stopped" in text, text[-3000:]
        assert "embedded_redis.stopped" in text, text[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        kill_all(processes_mentioning(str(data)))
