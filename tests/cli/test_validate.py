"""``scheduler validate``: exit codes, counts, and the text / json / github outputs.

Fixture trees (tests/cli/fixtures/, copied into the working directory):

* ``valid/``: 6 job files holding 7 jobs, one per schedule kind, a sub-folder, a
  two-document file and a disabled job; plus ``.#x.yaml`` and ``x.yaml~`` (editor
  temporaries full of junk, which must be ignored).
* ``invalid/``: 8 files; ``good.yaml`` and ``dup_a.yaml`` are wholly valid, the other six
  each hold one error (bad cron, unknown field, duplicate name, tab indentation, Python tag,
  and a second document with an unknown time zone).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOP_KEYS = {"valid", "files", "jobs", "errors", "warnings"}
PROBLEM_KEYS = {"file", "line", "column", "path", "message"}
GITHUB_LINE = re.compile(r"^::(error|warning) file=[^,]+,line=\d+,col=\d+::.+$")
# A dotted field path: name, schedule.cron, schedule.daily[1], params.payload
DOTTED_PATH = re.compile(r"^[A-Za-z_][\w-]*(\[\d+\])*(\.[A-Za-z_][\w-]*(\[\d+\])*)*$")

VALID_FILES = 6
VALID_JOBS = 7
INVALID_FILES = 8

# file -> (line, dotted path) of the one error each broken file holds.
EXPECTED_ERRORS = {
    "invalid/bad_cron.yaml": (4, "schedule.cron"),
    "invalid/unknown_field.yaml": (3, "descripton"),
    "invalid/dup_b.yaml": (2, "name"),
    "invalid/tabs.yaml": (4, ""),
    "invalid/python_tag.yaml": (4, "params.payload"),
    "invalid/mixed.yaml": (10, "schedule.timezone"),
}


@pytest.fixture(scope="module")
def valid_text(cli):
    return cli("validate", "--jobs-dir", "valid")


@pytest.fixture(scope="module")
def valid_json(cli):
    return cli("validate", "--jobs-dir", "valid", "--format", "json")


@pytest.fixture(scope="module")
def invalid_text(cli):
    return cli("validate", "--jobs-dir", "invalid")


@pytest.fixture(scope="module")
def invalid_json(cli):
    return cli("validate", "--jobs-dir", "invalid", "--format", "json")


@pytest.fixture(scope="module")
def invalid_github(cli):
    return cli("validate", "--jobs-dir", "invalid", "--format", "github")


# --- a valid tree -------------------------------------------------------------------------


def test_valid_tree_exits_0(valid_text, valid_json) -> None:
    """A tree of valid jobs exits 0 in every format."""
    assert valid_text.code == 0, valid_text.err
    assert valid_json.code == 0, valid_json.err


def test_valid_text_reports_file_and_job_counts(valid_text) -> None:
    """The text summary names how many files and jobs were checked."""
    assert f"{VALID_FILES} files" in valid_text.out
    assert f"{VALID_JOBS} jobs" in valid_text.out
    assert "error" not in valid_text.out.lower()


def test_valid_json_has_the_contract_shape(valid_json) -> None:
    """JSON is exactly {valid, files, jobs, errors, warnings} with the right counts."""
    data = valid_json.json()
    assert set(data) == TOP_KEYS
    assert data == {
        "valid": True,
        "files": VALID_FILES,
        "jobs": VALID_JOBS,
        "errors": [],
        "warnings": [],
    }


def test_editor_temporaries_are_ignored(valid_text, valid_json) -> None:
    """.#x.yaml and x.yaml~ hold junk, yet are neither counted nor reported."""
    assert (FIXTURES / "valid" / ".#x.yaml").is_file()
    assert (FIXTURES / "valid" / "x.yaml~").is_file()
    assert "x.yaml" not in valid_text.out + valid_text.err
    assert valid_json.json()["files"] == VALID_FILES


def test_default_jobs_dir_is_jobs_d(cli, tmp_path: Path) -> None:
    """Without PATH or --jobs-dir, validate reads ./jobs.d."""
    shutil.copytree(FIXTURES / "valid", tmp_path / "jobs.d")
    result = cli("validate", "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.err
    assert (result.json()["files"], result.json()["jobs"]) == (VALID_FILES, VALID_JOBS)


def test_jobs_dir_from_environment(cli) -> None:
    """SCHEDULER_JOBS_DIR selects the jobs directory."""
    result = cli("validate", "--format", "json", env={"SCHEDULER_JOBS_DIR": "valid"})
    assert result.code == 0, result.err
    assert result.json()["jobs"] == VALID_JOBS


def test_jobs_dir_option_wins_over_environment(cli) -> None:
    """--jobs-dir overrides SCHEDULER_JOBS_DIR."""
    result = cli("validate", "--jobs-dir", "valid", env={"SCHEDULER_JOBS_DIR": "invalid"})
    assert result.code == 0, result.out


def test_single_file_argument(cli) -> None:
    """A PATH argument checks that one file only."""
    result = cli("validate", "valid/sub/multi.yaml", "--format", "json")
    assert result.code == 0, result.err
    data = result.json()
    assert (data["files"], data["jobs"], data["valid"]) == (1, 2, True)


def test_two_file_arguments(cli) -> None:
    """Several PATH arguments are checked together, and --jobs-dir is then not read."""
    result = cli(
        "validate", "valid/cron.yaml", "valid/sub/multi.yaml", "--jobs-dir", "invalid", "--format",
        "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert (result.json()["files"], result.json()["jobs"]) == (2, 3)


def test_one_invalid_file_argument_fails(cli) -> None:
    """A PATH argument naming a broken file exits 1 and reports only that file."""
    result = cli("validate", "invalid/bad_cron.yaml", "valid/cron.yaml", "--format", "json")
    assert result.code == 1
    assert {e["file"] for e in result.json()["errors"]} == {"invalid/bad_cron.yaml"}


def test_same_file_named_twice_is_read_once(cli, workdir: Path) -> None:
    """validate DIR DIR/FILE, with FILE spelled absolutely, reads FILE once."""
    result = cli("validate", "valid", str(workdir / "valid" / "cron.yaml"), "--format", "json")
    assert result.json()["errors"] == []
    assert result.code == 0


def test_nonexistent_path_is_a_usage_error(cli) -> None:
    """A PATH that does not exist exits 2 and names it."""
    result = cli("validate", "valid/nope.yaml")
    assert result.code == 2
    assert "valid/nope.yaml" in result.err


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--bogus"], id="unknown-option"),
        pytest.param(["--format", "xml"], id="bad-format"),
        pytest.param(["--format"], id="format-without-value"),
        pytest.param(["--jobs-dir", "valid/cron.yaml"], id="jobs-dir-is-a-file"),
    ],
)
def test_bad_options_are_usage_errors(cli, args: list[str]) -> None:
    """Unknown options and bad values exit 2 with a usage message on stderr."""
    result = cli("validate", "--jobs-dir", "valid", *args)
    assert result.code == 2
    assert "Error" in result.err
    assert result.out == ""


def test_missing_default_jobs_dir_is_a_usage_error(cli, empty_dir: Path) -> None:
    """No ./jobs.d and no --jobs-dir: exit 2, saying which directory is missing."""
    result = cli("validate", cwd=empty_dir)
    assert result.code == 2
    assert "jobs.d" in result.err


def test_missing_named_jobs_dir_is_a_usage_error(cli) -> None:
    """A --jobs-dir that does not exist: exit 2, naming it."""
    result = cli("validate", "--jobs-dir", "no-such-dir")
    assert result.code == 2
    assert "no-such-dir" in result.err


# --- an invalid tree ----------------------------------------------------------------------


def test_invalid_tree_exits_1(invalid_text, invalid_json, invalid_github) -> None:
    """Any invalid file makes validate exit 1, in every format."""
    assert (invalid_text.code, invalid_json.code, invalid_github.code) == (1, 1, 1)


def test_invalid_json_has_the_contract_shape(invalid_json) -> None:
    """JSON keeps the same keys; every error has exactly file/line/column/path/message."""
    data = invalid_json.json()
    assert set(data) == TOP_KEYS
    assert data["valid"] is False
    assert data["files"] == INVALID_FILES
    assert data["warnings"] == []
    for error in data["errors"]:
        assert set(error) == PROBLEM_KEYS, error
        assert isinstance(error["file"], str)
        assert isinstance(error["line"], int)
        assert isinstance(error["column"], int)
        assert isinstance(error["path"], str)
        assert isinstance(error["message"], str)


def test_every_error_is_located(invalid_json, workdir: Path) -> None:
    """Each error names a relative file that exists, a line and column >= 1, a dotted path."""
    for error in invalid_json.json()["errors"]:
        assert not Path(error["file"]).is_absolute(), error
        assert (workdir / error["file"]).is_file(), error
        assert error["line"] >= 1, error
        assert error["column"] >= 1, error
        assert error["message"].strip(), error
        if error["message"].startswith("YAML syntax error"):
            assert error["path"] == "" or DOTTED_PATH.match(error["path"]), error
        else:
            assert DOTTED_PATH.match(error["path"]), error


def test_each_broken_file_is_reported_at_its_line_and_field(invalid_json) -> None:
    """The six broken files each get their error, on the right line and field."""
    found = {e["file"]: (e["line"], e["path"]) for e in invalid_json.json()["errors"]}
    assert found == EXPECTED_ERRORS


def test_bad_cron_error_points_at_the_value(invalid_json) -> None:
    """The cron error points at the quoted expression and says which field is wrong."""
    [error] = [e for e in invalid_json.json()["errors"] if e["file"] == "invalid/bad_cron.yaml"]
    assert (error["line"], error["column"]) == (4, 9)
    assert "61" in error["message"]
    assert "minute" in error["message"]


def test_duplicate_name_error_names_both_files(invalid_json) -> None:
    """The second definition of a name is the error, and its message names the first file."""
    dups = [e for e in invalid_json.json()["errors"] if "duplicate" in e["message"]]
    assert len(dups) == 1
    assert dups[0]["file"] == "invalid/dup_b.yaml"
    assert "dup-job" in dups[0]["message"]
    assert "invalid/dup_a.yaml" in dups[0]["message"]


def test_unknown_field_suggests_the_known_one(invalid_json) -> None:
    """A misspelt field is named, with a did-you-mean for the real one."""
    [error] = [e for e in invalid_json.json()["errors"] if e["path"] == "descripton"]
    assert "'description'" in error["message"]


def test_tab_indentation_is_explained(invalid_json) -> None:
    """A tab in the indentation gets a message that says so."""
    [error] = [e for e in invalid_json.json()["errors"] if e["file"] == "invalid/tabs.yaml"]
    assert "tab" in error["message"].lower()


def test_python_tag_is_refused(invalid_json) -> None:
    """A !!python/... tag is an error naming the tag, never something executed."""
    [error] = [e for e in invalid_json.json()["errors"] if e["file"] == "invalid/python_tag.yaml"]
    assert "python/object" in error["message"]


def test_text_lists_every_error_as_file_line_column(invalid_text, invalid_json) -> None:
    """Text output has one 'file:line:col: error: ...' line per error and a summary."""
    errors = invalid_json.json()["errors"]
    for e in errors:
        where = f"{e['path']}: " if e["path"] else ""
        assert f"{e['file']}:{e['line']}:{e['column']}: error: {where}" in invalid_text.out
    assert f"{len(errors)} errors" in invalid_text.out
    assert f"{INVALID_FILES} files" in invalid_text.out


def test_github_lines_are_workflow_annotations(invalid_github, invalid_json) -> None:
    """Every github line is a ::error annotation, one per JSON error, same file/line/col."""
    lines = invalid_github.out.splitlines()
    assert lines
    for line in lines:
        assert GITHUB_LINE.match(line), line
    expected = {
        f"::error file={e['file']},line={e['line']},col={e['column']}::"
        for e in invalid_json.json()["errors"]
    }
    assert {line[: line.index("::", 2) + 2] for line in lines} == expected


def test_valid_files_beside_invalid_ones_still_count(invalid_json, invalid_text) -> None:
    """good.yaml and dup_a.yaml are wholly valid: their jobs count even though the tree fails."""
    assert invalid_json.json()["jobs"] >= 2
    assert "valid job" in invalid_text.out


# --- warnings -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warned_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A jobs dir whose only job is a one-shot in the past: valid, with a warning."""
    root = tmp_path_factory.mktemp("warned")
    (root / "jobs.d").mkdir()
    (root / "jobs.d" / "past.yaml").write_text(
        "name: past-job\ntask: examples.bots:report\nschedule:\n  at: '2001-01-01T00:00:00'\n",
        encoding="utf-8",
    )
    return root


def test_warnings_alone_do_not_fail(cli, warned_dir: Path) -> None:
    """A past one-shot is a located warning; validate still exits 0."""
    result = cli("validate", "--format", "json", cwd=warned_dir)
    assert result.code == 0, result.out
    data = result.json()
    assert data["valid"] is True
    assert data["errors"] == []
    [warning] = data["warnings"]
    assert set(warning) == PROBLEM_KEYS
    assert (warning["file"], warning["line"], warning["path"]) == (
        "jobs.d/past.yaml",
        4,
        "schedule.at",
    )


def test_github_warning_annotation(cli, warned_dir: Path) -> None:
    """A warning becomes a ::warning annotation line."""
    result = cli("validate", "--format", "github", cwd=warned_dir)
    assert result.code == 0
    [line] = result.out.splitlines()
    assert GITHUB_LINE.match(line), line
    assert line.startswith("::warning file=jobs.d/past.yaml,line=4,")


def test_non_text_params_key_is_a_located_error(cli, tmp_path: Path) -> None:
    """`params: {1: one}` fails validate (not the run) at the key, with file, line, column."""
    (tmp_path / "jobs.d").mkdir()
    (tmp_path / "jobs.d" / "keys.yaml").write_text(
        "name: keys\ntask: examples.bots:report\nparams: {1: one}\nschedule: {interval: 1m}\n",
        encoding="utf-8",
    )
    result = cli("validate", "--format", "json", cwd=tmp_path)
    assert result.code == 1, result.out
    [error] = result.json()["errors"]
    assert error == {
        "file": "jobs.d/keys.yaml",
        "line": 3,
        "column": 10,
        "path": "params.1",
        "message": 'keyword names must be strings, got the number 1 (quote it: "1")',
    }


def test_a_long_report_written_to_a_file_arrives_whole(tmp_path: Path) -> None:
    """validate ends without the interpreter's teardown: a report far larger than the
    output buffer, into a file (block-buffered, unlike a terminal), is still complete."""
    import subprocess
    import sys

    from tests.cli.conftest import PROJECT

    jobs = tmp_path / "jobs.d"
    jobs.mkdir()
    for i in range(300):
        (jobs / f"past-{i:03d}.yaml").write_text(
            f"name: past-{i:03d}\ntask: examples.bots:report\n"
            "schedule:\n  at: '2001-01-01T00:00:00'\n",
            encoding="utf-8",
        )
    (jobs / "broken.yaml").write_text("name: broken\ntask: x:y\nschedule: {}\n", "utf-8")
    report = tmp_path / "report.json"
    with report.open("wb") as out:
        code = subprocess.run(
            [sys.executable, "-m", "scheduler", "validate", "--format", "json"],
            cwd=tmp_path,
            stdout=out,
            env={**os.environ, "PYTHONPATH": str(PROJECT)},
            timeout=60,
            check=False,
        ).returncode
    data = json.loads(report.read_text(encoding="utf-8"))
    assert code == 1
    assert (data["files"], data["jobs"], len(data["warnings"])) == (301, 300, 300)
    assert [e["file"] for e in data["errors"]] == ["jobs.d/broken.yaml"]
