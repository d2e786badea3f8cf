"""Typed tasks end to end: canary runs, secrets from the environment, the shipped bots.

Real ``scheduler run`` processes with real RQ workers (the harness of
``test_watcher_e2e.py``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import shutil
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from scheduler.core.runs import RunStatus
from tests.integration.helpers import wait_for
from tests.integration.test_watcher_e2e import (
    REPO,
    Spawn,
    job_yaml,
    runs,
    scheduler_cli,
    succeeded,
    watchers,
    write,
)

SECRET = "s3cr3t-Tok3n-4d8f"


@pytest.fixture
def spawn(tmp_path: Path, redis_url: str) -> Iterator[Spawn]:
    """Start watchers in ``tmp_path``; stopped at teardown."""
    with watchers(tmp_path, redis_url) as start:
        yield start


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_canary_runs_force_dry_run_then_the_job_goes_live(spawn: Spawn, tmp_path: Path) -> None:
    """A job with canary: 2 runs twice with dry_run forced (marked canary), then for real."""
    watcher = spawn()
    out = tmp_path / "params.txt"
    text = job_yaml("bot", "record_params", params={"path": str(out), "dry_run": False})
    write(watcher.jobs / "bot.yaml", text + "canary: 2\n")

    rows = sorted(succeeded(watcher.data, "bot", count=4), key=lambda r: r.scheduled_for)

    assert [r.canary for r in rows[:4]] == [True, True, False, False]
    seen = [json.loads(line.split(" ")[0]) for line in _lines(out)]
    by_run = [s["dry_run"] for s in seen[:4]]
    assert by_run == [True, True, False, False]
    history = json.loads(scheduler_cli(tmp_path, "history", "bot", "--format", "json").stdout)
    assert {h["run_id"]: h["canary"] for h in history}[rows[0].run_id] is True


def test_editing_a_job_starts_its_canary_over(spawn: Spawn, tmp_path: Path) -> None:
    """After the canary runs, a changed definition gets canary runs again."""
    watcher = spawn()
    out = tmp_path / "params.txt"
    params = {"path": str(out), "dry_run": False}
    write(
        watcher.jobs / "bot.yaml", job_yaml("bot", "record_params", params=params) + "canary: 1\n"
    )
    first = succeeded(watcher.data, "bot", count=2)
    assert any(not r.canary for r in first)

    params["label"] = "v2"
    mark = watcher.mark()
    write(
        watcher.jobs / "bot.yaml", job_yaml("bot", "record_params", params=params) + "canary: 1\n"
    )
    watcher.wait_event("config.job_loaded", job="bot", since=mark)

    def after_edit() -> list[dict[str, object]]:
        seen = [json.loads(line.split(" ")[0]) for line in _lines(out)]
        v2 = [s for s in seen if s.get("label") == "v2"]
        return v2 if len(v2) >= 2 else []

    v2 = wait_for(after_edit, timeout=15, message="two runs of the edited job")
    assert [s["dry_run"] for s in v2[:2]] == [True, False]


def _readable(value: bytes) -> bytes:
    """``value`` plus what it holds when RQ compressed or encoded it (job data, results)."""
    out = value
    for decode in (zlib.decompress, base64.b64decode):
        with contextlib.suppress(Exception):
            inner = decode(value)
            out += inner
            with contextlib.suppress(Exception):
                out += zlib.decompress(inner)
    return out


def _redis_bytes(conn: redis.Redis) -> bytes:
    """Every key and value in the database, decompressed where RQ compressed it."""
    return _readable_all(_raw_redis_bytes(conn))


def _readable_all(parts: list[bytes]) -> bytes:
    return b"\n".join(_readable(p) for p in parts)


def _raw_redis_bytes(conn: redis.Redis) -> list[bytes]:
    blob: list[bytes] = []
    for key in conn.scan_iter(count=1000):
        blob.append(key)
        kind = conn.type(key).decode()
        if kind == "string":
            blob.append(conn.get(key) or b"")
        elif kind == "hash":
            for field, value in conn.hgetall(key).items():
                blob += [field, value]
        elif kind == "list":
            blob += conn.lrange(key, 0, -1)
        elif kind == "set":
            blob += list(conn.smembers(key))
        elif kind == "zset":
            blob += [m for m, _ in conn.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            for _, fields in conn.xrange(key):
                for field, value in fields.items():
                    blob += [field, value]
    return blob


def test_a_secret_reaches_the_task_but_never_redis_sqlite_or_logs(
    spawn: Spawn, tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """${env:NAME} is resolved in the worker; results and errors holding it are scrubbed."""
    monkeypatch.setenv("E2E_TOKEN", SECRET)
    watcher = spawn()
    proof = tmp_path / "proof.txt"
    write(
        watcher.jobs / "leaky.yaml",
        f"name: leaky\ntask: tests.integration.e2e_tasks:leak\n"
        f"params:\n  path: {proof}\n  token: ${{env:E2E_TOKEN}}\nschedule:\n  interval: 1s\n",
    )
    write(
        watcher.jobs / "failing.yaml",
        "name: failing\ntask: tests.integration.e2e_tasks:leak_fail\n"
        "params:\n  token: 'Bearer ${env:E2E_TOKEN}'\nschedule:\n  interval: 1s\n",
    )
    ok = succeeded(watcher.data, "leaky", count=2)

    def failed() -> bool:
        rows = scheduler_cli(tmp_path, "history", "failing", "--format", "json").stdout
        return any(r["status"] == RunStatus.failed for r in json.loads(rows or "[]"))

    wait_for(failed, timeout=15, message="a failed run of 'failing'")
    watcher.terminate()

    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    assert digest in " ".join(_lines(proof)), "the task did not receive the secret"
    assert ok[0].result is not None
    assert "***" in ok[0].result
    secret = SECRET.encode()
    conn = redis.Redis.from_url(redis_url)
    try:
        assert secret not in _redis_bytes(conn)
        assert b"${env:E2E_TOKEN}" in _redis_bytes(conn)  # the reference is what travels
    finally:
        conn.close()
    for db_file in watcher.data.glob("scheduler.db*"):
        assert secret not in db_file.read_bytes(), db_file
    with sqlite3.connect(watcher.data / "scheduler.db") as db:
        errors = [e for (e,) in db.execute("SELECT error FROM runs WHERE job = 'failing'")]
    assert any(e and "***" in e for e in errors)
    for log_file in (watcher.out, watcher.err):
        assert secret not in log_file.read_bytes(), log_file


def test_trigger_runs_the_shipped_birthday_bot_and_history_shows_its_summary(
    spawn: Spawn, tmp_path: Path
) -> None:
    """The repo's jobs.d: `trigger birthday` runs at once; its summary is in history."""
    shutil.copytree(REPO / "jobs.d", tmp_path / "jobs")
    watcher = spawn()
    done = scheduler_cli(
        tmp_path,
        "trigger",
        "birthday",
        *("--jobs-dir", "jobs", "--redis-url", watcher.redis_url, "--format", "json"),
    )
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    # The shipped job also runs at 09:00 Europe/Paris: wait for the triggered run by its id.
    row = wait_for(
        lambda: next(
            (
                r
                for r in runs(watcher.data, "birthday")
                if r.run_id == run_id and r.status is RunStatus.succeeded
            ),
            None,
        ),
        timeout=10,
        message=f"the triggered run {run_id} succeeded",
    )
    summary = json.loads(row.result or "null")
    assert summary["dry_run"] is True
    assert summary["sent"] == 0
    assert summary["would_send"] >= 1  # shipped contacts: a birthday every day of the year
    assert not (tmp_path / "data" / "outbox").exists()
    text = scheduler_cli(tmp_path, "history", "birthday").stdout
    assert "would_send=" in text
