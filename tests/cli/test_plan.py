"""``scheduler plan --base GITREF`` and ``scheduler diff OLD_DIR NEW_DIR``, black-box.

Each test builds a real git repository in a temporary folder and commits jobs that are
added, changed, moved (``git mv``), renamed through ``previous_names`` and deleted; the
commands then run as a subprocess, and every run is checked for tracebacks. ``--now`` pins
the instant next runs count from: 2026-06-01T12:00:00Z, a Monday (Paris on CEST, +02:00).

The main scenario, from ``main`` (commit 1) to ``feature`` (commit 2, checked out):

=================  =============================================  ===========================
job                the change                                     expected
=================  =============================================  ===========================
birthday-daily     daily 09:00 -> 10:00, params.dry_run -> false  changed, dry-run-off
heartbeat          interval 1h -> 1m                              changed, more-frequent (60x)
report             timezone UTC -> Europe/Paris, enabled -> false changed, timezone-changed,
                                                                  job-disabled
profile-visitor    git mv visitor.yaml bots/visitor.yaml          renamed (moved)
sync-nightly       was nightly-sync; previous_names: [nightly-    renamed (old_name)
                   sync]
year-end-archive   deleted                                        removed, job-deleted
cleanup            new, a one-shot `at` in the past               added, never-fires
steady             nothing                                        unchanged
=================  =============================================  ===========================
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import PROJECT, CliResult

ENTRY = ["-m", "scheduler"]
NOW = "2026-06-01T12:00:00Z"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def scheduler(*args: str, cwd: Path) -> CliResult:
    """Run the scheduler CLI with ARGS in ``cwd``; assert no traceback on either stream."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SCHEDULER_", "GIT_"))
    } | GIT_ENV
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT), env.get("PYTHONPATH")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run(
        [sys.executable, *ENTRY, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def plan(*args: str, cwd: Path) -> CliResult:
    return scheduler("plan", "--now", NOW, *args, cwd=cwd)


class Repo:
    """A git repository in a temporary folder, driven with plain git commands."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
        proc = subprocess.run(
            ["git", *args], cwd=self.root, env=env, capture_output=True, text=True, check=True
        )
        return proc.stdout.strip()

    def write(self, files: dict[str, str | bytes]) -> None:
        for relative, content in files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


def job(name: str, schedule: str, extra: str = "") -> str:
    """A job file; ``schedule`` holds YAML lines (indented under schedule:)."""
    lines = "\n".join(f"  {line}" for line in schedule.splitlines())
    return (
        f"name: {name}\ntask: examples.bots:{name.replace('-', '_')}\nschedule:\n{lines}\n{extra}"
    )


BASE_JOBS: dict[str, str | bytes] = {
    "jobs.d/birthday.yaml": job(
        "birthday-daily",
        "daily: '09:00'\ntimezone: Europe/Paris",
        "params:\n  dry_run: true\n  max_messages: 10\n",
    ),
    "jobs.d/heartbeat.yaml": job("heartbeat", "interval: 1h"),
    "jobs.d/report.yaml": job("report", "cron: '0 6 * * *'"),
    "jobs.d/visitor.yaml": job("profile-visitor", "weekly: {days: [mon], at: '10:00'}"),
    "jobs.d/nightly.yaml": job("nightly-sync", "cron: '0 2 * * *'"),
    "jobs.d/archive.yaml": job(
        "year-end-archive", "at: '2027-12-31T23:00:00'\ntimezone: Europe/Paris"
    ),
    "jobs.d/steady.yaml": job("steady", "cron: '*/15 * * * *'"),
    # Not job files: ignored on both sides.
    "jobs.d/README.md": "# jobs\n",
    "jobs.d/.hidden/junk.yaml": "{{{ not yaml",
    "jobs.d/notes.yaml~": "{{{ not yaml",
}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """The repository of the module docstring: main = commit 1, feature = commit 2."""
    repo = Repo(tmp_path_factory.mktemp("plan") / "repo")
    repo.write(BASE_JOBS)
    repo.commit("base jobs")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(
        {
            "jobs.d/birthday.yaml": job(
                "birthday-daily",
                "daily: '10:00'\ntimezone: Europe/Paris",
                "params:\n  dry_run: false\n  max_messages: 10\n",
            ),
            "jobs.d/heartbeat.yaml": job("heartbeat", "interval: 1m"),
            "jobs.d/report.yaml": job(
                "report", "cron: '0 6 * * *'\ntimezone: Europe/Paris", "enabled: false\n"
            ),
            "jobs.d/nightly.yaml": job(
                "sync-nightly", "cron: '0 2 * * *'", "previous_names: [nightly-sync]\n"
            ),
            "jobs.d/cleanup.yaml": job("cleanup", "at: '2026-01-01T00:00:00'"),
        }
    )
    (repo.root / "jobs.d/bots").mkdir()
    repo.git("mv", "jobs.d/visitor.yaml", "jobs.d/bots/visitor.yaml")
    repo.git("rm", "-q", "jobs.d/archive.yaml")
    repo.commit("feature: change jobs")
    return repo


@pytest.fixture(scope="module")
def as_json(scenario: Repo) -> dict[str, Any]:
    result = plan("--base", "HEAD~1", "--format", "json", cwd=scenario.root)
    assert result.code == 0, result.err
    data: dict[str, Any] = result.json()
    return data


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {j["name"]: j for j in data["jobs"]}


EXPECTED_SUMMARY = {"added": 1, "removed": 1, "renamed": 2, "changed": 3, "unchanged": 1}
EXPECTED_CHANGES = {
    "birthday-daily": ("changed", ["dry-run-off"]),
    "cleanup": ("added", ["never-fires"]),
    "heartbeat": ("changed", ["more-frequent"]),
    "profile-visitor": ("renamed", []),
    "report": ("changed", ["job-disabled", "timezone-changed"]),
    "sync-nightly": ("renamed", []),
    "year-end-archive": ("removed", ["job-deleted"]),
}


# --- JSON --------------------------------------------------------------------------------


def test_json_summary_and_kinds(as_json: dict[str, Any], scenario: Repo) -> None:
    """Counts, one entry per reviewed job (sorted), its change kind and warning codes."""
    assert as_json["valid"] is True
    assert as_json["summary"] == EXPECTED_SUMMARY
    assert [j["name"] for j in as_json["jobs"]] == sorted(EXPECTED_CHANGES)
    got = {j["name"]: (j["change"], [w["code"] for w in j["warnings"]]) for j in as_json["jobs"]}
    assert got == EXPECTED_CHANGES
    assert as_json["base"] == {
        "label": "HEAD~1",
        "commit": scenario.git("rev-parse", "main"),
        "jobs_dir": "jobs.d",
        "exists": True,
    }
    assert as_json["head"] == {
        "label": "working tree",
        "jobs_dir": "jobs.d",
        "uncommitted_changes": False,
    }


def test_json_field_changes_and_next_runs(as_json: dict[str, Any]) -> None:
    """Field changes are dotted paths old -> new; next runs before/after in the job's zone."""
    birthday = by_name(as_json)["birthday-daily"]
    assert birthday["fields"] == [
        {"path": "params.dry_run", "old": True, "new": False},
        {"path": "schedule.daily", "old": ["09:00"], "new": ["10:00"]},
    ]
    assert birthday["next_before"] == [f"2026-06-0{d}T09:00:00+02:00" for d in range(2, 7)]
    assert birthday["next_after"] == [f"2026-06-0{d}T10:00:00+02:00" for d in range(2, 7)]
    assert birthday["file"] == "jobs.d/birthday.yaml"
    assert birthday["old_file"] == "HEAD~1:jobs.d/birthday.yaml"
    assert birthday["timezone"] == birthday["old_timezone"] == "Europe/Paris"


def test_json_timezone_change_and_disable(as_json: dict[str, Any]) -> None:
    """report: UTC -> Europe/Paris and disabled; no runs after, both fields listed."""
    report = by_name(as_json)["report"]
    assert {(f["path"], f["old"], f["new"]) for f in report["fields"]} == {
        ("schedule.timezone", "UTC", "Europe/Paris"),
        ("enabled", True, False),
    }
    assert report["next_before"][0] == "2026-06-02T06:00:00+00:00"
    assert report["next_after"] == []
    assert report["enabled"] is False
    assert report["old_enabled"] is True


def test_json_renames(as_json: dict[str, Any]) -> None:
    """A git mv keeps the name (renamed, new file); previous_names carries the old name."""
    jobs = by_name(as_json)
    moved = jobs["profile-visitor"]
    assert moved["old_name"] is None
    assert moved["old_file"] == "HEAD~1:jobs.d/visitor.yaml"
    assert moved["file"] == "jobs.d/bots/visitor.yaml"
    assert moved["fields"] == []
    assert moved["next_before"] == moved["next_after"]
    renamed = jobs["sync-nightly"]
    assert renamed["old_name"] == "nightly-sync"
    assert {"path": "name", "old": "nightly-sync", "new": "sync-nightly"} in renamed["fields"]
    assert "nightly-sync" not in jobs  # not also removed


def test_json_warnings(as_json: dict[str, Any]) -> None:
    """Every warning is listed at the top with its job; messages carry the facts."""
    top = {(w["job"], w["code"]): w["message"] for w in as_json["warnings"]}
    assert set(top) == {
        (name, code) for name, (_, codes) in EXPECTED_CHANGES.items() for code in codes
    }
    assert top["heartbeat", "more-frequent"].startswith("will run 60x as often")
    assert "true -> false" in top["birthday-daily", "dry-run-off"]
    assert "2026-01-01T00:00:00 is in the past" in top["cleanup", "never-fires"]
    assert "2027-12-31T23:00:00+01:00" in top["year-end-archive", "job-deleted"]
    assert "UTC -> Europe/Paris" in top["report", "timezone-changed"]


def test_against_a_branch_is_the_same_plan(scenario: Repo, as_json: dict[str, Any]) -> None:
    """--base main names the same commit as HEAD~1: the same jobs and warnings."""
    result = plan("--base", "main", "--format", "json", cwd=scenario.root)
    assert result.code == 0, result.err
    data = result.json()
    assert data["base"]["label"] == "main"
    assert data["summary"] == as_json["summary"]
    assert by_name(data)["birthday-daily"]["old_file"] == "main:jobs.d/birthday.yaml"
    assert [w["code"] for w in data["warnings"]] == [w["code"] for w in as_json["warnings"]]


# --- Markdown and text -------------------------------------------------------------------


@pytest.fixture(scope="module")
def as_markdown(scenario: Repo) -> str:
    result = plan("--base", "main", "--format", "markdown", cwd=scenario.root)
    assert result.code == 0, result.err
    return result.out


def test_markdown_summary_table(as_markdown: str) -> None:
    """A comment marker, the counts, and one table row per reviewed job."""
    assert as_markdown.startswith("<!-- scheduler-plan -->\n### Scheduler plan: `main`")
    assert "**1 added** · **1 removed** · **2 renamed** · **3 changed** · 1 unchanged" in (
        as_markdown
    )
    assert "| | Job | Change | Schedule | Next run | Warnings | File |" in as_markdown
    rows = [line for line in as_markdown.splitlines() if line.startswith("| ") and "`" in line]
    # The Job cell: `name`, or `old` → `new` for a rename through previous_names.
    table = {
        line.split("|")[2].strip().split(" → ")[-1]: line for line in rows if line.count("|") == 8
    }
    assert set(table) == {f"`{name}`" for name in EXPECTED_CHANGES}
    assert "| `nightly-sync` → `sync-nightly` | renamed |" in table["`sync-nightly`"]
    assert (
        "| changed | daily at 10:00 (Europe/Paris) | 2026-06-02T10:00:00+02:00 Tue |"
        in (table["`birthday-daily`"])
    )
    assert (
        "| `main:jobs.d/visitor.yaml` → `jobs.d/bots/visitor.yaml` |"
        in (table["`profile-visitor`"])
    )
    assert "`steady`" not in as_markdown


def test_markdown_details_with_fields_and_next_runs(as_markdown: str) -> None:
    """Each reviewed job has a collapsible block: field table, then before/after runs."""
    assert as_markdown.count("<details>") == as_markdown.count("</details>") == 7
    block = as_markdown.split("<summary><code>birthday-daily</code>")[1].split(
        "</details>", maxsplit=1
    )[0]
    assert "| `params.dry_run` | `true` | `false` |" in block
    assert '| `schedule.daily` | `["09:00"]` | `["10:00"]` |' in block
    assert "| Next runs | Before (Europe/Paris) | After (Europe/Paris) |" in block
    assert "| 1 | 2026-06-02T09:00:00+02:00 Tue | 2026-06-02T10:00:00+02:00 Tue |" in block
    assert "| 5 | 2026-06-06T09:00:00+02:00 Sat | 2026-06-06T10:00:00+02:00 Sat |" in block
    renamed = as_markdown.split("<summary><code>nightly-sync → sync-nightly</code>")[1]
    assert "renamed" in renamed.split("</summary>")[0]


def test_markdown_warnings(as_markdown: str) -> None:
    """Warnings come first, in an alert, with code and text a reviewer cannot miss."""
    head = as_markdown.split("| | Job |", maxsplit=1)[0]
    assert "> [!WARNING]" in head
    assert "> **6 warnings**" in head
    assert "**`birthday-daily`** `dry-run-off`: params.dry_run true -> false" in head
    assert "**`heartbeat`** `more-frequent`: will run 60x as often" in head
    assert "**`report`** `job-disabled`" in head
    assert "**`year-end-archive`** `job-deleted`" in head
    assert "**`cleanup`** `never-fires`" in head


def test_text_output(scenario: Repo) -> None:
    """Text: heading, counts, warnings, and a before/after run column per job."""
    result = plan("--base", "HEAD~1", cwd=scenario.root)
    assert result.code == 0, result.err
    out = result.out
    assert out.startswith("plan: HEAD~1 (")
    assert "-> working tree (jobs.d, clean)" in out.splitlines()[0]
    assert "1 added, 1 removed, 2 renamed, 3 changed, 1 unchanged" in out
    assert "birthday-daily: [dry-run-off] params.dry_run true -> false" in out
    assert "~ birthday-daily  changed  jobs.d/birthday.yaml" in out
    assert "    params.dry_run: true -> false" in out
    assert "2026-06-02T09:00:00+02:00 Tue  2026-06-02T10:00:00+02:00 Tue" in out
    assert "> nightly-sync -> sync-nightly  renamed" in out
    assert "- year-end-archive  removed  HEAD~1:jobs.d/archive.yaml" in out


def test_no_changes(scenario: Repo) -> None:
    """Against HEAD with a clean tree nothing changed; still exit 0."""
    text = plan("--base", "HEAD", cwd=scenario.root)
    assert text.code == 0, text.err
    assert "0 added, 0 removed, 0 renamed, 0 changed, 7 unchanged" in text.out
    assert "no job changes" in text.out
    markdown = plan("--base", "HEAD", "--format", "markdown", cwd=scenario.root)
    assert "No job changes." in markdown.out
    assert "<details>" not in markdown.out


# --- the working tree, other layouts -----------------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> Repo:
    """A repository with one committed job, a.yaml."""
    repo = Repo(tmp_path / "repo")
    repo.write({"jobs.d/a.yaml": job("a", "daily: '09:00'")})
    repo.commit("one job")
    return repo


def test_dirty_tree_is_the_new_side(small: Repo) -> None:
    """Uncommitted edits and untracked files are planned, and the heading says so."""
    small.write(
        {
            "jobs.d/a.yaml": job("a", "daily: '09:30'"),
            "jobs.d/b.yaml": job("b", "interval: 1h"),
        }
    )
    result = plan("--base", "HEAD", "--format", "json", cwd=small.root)
    assert result.code == 0, result.err
    data = result.json()
    assert data["head"]["uncommitted_changes"] is True
    assert {j["name"]: j["change"] for j in data["jobs"]} == {"a": "changed", "b": "added"}
    text = plan("--base", "HEAD", cwd=small.root)
    assert "working tree (jobs.d, uncommitted changes included)" in text.out
    markdown = plan("--base", "HEAD", "--format", "markdown", cwd=small.root)
    assert "working tree (uncommitted changes included)" in markdown.out


def test_jobs_dir_at_repository_top_and_from_a_subfolder(tmp_path: Path) -> None:
    """The jobs dir may be the repository's top, and plan may run from any folder."""
    repo = Repo(tmp_path / "repo")
    repo.write({"a.yaml": job("a", "daily: '09:00'"), "tools/README": "x\n"})
    repo.commit("top-level jobs")
    repo.write({"a.yaml": job("a", "daily: '08:00'")})
    result = plan("--base", "HEAD", "--jobs-dir", ".", "--format", "json", cwd=repo.root)
    assert result.code == 0, result.err
    assert [(j["name"], j["change"], j["old_file"]) for j in result.json()["jobs"]] == [
        ("a", "changed", "HEAD:a.yaml")
    ]
    sub = plan("--base", "HEAD", "--jobs-dir", "..", "--format", "json", cwd=repo.root / "tools")
    assert sub.code == 0, sub.err
    assert sub.json()["summary"]["changed"] == 1


def test_whole_jobs_dir_deleted(small: Repo) -> None:
    """Deleting the jobs folder removes every job (exit 0), not a usage error."""
    shutil.rmtree(small.root / "jobs.d")
    result = plan("--base", "HEAD", "--format", "json", cwd=small.root)
    assert result.code == 0, result.err
    assert result.json()["summary"]["removed"] == 1


def test_jobs_dir_new_since_base(small: Repo) -> None:
    """A jobs folder the base does not have: every job is added."""
    small.write({"more.d/x.yaml": job("x", "interval: 1h")})
    result = plan("--base", "HEAD", "--jobs-dir", "more.d", "--format", "json", cwd=small.root)
    assert result.code == 0, result.err
    data = result.json()
    assert data["base"]["exists"] is False
    assert data["summary"]["added"] == 1


def test_symlink_in_the_commit_is_followed(tmp_path: Path) -> None:
    """A job file that is a symbolic link reads the same at the base as on disk."""
    repo = Repo(tmp_path / "repo")
    repo.write({"shared/a.yaml": job("a", "daily: '09:00'")})
    (repo.root / "jobs.d").mkdir()
    (repo.root / "jobs.d/a.yaml").symlink_to("../shared/a.yaml")
    repo.commit("linked job")
    result = plan("--base", "HEAD", "--format", "json", cwd=repo.root)
    assert result.code == 0, result.err
    assert result.json()["summary"] == {
        "added": 0,
        "removed": 0,
        "renamed": 0,
        "changed": 0,
        "unchanged": 1,
    }
    assert result.json()["warnings"] == []


# --- bad input ---------------------------------------------------------------------------


def test_unknown_ref_is_a_usage_error(small: Repo) -> None:
    """A revision that does not exist: exit 2, naming it and --base."""
    result = plan("--base", "no-such-branch", cwd=small.root)
    assert result.code == 2
    assert "unknown git revision 'no-such-branch'" in result.err
    assert "--base" in result.err
    assert result.out == ""


@pytest.mark.parametrize("ref", ["-p", "HEAD\nfoo", "HEAD~99"])
def test_odd_refs_are_usage_errors(small: Repo, ref: str) -> None:
    """Option-like, multi-line and out-of-range revisions are unknown revisions."""
    result = plan("--base", ref, cwd=small.root)
    assert result.code == 2
    assert "unknown git revision" in result.err


def test_not_a_git_repository(tmp_path: Path) -> None:
    """A jobs dir outside any repository: exit 2."""
    (tmp_path / "jobs.d").mkdir()
    (tmp_path / "jobs.d/a.yaml").write_text(job("a", "daily: '09:00'"), encoding="utf-8")
    result = plan("--base", "main", cwd=tmp_path)
    assert result.code == 2
    assert "not inside a git repository" in result.err


def test_missing_base_option_and_missing_dir(small: Repo) -> None:
    """--base is required; a jobs dir that exists on neither side is a usage error."""
    missing = scheduler("plan", cwd=small.root)
    assert missing.code == 2
    assert "--base" in missing.err
    nowhere = plan("--base", "HEAD", "--jobs-dir", "nope.d", cwd=small.root)
    assert nowhere.code == 2
    assert "does not exist" in nowhere.err


def test_bad_now_and_format_are_usage_errors(small: Repo) -> None:
    """A malformed --now or an unknown --format: exit 2."""
    assert scheduler("plan", "--base", "HEAD", "--now", "soon", cwd=small.root).code == 2
    assert plan("--base", "HEAD", "--format", "html", cwd=small.root).code == 2


BROKEN = "name: a\ntask: pkg.mod:func\nschedule:\n  cron: '61 * * * *'\n"


def test_invalid_new_side_exits_1_with_located_errors(small: Repo) -> None:
    """An invalid working tree: no plan, its located errors, exit 1, in every format."""
    small.write({"jobs.d/a.yaml": BROKEN})
    text = plan("--base", "HEAD", cwd=small.root)
    assert text.code == 1
    assert "jobs.d/a.yaml:4:9: error: schedule.cron:" in text.out
    assert "invalid" in text.err
    data = plan("--base", "HEAD", "--format", "json", cwd=small.root)
    assert data.code == 1
    payload = data.json()
    assert payload["valid"] is False
    assert [(e["file"], e["line"], e["path"]) for e in payload["errors"]] == [
        ("jobs.d/a.yaml", 4, "schedule.cron")
    ]
    markdown = plan("--base", "HEAD", "--format", "markdown", cwd=small.root)
    assert markdown.code == 1
    assert "> [!CAUTION]" in markdown.out
    assert "jobs.d/a.yaml:4:9: error: schedule.cron:" in markdown.out


def test_invalid_old_side_is_a_warning(small: Repo) -> None:
    """A base whose job file is invalid: a base-invalid warning, the job shown as added."""
    small.write({"jobs.d/a.yaml": BROKEN})
    small.commit("break a")
    small.write({"jobs.d/a.yaml": job("a", "daily: '09:00'")})
    result = plan("--base", "HEAD", "--format", "json", cwd=small.root)
    assert result.code == 0, result.err
    data = result.json()
    assert [(w["code"], w["job"]) for w in data["warnings"]] == [
        ("base-invalid", None),
        ("base-invalid", "a"),
    ]
    assert "HEAD:jobs.d/a.yaml:4:9: schedule.cron:" in data["warnings"][0]["message"]
    assert by_name(data)["a"]["change"] == "added"
    text = plan("--base", "HEAD", cwd=small.root)
    assert text.code == 0
    assert "[base-invalid]" in text.out


def test_binary_files(small: Repo) -> None:
    """Binary job files: a located error at the base (warning), exit 1 in the working tree."""
    small.write({"jobs.d/blob.yaml": b"name: x\n\xff\xfe\x00\x01binary"})
    small.commit("binary")
    os.remove(small.root / "jobs.d/blob.yaml")
    old = plan("--base", "HEAD", "--format", "json", cwd=small.root)
    assert old.code == 0, old.err
    message = old.json()["warnings"][0]["message"]
    assert "HEAD:jobs.d/blob.yaml:2:1: not UTF-8 text (byte 0xff)" in message
    small.git("checkout", "--", "jobs.d/blob.yaml")
    new = plan("--base", "HEAD", cwd=small.root)
    assert new.code == 1
    assert "jobs.d/blob.yaml:2:1: error: not UTF-8 text" in new.out


# --- scheduler diff OLD_DIR NEW_DIR ------------------------------------------------------


def test_diff_two_folders(tmp_path: Path) -> None:
    """Two folders: files compare relative to each, so old/x.yaml and new/x.yaml match."""
    for side, daily in (("old", "09:00"), ("new", "10:00")):
        (tmp_path / side / "sub").mkdir(parents=True)
        (tmp_path / side / "sub/a.yaml").write_text(job("a", f"daily: '{daily}'"), "utf-8")
    (tmp_path / "old/b.yaml").write_text(job("b", "interval: 1h"), "utf-8")
    result = scheduler("diff", "old", "new", "--now", NOW, "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.err
    data = result.json()
    assert data["base"] == {"label": "old", "commit": None, "jobs_dir": "old", "exists": True}
    assert data["head"]["uncommitted_changes"] is None
    assert {j["name"]: j["change"] for j in data["jobs"]} == {"a": "changed", "b": "removed"}
    a = by_name(data)["a"]
    assert (a["old_file"], a["file"]) == ("old/sub/a.yaml", "new/sub/a.yaml")
    markdown = scheduler("diff", "old", "new", "--now", NOW, "--format", "markdown", cwd=tmp_path)
    assert "### Scheduler plan: `old` → `new`" in markdown.out


def test_diff_bad_input(tmp_path: Path) -> None:
    """A missing folder is a usage error; an invalid NEW_DIR exits 1, an invalid OLD_DIR 0."""
    (tmp_path / "good").mkdir()
    (tmp_path / "good/a.yaml").write_text(job("a", "daily: '09:00'"), "utf-8")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/a.yaml").write_text(BROKEN, "utf-8")
    missing = scheduler("diff", "good", "nope", cwd=tmp_path)
    assert missing.code == 2
    assert "'nope' does not exist" in missing.err
    assert scheduler("diff", "good", "bad", cwd=tmp_path).code == 1
    old_bad = scheduler("diff", "bad", "good", "--format", "json", cwd=tmp_path)
    assert old_bad.code == 0, old_bad.err
    assert json.loads(old_bad.out)["warnings"][0]["code"] == "base-invalid"


def test_markdown_stays_within_a_comment(tmp_path: Path) -> None:
    """Hundreds of changed jobs: every one in the table, details cut before 65,536 chars."""
    for side, daily in (("old", "09:00"), ("new", "10:00")):
        (tmp_path / side).mkdir()
        for i in range(150):
            text = job(f"job-{i:03d}", f"daily: '{daily}'", "params: {dry_run: true}\n")
            (tmp_path / side / f"j{i:03d}.yaml").write_text(text, "utf-8")
    result = scheduler("diff", "old", "new", "--now", NOW, "--format", "markdown", cwd=tmp_path)
    assert result.code == 0, result.err
    assert len(result.out) < 65_536
    assert "| ~ | `job-149` | changed |" in result.out
    assert "more jobs not detailed" in result.out
    assert result.out.count("<details>") == result.out.count("</details>") > 10
