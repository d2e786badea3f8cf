"""What `scheduler run` prints, seen from outside on a real run (embedded Redis, one worker).

The console format is for people: durations in milliseconds, and none of RQ's own lines for
every run (they repeat the watcher's ``run.*`` lines) unless ``--verbose``. JSON, for log
pipelines, keeps every field and every line.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.embedded_run import EmbeddedRun
from tests.integration.helpers import wait_for

JOB = "name: tick\ntask: examples.bots:heartbeat\nschedule:\n  interval: 1s\n"
#: What RQ's console lines end with: the logger's name.
RQ_LINE = re.compile(r"\[rq\.[a-z_.]+\]\s*$")


def finished_run(tmp_path: Path, *args: str) -> EmbeddedRun:
    """A `scheduler run ARGS` stopped (SIGTERM, exit 0) once its second run started: RQ has
    logged the first one as done by then (the worker takes the next job after that)."""
    (tmp_path / "jobs").mkdir(parents=True)
    (tmp_path / "jobs" / "tick.yaml").write_text(JOB)
    run = EmbeddedRun(tmp_path, *args)
    try:
        run.wait_for_text("run.succeeded")
        wait_for(
            lambda: sum("run.started" in line for line in run.lines()) >= 2,
            timeout=10,
            message=lambda: f"a second run started\n{run.tail()}",
        )
        assert run.stop() == 0, run.tail()
    finally:
        run.close()
    return run


def test_console_shows_milliseconds_and_no_rq_lines(tmp_path: Path) -> None:
    """`--log-format console`: `duration_ms=21.4`, not `duration_s=0.0214...`; no RQ line."""
    lines = finished_run(tmp_path, "--log-format", "console").lines()
    [succeeded, *_] = [line for line in lines if "run.succeeded" in line]
    assert re.search(r"\bduration_ms=\d+\.\d\b", succeeded), succeeded
    assert "duration_s" not in succeeded
    assert [line for line in lines if RQ_LINE.search(line)] == []
    assert any("watcher.stopped" in line for line in lines)


def test_verbose_console_brings_rq_lines_back(tmp_path: Path) -> None:
    """`--verbose`: RQ's lines for each run (from the embedded worker) are shown again."""
    lines = finished_run(tmp_path, "--log-format", "console", "--verbose").lines()
    rq_lines = [line for line in lines if RQ_LINE.search(line)]
    assert any("Job OK" in line for line in rq_lines), "\n".join(lines)
    assert any("duration_ms=" in line for line in lines if "run.succeeded" in line)


def test_json_keeps_every_field_and_rq_line(tmp_path: Path) -> None:
    """JSON (the default) is unchanged: `duration_s` in seconds, RQ's records included."""
    run = finished_run(tmp_path)
    records = run.records()
    assert len(records) == len(run.lines()), "a line that is not JSON"
    [succeeded, *_] = [r for r in records if r["event"] == "run.succeeded"]
    assert set(succeeded) == {
        "event", "level", "timestamp", "job", "run_id", "scheduled_for", "trigger", "worker",
        "duration_s",
    }  # fmt: skip
    assert isinstance(succeeded["duration_s"], float)
    assert 0 < succeeded["duration_s"] < 10
    assert any(r.get("logger") == "rq.worker" and "Job OK" in r["event"] for r in records)
