"""``scheduler init`` and ``scheduler new``, black-box: what they write must pass
``scheduler validate``; bad input gets a located message, exit 1, and nothing written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.config.loader import parse_job_documents
from scheduler.config.scaffold import NewJob, job_text
from scheduler.core.models import json_schema
from tests.cli.conftest import PROJECT, CliResult, run_cli

ENTRY = ["-m", "scheduler"]

AFTER = "2026-03-28T12:00:00+00:00"


def scheduler(*args: str, cwd: Path) -> CliResult:
    """Run the scheduler with ``init``/``new`` available; assert no traceback was printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEDULER_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run(
        [sys.executable, *ENTRY, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=30,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def validate_json(cwd: Path, *args: str) -> dict[str, object]:
    result = run_cli("validate", "--format", "json", *args, cwd=cwd)
    data: dict[str, object] = result.json()
    assert result.code == (0 if data["valid"] else 1)
    return data


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project initialised with ``scheduler init`` (jobs.d/ and schemas/)."""
    result = scheduler("init", cwd=tmp_path)
    assert result.code == 0, result.err
    return tmp_path


# --- init --------------------------------------------------------------------------------


def test_init_writes_an_example_that_validates_and_the_schema_it_points_at(
    tmp_path: Path,
) -> None:
    """init creates jobs.d/example.yaml and schemas/job.schema.json; validate accepts them."""
    result = scheduler("init", cwd=tmp_path)
    assert result.code == 0, result.err
    assert files_under(tmp_path) == {"jobs.d/example.yaml", "schemas/job.schema.json"}
    assert "created jobs.d/example.yaml" in result.out
    assert "created schemas/job.schema.json" in result.out

    example = (tmp_path / "jobs.d" / "example.yaml").read_text(encoding="utf-8")
    first = example.splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/job.schema.json"
    ref = first.partition("$schema=")[2]
    assert (tmp_path / "jobs.d" / ref).resolve() == (tmp_path / "schemas/job.schema.json")
    schema = json.loads((tmp_path / "schemas/job.schema.json").read_text(encoding="utf-8"))
    assert schema == json_schema()
    # The same bytes `make schema` writes, so the project's freshness check passes.
    printed = run_cli("schema", cwd=tmp_path)
    assert (tmp_path / "schemas/job.schema.json").read_text(encoding="utf-8") == printed.out

    data = validate_json(tmp_path)
    assert (data["valid"], data["files"], data["jobs"], data["warnings"]) == (True, 1, 1, [])
    doc = yaml.safe_load(example)
    assert doc["name"] == "example"
    assert doc["enabled"] is False  # its task is a placeholder: never dispatched as written
    assert example.count("\n#") > 10  # commented


def test_init_example_is_valid_against_the_json_schema_too(project: Path) -> None:
    """Editors validate with the JSON Schema: the example passes it as well."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((project / "schemas/job.schema.json").read_text(encoding="utf-8"))
    doc = yaml.safe_load((project / "jobs.d/example.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)


def test_init_in_a_nested_jobs_dir_points_at_the_schema_beside_it(tmp_path: Path) -> None:
    """--jobs-dir config/jobs puts the schema at config/schemas/ and references it relatively."""
    result = scheduler("init", "--jobs-dir", "config/jobs", cwd=tmp_path)
    assert result.code == 0, result.err
    assert files_under(tmp_path) == {"config/jobs/example.yaml", "config/schemas/job.schema.json"}
    first = (tmp_path / "config/jobs/example.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first.endswith("$schema=../schemas/job.schema.json")
    assert validate_json(tmp_path, "--jobs-dir", "config/jobs")["valid"] is True


def test_init_keeps_an_existing_schema_file(tmp_path: Path) -> None:
    """A project's committed schema is not rewritten: init only adds what is missing."""
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas/job.schema.json").write_text("{}\n", encoding="utf-8")
    result = scheduler("init", cwd=tmp_path)
    assert result.code == 0, result.err
    assert (tmp_path / "schemas/job.schema.json").read_text(encoding="utf-8") == "{}\n"
    assert "schemas/job.schema.json" not in result.out


def test_init_twice_refuses_and_changes_nothing(project: Path) -> None:
    """A second init exits 1 with a message naming the file; no file is touched."""
    example = project / "jobs.d/example.yaml"
    example.write_text(example.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")
    before = {p: (project / p).read_bytes() for p in files_under(project)}
    result = scheduler("init", cwd=project)
    assert result.code == 1
    assert "jobs.d/example.yaml already exists" in result.err
    assert {p: (project / p).read_bytes() for p in files_under(project)} == before


def test_init_refuses_a_jobs_dir_that_already_has_jobs(tmp_path: Path) -> None:
    """Adding an example next to real jobs is refused (exit 1), pointing at `new`."""
    (tmp_path / "jobs.d/sub").mkdir(parents=True)
    (tmp_path / "jobs.d/sub/mine.yml").write_text("name: mine\n", encoding="utf-8")
    result = scheduler("init", cwd=tmp_path)
    assert result.code == 1
    assert "already holds 1 job file" in result.err
    assert "scheduler new" in result.err
    assert files_under(tmp_path) == {"jobs.d/sub/mine.yml"}


def test_init_on_a_file_is_a_usage_error(tmp_path: Path) -> None:
    """--jobs-dir naming a file: exit 2."""
    (tmp_path / "jobs.d").write_text("", encoding="utf-8")
    assert scheduler("init", cwd=tmp_path).code == 2


# --- new ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "schedule", "runs"),
    [
        pytest.param(
            ["--cron", "30 2 * * *", "--timezone", "Europe/Paris"],
            {"cron": "30 2 * * *", "timezone": "Europe/Paris"},
            # The spring-forward night: 02:30 does not exist and runs once at 03:00.
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
            id="cron",
        ),
        pytest.param(
            ["--interval", "90m"],
            {"interval": "90m"},
            ["2026-03-28T13:30:00+00:00", "2026-03-28T15:00:00+00:00"],
            id="interval",
        ),
        pytest.param(
            ["--daily", "09:00", "--daily", "18:30", "--timezone", "America/New_York"],
            {"daily": ["09:00", "18:30"], "timezone": "America/New_York"},
            ["2026-03-28T09:00:00-04:00", "2026-03-28T18:30:00-04:00"],
            id="daily",
        ),
        pytest.param(
            ["--daily", "07:05"],
            {"daily": "07:05"},
            ["2026-03-29T07:05:00+00:00", "2026-03-30T07:05:00+00:00"],
            id="daily-one",
        ),
    ],
)
def test_new_writes_a_valid_job_file(
    project: Path, args: list[str], schedule: dict[str, object], runs: list[str]
) -> None:
    """new NAME --cron/--interval/--daily writes jobs.d/NAME.yaml, which validates and runs
    when asked."""
    result = scheduler("new", "report", "--task", "app.jobs:report", *args, cwd=project)
    assert result.code == 0, result.err
    assert "created jobs.d/report.yaml (next run: " in result.out
    text = (project / "jobs.d/report.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schemas/job.schema.json\n")
    assert yaml.safe_load(text) == {
        "name": "report",
        "task": "app.jobs:report",
        "schedule": schedule,
    }

    data = validate_json(project)
    assert (data["valid"], data["jobs"]) == (True, 2)
    upcoming = run_cli(
        "next", "report", "-n", "2", "--after", AFTER, "--format", "json", cwd=project
    )
    assert upcoming.code == 0, upcoming.err
    assert upcoming.json()["runs"] == runs


def test_new_writes_every_option_and_values_read_back_exactly(project: Path) -> None:
    """Description, queue, params (typed) and --disabled land in the file as given."""
    result = scheduler(
        "new",
        "visitor.weekly",
        "--task",
        "bots.visitor:run",
        "--cron",
        "0 10 * * mon",
        "--queue",
        "low",
        "--description",
        'Visit profiles: "up to 50" # not a comment',
        "--param",
        "dry_run=true",
        "--param",
        "limit=50",
        "--param",
        "label=yes: no",
        "--param",
        "day=2026-01-01",
        "--disabled",
        cwd=project,
    )
    assert result.code == 0, result.err
    assert "disabled" in result.out
    doc = yaml.safe_load((project / "jobs.d/visitor.weekly.yaml").read_text(encoding="utf-8"))
    assert doc == {
        "name": "visitor.weekly",
        "description": 'Visit profiles: "up to 50" # not a comment',
        "task": "bots.visitor:run",
        "queue": "low",
        "params": {"dry_run": True, "limit": 50, "label": "yes: no", "day": "2026-01-01"},
        "schedule": {"cron": "0 10 * * mon"},
        "enabled": False,
    }
    assert validate_json(project)["valid"] is True


def test_new_without_a_schema_writes_no_schema_line(tmp_path: Path) -> None:
    """With no schemas/job.schema.json beside the jobs dir, the file has no dangling reference."""
    (tmp_path / "jobs.d").mkdir()
    result = scheduler("new", "tick", "--task", "a.b:c", "--interval", "1m", cwd=tmp_path)
    assert result.code == 0, result.err
    text = (tmp_path / "jobs.d/tick.yaml").read_text(encoding="utf-8")
    assert not text.startswith("#")
    assert validate_json(tmp_path)["valid"] is True


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["ok", "--cron", "0 30 9 * * *"],
            ["schedule.cron: ", "seconds last", "(from --cron)"],
            id="quartz-cron",
        ),
        pytest.param(
            ["ok", "--cron", "61 * * * *"],
            ["schedule.cron: ", "(from --cron)"],
            id="cron-range",
        ),
        pytest.param(
            ["ok", "--cron", "0 0 30 2 *"],
            ["schedule.cron: ", "(from --cron)"],
            id="cron-never",
        ),
        pytest.param(
            ["ok", "--daily", "9:00", "--timezone", "Europe/Pariss"],
            ["schedule.timezone: ", "did you mean 'Europe/Paris'", "(from --timezone)"],
            id="timezone",
        ),
        pytest.param(
            ["ok", "--interval", "soon"],
            ["schedule.interval: ", "(from --interval)"],
            id="interval",
        ),
        pytest.param(["ok", "--daily", "25:00"], ["schedule.daily", "(from --daily)"], id="daily"),
        pytest.param(["Bad Name", "--interval", "1h"], ["name: ", "(from NAME)"], id="name"),
        pytest.param(["../escape", "--interval", "1h"], ["looks like a path"], id="name-path"),
    ],
)
def test_new_with_bad_input_exits_1_with_a_located_message_and_writes_nothing(
    project: Path, args: list[str], expected: list[str]
) -> None:
    """A bad cron, time zone, duration, time or name: exit 1, file:line:col: field: message,
    the option to fix, and no file written."""
    before = files_under(project.parent)
    result = scheduler("new", *args, "--task", "app.jobs:x", cwd=project)
    assert result.code == 1, result
    first = result.err.splitlines()[0]
    assert first.startswith(f"error: jobs.d/{args[0]}.yaml:")
    line, column = first.removeprefix("error: ").split(":")[1:3]
    assert int(line) >= 1
    assert int(column) >= 1
    for part in expected:
        assert part in result.err
    assert "nothing written" in result.err
    assert files_under(project.parent) == before


def test_new_reports_every_problem_at_once(project: Path) -> None:
    """A bad task and a bad time zone: both reported, each with its option."""
    result = scheduler(
        "new", "x", "--task", "nope", "--cron", "@daily", "--timezone", "Mars/Base", cwd=project
    )
    assert result.code == 1
    assert "task: " in result.err
    assert "(from --task)" in result.err
    assert "(from --timezone)" in result.err


def test_new_refuses_a_name_that_has_a_file(project: Path) -> None:
    """NAME.yaml exists already: exit 1, and the file is unchanged."""
    args = ("new", "example", "--task", "a.b:c", "--interval", "1h")
    before = (project / "jobs.d/example.yaml").read_bytes()
    result = scheduler(*args, cwd=project)
    assert result.code == 1
    assert "jobs.d/example.yaml already exists" in result.err
    assert (project / "jobs.d/example.yaml").read_bytes() == before


def test_new_refuses_a_name_defined_in_another_file(project: Path) -> None:
    """A job of that name in another file (a sub-folder, a multi-job file): exit 1, naming
    where, and no second definition written."""
    (project / "jobs.d/ops").mkdir()
    (project / "jobs.d/ops/all.yaml").write_text(
        "name: first\ntask: a.b:c\nschedule: {interval: 1h}\n---\n"
        "name: backup\ntask: a.b:c\nschedule: {interval: 1d}\n",
        encoding="utf-8",
    )
    result = scheduler("new", "backup", "--task", "a.b:c", "--interval", "1h", cwd=project)
    assert result.code == 1
    assert "a job named 'backup' already exists at jobs.d/ops/all.yaml:5" in result.err
    assert not (project / "jobs.d/backup.yaml").exists()


def test_new_refuses_a_previous_name_of_another_job(project: Path) -> None:
    """Reusing a name another job lists in previous_names would confuse its history."""
    (project / "jobs.d/renamed.yaml").write_text(
        "name: renamed\nprevious_names: [old]\ntask: a.b:c\nschedule: {interval: 1h}\n",
        encoding="utf-8",
    )
    result = scheduler("new", "old", "--task", "a.b:c", "--interval", "1h", cwd=project)
    assert result.code == 1
    assert "previous name of job 'renamed'" in result.err
    assert not (project / "jobs.d/old.yaml").exists()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="no-schedule"),
        pytest.param(["--cron", "@daily", "--interval", "1h"], id="two-schedules"),
        pytest.param(["--cron", "@daily", "--param", "novalue"], id="bad-param"),
        pytest.param(["--cron", "@daily", "--jobs-dir", "missing"], id="missing-dir"),
    ],
)
def test_new_usage_errors_exit_2(project: Path, args: list[str]) -> None:
    """Options that cannot make a job (none or two schedules, a bad --param, no jobs dir)."""
    result = scheduler("new", "x", "--task", "a.b:c", *args, cwd=project)
    assert result.code == 2
    assert not (project / "jobs.d/x.yaml").exists()


def test_new_missing_jobs_dir_points_at_init(tmp_path: Path) -> None:
    """Without a jobs dir the message says how to start one."""
    result = scheduler("new", "x", "--task", "a.b:c", "--interval", "1h", cwd=tmp_path)
    assert result.code == 2
    assert "scheduler init" in result.err


# --- the text itself (in process) --------------------------------------------------------

_TEXT = st.text(max_size=40)
_VALUE = st.one_of(_TEXT, st.booleans(), st.integers(), st.floats(allow_nan=False), st.none())


@settings(max_examples=200, deadline=None)
@given(description=_TEXT, params=st.dictionaries(_TEXT, _VALUE, max_size=4))
def test_any_description_and_params_read_back_unchanged(
    description: str, params: dict[str, object]
) -> None:
    """Whatever the text, the YAML written reads back as the same values and types, and the
    project's loader accepts it."""
    job = NewJob(name="x", task="a.b:c", interval="1h", description=description, params=params)
    text = job_text(job, None)
    doc = yaml.safe_load(text)
    assert doc["description"] == description
    assert doc.get("params", {}) == params
    result = parse_job_documents(text, "x.yaml")
    assert result.ok, result.errors
    assert result.jobs[0].spec.description == description
    assert result.jobs[0].spec.params == params
