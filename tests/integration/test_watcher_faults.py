"""The watcher under faults: two watchers on one Redis, kill -9 and restart, Redis restarts.

Real ``scheduler run`` processes, real RQ workers and real files, as in
``test_watcher_e2e.py`` (whose harness this module uses). Exactly-once is checked on the
side effect: the task appends one line per execution, and the number of lines must equal
the number of distinct runs the watchers dispatched.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from scheduler.core.runs import RunStatus, RunTrigger, run_id
from scheduler.engine.embedded import EmbeddedRedis
from scheduler.store import RunRow
from tests.integration import e2e_tasks
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import (
    Spawn,
    WatcherProcess,
    append_job,
    job_yaml,
    parse_ts,
    runs,
    scheduler_cli,
    settled,
    succeeded,
    watchers,
    write,
)

SECOND = timedelta(seconds=1)
#: These tests count instants: late runs that go out together (a catch-up, the end of an
#: outage) must all run, not be skipped by the default ``overlap: forbid``.
ALLOW = "overlap: allow\n"
#: RQ's log line when a worker takes a job: "...: default: <description> (<job id>)".
_EXECUTED = re.compile(r": default: (?!Job OK).* \((?P<id>[A-Za-z0-9_-]+--[0-9TZ]+)\)$")


@pytest.fixture
def spawn(tmp_path: Path, redis_url: str) -> Iterator[Spawn]:
    """Start watchers in ``tmp_path``; all are stopped at teardown."""
    with watchers(tmp_path, redis_url) as start:
        yield start


def executions(*watchers: WatcherProcess) -> Counter[str]:
    """How many times RQ workers started each run id, from the logs of these watchers."""
    found: Counter[str] = Counter()
    for watcher in watchers:
        for record in watcher.records():
            if record.get("logger") == "rq.worker" and (m := _EXECUTED.search(record["event"])):
                found[m["id"]] += 1
    return found


def enqueued(*watchers: WatcherProcess, job: str) -> Counter[str]:
    """How many times each run id of ``job`` was logged as ``run.enqueued``."""
    return Counter(r["run_id"] for w in watchers for r in w.find("run.enqueued", job=job))


def stop_dispatching(watchers: list[WatcherProcess], path: Path, job: str) -> None:
    """Delete the job file and wait until every watcher has dropped the job."""
    marks = [w.mark() for w in watchers]
    path.unlink()
    for watcher, since in zip(watchers, marks, strict=True):
        watcher.wait_event("config.job_removed", since=since, job=job)


def consecutive(instants: list[datetime]) -> bool:
    """True if the sorted instants are distinct and one second apart."""
    ordered = sorted(instants)
    return all(b - a == SECOND for a, b in pairwise(ordered))


def test_two_watchers_on_one_redis_run_each_instant_once(spawn: Spawn, tmp_path: Path) -> None:
    """Two watchers (own data dirs, same Redis and jobs dir): one leads, each instant runs once."""
    first = spawn("first", data="data1")
    second = spawn("second", data="data2")
    out = tmp_path / "out.txt"
    path = write(first.jobs / "tick.yaml", append_job("tick", out, "tick") + ALLOW)
    for watcher in (first, second):
        watcher.wait_event("config.job_loaded", job="tick")
    succeeded(first.data, "tick", count=5)

    stop_dispatching([first, second], path, "tick")
    rows1 = settled(first.data, "tick")
    rows2 = settled(second.data, "tick")

    sent = enqueued(first, second, job="tick")
    assert sent, "nothing was enqueued"
    assert max(sent.values()) == 1, f"enqueued twice: {sent}"
    # One leads and dispatches; the other stands by (jobs loaded, nothing sent).
    leaders = [w for w in (first, second) if w.find("run.enqueued", job="tick")]
    assert len(leaders) == 1, "both watchers dispatched"
    [standby] = [w for w in (first, second) if w is not leaders[0]]
    assert standby.find("leader.standby", leader=leaders[0].find("leader.acquired")[0]["watcher"])
    recorded = {r.run_id for r in rows1} | {r.run_id for r in rows2}
    assert recorded == set(sent)
    # Each store sees every result, whichever watcher enqueued the run.
    for rows in (rows1, rows2):
        assert {r.run_id for r in rows} == recorded
        assert {r.status for r in rows} == {RunStatus.succeeded}
        assert {r.trigger for r in rows} == {RunTrigger.schedule}
    assert consecutive([r.scheduled_for for r in rows1])
    ran = executions(first, second)
    assert set(ran) == recorded
    assert max(ran.values()) == 1, f"executed twice: {ran}"
    assert len(e2e_tasks.lines(out)) == len(recorded)


def test_kill_9_and_restart_catches_up_once_and_keeps_results(spawn: Spawn, tmp_path: Path) -> None:
    """After kill -9, a restart runs the missed instants once as catch-up (earlier ones missed)
    and records the results of runs that finished while it was down."""
    out = tmp_path / "out.txt"
    jobs = tmp_path / "jobs"
    path = write(jobs / "tick.yaml", append_job("tick", out, "tick") + ALLOW)
    sleeper = {"seconds": 2, "path": str(out), "label": "sleeper"}
    write(
        jobs / "sleeper.yaml",
        job_yaml("sleeper", "slow", schedule="cron: '0 0 1 1 *'", params=sleeper),
    )
    before = spawn("before", workers=2)
    succeeded(before.data, "tick", count=2)

    done = scheduler_cli(
        tmp_path, "trigger", "sleeper", "--jobs-dir", "jobs", "--data-dir", "data",
        "--redis-url", before.redis_url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    wait_for(lambda: "sleeper-start" in e2e_tasks.labels(out), message="the sleeper started")
    before.kill9()
    killed_at = datetime.now(UTC)
    last_before = max(parse_ts(r["scheduled_for"]) for r in before.find("run.enqueued", job="tick"))

    # The workers finish the sleeper (within their grace once the watcher is gone) while no
    # watcher runs; instants pass meanwhile.
    wait_for(lambda: "sleeper-done" in e2e_tasks.labels(out), message="the sleeper finished")
    wait_for(
        lambda: datetime.now(UTC) >= last_before + 3 * SECOND,
        timeout=5,
        message="three tick instants passed while the watcher was down",
    )
    after = spawn("after", workers=1)
    started_at = parse_ts(after.find("watcher.started")[0]["timestamp"])

    [slept] = succeeded(after.data, "sleeper")
    assert slept.trigger is RunTrigger.manual
    assert slept.finished_at is not None
    assert slept.finished_at > killed_at
    assert slept.duration_s is not None
    assert slept.duration_s >= 2

    [catch_up] = wait_for(
        lambda: [
            r
            for r in runs(after.data, "tick")
            if r.trigger is RunTrigger.catch_up and r.status is RunStatus.succeeded
        ],
        message="the catch-up run succeeded",
    )
    assert last_before < catch_up.scheduled_for <= started_at
    assert catch_up.run_id == run_id("tick", catch_up.scheduled_for)
    wait_for(
        lambda: (
            len(
                [
                    r
                    for r in runs(after.data, "tick")
                    if r.scheduled_for > started_at and r.status is RunStatus.succeeded
                ]
            )
            >= 2
        ),
        message="two scheduled runs after the restart",
    )

    stop_dispatching([after], path, "tick")
    rows = settled(after.data, "tick")
    missed = [r for r in rows if r.status is RunStatus.missed]
    assert [r for r in rows if r.trigger is RunTrigger.catch_up] == [catch_up]
    gap = int((catch_up.scheduled_for - last_before) / SECOND)
    assert gap >= 2, "no instant passed while the watcher was down"
    assert sorted(r.scheduled_for for r in missed) == [
        last_before + k * SECOND for k in range(1, gap)
    ]
    assert all(r.trigger is RunTrigger.schedule for r in missed)
    # Every instant from the first to the last is accounted for exactly once.
    assert consecutive([r.scheduled_for for r in rows])
    ran = [r for r in rows if r.status is RunStatus.succeeded]
    assert len(ran) + len(missed) == len(rows)
    assert e2e_tasks.labels(out).count("tick") == len(ran)
    assert max(executions(before, after).values()) == 1
    assert max(enqueued(before, after, job="tick").values()) == 1
    assert [r["run_id"] for r in after.find("run.enqueued", trigger="catch-up")] == [
        catch_up.run_id
    ]


def test_redis_restart_under_a_running_watcher_recovers_without_duplicates(
    spawn: Spawn, tmp_path: Path
) -> None:
    """Redis stopped for a few seconds: the watcher logs it, recovers, and runs resume once."""
    server = EmbeddedRedis(tmp_path / "r")
    url = server.start()
    watcher: WatcherProcess | None = None
    try:
        out = tmp_path / "out.txt"
        path = write(tmp_path / "jobs" / "tick.yaml", append_job("tick", out, "tick") + ALLOW)
        watcher = spawn(url=url)
        succeeded(watcher.data, "tick", count=2)

        server.stop()
        down_at = time.monotonic()
        watcher.wait_event("redis.unavailable", timeout=5)
        wait_for(
            lambda: time.monotonic() >= down_at + 2,
            timeout=5,
            message="two seconds of Redis downtime",
        )
        assert watcher.running
        assert server.start() == url
        up_at = datetime.now(UTC)
        watcher.wait_event("redis.recovered", timeout=10)

        def resumed() -> list[RunRow]:
            rows = runs(watcher.data, "tick")
            return [r for r in rows if r.status is RunStatus.succeeded and r.scheduled_for > up_at]

        wait_for(lambda: len(resumed()) >= 2, timeout=10, message="two runs after the restart")
        assert watcher.running

        stop_dispatching([watcher], path, "tick")
        rows = settled(watcher.data, "tick")
        assert {r.status for r in rows} == {RunStatus.succeeded}
        # The instants of the outage went out late, once each: no gap, no duplicate.
        assert consecutive([r.scheduled_for for r in rows])
        late = [
            r
            for r in watcher.find("run.enqueued", job="tick")
            if parse_ts(r["timestamp"]) - parse_ts(r["scheduled_for"]) > SECOND
        ]
        assert late, "no instant of the outage was dispatched late"
        assert max(enqueued(watcher, job="tick").values()) == 1
        assert max(executions(watcher).values()) == 1
        assert e2e_tasks.labels(out).count("tick") == len(rows)
        code, _ = watcher.terminate()
        assert code == 0
    finally:
        if watcher is not None:
            watcher.close()
        server.stop()
