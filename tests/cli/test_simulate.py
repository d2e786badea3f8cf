"""``scheduler simulate``: black-box runs on the DST fixtures and on jobs written per test.

Europe/Paris 2026 (the dst/ fixtures): 2026-03-29 02:00 CET (+01:00) -> 03:00 CEST (+02:00);
2026-10-25 03:00 CEST -> 02:00 CET, so 02:00-02:59 happens twice. paris-0230 (30 2 * * *)
runs once each night; paris-every-30 (*/30) follows elapsed time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import DEFAULT_TIMEOUT, PROJECT, CliResult

ENTRY = ("-m", "scheduler")

HOURLY = "name: hourly\ntask: examples.bots:report\nschedule:\n  cron: '0 * * * *'\n"
PAUSED = (
    "name: paused\ntask: examples.bots:report\nenabled: false\n"
    "schedule:\n  daily: '09:00'\n  timezone: Europe/Paris\n"
)
SECONDLY = "name: secondly\ntask: examples.bots:report\nschedule:\n  interval: 1s\n"


def simulate(*args: str, cwd: Path, timeout: float = DEFAULT_TIMEOUT) -> CliResult:
    """Run ``scheduler simulate ARGS`` in ``cwd``; assert no traceback reached either stream."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEDULER_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT), os.environ.get("PYTHONPATH", "")) if p
    )
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run(
        [sys.executable, *ENTRY, "simulate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    """A working directory whose jobs.d/ holds an hourly UTC job and a disabled daily one."""
    (tmp_path / "jobs.d").mkdir()
    (tmp_path / "jobs.d" / "hourly.yaml").write_text(HOURLY, encoding="utf-8")
    (tmp_path / "jobs.d" / "paused.yaml").write_text(PAUSED, encoding="utf-8")
    return tmp_path


def table(data: dict[str, object], job: str) -> list[tuple[str, str | None, str]]:
    """(scheduled_for, dispatched_at, outcome) of ``job``'s occurrences in JSON output."""
    occurrences = data["occurrences"]
    assert isinstance(occurrences, list)
    return [
        (o["scheduled_for"], o["dispatched_at"], o["outcome"])
        for o in occurrences
        if o["job"] == job
    ]


# --- DST nights ------------------------------------------------------------------------


def test_fixed_time_job_runs_once_each_dst_night(workdir: Path) -> None:
    """paris-0230 over both 2026 transitions: one run per night, at the right local instant."""
    nights = []
    for start, end in [
        ("2026-03-28T12:00:00+01:00", "2026-03-29T12:00:00+02:00"),
        ("2026-10-24T12:00:00+02:00", "2026-10-25T12:00:00+01:00"),
    ]:
        result = simulate(
            "--jobs-dir", "dst", "--job", "paris-0230", "--from", start, "--to", end,
            "--format", "json", cwd=workdir,
        )  # fmt: skip
        assert result.code == 0, result.err
        nights += table(result.json(), "paris-0230")
    assert nights == [
        ("2026-03-29T03:00:00+02:00", "2026-03-29T03:00:00+02:00", "run"),
        ("2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "run"),
    ]


def test_elapsed_time_job_gets_both_passes_of_the_fall_back_hour(workdir: Path) -> None:
    """paris-every-30 on 2026-10-25 runs 02:00 and 02:30 in CEST, then again in CET."""
    result = simulate(
        "--jobs-dir", "dst", "--job", "paris-every-30", "--format", "json",
        "--from", "2026-10-25T01:45:00+02:00", "--to", "2026-10-25T02:45:00+01:00", cwd=workdir,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert [r[0] for r in table(result.json(), "paris-every-30")] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:30:00+01:00",
    ]


def test_text_shows_local_time_with_offset_outcome_and_a_summary(workdir: Path) -> None:
    """One line per occurrence (local time and offset, job, outcome, reason), then per job."""
    result = simulate(
        "--jobs-dir", "dst", "--job", "paris-0230", "--from", "2026-10-24T12:00",
        "--to", "2026-10-25T06:00", "--outage", "2026-10-25T00:10/55m", cwd=workdir,
    )  # fmt: skip
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("simulated 2026-10-24T12:00:00+00:00 .. 2026-10-25T06:00:00+00:00")
    assert lines[1].split() == [
        "2026-10-25T02:30:00+02:00", "paris-0230", "catch-up", "watcher", "was", "down;",
        "dispatched", "at", "2026-10-25T02:05:00+01:00",
    ]  # fmt: skip
    assert lines[-1].split() == ["paris-0230", "[Europe/Paris]", "1", "catch-up"]


# --- outages and the JSON shape --------------------------------------------------------


def test_outage_gives_one_catch_up_at_its_end_and_the_rest_missed(jobs: Path) -> None:
    """Down 00:30-03:30 UTC: 01:00 and 02:00 missed, 03:00 caught up at 03:30."""
    result = simulate(
        "--job", "hourly", "--from", "2026-03-29T00:00", "--to", "2026-03-29T05:00",
        "--outage", "2026-03-29T00:30/3h", "--format", "json", cwd=jobs,
    )  # fmt: skip
    assert result.code == 0, result.err
    data = result.json()
    assert table(data, "hourly") == [
        ("2026-03-29T01:00:00+00:00", None, "missed"),
        ("2026-03-29T02:00:00+00:00", None, "missed"),
        ("2026-03-29T03:00:00+00:00", "2026-03-29T03:30:00+00:00", "catch-up"),
        ("2026-03-29T04:00:00+00:00", "2026-03-29T04:00:00+00:00", "run"),
        ("2026-03-29T05:00:00+00:00", "2026-03-29T05:00:00+00:00", "run"),
    ]
    assert data["counts"] == {"run": 2, "late": 0, "catch-up": 1, "missed": 2, "skipped": 0}
    assert data["outages"] == [
        {"start": "2026-03-29T00:30:00+00:00", "end": "2026-03-29T03:30:00+00:00"}
    ]


def test_json_has_the_documented_shape(jobs: Path) -> None:
    """Top-level keys, per-job summaries by name, every occurrence field; naive means UTC."""
    result = simulate(
        "--from", "2026-03-29T00:00", "--to", "2026-03-29T10:00+02:00",
        "--outage", "2026-03-29T01:30/2026-03-29T02:15:00Z", "--format", "json", cwd=jobs,
    )  # fmt: skip
    assert result.code == 0, result.err
    data = result.json()
    assert list(data) == ["from", "to", "outages", "counts", "jobs", "occurrences"]
    assert (data["from"], data["to"]) == ("2026-03-29T00:00:00+00:00", "2026-03-29T08:00:00+00:00")
    assert data["jobs"] == [
        {
            "name": "hourly",
            "timezone": "UTC",
            "enabled": True,
            "counts": {"run": 7, "late": 0, "catch-up": 1, "missed": 0, "skipped": 0},
        },
        {
            "name": "paused",
            "timezone": "Europe/Paris",
            "enabled": False,
            "counts": {"run": 0, "late": 0, "catch-up": 0, "missed": 0, "skipped": 1},
        },
    ]
    keys = {
        "job", "scheduled_for", "scheduled_for_utc", "outcome", "dispatched_at",
        "dispatched_at_utc", "reason",
    }  # fmt: skip
    assert all(set(o) == keys for o in data["occurrences"])
    catch_up = next(o for o in data["occurrences"] if o["outcome"] == "catch-up")
    assert catch_up == {
        "job": "hourly",
        "scheduled_for": "2026-03-29T02:00:00+00:00",
        "scheduled_for_utc": "2026-03-29T02:00:00+00:00",
        "outcome": "catch-up",
        "dispatched_at": "2026-03-29T02:15:00+00:00",
        "dispatched_at_utc": "2026-03-29T02:15:00+00:00",
        "reason": "watcher was down",
    }
    [skipped] = [o for o in data["occurrences"] if o["job"] == "paused"]
    assert skipped == {
        "job": "paused",
        "scheduled_for": "2026-03-29T09:00:00+02:00",
        "scheduled_for_utc": "2026-03-29T07:00:00+00:00",
        "outcome": "skipped",
        "dispatched_at": None,
        "dispatched_at_utc": None,
        "reason": "disabled",
    }


def test_outage_between_two_runs_changes_nothing(jobs: Path) -> None:
    """Down 01:10-01:50, inside the gap between hourly runs: every run on time."""
    args = ("--job", "hourly", "--from", "2026-03-29T00:00", "--to", "2026-03-29T03:00")
    plain = simulate(*args, "--format", "json", cwd=jobs)
    down = simulate(*args, "--outage", "2026-03-29T01:10/40m", "--format", "json", cwd=jobs)
    assert plain.code == down.code == 0, down.err
    assert plain.json()["occurrences"] == down.json()["occurrences"]


def test_invalid_files_are_reported_and_skipped(workdir: Path) -> None:
    """A jobs dir with invalid files: a warning on stderr, the valid jobs simulated, exit 0."""
    result = simulate(
        "--jobs-dir", "invalid", "--from", "2026-03-29T00:00", "--to", "2026-03-29T03:00",
        "--format", "json", cwd=workdir,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "invalid job file(s) skipped" in result.err
    assert "good-job" in [j["name"] for j in result.json()["jobs"]]


# --- bad input -------------------------------------------------------------------------

WINDOW = ("--from", "2026-03-29T00:00", "--to", "2026-03-29T06:00")


@pytest.mark.parametrize(
    "outage",
    [
        "2026-03-29T01:00",  # no '/'
        "2026-03-29T01:00/",  # nothing after '/'
        "2026-03-29T01:00/1x",  # neither a duration nor a date-time
        "2026-03-29T01:00/-1h",
        "someday/1h",
        "2026-03-29T02:00/2026-03-29T01:00",  # ends before it starts
        "2026-03-28T23:00/2h",  # starts before --from
        "2026-03-29T05:00/2h",  # ends after --to
    ],
)
def test_bad_outage_is_a_usage_error(jobs: Path, outage: str) -> None:
    result = simulate(*WINDOW, "--outage", outage, cwd=jobs)
    assert result.code == 2, result.out
    assert "--outage" in result.err
    assert result.out == ""


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (("--from", "yesterday", "--to", "2026-03-29T06:00"), "--from"),
        (("--from", "2026-03-29T00:00", "--to", "2026-13-01"), "--to"),
        (("--from", "2026-03-29T06:00", "--to", "2026-03-29T00:00"), "end must be after"),
        (("--from", "0001-01-01", "--to", "2026-03-29T00:00"), "outside"),
        (("--from", "2026-01-01", "--to", "2040-01-01"), "days allowed"),
        (("--to", "2026-03-29T00:00"), "--from"),
    ],
)
def test_bad_window_is_a_usage_error(jobs: Path, args: tuple[str, ...], hint: str) -> None:
    result = simulate(*args, cwd=jobs)
    assert result.code == 2, result.out
    assert hint in result.err


def test_huge_window_is_refused_quickly(jobs: Path) -> None:
    """Every second for ten days (864,000 instants): exit 2 with the limit named, no hang."""
    (jobs / "jobs.d" / "secondly.yaml").write_text(SECONDLY, encoding="utf-8")
    began = time.monotonic()
    result = simulate("--from", "2026-03-29", "--to", "2026-04-08", cwd=jobs, timeout=30)
    assert time.monotonic() - began < 15
    assert result.code == 2, result.out
    assert "more than 100,000 run instants" in result.err
    assert result.out == ""


def test_unknown_job_exits_1_with_a_suggestion(jobs: Path) -> None:
    result = simulate(*WINDOW, "--job", "hourli", cwd=jobs)
    assert result.code == 1, result.out
    assert "no job named 'hourli'" in result.err
    assert "'hourly'" in result.err


def test_missing_jobs_dir_is_a_usage_error(tmp_path: Path) -> None:
    result = simulate(*WINDOW, "--jobs-dir", "nowhere", cwd=tmp_path)
    assert result.code == 2
    assert "does not exist" in result.err
