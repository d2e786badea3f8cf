"""Typed task params, the task allow-list, production mode, defaults files and secrets syntax,
as ``scheduler validate`` / ``list`` / ``diff`` report them (black-box).

Each test builds a small project in ``tmp_path``: ``pyproject.toml`` with
``[tool.scheduler]``, a task module, and ``jobs.d/``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from tests.cli.conftest import run_cli

TASKS = """
from pydantic import BaseModel, ConfigDict, Field

from scheduler.tasks import RunContext, task


class GreetParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False
    max_messages: int = Field(default=10, ge=1)


@task(params=GreetParams)
def greet(params: GreetParams, run: RunContext) -> dict[str, int]:
    return {"sent": 0}


def plain(**params: object) -> None:
    return None
"""


def project(root: Path, jobs: dict[str, str], config: str | None = None) -> Path:
    """A project at ``root``: task module ``mytasks``, settings, and ``jobs.d/`` files."""
    (root / "mytasks.py").write_text(TASKS, encoding="utf-8")
    settings = '[tool.scheduler]\ntask_modules = ["mytasks"]\n' if config is None else config
    (root / "pyproject.toml").write_text(settings, encoding="utf-8")
    for name, text in jobs.items():
        path = root / "jobs.d" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


GREET = """
name: greet
task: mytasks:greet
params:
  dry_run: true
  max_messages: 0
schedule:
  daily: "09:00"
"""


def errors_of(result: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["file"], e["path"]): e for e in result.json()["errors"]}


def test_params_are_not_checked_without_import_tasks(tmp_path: Path) -> None:
    """Plain validate needs no task code: the bad param passes, the job loads."""
    project(tmp_path, {"greet.yaml": GREET})
    result = run_cli("validate", "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.out
    assert result.json()["jobs"] == 1


def test_import_tasks_locates_a_params_error_to_file_line_and_field(tmp_path: Path) -> None:
    """--import-tasks checks params against the task's model: error on the value's line."""
    project(tmp_path, {"greet.yaml": GREET})
    result = run_cli("validate", "--import-tasks", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    error = errors_of(result)["jobs.d/greet.yaml", "params.max_messages"]
    assert error["line"] == 5
    assert error["message"] == "must be >= 1"
    text = run_cli("validate", "--import-tasks", cwd=tmp_path)
    assert "jobs.d/greet.yaml:5:" in text.out
    assert "params.max_messages: must be >= 1" in text.out


def test_import_tasks_reports_a_task_that_does_not_resolve(tmp_path: Path) -> None:
    """A task naming a missing function is an error on the task line."""
    project(
        tmp_path,
        {"ghost.yaml": "name: ghost\ntask: mytasks:nope\nschedule:\n  interval: 1h\n"},
    )
    result = run_cli("validate", "--import-tasks", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    error = errors_of(result)["jobs.d/ghost.yaml", "task"]
    assert error["line"] == 2
    assert "'mytasks' has no attribute 'nope'" in error["message"]


def test_import_tasks_reports_an_unknown_param(tmp_path: Path) -> None:
    """A param the model does not declare is named, with its line."""
    job = GREET.replace("max_messages: 0", "max_mesages: 3")
    project(tmp_path, {"greet.yaml": job})
    result = run_cli("validate", "--import-tasks", "--format", "json", cwd=tmp_path)
    error = errors_of(result)["jobs.d/greet.yaml", "params.max_mesages"]
    assert error["line"] == 5
    assert "not a parameter" in error["message"]


def test_a_stdlib_task_is_refused_without_any_settings(tmp_path: Path) -> None:
    """With no [tool.scheduler], os:system is still not a task: error on its line."""
    jobs = tmp_path / "jobs.d"
    jobs.mkdir()
    (jobs / "evil.yaml").write_text(
        "name: evil\ntask: os:system\nparams:\n  command: rm -rf /\nschedule:\n  interval: 1h\n",
        encoding="utf-8",
    )
    result = run_cli("validate", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    error = errors_of(result)["jobs.d/evil.yaml", "task"]
    assert error["line"] == 2
    assert "part of Python itself" in error["message"]


def test_a_task_outside_the_allow_list_is_invalid(tmp_path: Path) -> None:
    """allowed_tasks (default: task_modules) rejects any other module, naming the list."""
    project(
        tmp_path,
        {
            "ok.yaml": "name: ok\ntask: mytasks:plain\nschedule:\n  interval: 1h\n",
            "other.yaml": "name: other\ntask: somewhere.else:run\nschedule:\n  interval: 1h\n",
        },
    )
    result = run_cli("validate", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    assert set(errors_of(result)) == {("jobs.d/other.yaml", "task")}
    assert "mytasks" in errors_of(result)["jobs.d/other.yaml", "task"]["message"]
    assert result.json()["jobs"] == 1


def test_a_broken_settings_file_is_one_clear_error(tmp_path: Path) -> None:
    """Invalid TOML in pyproject.toml: exit 1, the file named, no traceback."""
    project(tmp_path, {"greet.yaml": GREET}, config="[tool.scheduler\n")
    result = run_cli("validate", cwd=tmp_path)
    assert result.code == 1
    assert "pyproject.toml" in result.err
    assert "not valid TOML" in result.err


def test_production_mode_is_a_warning_and_strict_makes_it_an_error(tmp_path: Path) -> None:
    """dry_run false, or absent where the task defaults it to false, is flagged."""
    explicit = GREET.replace("dry_run: true", "dry_run: false").replace("max_messages: 0", "x: 1")
    explicit = explicit.replace("x: 1", "max_messages: 2")
    absent = "name: quiet\ntask: mytasks:greet\nschedule:\n  interval: 1h\n"
    project(tmp_path, {"greet.yaml": explicit, "quiet.yaml": absent})

    plain = run_cli("validate", "--format", "json", cwd=tmp_path).json()
    assert [(w["file"], w["code"]) for w in plain["warnings"]] == [
        ("jobs.d/greet.yaml", "production-mode")
    ]
    imported = run_cli("validate", "--import-tasks", "--format", "json", cwd=tmp_path).json()
    flagged = {w["file"]: w for w in imported["warnings"] if w["code"] == "production-mode"}
    assert set(flagged) == {"jobs.d/greet.yaml", "jobs.d/quiet.yaml"}
    assert flagged["jobs.d/greet.yaml"]["line"] == 4
    strict = run_cli("validate", "--strict", cwd=tmp_path)
    assert strict.code == 1


def test_defaults_file_is_merged_and_shown_resolved_by_list(tmp_path: Path) -> None:
    """_defaults.yaml gives timezone/queue/params to the jobs below it; a job's own win."""
    project(
        tmp_path,
        {
            "_defaults.yaml": "timezone: Europe/Paris\nqueue: bots\nparams:\n  dry_run: true\n",
            "a.yaml": "name: a\ntask: mytasks:plain\nschedule:\n  daily: '09:00'\n",
            "team/_defaults.yml": "queue: team\n",
            "team/b.yaml": (
                "name: b\ntask: mytasks:plain\nparams:\n  limit: 3\n"
                "schedule:\n  daily: '09:00'\n  timezone: UTC\n"
            ),
        },
    )
    assert run_cli("validate", cwd=tmp_path).code == 0
    rows = {r["name"]: r for r in run_cli("list", "--format", "json", cwd=tmp_path).json()}
    assert rows["a"]["timezone"] == "Europe/Paris"
    assert rows["a"]["queue"] == "bots"
    assert rows["a"]["params"] == {"dry_run": True}
    assert rows["a"]["next_run"].endswith(("+01:00", "+02:00"))
    assert rows["a"]["defaults"] == ["jobs.d/_defaults.yaml"]
    assert rows["b"]["timezone"] == "UTC"
    assert rows["b"]["queue"] == "team"
    assert rows["b"]["params"] == {"dry_run": True, "limit": 3}
    assert rows["b"]["defaults"] == ["jobs.d/_defaults.yaml", "jobs.d/team/_defaults.yml"]


def test_a_broken_defaults_file_is_located_and_rejects_the_jobs_below_it(tmp_path: Path) -> None:
    """An unknown zone in _defaults.yaml: error there, and its jobs are not loaded."""
    project(
        tmp_path,
        {
            "_defaults.yaml": "queue: bots\ntimezone: Europe/Pariss\n",
            "a.yaml": "name: a\ntask: mytasks:plain\nschedule:\n  daily: '09:00'\n",
        },
    )
    result = run_cli("validate", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    errors = errors_of(result)
    assert errors["jobs.d/_defaults.yaml", "timezone"]["line"] == 2
    assert "Europe/Paris" in errors["jobs.d/_defaults.yaml", "timezone"]["message"]
    assert "jobs.d/_defaults.yaml is invalid" in errors["jobs.d/a.yaml", ""]["message"]
    assert result.json()["jobs"] == 0


def test_an_explicit_file_gets_the_defaults_of_every_folder_above_it(tmp_path: Path) -> None:
    """`validate jobs.d/team/deep/a.yaml` (pre-commit's changed files) applies the
    defaults of jobs.d/ and jobs.d/team/, as the watcher will, not only its own folder's."""
    job = "name: a\ntask: mytasks:plain\nschedule:\n  cron: '30 2 * * *'\n"
    project(
        tmp_path,
        {
            "_defaults.yaml": "timezone: Europe/Paris\n",
            "team/_defaults.yaml": "queue: bots\n",
            "team/deep/a.yaml": job,
            "other/_defaults.yaml": "timezone: Europe/Pariss\n",
            "other/b.yaml": job.replace("name: a", "name: b"),
        },
    )
    for target in ("jobs.d/team/deep/a.yaml", "jobs.d/team"):
        result = run_cli("validate", target, "--format", "json", cwd=tmp_path)
        assert result.code == 0, result.out
        codes = {w.get("code") for w in result.json()["warnings"]}
        assert {"dst-skipped", "dst-repeated"} <= codes, result.out  # in Paris, not UTC
    result = run_cli("validate", "jobs.d/other/b.yaml", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    assert "other/_defaults.yaml is invalid" in result.json()["errors"][0]["message"]


def test_defaults_cannot_name_a_task_or_a_schedule(tmp_path: Path) -> None:
    """Identity and timing belong to each job: such keys in defaults are located errors."""
    project(
        tmp_path,
        {"_defaults.yaml": "task: mytasks:plain\nschedule:\n  cron: '* * * * *'\n"},
    )
    errors = errors_of(run_cli("validate", "--format", "json", cwd=tmp_path))
    assert errors["jobs.d/_defaults.yaml", "task"]["line"] == 1
    assert errors["jobs.d/_defaults.yaml", "schedule.cron"]["line"] == 3


def test_a_malformed_secret_reference_is_located(tmp_path: Path) -> None:
    """${env:...} syntax is checked by validate, on the value's line."""
    job = GREET.replace("max_messages: 0", "token: 'Bearer ${env:API TOKEN}'")
    project(tmp_path, {"greet.yaml": job})
    result = run_cli("validate", "--format", "json", cwd=tmp_path)
    assert result.code == 1
    error = errors_of(result)["jobs.d/greet.yaml", "params.token"]
    assert error["line"] == 5
    assert "environment variable name" in error["message"]


def test_diff_flags_a_job_added_in_production_mode(tmp_path: Path) -> None:
    """A new job with dry_run false is a production-job warning in the plan."""
    old = tmp_path / "old"
    new = tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (new / "bot.yaml").write_text(
        "name: bot\ntask: mytasks:greet\nparams:\n  dry_run: false\ncanary: 2\n"
        "schedule:\n  interval: 1h\n",
        encoding="utf-8",
    )
    result = run_cli("diff", str(old), str(new), "--format", "json", cwd=tmp_path)
    codes = [w["code"] for w in result.json()["warnings"]]
    assert codes == ["production-job"]
    assert "2 canary run(s)" in result.out


def test_plan_shows_what_a_defaults_change_does_to_the_jobs_below_it(tmp_path: Path) -> None:
    """Changing _defaults.yaml is a change of every job that inherits it, and only those."""
    import subprocess

    project(
        tmp_path,
        {
            "_defaults.yaml": "timezone: Europe/Paris\n",
            "a.yaml": "name: a\ntask: mytasks:plain\nschedule:\n  daily: '09:00'\n",
            "b.yaml": (
                "name: b\ntask: mytasks:plain\nschedule:\n  daily: '09:00'\n  timezone: UTC\n"
            ),
        },
    )
    git = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=tmp_path, check=True)
    unchanged = run_cli("plan", "--base", "HEAD", "--format", "json", cwd=tmp_path).json()
    assert unchanged["summary"]["changed"] == 0

    (tmp_path / "jobs.d" / "_defaults.yaml").write_text("timezone: Asia/Tokyo\n", encoding="utf-8")
    plan = run_cli("plan", "--base", "HEAD", "--format", "json", cwd=tmp_path).json()
    changed = {j["name"]: j for j in plan["jobs"] if j["change"] == "changed"}
    assert set(changed) == {"a"}
    assert [w["code"] for w in changed["a"]["warnings"]] == ["timezone-changed"]
