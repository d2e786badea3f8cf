"""The job-file policies end to end: overlap, retries, timeout, pause, alerts, misfire.

Real ``scheduler run`` processes with real RQ workers on the test's Redis (the harness of
``test_watcher_e2e.py``). Each test states the policy and checks it on the task's own side
effects (lines appended to a file) and on the SQLite ledger (status and reason).
"""

from __future__ import annotations

import http.server
import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from scheduler.core.runs import RunStatus, RunTrigger
from scheduler.store import RunRow
from tests.integration import e2e_tasks
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import (
    TASKS,
    Spawn,
    runs,
    scheduler_cli,
    settled,
    watchers,
    write,
    write_one_shot,
)


@pytest.fixture
def spawn(tmp_path: Path, redis_url: str) -> Iterator[Spawn]:
    with watchers(tmp_path, redis_url) as start:
        yield start


def slow_job(name: str, out: Path, seconds: float, *, extra: str, every: str = "1s") -> str:
    """A job sleeping ``seconds`` per run, writing start/done lines to ``out``."""
    return (
        f"name: {name}\ntask: {TASKS}:slow\n"
        f"params: {{seconds: {seconds}, path: {json.dumps(str(out))}, label: run}}\n"
        f"schedule:\n  interval: {every}\n{extra}"
    )


def spans(out: Path) -> list[tuple[int, int]]:
    """(start, done) monotonic ns of each finished execution, from the side-effect file."""
    starts: dict[str, int] = {}
    done: list[tuple[int, int]] = []
    for line in e2e_tasks.lines(out):
        label, pid, ns = line.split()
        if label.endswith("-start"):
            starts[pid] = int(ns)
        elif pid in starts:
            done.append((starts.pop(pid), int(ns)))
    return sorted(done)


def overlapping(intervals: list[tuple[int, int]]) -> bool:
    return any(b[0] < a[1] for a, b in itertools.pairwise(intervals))


def rows_where(data: Path, job: str, **fields: Any) -> list[RunRow]:
    return [r for r in runs(data, job) if all(getattr(r, k) == v for k, v in fields.items())]


def wait_rows(
    data: Path, job: str, count: int = 1, timeout: float = 20, **fields: Any
) -> list[RunRow]:
    return wait_for(
        lambda: rows if len(rows := rows_where(data, job, **fields)) >= count else [],
        timeout=timeout,
        message=lambda: (
            f"{count} rows {fields} of {job}: "
            + str([(r.run_id, r.status, r.reason) for r in runs(data, job)])
        ),
    )


def test_overlap_forbid_never_runs_two_at_once(spawn: Spawn, tmp_path: Path) -> None:
    """forbid (the default), 2 workers, a 2.5 s task every 1 s: runs due meanwhile are
    recorded skipped (overlap) and executions never overlap."""
    out = tmp_path / "out.txt"
    watcher = spawn(workers=2)
    write(watcher.jobs / "j.yaml", slow_job("forbid", out, 2.5, extra=""))
    wait_rows(watcher.data, "forbid", 2, status=RunStatus.succeeded, timeout=30)
    skipped = rows_where(watcher.data, "forbid", status=RunStatus.skipped, reason="overlap")
    assert len(skipped) >= 2
    assert all("is still" in (r.note or "") for r in skipped)
    assert not overlapping(spans(out))
    history = scheduler_cli(
        tmp_path, "history", "forbid", "--status", "skipped-overlap", "--format", "json"
    )
    assert history.returncode == 0, history.stderr
    listed = json.loads(history.stdout)
    assert listed
    assert {r["state"] for r in listed} == {"skipped-overlap"}


def test_overlap_replace_stops_the_running_one(spawn: Spawn, tmp_path: Path) -> None:
    """replace: a run due while the previous one runs stops it (recorded failed, reason
    replaced) and then runs; the stopped one never finishes."""
    out = tmp_path / "out.txt"
    watcher = spawn(workers=2)
    write(
        watcher.jobs / "j.yaml", slow_job("repl", out, 30, extra="overlap: replace\n", every="3s")
    )
    replaced = wait_rows(watcher.data, "repl", 1, reason="replaced", timeout=30)[-1]
    assert replaced.status is RunStatus.failed
    assert "replaced by" in (replaced.error or "")
    # The replacing run starts, and the replaced one's task never wrote its "done" line.
    wait_for(lambda: sum(1 for x in e2e_tasks.labels(out) if x == "run-start") >= 2, timeout=20)
    assert "run-done" not in e2e_tasks.labels(out)


def test_overlap_queue_one_holds_one_run_back(spawn: Spawn, tmp_path: Path) -> None:
    """queue_one: one run waits for the running one, later ones are skipped; the waiting
    run goes out when the first ends, and executions never overlap."""
    out = tmp_path / "out.txt"
    watcher = spawn(workers=2)
    write(watcher.jobs / "j.yaml", slow_job("q1", out, 2.2, extra="overlap: queue_one\n"))
    waited = wait_rows(watcher.data, "q1", 1, reason="waiting", timeout=30)
    wait_rows(watcher.data, "q1", 1, status=RunStatus.skipped, reason="overlap")
    run = waited[-1].run_id
    wait_for(
        lambda: [
            r for r in runs(watcher.data, "q1") if r.run_id == run and r.status.value == "succeeded"
        ],
        timeout=30,
        message="the waiting run ran",
    )
    assert watcher.find("run.released", run_id=run)
    assert not overlapping(spans(out))


def test_retries_number_attempts_and_end_failed(spawn: Spawn, tmp_path: Path) -> None:
    """retries {max: 2, backoff: 1s}: three attempts, the row ends failed on attempt 3,
    and each failed attempt is logged with its number."""
    watcher = spawn()
    write_one_shot(
        watcher,
        watcher.jobs / "r.yaml",
        "retry",
        lambda at: (
            f"name: retry\ntask: {TASKS}:fail\nschedule:\n  at: {at.isoformat()}\n"
            "retries: {max: 2, backoff: 1s, factor: 1}\n"
        ),
    )
    row = wait_rows(watcher.data, "retry", 1, status=RunStatus.failed, timeout=40)[0]
    assert row.attempts == 3
    assert "ValueError: boom" in (row.error or "")
    retrying = watcher.find("run.retrying", job="retry")
    assert len(retrying) == 2


def test_timeout_kills_the_run_and_says_why(spawn: Spawn, tmp_path: Path) -> None:
    """timeout: 1s on a 20 s task: recorded failed with reason timeout."""
    watcher = spawn()
    write_one_shot(
        watcher,
        watcher.jobs / "t.yaml",
        "tmo",
        lambda at: (
            f"name: tmo\ntask: {TASKS}:slow\nparams: {{seconds: 20}}\n"
            f"schedule:\n  at: {at.isoformat()}\ntimeout: 1s\n"
        ),
    )
    row = wait_rows(watcher.data, "tmo", 1, status=RunStatus.failed, timeout=30)[0]
    assert row.reason == "timeout"
    assert "JobTimeoutException" in (row.error or "")


def test_pause_and_resume_at_runtime(spawn: Spawn, tmp_path: Path) -> None:
    """pause: runs are recorded skipped (paused), status shows the drift; resume: runs again."""
    out = tmp_path / "out.txt"
    watcher = spawn()
    write(
        watcher.jobs / "p.yaml",
        f"name: pz\ntask: {TASKS}:append\nparams: {{path: {json.dumps(str(out))}, label: x}}\n"
        "schedule:\n  interval: 1s\n",
    )
    wait_rows(watcher.data, "pz", 1, status=RunStatus.succeeded)
    url = ("--redis-url", watcher.redis_url, "--jobs-dir", "jobs")
    unknown = scheduler_cli(tmp_path, "pause", "nope", "--reason", "x", *url)
    assert unknown.returncode == 1
    assert "nope" in unknown.stderr
    assert scheduler_cli(tmp_path, "pause", "pz", *url).returncode == 2  # --reason missing
    done = scheduler_cli(tmp_path, "pause", "pz", "--reason", "incident 42", "--by", "ops", *url)
    assert done.returncode == 0, done.stderr
    watcher.wait_event("job.paused", job="pz", by="ops", reason="incident 42")
    wait_rows(watcher.data, "pz", 2, status=RunStatus.skipped, reason="paused")
    status = scheduler_cli(tmp_path, "status", "--format", "json", *url)
    jobs = {j["name"]: j for j in json.loads(status.stdout)["jobs"]}
    assert jobs["pz"]["paused"]["reason"] == "incident 42"
    health = scheduler_cli(tmp_path, "health", "--format", "json")
    assert "pz" in json.loads(health.stdout)["paused"]
    lines_paused = len(e2e_tasks.lines(out))
    assert scheduler_cli(tmp_path, "resume", "pz", *url).returncode == 0
    watcher.wait_event("job.resumed", job="pz")
    wait_for(lambda: len(e2e_tasks.lines(out)) > lines_paused + 1, timeout=10)
    paused_rows = rows_where(watcher.data, "pz", reason="paused")
    assert all(r.status is RunStatus.skipped for r in paused_rows)


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_on_failure_posts_a_webhook_and_logs(spawn: Spawn, tmp_path: Path) -> None:
    """on_failure: a failed run POSTs {job, run_id, error, ...} to a real local server and
    logs run.failure_alert; a dead URL on another job is logged, never fatal."""
    _Hook.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        watcher = spawn()
        hook = f"http://127.0.0.1:{server.server_address[1]}/alert"
        for name, url in (("alerting", hook), ("dead-hook", "http://127.0.0.1:9/x")):
            write_one_shot(
                watcher,
                watcher.jobs / f"{name}.yaml",
                name,
                lambda at, name=name, url=url: (
                    f"name: {name}\ntask: {TASKS}:fail\nschedule:\n  at: {at.isoformat()}\n"
                    f"on_failure: {{webhook: {json.dumps(url)}}}\n"
                ),
            )
        wait_for(lambda: _Hook.received, timeout=30, message="the webhook POST")
        body = _Hook.received[0]
        assert body["job"] == "alerting"
        assert body["error"] == "ValueError: boom"
        assert body["run_id"].startswith("alerting--")
        watcher.wait_event("run.failure_alert", job="alerting")
        watcher.wait_event("alert.delivery_failed", job="dead-hook", timeout=20)
        assert watcher.running
    finally:
        server.shutdown()


def test_misfire_run_all_catches_up_to_max(spawn: Spawn, tmp_path: Path) -> None:
    """run_all with max_catchup 2 after about 4 s down: 2 catch-up runs, the earlier
    instants missed (max_catchup); each instant is in the ledger exactly once."""
    out = tmp_path / "out.txt"
    watcher = spawn()
    write(
        watcher.jobs / "m.yaml",
        f"name: all\ntask: {TASKS}:append\nparams: {{path: {json.dumps(str(out))}, label: x}}\n"
        "schedule:\n  interval: 1s\nmisfire: {policy: run_all, max_catchup: 2}\n",
    )
    wait_rows(watcher.data, "all", 1, status=RunStatus.succeeded)
    assert watcher.terminate()[0] == 0
    down = datetime.now(UTC)
    wait_for(lambda: datetime.now(UTC) - down > timedelta(seconds=4.5), timeout=10)
    again = spawn(name="again")
    catch_ups = wait_rows(again.data, "all", 2, trigger=RunTrigger.catch_up)
    assert len(catch_ups) == 2
    over = rows_where(again.data, "all", status=RunStatus.missed, reason="max_catchup")
    assert len(over) >= 2
    settled(again.data, "all", timeout=20)
    slots = [(r.scheduled_for, r.run_id) for r in runs(again.data, "all")]
    assert len({s for s, _ in slots}) == len(slots)  # one row per instant


def test_redis_outage_longer_than_grace_is_recorded_missed(spawn: Spawn, tmp_path: Path) -> None:
    """Redis down ~4 s under a 1 s job with grace 1s: the outage's instants are recorded
    missed (reason grace), not run late; every instant has exactly one row."""
    from scheduler.engine.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "r")
    url = server.start()
    try:
        out = tmp_path / "out.txt"
        write(
            tmp_path / "jobs" / "g.yaml",
            f"name: g\ntask: {TASKS}:append\nparams: {{path: {json.dumps(str(out))}, label: x}}\n"
            "schedule:\n  interval: 1s\nmisfire: {policy: run_once, grace: 1s}\n"
            "overlap: allow\n",
        )
        watcher = spawn(url=url)
        wait_rows(watcher.data, "g", 2, status=RunStatus.succeeded)
        server.stop()
        watcher.wait_event("redis.unavailable", timeout=5)
        down = datetime.now(UTC)
        wait_for(lambda: datetime.now(UTC) - down > timedelta(seconds=4), timeout=10)
        assert server.start() == url
        watcher.wait_event("redis.recovered", timeout=15)
        grace_rows = wait_rows(watcher.data, "g", 2, status=RunStatus.missed, reason="grace")
        back = datetime.now(UTC)
        wait_rows(watcher.data, "g", 1, status=RunStatus.succeeded, timeout=10)
        wait_for(
            lambda: any(
                r.status is RunStatus.succeeded and r.scheduled_for > back
                for r in runs(watcher.data, "g")
            ),
            timeout=10,
            message="a run after the outage",
        )
        (tmp_path / "jobs" / "g.yaml").unlink()
        watcher.wait_event("config.job_removed", job="g")
        rows = settled(watcher.data, "g", timeout=20)
        instants = sorted(r.scheduled_for for r in rows)
        assert len(set(instants)) == len(instants)  # one row per instant
        assert all(
            b - a == timedelta(seconds=1) for a, b in itertools.pairwise(instants)
        )  # and none missing
        ran = [r for r in rows if r.status is RunStatus.succeeded]
        assert len(e2e_tasks.lines(out)) == len(ran)
        assert all(r.enqueued_at is None for r in grace_rows)
    finally:
        server.stop()
