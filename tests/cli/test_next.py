"""``scheduler next``: run instants across DST, option handling, unknown and invalid jobs.

Transitions in the dst/ fixtures (2026), and the Debian-cron rule each test checks:

* Europe/Paris: 2026-03-29 02:00 CET (+01:00) -> 03:00 CEST (+02:00);
  2026-10-25 03:00 CEST -> 02:00 CET, so 02:00-02:59 happens twice.
* America/New_York: 2026-03-08 02:00 EST (-05:00) -> 03:00 EDT (-04:00);
  2026-11-01 02:00 EDT -> 01:00 EST, so 01:00-01:59 happens twice.
* Australia/Lord_Howe (a 30-minute shift): 2026-04-05 02:00 (+11:00) -> 01:30 (+10:30),
  so 01:30-01:59 happens twice; 2026-10-04 02:00 (+10:30) -> 02:30 (+11:00).

A fixed-time job (minute and hour not beginning with '*') in a skipped hour runs once at the
end of the gap, and once (first pass) in a repeated hour. Any other job follows elapsed time:
nothing in the gap, both passes of a repeated hour. Expected values were checked with cronsim.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

PARIS_SPRING = [
    "2026-03-29T03:00:00+02:00",
    "2026-03-30T02:30:00+02:00",
    "2026-03-31T02:30:00+02:00",
]


def next_json(cli, name: str, after: str, count: int, jobs_dir: str = "dst"):
    """Run ``next NAME --after AFTER --count N --format json`` and return the result."""
    return cli(
        "next", name, "--after", after, "--count", str(count), "--format", "json",
        "--jobs-dir", jobs_dir,
    )  # fmt: skip


@pytest.fixture(scope="module")
def paris_spring(cli):
    return next_json(cli, "paris-0230", "2026-03-28T12:00:00+01:00", 3)


def test_fixed_time_run_in_the_spring_gap_runs_at_the_end_of_it(paris_spring) -> None:
    """30 2 * * * in Paris: 02:30 does not exist on 2026-03-29, so it runs at 03:00+02:00."""
    assert paris_spring.code == 0, paris_spring.err
    assert paris_spring.json()["runs"] == PARIS_SPRING


def test_json_has_the_contract_shape(paris_spring) -> None:
    """JSON is exactly {job, timezone, runs}, runs as ISO-8601 with offsets."""
    data = paris_spring.json()
    assert set(data) == {"job", "timezone", "runs"}
    assert (data["job"], data["timezone"]) == ("paris-0230", "Europe/Paris")
    for run in data["runs"]:
        assert datetime.fromisoformat(run).utcoffset() is not None, run
    assert paris_spring.err == ""


def test_fixed_time_run_on_the_fall_back_night_runs_once(cli) -> None:
    """30 2 * * * in Paris on 2026-10-25: 02:30 happens twice, the job runs at the first only."""
    result = next_json(cli, "paris-0230", "2026-10-24T12:00:00+02:00", 3)
    assert result.code == 0, result.err
    runs = result.json()["runs"]
    assert runs == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]
    assert sum(r.startswith("2026-10-25") for r in runs) == 1


def test_elapsed_time_job_gets_both_passes_of_the_repeated_hour(cli) -> None:
    """*/30 in Paris on 2026-10-25 runs at 02:00 and 02:30 in both CEST and CET."""
    result = next_json(cli, "paris-every-30", "2026-10-25T01:45:00+02:00", 6)
    assert result.code == 0, result.err
    assert result.json()["runs"] == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00",
        "2026-10-25T03:30:00+01:00",
    ]


def test_elapsed_time_job_skips_the_spring_gap(cli) -> None:
    """*/30 in Paris on 2026-03-29 has no run between 02:00 and 03:00 (they do not exist)."""
    result = next_json(cli, "paris-every-30", "2026-03-29T01:15:00+01:00", 3)
    assert result.json()["runs"] == [
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:30:00+02:00",
    ]


@pytest.mark.parametrize(
    ("name", "after", "expected"),
    [
        pytest.param(
            "ny-0230", "2026-03-07T12:00:00-05:00",
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
            id="new-york-spring-gap",
        ),
        pytest.param(
            "ny-0130", "2026-10-31T12:00:00-04:00",
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
            id="new-york-fall-back-once",
        ),
        pytest.param(
            "lord-howe-0145", "2026-04-04T12:00:00+11:00",
            ["2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"],
            id="lord-howe-half-hour-back-once",
        ),
        pytest.param(
            "lord-howe-0215", "2026-10-03T12:00:00+10:30",
            ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"],
            id="lord-howe-half-hour-gap",
        ),
        pytest.param(
            "lord-howe-every-15", "2026-04-05T01:20:00+11:00",
            [
                "2026-04-05T01:30:00+11:00", "2026-04-05T01:45:00+11:00",
                "2026-04-05T01:30:00+10:30", "2026-04-05T01:45:00+10:30",
                "2026-04-05T02:00:00+10:30", "2026-04-05T02:15:00+10:30",
            ],
            id="lord-howe-every-15-both-passes",
        ),
        pytest.param(
            "lord-howe-every-15", "2026-10-04T01:50:00+10:30",
            ["2026-10-04T02:30:00+11:00", "2026-10-04T02:45:00+11:00", "2026-10-04T03:00:00+11:00"],
            id="lord-howe-every-15-skips-gap",
        ),
        pytest.param(
            "paris-0230", "2026-03-29T00:30:00Z",
            ["2026-03-29T03:00:00+02:00"],
            id="utc-z-after",
        ),
        pytest.param(
            "paris-0230", "2026-03-30T02:30:00+02:00",
            ["2026-03-31T02:30:00+02:00"],
            id="strictly-after",
        ),
    ],
)  # fmt: skip
def test_dst_scenarios(cli, name: str, after: str, expected: list[str]) -> None:
    """Run instants around DST transitions in zones other than Paris."""
    result = next_json(cli, name, after, len(expected))
    assert result.code == 0, result.err
    assert result.json()["runs"] == expected


def test_naive_after_is_read_in_the_jobs_time_zone(cli, paris_spring) -> None:
    """--after without an offset means Paris time for a Paris job, whatever the machine's TZ."""
    result = cli(
        "next", "paris-0230", "--after", "2026-03-28T12:00:00", "--count", "3", "--format", "json",
        "--jobs-dir", "dst", env={"TZ": "Asia/Tokyo"},
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["runs"] == paris_spring.json()["runs"] == PARIS_SPRING


def test_naive_after_in_a_repeated_hour_reads_the_first_pass(cli) -> None:
    """--after 2026-10-25T02:00 (Paris, twice that night) is the first, CEST, 02:00."""
    result = next_json(cli, "paris-every-30", "2026-10-25T02:00:00", 3)
    assert result.json()["runs"] == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:30:00+01:00",
    ]


def test_default_count_is_five(cli) -> None:
    """Without --count, next lists 5 runs."""
    result = cli(
        "next", "heartbeat", "--after", "2026-01-01T00:00:00+00:00", "--format", "json",
        "--jobs-dir", "valid",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["runs"] == [
        "2026-01-01T00:15:00+00:00",
        "2026-01-01T00:30:00+00:00",
        "2026-01-01T00:45:00+00:00",
        "2026-01-01T01:00:00+00:00",
        "2026-01-01T01:15:00+00:00",
    ]


def test_default_after_is_now(cli) -> None:
    """Without --after, the runs are in the future and ascending."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    result = cli("next", "heartbeat", "--format", "json", "--jobs-dir", "valid")
    assert result.code == 0, result.err
    runs = [datetime.fromisoformat(r) for r in result.json()["runs"]]
    assert len(runs) == 5
    assert runs == sorted(runs)
    assert runs[0] > before
    assert runs[0] - before <= timedelta(minutes=16)


def test_text_output_shows_local_times_with_offsets(cli) -> None:
    """Text output names the job and its zone, then one run per line with its offset."""
    result = cli(
        "next", "paris-0230", "--after", "2026-03-28T12:00:00+01:00", "-n", "3",
        "--jobs-dir", "dst",
    )  # fmt: skip
    assert result.code == 0, result.err
    head, *rows = result.out.splitlines()
    assert "paris-0230" in head
    assert "Europe/Paris" in head
    assert len(rows) == 3
    for row, run in zip(rows, PARIS_SPRING, strict=True):
        assert run in row


def test_exhausted_one_shot_has_no_runs(cli) -> None:
    """A one-shot job asked for runs after its instant gives an empty list, exit 0."""
    result = next_json(cli, "one-shot", "2099-01-02T00:00:00+00:00", 3, jobs_dir="valid")
    assert result.code == 0, result.err
    assert result.json()["runs"] == []


def test_disabled_job_is_flagged(cli) -> None:
    """next on a disabled job still answers, and says it is disabled."""
    result = cli("next", "cleanup-paused", "-n", "1", "--jobs-dir", "valid")
    assert result.code == 0, result.err
    assert "disabled" in result.out


@pytest.mark.parametrize("count", ["0", "-1", "abc", "10001"])
def test_bad_count_is_a_usage_error(cli, count: str) -> None:
    """--count must be a whole number from 1 up; anything else exits 2."""
    result = cli("next", "paris-0230", "--count", count, "--jobs-dir", "dst")
    assert result.code == 2
    assert "--count" in result.err
    assert result.out == ""


@pytest.mark.parametrize(
    "after", ["yesterday", "2026-13-01T00:00:00", "2026-03-28T25:00:00+01:00", "", "12:00"]
)
def test_bad_after_is_a_usage_error(cli, after: str) -> None:
    """--after that is not an ISO-8601 date-time exits 2 naming the option."""
    result = cli("next", "paris-0230", "--after", after, "--jobs-dir", "dst")
    assert result.code == 2
    assert "--after" in result.err
    assert result.out == ""


def test_bad_format_is_a_usage_error(cli) -> None:
    """next knows text and json only."""
    result = cli("next", "paris-0230", "--format", "github", "--jobs-dir", "dst")
    assert result.code == 2


def test_missing_name_is_a_usage_error(cli) -> None:
    """next needs a NAME."""
    result = cli("next", "--jobs-dir", "dst")
    assert result.code == 2
    assert "NAME" in result.err


def test_missing_jobs_dir_is_a_usage_error(cli, empty_dir) -> None:
    """next with no ./jobs.d exits 2, naming the directory."""
    result = cli("next", "anything", cwd=empty_dir)
    assert result.code == 2
    assert "jobs.d" in result.err


def test_unknown_job_exits_1_with_a_message(cli) -> None:
    """A name no file defines: exit 1, the name in the message, nothing on stdout."""
    result = cli("next", "no-such-job", "--jobs-dir", "dst")
    assert result.code == 1
    assert "no-such-job" in result.err
    assert "did you mean" not in result.err
    assert result.out == ""


def test_unknown_job_close_to_a_known_one_suggests_it(cli) -> None:
    """A near miss gets a did-you-mean naming the real job."""
    result = cli("next", "paris-023", "--jobs-dir", "dst")
    assert result.code == 1
    assert "did you mean" in result.err
    assert "'paris-0230'" in result.err


def test_job_in_an_invalid_file_names_file_and_line(cli) -> None:
    """A valid job whose file holds an error elsewhere: exit 1, naming that file and line."""
    result = cli("next", "mixed-ok", "--jobs-dir", "invalid")
    assert result.code == 1
    assert "mixed-ok" in result.err
    assert "invalid/mixed.yaml:10" in result.err
    assert result.out == ""


@pytest.mark.parametrize(
    ("name", "where"),
    [
        pytest.param("bad-cron", "invalid/bad_cron.yaml:4", id="bad-cron"),
        pytest.param("mixed-bad", "invalid/mixed.yaml:10", id="bad-second-document"),
    ],
)
def test_invalid_job_names_its_file_and_line(cli, name: str, where: str) -> None:
    """next on a job whose own definition is broken points at the error, not 'no such job'."""
    result = cli("next", name, "--jobs-dir", "invalid")
    assert result.code == 1
    assert where in result.err
    assert "no job named" not in result.err


def test_valid_job_still_works_beside_invalid_files(cli) -> None:
    """Other files being invalid only adds a warning on stderr; stdout stays clean JSON."""
    result = next_json(cli, "good-job", "2026-03-27T12:00:00+01:00", 2, jobs_dir="invalid")
    assert result.code == 0, result.err
    assert result.json() == {
        "job": "good-job",
        "timezone": "Europe/Paris",
        "runs": ["2026-03-30T06:00:00+02:00", "2026-03-31T06:00:00+02:00"],
    }
    assert "warning" in result.err
    assert "invalid/bad_cron.yaml" in result.err


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a" * 10_000, id="10k-chars"),
        pytest.param("../../etc/passwd", id="path"),
        pytest.param("job\nname\t\x7f", id="control-chars"),
        pytest.param("ジョブ-🙂", id="non-ascii"),
        pytest.param("*", id="glob"),
    ],
)
def test_garbage_names_get_a_message_not_a_traceback(cli, name: str) -> None:
    """Any NAME gives a one-line error and exit 1."""
    result = cli("next", name, "--jobs-dir", "dst")
    assert result.code == 1
    assert result.err.startswith("error:")
    assert result.out == ""


@pytest.mark.parametrize("after", ["9999-12-31T23:00:00+00:00", "0001-01-01T00:00:00"])
def test_after_at_the_ends_of_time_is_handled(cli, after: str) -> None:
    """--after at year 1 or 9999 gives runs, no runs, or a usage error; never an internal error."""
    result = cli("next", "paris-0230", "--after", after, "--jobs-dir", "dst")
    assert "internal error" not in result.err
    assert result.code in (0, 2)


WINDOWED_JITTER = """\
name: jit2
task: examples.bots:report
schedule:
  cron: "0 9 * * *"
  jitter: 1h
  start: "2026-05-03T09:10:00"
  end: "2026-05-05T09:10:00"
---
name: jat
task: examples.bots:report
schedule:
  at: "2027-01-01T00:00:00"
  jitter: 1h
  end: "2027-01-01T00:10:00"
"""


def test_start_and_end_bound_the_jittered_runs(cli, tmp_path) -> None:
    """[start, end] holds the runs as they happen, jitter included (jit2's delay is
    18m11s): 09:00 + 18m11s falls inside a window starting 09:10, and a run due at
    00:12:29 is not one of a window ending at 00:10."""
    (tmp_path / "jobs.d").mkdir()
    (tmp_path / "jobs.d" / "w.yaml").write_text(WINDOWED_JITTER, encoding="utf-8")
    result = cli("next", "jit2", "--after", "2026-05-01T00:00:00Z", "--format", "json",
                 cwd=tmp_path)  # fmt: skip
    assert result.json()["runs"] == [
        "2026-05-03T09:18:11+00:00",
        "2026-05-04T09:18:11+00:00",
    ]
    result = cli("next", "jat", "--after", "2026-12-01T00:00:00Z", "--format", "json",
                 cwd=tmp_path)  # fmt: skip
    assert (result.code, result.json()["runs"]) == (0, [])
