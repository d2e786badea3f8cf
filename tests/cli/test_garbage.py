"""Garbage in, a clear message out: no input makes any command print a traceback.

The garbage tree is built in a temporary directory (binary bytes, NUL characters, an alias
bomb, runaway nesting, a dangling symlink, a symlink loop ...) beside one valid job,
``survivor``, which every command must still serve.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

SURVIVOR = "name: survivor\ntask: examples.bots:report\nschedule:\n  interval: 1h\n"
GARBAGE = {
    "binary.yaml": random.Random(20260329).randbytes(4096),
    "utf16-junk.yaml": b"\xff\xfe" + random.Random(7).randbytes(999),
    "nul.yaml": b"name: a\x00b\ntask: x:y\n",
    "deep.yaml": b"a: " + b"[" * 50_000,
    "bomb.yaml": b'a: &a ["lol", "lol"]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n',
    "list.yaml": b"- name: not-a-mapping\n- 2\n",
    "scalar.yaml": b"just some words\n",
    "unclosed.yaml": b'name: "unclosed\ntask: x:y\n',
    "control.yaml": b"name: \x1b[31mred\x1b[0m\n",
    "huge-number.yaml": b"name: n\ntask: a.b:c\nschedule:\n  interval: " + b"9" * 5000 + b"s\n",
}


@pytest.fixture(scope="module")
def garbage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory whose jobs.d/ holds the garbage files and survivor.yaml."""
    root = tmp_path_factory.mktemp("garbage")
    jobs = root / "jobs.d"
    jobs.mkdir()
    for name, data in GARBAGE.items():
        (jobs / name).write_bytes(data)
    (jobs / "survivor.yaml").write_text(SURVIVOR, encoding="utf-8")
    if hasattr(os, "symlink"):
        (jobs / "dangling.yaml").symlink_to(root / "nowhere.yaml")
        # A loop (ELOOP on stat) once hid every file of its folder, survivor included.
        (jobs / "loop-a.yaml").symlink_to("loop-b.yaml")
        (jobs / "loop-b.yaml").symlink_to("loop-a.yaml")
    return root


@pytest.fixture(scope="module")
def garbage_json(cli, garbage_dir: Path):
    return cli("validate", "--format", "json", cwd=garbage_dir)


def test_validate_locates_an_error_in_every_garbage_file(garbage_json, garbage_dir) -> None:
    """Each garbage file gets at least one located error; survivor.yaml gets none."""
    assert garbage_json.code == 1
    data = garbage_json.json()
    expected = {f"jobs.d/{name}" for name in GARBAGE}
    if (garbage_dir / "jobs.d" / "dangling.yaml").is_symlink():
        expected |= {"jobs.d/dangling.yaml", "jobs.d/loop-a.yaml", "jobs.d/loop-b.yaml"}
    assert {e["file"] for e in data["errors"]} == expected
    for error in data["errors"]:
        assert error["line"] >= 1, error
        assert error["column"] >= 1, error
        assert error["message"].strip(), error
    assert data["jobs"] >= 1


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_validate_other_formats_survive_garbage(cli, garbage_dir: Path, fmt: str) -> None:
    """Text and github output of the garbage tree exit 1 without a traceback."""
    result = cli("validate", "--format", fmt, cwd=garbage_dir)
    assert result.code == 1
    assert "jobs.d/binary.yaml" in result.out


def test_list_serves_the_valid_job_beside_garbage(cli, garbage_dir: Path) -> None:
    """list shows survivor and warns about the rest."""
    result = cli("list", "--format", "json", cwd=garbage_dir)
    assert result.code == 0, result.err
    assert [row["name"] for row in result.json()] == ["survivor"]
    assert "warning" in result.err


def test_next_serves_the_valid_job_beside_garbage(cli, garbage_dir: Path) -> None:
    """next survivor works although every other file is garbage."""
    result = cli(
        "next", "survivor", "--after", "2026-01-01T00:00:00Z", "-n", "2", "--format", "json",
        cwd=garbage_dir,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["runs"] == ["2026-01-01T01:00:00+00:00", "2026-01-01T02:00:00+00:00"]


def test_next_unknown_job_beside_garbage(cli, garbage_dir: Path) -> None:
    """next of a name only garbage mentions is a plain 'no such job', exit 1."""
    result = cli("next", "not-a-mapping", cwd=garbage_dir)
    assert result.code == 1
    assert "not-a-mapping" in result.err


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="no-command"),
        pytest.param(["bogus"], id="unknown-command"),
        pytest.param(["--bogus"], id="unknown-global-option"),
        pytest.param(["list", "extra-argument"], id="extra-argument"),
        pytest.param(["next"], id="next-without-name"),
        pytest.param(["validate", "--format", "JSON"], id="format-is-case-sensitive"),
    ],
)
def test_usage_mistakes_exit_2(cli, args: list[str]) -> None:
    """Anything the command line cannot parse exits 2."""
    assert cli(*args).code == 2


@pytest.mark.parametrize("command", [[], ["validate"], ["next"], ["list"], ["schema"]])
def test_help_exits_0(cli, command: list[str]) -> None:
    """--help works for the program and every command."""
    result = cli(*command, "--help")
    assert result.code == 0
    assert "Usage:" in result.out


def test_version_exits_0(cli) -> None:
    """--version prints the program name and a version."""
    result = cli("--version")
    assert result.code == 0
    assert result.out.startswith("scheduler, version ")


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        pytest.param(
            "  interval: 1h\n  anchor: 0001-01-01T00:00:00\n  timezone: Asia/Tokyo\n",
            "schedule.anchor",
            id="anchor-year-1",
        ),
        pytest.param(
            "  cron: '0 * * * *'\n  end: 0001-01-01T00:00:00\n  timezone: Europe/Paris\n",
            "schedule.end",
            id="end-year-1",
        ),
        pytest.param(
            "  at: 9999-12-31T23:59:59\n  jitter: 3650d\n",
            "schedule",
            id="at-9999-with-jitter",
        ),
    ],
)
def test_dates_at_the_edge_of_time_are_located_errors(
    cli, tmp_path: Path, schedule: str, field: str
) -> None:
    """An out-of-range date is reported against its file; the other jobs still validate."""
    jobs = tmp_path / "jobs.d"
    jobs.mkdir()
    (jobs / "survivor.yaml").write_text(SURVIVOR, encoding="utf-8")
    (jobs / "edge.yaml").write_text(
        f"name: edge\ntask: examples.bots:report\nschedule:\n{schedule}", encoding="utf-8"
    )
    result = cli("validate", "--format", "json", cwd=tmp_path)
    assert "internal error" not in result.err
    data = result.json()
    assert [e["file"] for e in data["errors"]] == ["jobs.d/edge.yaml"]
    assert data["errors"][0]["path"].startswith(field)
    assert result.code == 1
    assert cli("next", "survivor", cwd=tmp_path).code == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX named pipes")
def test_fifo_in_jobs_dir_does_not_hang(cli, tmp_path: Path) -> None:
    """A named pipe that looks like a job file is reported (or skipped), not read forever."""
    jobs = tmp_path / "jobs.d"
    jobs.mkdir()
    (jobs / "survivor.yaml").write_text(SURVIVOR, encoding="utf-8")
    os.mkfifo(jobs / "pipe.yaml")
    result = cli("validate", cwd=tmp_path, timeout=30)  # a hang, not a slow start under load
    assert result.code in (0, 1)


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX permissions")
def test_a_folder_that_cannot_be_listed_is_an_error_not_skipped(cli, tmp_path: Path) -> None:
    """jobs.d/team/ chmod 000: validate names it (cannot read) and exits 1, where its
    jobs used to vanish with 'ok'; the other jobs still validate."""
    jobs = tmp_path / "jobs.d"
    (jobs / "team").mkdir(parents=True)
    (jobs / "survivor.yaml").write_text(SURVIVOR, encoding="utf-8")
    (jobs / "team" / "hidden-job.yaml").write_text(SURVIVOR.replace("survivor", "other"))
    (jobs / "team").chmod(0)
    try:
        try:
            os.listdir(jobs / "team")
        except PermissionError:
            pass
        else:
            pytest.skip("this user lists every folder (root with CAP_DAC_READ_SEARCH)")
        result = cli("validate", "--format", "json", cwd=tmp_path)
    finally:
        (jobs / "team").chmod(0o755)
    assert result.code == 1
    data = result.json()
    assert [(e["file"], e["line"]) for e in data["errors"]] == [("jobs.d/team", 1)]
    assert "Permission denied" in data["errors"][0]["message"]
    assert data["jobs"] == 1
