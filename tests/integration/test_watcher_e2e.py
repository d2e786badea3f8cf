"""The watcher end to end: `scheduler run` as a real process, real RQ workers, real files.

Each test starts ``python -m scheduler run`` in its own temporary directory (``jobs/`` and
``data/`` inside it) against the test's Redis, with one embedded worker. Job files are
written while it runs; the tasks (``tests.integration.e2e_tasks``) append one line per
execution, so a test can count what really ran. The watcher's stdout (its JSON log lines,
and its workers') goes to a file that tests parse and assert on by field. Results are read
from SQLite (``Store.open_readonly``) while waiting, and through the CLI for the contract.

The harness here (``WatcherProcess``, the ``spawn`` fixture and the small helpers) is
shared with ``test_watcher_faults.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.core.runs import RunStatus, RunTrigger
from scheduler.store import RunRow, Store, StoreMissingError, StoreVersionError
from tests.integration import e2e_tasks
from tests.integration.helpers import wait_for

REPO = Path(__file__).resolve().parents[2]
TASKS = "tests.integration.e2e_tasks"
#: How long SIGTERM may take, per the contract.
STOP_WITHIN = 5.0
FINAL = {RunStatus.succeeded, RunStatus.failed}

Record = dict[str, Any]


# --- harness -----------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """This environment with the repository on PYTHONPATH (workers import the tasks)."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}


def scheduler_cli(cwd: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``python -m scheduler ARGS`` in ``cwd``; the completed process, output as text."""
    return subprocess.run(
        [sys.executable, "-m", "scheduler", *args],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def parse_ts(text: str) -> datetime:
    """An ISO-8601 instant from a log line or a record (``Z`` or ``+00:00``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (RQ work horses run in a session of their own)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"scheduler" in cmdline and b"worker" in cmdline


class WatcherProcess:
    """One ``scheduler run`` process in ``root`` (``root/jobs``, ``root/<data>``).

    Its stdout and stderr go to ``root/<name>.out`` and ``root/<name>.err``. One instance
    is one process life; a restart is a new instance on the same data directory.
    """

    def __init__(
        self, root: Path, redis_url: str, *, name: str, data: str = "data", workers: int = 1
    ) -> None:
        self.root = root
        self.redis_url = redis_url
        self.name = name
        self.jobs = root / "jobs"
        self.data = root / data
        self.data_arg = data
        self.workers = workers
        self.out = root / f"{name}.out"
        self.err = root / f"{name}.err"
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    def start(self) -> None:
        self.jobs.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "scheduler", "run", "--jobs-dir", "jobs"]
        argv += ["--data-dir", self.data_arg, "--redis-url", self.redis_url]
        argv += ["--workers", str(self.workers)]
        with self.out.open("ab") as out, self.err.open("ab") as err:
            self.proc = subprocess.Popen(
                argv,
                cwd=self.root,
                env=child_env(),
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )

    def wait_started(self, timeout: float = 20) -> Record:
        return wait_for(
            lambda: self.find("watcher.started") or self._died(),
            timeout=timeout,
            message=lambda: f"watcher.started from {self.name}\n{self.tail()}",
        )[0]

    def _died(self) -> list[Record]:
        if self.proc is not None and self.proc.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.proc.returncode}\n{self.tail()}")
        return []

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- logs ------------------------------------------------------------------------

    def lines(self) -> list[str]:
        """Complete lines written to stdout so far (a line being written is left out)."""
        try:
            text = self.out.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return text.split("\n")[:-1]

    def records(self) -> list[Record]:
        """Every stdout line that parses as a JSON object, in order."""
        out = []
        for line in self.lines():
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    out.append(value)
        return out

    def find(self, event: str, *, since: int = 0, **fields: Any) -> list[Record]:
        """Log records ``event`` (after the first ``since`` records) with these field values."""
        return [
            r
            for r in self.records()[since:]
            if r.get("event") == event and all(r.get(k) == v for k, v in fields.items())
        ]

    def mark(self) -> int:
        """The number of records so far: pass it as ``since`` to look only at later ones."""
        return len(self.records())

    def wait_event(
        self, event: str, *, since: int = 0, count: int = 1, timeout: float = 10, **fields: Any
    ) -> list[Record]:
        """Wait until ``count`` matching records exist; return them."""
        return wait_for(
            lambda: (
                (found if len(found := self.find(event, since=since, **fields)) >= count else [])
                or self._died()
            ),
            timeout=timeout,
            message=lambda: f"{count} x {event} {fields} in {self.name}'s log\n{self.tail()}",
        )

    def tail(self, n: int = 25) -> str:
        err = self.err.read_text(errors="replace")[-3000:] if self.err.exists() else ""
        return "stdout tail:\n" + "\n".join(self.lines()[-n:]) + f"\nstderr tail:\n{err}"

    def worker_pids(self) -> list[int]:
        return [pid for r in self.find("workers.started") for pid in r.get("pids", [])]

    # -- stopping --------------------------------------------------------------------

    def terminate(self, timeout: float = STOP_WITHIN) -> tuple[int | None, float]:
        """SIGTERM; return (exit code or None if still running after ``timeout``, seconds)."""
        assert self.proc is not None
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - start
        return self.returncode, time.monotonic() - start

    def kill9(self) -> None:
        """SIGKILL the watcher alone, as on a crash: its workers (own sessions) notice, let
        their task finish for a few seconds, then stop (``scheduler.worker.lifeline``)."""
        assert self.proc is not None
        self.proc.kill()
        self.returncode = self.proc.wait(5)

    def close(self) -> None:
        """Stop the watcher if it still runs, then kill any worker it left behind."""
        if self.proc is not None and self.proc.poll() is None:
            code, _ = self.terminate(timeout=15)
            if code is None:
                self.proc.kill()
                self.proc.wait(5)
        for pid in self.worker_pids():
            if not _is_worker(pid):
                continue
            for child in [*_children(pid), pid]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(child, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


Spawn = Callable[..., WatcherProcess]


@contextlib.contextmanager
def watchers(root: Path, redis_url: str) -> Iterator[Spawn]:
    """A function starting ``scheduler run`` processes in ``root``; on exit all are stopped
    and the workers they left behind are killed.

    ``start(name="watcher", data="data", workers=1, url=None, wait=True)``.
    """
    started: list[WatcherProcess] = []

    def start(
        name: str = "watcher",
        *,
        data: str = "data",
        workers: int = 1,
        url: str | None = None,
        wait: bool = True,
    ) -> WatcherProcess:
        proc = WatcherProcess(root, url or redis_url, name=name, data=data, workers=workers)
        started.append(proc)
        proc.start()
        if wait:
            proc.wait_started()
        return proc

    try:
        yield start
    finally:
        for proc in reversed(started):
            proc.close()


@pytest.fixture
def spawn(tmp_path: Path, redis_url: str) -> Iterator[Spawn]:
    """Start watchers in ``tmp_path`` (see :func:`watchers`); stopped at teardown."""
    with watchers(tmp_path, redis_url) as start:
        yield start


# --- job files ---------------------------------------------------------------------------


def job_yaml(
    name: str,
    task: str,
    *,
    schedule: str = "interval: 1s",
    params: dict[str, Any] | None = None,
    enabled: bool = True,
) -> str:
    """A one-job file running ``e2e_tasks.<task>``; ``schedule`` is one YAML line."""
    lines = [f"name: {name}", f"task: {TASKS}:{task}"]
    if params:
        lines.append("params:")
        lines += [f"  {key}: {json.dumps(value)}" for key, value in params.items()]
    lines += ["schedule:", f"  {schedule}"]
    if not enabled:
        lines.append("enabled: false")
    return "\n".join(lines) + "\n"


def append_job(name: str, out: Path, label: str, schedule: str = "interval: 1s") -> str:
    """A job appending ``label`` to ``out`` on ``schedule``."""
    return job_yaml(name, "append", schedule=schedule, params={"path": str(out), "label": label})


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_one_shot(
    watcher: WatcherProcess, path: Path, job: str, text: Callable[[datetime], str]
) -> datetime:
    """Write ``text(instant)``, a one-shot job ``job`` due 1-2 s on, and wait for its load;
    return the instant, once a load saw the file before it.

    A reload takes the file as of when the change was seen, and the instant then runs
    however late the loop gets to it. A machine so busy that the change is seen only after
    the instant leaves the job with no run (next_run null): the file is written again with
    a later instant, rather than a run awaited that cannot come.
    """
    for _ in range(5):
        since = watcher.mark()
        instant = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
        write(path, text(instant))
        [loaded] = watcher.wait_event("config.job_loaded", since=since, job=job)
        if loaded["next_run"] and parse_ts(loaded["next_run"]) == instant:
            return instant
    raise AssertionError(f"{job}'s file was seen after its instant 5 times\n{watcher.tail()}")


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of ``text`` containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --- records -----------------------------------------------------------------------------


def runs(data: Path, job: str | None = None) -> list[RunRow]:
    """Every recorded run (of ``job``), newest first; none before the watcher made the file."""
    try:
        with Store.open_readonly(data / "scheduler.db") as store:
            return store.history(job=job, limit=100_000)
    except (StoreMissingError, StoreVersionError):
        return []


def succeeded(data: Path, job: str, count: int = 1, *, timeout: float = 10) -> list[RunRow]:
    """Wait until ``job`` has at least ``count`` succeeded runs recorded; return them."""

    def done() -> list[RunRow]:
        rows = [r for r in runs(data, job) if r.status is RunStatus.succeeded]
        return rows if len(rows) >= count else []

    return wait_for(
        done,
        timeout=timeout,
        message=lambda: (
            f"{count} succeeded runs of {job}: {[(r.run_id, r.status) for r in runs(data, job)]}"
        ),
    )


def settled(data: Path, job: str, *, timeout: float = 10) -> list[RunRow]:
    """Wait until no run of ``job`` is enqueued or started any more; return its runs."""

    def check() -> list[RunRow]:
        rows = runs(data, job)
        live = [r for r in rows if r.status in (RunStatus.enqueued, RunStatus.started)]
        return rows if rows and not live else []

    return wait_for(
        check,
        timeout=timeout,
        message=lambda: (
            f"every run of {job} finished: {[(r.run_id, r.status) for r in runs(data, job)]}"
        ),
    )


def holds_for(predicate: Callable[[], bool], seconds: float, interval: float = 0.1) -> bool:
    """True if ``predicate`` stays true for ``seconds`` (checked every ``interval``); False
    as soon as it is not. A bounded wait for something that must *not* happen."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not predicate():
            return False
        time.sleep(interval)
    return predicate()


def history_json(root: Path, *args: str) -> list[Record]:
    """``scheduler history --format json`` in ``root``; asserts it exits 0."""
    done = scheduler_cli(root, "history", "--data-dir", "data", "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    rows: list[Record] = json.loads(done.stdout)
    return rows


def trigger_json(root: Path, watcher: WatcherProcess, name: str) -> Record:
    """``scheduler trigger NAME --format json`` against ``watcher``'s Redis; asserts exit 0."""
    done = scheduler_cli(
        root, "trigger", name, "--jobs-dir", "jobs", "--data-dir", "data",
        "--redis-url", watcher.redis_url, "--format", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: Record = json.loads(done.stdout)
    return result


# --- tests -------------------------------------------------------------------------------


def test_new_job_file_is_dispatched_executed_and_recorded(spawn: Spawn, tmp_path: Path) -> None:
    """A file written while the watcher runs is live within 1 s and its runs succeed."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    written = datetime.now(UTC)
    write(watcher.jobs / "tick.yaml", append_job("tick", out, "v1"))

    [loaded] = watcher.wait_event("config.job_loaded", job="tick")
    assert loaded["file"] == "jobs/tick.yaml"
    assert parse_ts(loaded["timestamp"]) - written < timedelta(seconds=1)
    rows = succeeded(watcher.data, "tick", count=2)

    for record in watcher.find("run.enqueued", job="tick"):
        late = parse_ts(record["timestamp"]) - parse_ts(record["scheduled_for"])
        assert timedelta(0) <= late < timedelta(seconds=1), record
    first = min(parse_ts(r["scheduled_for"]) for r in watcher.find("run.enqueued", job="tick"))
    assert first - written <= timedelta(seconds=2)

    history = {r["run_id"]: r for r in history_json(tmp_path, "tick")}
    for row in rows:
        shown = history[row.run_id]
        assert shown["status"] == "succeeded"
        assert shown["trigger"] == "schedule"
        assert shown["rq_job_id"] == row.run_id
        assert isinstance(shown["duration_s"], float)
        assert 0 <= shown["duration_s"] < 5
        for key in ("scheduled_for", "enqueued_at", "started_at", "finished_at"):
            assert parse_ts(shown[key]).utcoffset() == timedelta(0), key
        assert shown["error"] is None
    assert e2e_tasks.labels(out)[: len(rows)] == ["v1"] * len(rows)


def test_edited_job_file_uses_the_new_schedule_and_params(spawn: Spawn, tmp_path: Path) -> None:
    """Editing the file switches to its new schedule and params; the old ones stop."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    path = write(watcher.jobs / "tick.yaml", append_job("tick", out, "v1"))
    wait_for(lambda: "v1" in e2e_tasks.labels(out), message="a v1 line")

    since = watcher.mark()
    write(path, append_job("tick", out, "v2", schedule="cron: '* * * * * */2'"))
    watcher.wait_event("config.job_loaded", since=since, job="tick")
    wait_for(lambda: e2e_tasks.labels(out).count("v2") >= 2, timeout=8, message="two v2 lines")

    labels = e2e_tasks.labels(out)
    first_v2 = labels.index("v2")
    assert set(labels[first_v2:]) == {"v2"}, labels
    after = watcher.records()[since:]
    reload_at = next(i for i, r in enumerate(after) if r.get("event") == "config.job_loaded")
    new_instants = [
        parse_ts(r["scheduled_for"])
        for r in after[reload_at:]
        if r.get("event") == "run.enqueued" and r.get("job") == "tick"
    ]
    assert len(new_instants) >= 2
    assert all(t.second % 2 == 0 for t in new_instants), new_instants
    assert new_instants == sorted(set(new_instants))


def test_edit_just_before_an_instant_does_not_lose_that_run(spawn: Spawn, tmp_path: Path) -> None:
    """An edit saved 80 ms before an instant: that instant still runs (old or new params)."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    path = write(watcher.jobs / "tick.yaml", append_job("tick", out, "v1"))
    succeeded(watcher.data, "tick")

    wait_for(
        lambda: datetime.now(UTC).microsecond >= 920_000,
        timeout=2,
        interval=0.002,
        message="80 ms before a whole second",
    )
    edited_at = datetime.now(UTC)
    write(path, append_job("tick", out, "v2"))
    instant = edited_at.replace(microsecond=0) + timedelta(seconds=1)
    wait_for(lambda: "v2" in e2e_tasks.labels(out), message="a v2 line")

    dispatched = {parse_ts(r["scheduled_for"]) for r in watcher.find("run.enqueued", job="tick")}
    assert instant in dispatched, f"{instant} never dispatched; log:\n{watcher.tail()}"


def test_broken_file_is_rejected_and_the_old_definition_keeps_running(
    spawn: Spawn, tmp_path: Path
) -> None:
    """A bad cron is logged with file and line; the last valid definition keeps running."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    path = write(watcher.jobs / "tick.yaml", append_job("tick", out, "v1"))
    wait_for(lambda: "v1" in e2e_tasks.labels(out), message="a v1 line")

    since = watcher.mark()
    broken = append_job("tick", out, "v2", schedule="cron: '* * * * * 61'")
    write(path, broken)
    [rejected] = watcher.wait_event("config.rejected", since=since)
    assert rejected["file"] == "jobs/tick.yaml"
    assert rejected["line"] == line_of(broken, "cron:")
    assert rejected["path"] == "schedule.cron"
    assert "61" in rejected["error"]
    assert rejected["kept"] == ["tick"]
    assert rejected["level"] == "error"

    count = len(e2e_tasks.lines(out))
    wait_for(lambda: len(e2e_tasks.lines(out)) >= count + 2, message="two more v1 runs")
    assert set(e2e_tasks.labels(out)) == {"v1"}
    health = json.loads(
        scheduler_cli(tmp_path, "health", "--data-dir", "data", "--format", "json").stdout
    )
    assert "jobs/tick.yaml" in (health["last_rejected"] or "")

    since = watcher.mark()
    write(path, append_job("tick", out, "v3"))
    [loaded] = watcher.wait_event("config.loaded", since=since)
    assert loaded["rejected"] == []
    wait_for(lambda: "v3" in e2e_tasks.labels(out), message="a v3 line")
    assert not watcher.find("config.rejected", since=since)


def test_broken_file_reverted_to_its_last_valid_content_is_accepted(
    spawn: Spawn, tmp_path: Path
) -> None:
    """Undoing a bad edit (same content as before) is logged as accepted again."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    good = append_job("tick", out, "v1")
    path = write(watcher.jobs / "tick.yaml", good)
    watcher.wait_event("config.job_loaded", job="tick")

    since = watcher.mark()
    write(path, append_job("tick", out, "v1", schedule="cron: '* * * * * 61'"))
    watcher.wait_event("config.rejected", since=since)
    since = watcher.mark()
    write(path, good)
    watcher.wait_event("config.loaded", since=since, rejected=[], timeout=3)


def test_deleted_job_file_stops_its_runs(spawn: Spawn, tmp_path: Path) -> None:
    """Deleting the file removes the job: no run is dispatched or executed afterwards."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    path = write(watcher.jobs / "tick.yaml", append_job("tick", out, "v1"))
    succeeded(watcher.data, "tick", count=2)

    since = watcher.mark()
    path.unlink()
    watcher.wait_event("config.job_removed", since=since, job="tick")
    rows = settled(watcher.data, "tick")
    count = len(e2e_tasks.lines(out))
    assert count == len([r for r in rows if r.status is RunStatus.succeeded])

    assert holds_for(lambda: len(e2e_tasks.lines(out)) == count, seconds=3), "ran after delete"
    removed_at = next(
        i for i, r in enumerate(watcher.records()) if r.get("event") == "config.job_removed"
    )
    later = watcher.records()[removed_at:]
    assert not [r for r in later if r.get("event") == "run.enqueued"]
    assert len(runs(watcher.data, "tick")) == len(rows)


def test_editor_atomic_saves_are_each_picked_up_once(spawn: Spawn, tmp_path: Path) -> None:
    """Temp file + rename over, and backup-rename + new file, each reload the job once."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    path = write(watcher.jobs / "tick.yaml", append_job("tick", out, "v1"))
    [first] = watcher.wait_event("config.job_loaded", job="tick")
    # The reload's config.loaded follows its job_loaded: let it land before the first mark.
    watcher.wait_event("config.loaded", since=watcher.records().index(first))

    def save(label: str, how: Callable[[str], None]) -> None:
        since = watcher.mark()
        how(append_job("tick", out, label))
        watcher.wait_event("config.job_loaded", since=since, job="tick")
        wait_for(lambda: label in e2e_tasks.labels(out), message=f"a {label} line")
        later = watcher.records()[since:]
        assert [r["event"] for r in later if r["event"].startswith("config.")] == [
            "config.job_loaded",
            "config.loaded",
        ], label

    def temp_then_replace(temp: str) -> Callable[[str], None]:
        def how(text: str) -> None:
            write(watcher.jobs / temp, text)
            os.replace(watcher.jobs / temp, path)

        return how

    def backup_then_write(text: str) -> None:  # vim's default: rename away, write anew
        os.replace(path, watcher.jobs / "tick.yaml~")
        write(path, text)

    save("v2", temp_then_replace(".tick.yaml.tmp"))
    save("v3", temp_then_replace("tick.yaml~"))
    save("v4", backup_then_write)
    assert not watcher.find("config.job_removed")
    assert not watcher.find("config.rejected")


def test_configmap_style_swap_is_picked_up(spawn: Spawn, tmp_path: Path) -> None:
    """A Kubernetes ConfigMap update (the ``..data`` symlink swapped) reloads the job."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    jobs = watcher.jobs
    write(jobs / "..2026_01" / "tick.yaml", append_job("tick", out, "v1"))
    (jobs / "..data").symlink_to("..2026_01")
    (jobs / "tick.yaml").symlink_to("..data/tick.yaml")
    watcher.wait_event("config.job_loaded", job="tick")
    wait_for(lambda: "v1" in e2e_tasks.labels(out), message="a v1 line")

    since = watcher.mark()
    write(jobs / "..2026_02" / "tick.yaml", append_job("tick", out, "v2"))
    (jobs / "..data_tmp").symlink_to("..2026_02")
    os.replace(jobs / "..data_tmp", jobs / "..data")
    watcher.wait_event("config.job_loaded", since=since, job="tick", timeout=3)
    wait_for(lambda: "v2" in e2e_tasks.labels(out), message="a v2 line")


def test_a_burst_of_new_files_is_one_reload(spawn: Spawn, tmp_path: Path) -> None:
    """Twenty job files written at once are loaded together: one ``config.loaded``."""
    watcher = spawn()
    since = watcher.mark()
    for i in range(20):
        write(
            watcher.jobs / f"j{i:02}.yaml",
            append_job(f"j{i:02}", tmp_path / "o.txt", "x", "cron: '0 0 1 1 *'"),
        )
    watcher.wait_event("config.job_loaded", since=since, count=20)
    loaded = watcher.find("config.loaded", since=since)
    assert len(loaded) == 1, loaded
    assert loaded[0]["jobs"] == 20


def test_failing_task_is_recorded_as_failed_with_its_error(spawn: Spawn, tmp_path: Path) -> None:
    """A task raising ValueError("boom") is a failed run with error "ValueError: boom"."""
    watcher = spawn()
    write(watcher.jobs / "bad.yaml", job_yaml("bad", "fail"))
    [row, *_] = wait_for(
        lambda: [r for r in runs(watcher.data, "bad") if r.status is RunStatus.failed],
        message="a failed run of bad",
    )
    assert row.error == "ValueError: boom"
    assert row.duration_s is not None
    assert "ValueError: boom" in (row.traceback or "")

    [shown] = [r for r in history_json(tmp_path, "bad") if r["run_id"] == row.run_id]
    assert shown["status"] == "failed"
    assert shown["error"] == "ValueError: boom"
    assert shown["trigger"] == "schedule"
    [logged, *_] = watcher.wait_event("run.failed", run_id=row.run_id)
    assert logged["error"] == "ValueError: boom"


def test_disabled_job_is_never_dispatched(spawn: Spawn, tmp_path: Path) -> None:
    """An ``enabled: false`` job never runs, and ``status`` says it is disabled."""
    watcher = spawn()
    paused_out, active_out = tmp_path / "paused.txt", tmp_path / "active.txt"
    paused = job_yaml(
        "paused", "append", params={"path": str(paused_out), "label": "paused"}, enabled=False
    )
    write(watcher.jobs / "paused.yaml", paused)
    write(watcher.jobs / "active.yaml", append_job("active", active_out, "active"))
    succeeded(watcher.data, "active", count=2)  # two instants were dispatched meanwhile

    assert watcher.find("config.job_loaded", job="paused")
    assert not watcher.find("run.enqueued", job="paused")
    assert runs(watcher.data, "paused") == []
    assert not paused_out.exists()
    done = scheduler_cli(
        tmp_path, "status", "--jobs-dir", "jobs", "--data-dir", "data", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    jobs = {j["name"]: j for j in json.loads(done.stdout)["jobs"]}
    assert jobs["paused"]["enabled"] is False
    assert jobs["paused"]["next_run"] is None
    assert jobs["paused"]["last_run"] is None
    assert jobs["active"]["enabled"] is True
    assert jobs["active"]["last_run"]["status"] in ("enqueued", "started", "succeeded")


def test_job_on_a_new_queue_added_while_running_is_executed(spawn: Spawn, tmp_path: Path) -> None:
    """A job naming a queue no job used at start-up still gets run by the embedded workers."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    text = append_job("report", out, "r").replace("schedule:", "queue: reports\nschedule:")
    write(watcher.jobs / "report.yaml", text)
    watcher.wait_event("run.enqueued", job="report", queue="reports")
    succeeded(watcher.data, "report", timeout=3)


def test_trigger_enqueues_a_manual_run_that_succeeds(spawn: Spawn, tmp_path: Path) -> None:
    """``scheduler trigger NAME`` runs the job now, recorded with trigger ``manual``."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    write(watcher.jobs / "yearly.yaml", append_job("yearly", out, "now", "cron: '0 0 1 1 *'"))
    watcher.wait_event("config.job_loaded", job="yearly")

    enqueued = trigger_json(tmp_path, watcher, "yearly")
    assert enqueued["trigger"] == "manual"
    assert enqueued["enqueued"] is True

    [row] = succeeded(watcher.data, "yearly")
    assert row.run_id == enqueued["run_id"]
    assert row.trigger == "manual"
    assert row.duration_s is not None
    assert e2e_tasks.labels(out) == ["now"]
    [shown] = history_json(tmp_path, "yearly")
    assert (shown["trigger"], shown["status"]) == ("manual", "succeeded")


def test_a_triggered_run_shows_queued_before_a_worker_takes_it_and_counts_as_active(
    spawn: Spawn, tmp_path: Path
) -> None:
    """With no worker, ``trigger``'s run is in history at once (``enqueued``, manual); while
    it waits, the job's scheduled instant is skipped under ``overlap: forbid``."""
    watcher = spawn(workers=0)
    out = tmp_path / "out.txt"

    def once(instant: datetime) -> str:
        at = f"at: '{instant.replace(microsecond=0, tzinfo=None).isoformat()}'"
        return append_job("once", out, "x", at) + "overlap: forbid\n"

    # The instant comes only once the manual run is recorded (so counted as active): fixed
    # before the trigger, it raced the trigger's process start and the history call after.
    write(watcher.jobs / "once.yaml", once(datetime.now(UTC) + timedelta(days=1)))
    watcher.wait_event("config.job_loaded", job="once")

    run_id = trigger_json(tmp_path, watcher, "once")["run_id"]
    [row] = wait_for(
        lambda: [r for r in runs(watcher.data, "once") if r.run_id == run_id],
        message="the manual run's row",
    )
    assert (row.trigger, row.status) == (RunTrigger.manual, RunStatus.enqueued)
    assert row.enqueued_at is not None
    [shown] = history_json(tmp_path, "once")
    assert (shown["trigger"], shown["status"]) == ("manual", "enqueued")
    watcher.wait_event("run.enqueued", run_id=run_id, trigger="manual")

    since = watcher.mark()
    instant = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    write(watcher.jobs / "once.yaml", once(instant))
    [loaded] = watcher.wait_event("config.job_loaded", since=since, job="once")
    # Live within 1 s per the contract: the instant, 4 s on, is still to come when it loads.
    assert loaded["next_run"], loaded
    assert parse_ts(loaded["next_run"]) == instant, loaded
    [skipped] = wait_for(
        lambda: [r for r in runs(watcher.data, "once") if r.trigger is RunTrigger.schedule],
        timeout=15,
        message="the scheduled run's row",
    )
    assert (skipped.status, skipped.reason) == (RunStatus.skipped, "overlap")
    assert skipped.scheduled_for == instant
    assert sorted(r.run_id for r in runs(watcher.data, "once")) == sorted([skipped.run_id, run_id])


def test_health_is_0_while_the_watcher_runs_and_1_otherwise(spawn: Spawn, tmp_path: Path) -> None:
    """``scheduler health`` exits 1 before start, 0 while running, 1 after a stop."""

    def health() -> subprocess.CompletedProcess[str]:
        return scheduler_cli(tmp_path, "health", "--data-dir", "data", "--format", "json")

    before = health()
    assert before.returncode == 1, before.stdout + before.stderr
    assert "Traceback" not in before.stderr

    watcher = spawn()
    running = health()
    assert running.returncode == 0, running.stdout + running.stderr
    data = json.loads(running.stdout)
    assert data["healthy"] is True
    assert data["state"] == "running"
    assert data["generation"] == watcher.find("watcher.started")[0]["generation"]

    code, _ = watcher.terminate()
    assert code == 0
    after = health()
    assert after.returncode == 1, after.stdout
    assert json.loads(after.stdout)["state"] == "stopped"


def test_sigterm_exits_0_within_5_s_and_logs_watcher_stopped(spawn: Spawn, tmp_path: Path) -> None:
    """SIGTERM with jobs running every second: exit 0 within 5 s, ``watcher.stopped`` logged."""
    watcher = spawn()
    write(watcher.jobs / "tick.yaml", append_job("tick", tmp_path / "out.txt", "v1"))
    succeeded(watcher.data, "tick")

    code, took = watcher.terminate()
    assert code == 0, watcher.tail()
    assert took < STOP_WITHIN
    assert watcher.find("watcher.stopped")
    assert "Traceback" not in watcher.err.read_text()


def test_sigterm_while_a_task_runs_exits_0_within_5_s(spawn: Spawn, tmp_path: Path) -> None:
    """SIGTERM while a long task runs still exits 0 within 5 s (the task is cut short)."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    params = {"seconds": 30, "path": str(out), "label": "long"}
    write(watcher.jobs / "long.yaml", job_yaml("long", "slow", params=params))
    wait_for(lambda: "long-start" in e2e_tasks.labels(out), message="the long task started")

    code, took = watcher.terminate(timeout=15)
    assert code == 0, watcher.tail()
    assert took < STOP_WITHIN, f"took {took:.1f} s"
    assert watcher.find("watcher.stopped")


def test_run_cut_short_by_sigterm_does_not_stay_started(spawn: Spawn, tmp_path: Path) -> None:
    """A run killed by the watcher's own shutdown ends as failed, not started forever."""
    watcher = spawn()
    out = tmp_path / "out.txt"
    params = {"seconds": 30, "path": str(out), "label": "long"}
    write(watcher.jobs / "long.yaml", job_yaml("long", "slow", params=params))
    wait_for(lambda: "long-start" in e2e_tasks.labels(out), message="the long task started")
    [row] = wait_for(
        lambda: [r for r in runs(watcher.data, "long") if r.status is RunStatus.started],
        message="the run recorded as started",
    )
    assert watcher.terminate(timeout=15)[0] == 0

    (watcher.jobs / "long.yaml").unlink()  # the restarted watcher only reads the stream
    spawn("after")
    wait_for(
        lambda: (
            next(r for r in runs(watcher.data, "long") if r.run_id == row.run_id).status in FINAL
        ),
        timeout=3,
        message=lambda: f"a final status for {row.run_id}: {runs(watcher.data, 'long')}",
    )


def test_every_stdout_line_is_json_and_run_lines_carry_their_fields(
    spawn: Spawn, tmp_path: Path
) -> None:
    """Every stdout line is a JSON object; run.* lines carry job, run_id, scheduled_for, UTC."""
    watcher = spawn()
    write(watcher.jobs / "tick.yaml", append_job("tick", tmp_path / "out.txt", "v1"))
    write(watcher.jobs / "bad.yaml", job_yaml("bad", "fail"))
    write(watcher.jobs / "broken.yaml", "name: broken\ntask: [\n")
    succeeded(watcher.data, "tick", count=2)
    wait_for(
        lambda: [r for r in runs(watcher.data, "bad") if r.status is RunStatus.failed],
        message="a failed run",
    )
    code, _ = watcher.terminate()
    assert code == 0

    lines = watcher.lines()
    assert lines
    bad = [line for line in lines if not _is_json_object(line)]
    assert bad == []
    records = watcher.records()
    for record in records:
        assert isinstance(record.get("event"), str), record
        assert record["timestamp"].endswith("Z"), record
        assert parse_ts(record["timestamp"]).utcoffset() == timedelta(0)
    events = {r["event"] for r in records}
    assert {"watcher.started", "config.loaded", "config.rejected", "run.enqueued"} <= events
    assert {"run.started", "run.succeeded", "run.failed", "watcher.stopped"} <= events
    for record in records:
        if record["event"] in ("run.enqueued", "run.started", "run.succeeded", "run.failed"):
            assert record["job"] in ("tick", "bad"), record
            assert record["run_id"].startswith(record["job"] + "--"), record
            assert parse_ts(record["scheduled_for"]).utcoffset() == timedelta(0), record
            assert record["trigger"] == "schedule"


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
