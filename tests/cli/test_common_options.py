"""The options every command shares, so a script can pass the same ones to all of them.

Every command takes ``--jobs-dir`` (or ``SCHEDULER_JOBS_DIR``); those that touch records or
Redis take ``--data-dir`` and ``--redis-url``; those that print data take ``--format`` with
``json`` among its choices. The commands are read from the click group, so a new one is
checked as soon as it is registered (and must be put in one of the sets below).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scheduler.cli.app import cli
from tests.cli.conftest import run_cli

COMMANDS = sorted(cli.commands)
# Commands that read the SQLite records or talk to Redis.
RECORDS_OR_REDIS = {
    "trigger",
    "history",
    "status",
    "health",
    "run",
    "worker",
    "pause",
    "resume",
    "web",
    "prune",
    "backup",
    "restore",
}
# Commands whose output is data a script may parse.
PRINT_DATA = {
    "validate",
    "schema",
    "next",
    "list",
    "trigger",
    "history",
    "status",
    "health",
    "simulate",
    "plan",
    "diff",
    "pause",
    "resume",
    "prune",
    "backup",
    "restore",
}
# Commands that print logs (run, worker, web) or what they wrote (init, new).
PRINT_OTHER = {"run", "worker", "init", "new", "web"}


def test_every_command_is_classified() -> None:
    """Each registered command says whether it prints data, and nothing else is listed."""
    assert set(COMMANDS) == PRINT_DATA | PRINT_OTHER, "classify the new command here"
    assert not PRINT_DATA & PRINT_OTHER
    assert set(COMMANDS) >= RECORDS_OR_REDIS


@pytest.mark.parametrize("name", COMMANDS)
def test_help_shows_the_common_options(name: str, empty_dir: Path) -> None:
    """`NAME --jobs-dir X --help` exits 0 (the option parses) and lists the shared options."""
    result = run_cli(name, "--jobs-dir", "elsewhere", "--help", cwd=empty_dir)
    assert (result.code, result.err) == (0, ""), result.err
    expected = ["--jobs-dir", "SCHEDULER_JOBS_DIR"]
    if name in RECORDS_OR_REDIS:
        expected += ["--data-dir", "SCHEDULER_DATA_DIR", "--redis-url", "REDIS_URL"]
    for option in expected:
        assert option in result.out, f"{name} --help does not show {option}"
    if name in PRINT_DATA:
        assert re.search(r"--format \[[a-z|]*\bjson\b", result.out), result.out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["history", "--data-dir", "no-records"], 0),
        (["health", "--data-dir", "no-records"], 1),  # no watcher: unhealthy, not a usage error
        (["diff", "old", "new"], 0),
        (["schema", "--format", "json"], 0),
    ],
    ids=["history", "health", "diff", "schema"],
)
@pytest.mark.parametrize("given", ["option", "environment"])
def test_commands_that_do_not_read_jobs_accept_a_jobs_dir(
    args: list[str], code: int, given: str, empty_dir: Path
) -> None:
    """history, health, diff and schema run with --jobs-dir or SCHEDULER_JOBS_DIR set."""
    for folder in ("old", "new", "jobs"):
        (empty_dir / folder).mkdir()
    redis = ["--redis-url", "redis://x"] if args[0] in RECORDS_OR_REDIS else []
    if given == "option":
        result = run_cli(*args, "--jobs-dir", "jobs", *redis, cwd=empty_dir)
    else:
        env = {"SCHEDULER_JOBS_DIR": "jobs", "REDIS_URL": "redis://x"}
        result = run_cli(*args, cwd=empty_dir, env=env)
    assert result.code == code, result.err
    assert "Usage:" not in result.err
    if args[0] == "schema":
        assert json.loads(result.out)["title"]


def test_a_jobs_dir_that_is_a_file_is_a_usage_error_everywhere(empty_dir: Path) -> None:
    """The accepted-but-unused --jobs-dir is still checked: a file there is exit 2."""
    (empty_dir / "jobs.yaml").write_text("name: x\n")
    result = run_cli("health", "--jobs-dir", "jobs.yaml", cwd=empty_dir)
    assert result.code == 2
    assert "--jobs-dir" in result.err


REDIS_ARGS = {"trigger": ["x"], "pause": ["x", "--reason", "r"], "resume": ["x"]}
REDIS_ARGS |= {"backup": ["out.db"], "restore": ["in.db"], "worker": ["--burst"]}


@pytest.mark.parametrize("name", sorted(RECORDS_OR_REDIS))
def test_a_malformed_redis_url_is_a_usage_error_everywhere(name: str, empty_dir: Path) -> None:
    """`--redis-url notaurl` (or REDIS_URL): exit 2 naming the option, the watcher included
    (it used to say 'internal error: ValueError' and exit 1)."""
    (empty_dir / "jobs.d").mkdir()
    args = [name, *REDIS_ARGS.get(name, []), "--redis-url", "notaurl"]
    result = run_cli(*args, cwd=empty_dir, timeout=20)
    assert result.code == 2, (result.out, result.err)
    assert "--redis-url" in result.err
    assert "internal error" not in result.err


@pytest.mark.parametrize(
    "args",
    [["run", "--workers", "0"], ["web", "--port", "0"], ["validate"], ["list"], ["status"]],
    ids=lambda args: args[0],
)
def test_a_missing_jobs_dir_is_a_usage_error_for_commands_that_read_jobs(
    args: list[str], empty_dir: Path
) -> None:
    """A mistyped --jobs-dir: exit 2 naming it, the watcher included (it used to create
    the folder and run with no jobs, healthy, dispatching nothing)."""
    redis = ["--redis-url", "redis://x"] if args[0] in RECORDS_OR_REDIS else []
    result = run_cli(*args, "--jobs-dir", "jobs-typo", *redis, cwd=empty_dir)
    assert result.code == 2, (result.out, result.err)
    assert "jobs-typo" in result.err
    assert not (empty_dir / "jobs-typo").exists()
