"""``scheduler list`` (jobs with schedule, zone, next run, source) and ``scheduler schema``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "job.schema.json"
HEADER = ["NAME", "SCHEDULE", "TIMEZONE", "NEXT", "RUN", "FILE"]
ROW_KEYS = {"name", "schedule_text", "timezone", "next_run", "file"}

# name -> (source file, time zone) of every job in fixtures/valid/
VALID_JOBS = {
    "birthday-daily": ("valid/daily.yml", "Europe/Paris"),
    "cleanup-fast": ("valid/sub/multi.yaml", "UTC"),
    "cleanup-paused": ("valid/sub/multi.yaml", "Europe/Paris"),
    "heartbeat": ("valid/interval.yaml", "UTC"),
    "nightly-report": ("valid/cron.yaml", "Europe/Paris"),
    "one-shot": ("valid/sub/at.yaml", "Europe/Paris"),
    "visitor-weekly": ("valid/weekly.yaml", "America/New_York"),
}


@pytest.fixture(scope="module")
def started() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=1)


@pytest.fixture(scope="module")
def list_text(cli, started):
    return cli("list", "--jobs-dir", "valid")


@pytest.fixture(scope="module")
def list_json(cli, started):
    return cli("list", "--jobs-dir", "valid", "--format", "json")


def _rows(text: str) -> dict[str, str]:
    return {line.split()[0]: line for line in text.splitlines()[1:]}


def test_list_exits_0(list_text, list_json) -> None:
    """list on a valid tree exits 0 and prints nothing on stderr."""
    assert (list_text.code, list_json.code) == (0, 0)
    assert list_text.err == list_json.err == ""


def test_list_text_has_a_header_and_one_row_per_job(list_text) -> None:
    """Text: a header row, then one row per job naming its zone and source file."""
    header, *rows = list_text.out.splitlines()
    assert header.split() == HEADER
    assert len(rows) == len(VALID_JOBS)
    by_name = _rows(list_text.out)
    assert set(by_name) == set(VALID_JOBS)
    for name, (file, zone) in VALID_JOBS.items():
        assert f" {file}:" in by_name[name], by_name[name]
        assert f" {zone} " in by_name[name], by_name[name]


def test_list_text_rows_are_sorted_by_name(list_text) -> None:
    """Rows come in name order."""
    names = [line.split()[0] for line in list_text.out.splitlines()[1:]]
    assert names == sorted(names)


def test_list_json_rows_have_the_contract_fields(list_json) -> None:
    """JSON: a list of objects with name, schedule_text, timezone, next_run, file."""
    rows = list_json.json()
    assert isinstance(rows, list)
    assert len(rows) == len(VALID_JOBS)
    for row in rows:
        assert set(row) >= ROW_KEYS, row
        assert (row["file"], row["timezone"]) == VALID_JOBS[row["name"]]
        assert isinstance(row["schedule_text"], str)
        assert row["schedule_text"].strip()


def test_list_json_describes_each_schedule_kind(list_json) -> None:
    """schedule_text reads as words for every kind."""
    text = {row["name"]: row["schedule_text"] for row in list_json.json()}
    assert "09:00" in text["birthday-daily"]
    assert "18:30" in text["birthday-daily"]
    assert "15m" in text["heartbeat"]
    assert "0 3 * * *" in text["nightly-report"]
    assert "2099-01-01" in text["one-shot"]
    assert "Mon" in text["visitor-weekly"]
    assert "Thu" in text["visitor-weekly"]


def test_next_run_is_future_local_time_with_offset(list_json, started) -> None:
    """next_run is after now, written in the job's zone with that zone's offset."""
    for row in list_json.json():
        if row["next_run"] is None:
            continue
        run = datetime.fromisoformat(row["next_run"])
        assert run > started, row
        zone = ZoneInfo(row["timezone"])
        assert run.utcoffset() == run.astimezone(zone).utcoffset(), row
    one_shot = next(r for r in list_json.json() if r["name"] == "one-shot")
    assert one_shot["next_run"] == "2099-01-01T09:00:00+01:00"


def test_disabled_job_shows_as_disabled(list_text, list_json) -> None:
    """A job with enabled: false says 'disabled' in text, has no next_run in JSON."""
    assert "disabled" in _rows(list_text.out)["cleanup-paused"]
    assert "disabled" not in _rows(list_text.out)["cleanup-fast"]
    row = next(r for r in list_json.json() if r["name"] == "cleanup-paused")
    assert row["next_run"] is None
    assert row.get("enabled") is False


def test_list_shows_only_accepted_jobs_of_an_invalid_tree(cli) -> None:
    """Invalid files are skipped with a warning on stderr; the wholly valid files are listed."""
    result = cli("list", "--jobs-dir", "invalid", "--format", "json")
    assert result.code == 0, result.err
    rows = {row["name"]: row["file"] for row in result.json()}
    assert rows == {"dup-job": "invalid/dup_a.yaml", "good-job": "invalid/good.yaml"}
    assert "warning" in result.err
    assert "invalid/mixed.yaml" in result.err


def test_list_of_an_empty_dir(cli, empty_dir: Path) -> None:
    """A jobs dir without job files lists nothing, successfully."""
    (empty_dir / "jobs.d").mkdir()
    text = cli("list", cwd=empty_dir)
    assert text.code == 0
    assert text.out.strip()
    as_json = cli("list", "--format", "json", cwd=empty_dir)
    assert (as_json.code, as_json.json()) == (0, [])


def test_list_missing_jobs_dir_is_a_usage_error(cli, empty_dir: Path) -> None:
    """list with no ./jobs.d exits 2, naming the directory."""
    result = cli("list", cwd=empty_dir)
    assert result.code == 2
    assert "jobs.d" in result.err


def test_list_jobs_dir_from_environment(cli) -> None:
    """SCHEDULER_JOBS_DIR selects the directory list reads."""
    result = cli("list", "--format", "json", env={"SCHEDULER_JOBS_DIR": "valid"})
    assert result.code == 0, result.err
    assert {row["name"] for row in result.json()} == set(VALID_JOBS)


def test_list_bad_format_is_a_usage_error(cli) -> None:
    """list knows text and json only."""
    result = cli("list", "--jobs-dir", "valid", "--format", "github")
    assert result.code == 2
    assert result.out == ""


# --- schema ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema_run(cli):
    return cli("schema")


def test_schema_prints_a_json_schema(schema_run) -> None:
    """schema prints one JSON Schema object describing a job document."""
    assert schema_run.code == 0, schema_run.err
    schema = schema_run.json()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"name", "task", "schedule"} <= set(schema["properties"])
    assert {"name", "task", "schedule"} <= set(schema["required"])


@pytest.mark.skipif(not SCHEMA_FILE.is_file(), reason="schemas/job.schema.json is not committed")
def test_schema_equals_the_committed_file(schema_run) -> None:
    """schema prints what schemas/job.schema.json holds."""
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema_run.json() == committed


def test_schema_accepts_the_shared_jobs_dir_option(cli) -> None:
    """schema --jobs-dir DIR is accepted like on every other command."""
    result = cli("schema", "--jobs-dir", "valid")
    assert result.code == 0, result.err
