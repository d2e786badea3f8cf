"""The live job set on real files: rescans, one-file reloads, rejections, moves, deletions.

Uses real files in ``tmp_path``; the working directory is moved there so that files are
named as the user would type them (``jobs.d/a.yaml``). ``now`` is a fixed argument.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scheduler.config.liveconfig import LiveConfig

NOW = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


def job_text(name: str, cron: str = "0 9 * * *") -> str:
    """A valid one-job document named ``name``."""
    return f"name: {name}\ntask: pkg.mod:func\nschedule:\n  cron: '{cron}'\n"


def jobs_text(*names: str) -> str:
    """Valid one-job documents for ``names``, separated by ``---``."""
    return "---\n".join(job_text(n) for n in names)


BAD_CRON = "name: x\ntask: pkg.mod:func\nschedule:\n  cron: '61 * * * *'\n"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``jobs.d`` in a fresh working directory."""
    monkeypatch.chdir(tmp_path)
    path = Path("jobs.d")
    path.mkdir()
    return path


def write(root: Path, relative: str, text: str) -> Path:
    """Write ``text`` to ``root/relative``, creating folders."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def loaded(root: Path) -> LiveConfig:
    """A LiveConfig on ``root`` after its first rescan."""
    config = LiveConfig(root)
    config.rescan(NOW)
    return config


def names(jobs) -> list[str]:
    """The sorted names of loaded jobs."""
    return sorted(j.name for j in jobs)


# --- rescan ----------------------------------------------------------------------------


def test_rescan_loads_every_job_file(root):
    """The first rescan adds every job of every file, sub-folders included."""
    write(root, "a.yaml", jobs_text("x", "y"))
    write(root, "team/b.yml", job_text("z"))
    config = LiveConfig(root)
    changes = config.rescan(NOW)
    assert {c.file: names(c.added) for c in changes} == {
        "jobs.d/a.yaml": ["x", "y"],
        "jobs.d/team/b.yml": ["z"],
    }
    assert sorted(config.jobs) == ["x", "y", "z"]
    assert config.jobs["z"].file == "jobs.d/team/b.yml"
    assert config.rejected == {}


def test_rescan_of_an_empty_or_missing_folder_loads_nothing(tmp_path):
    """No folder, or an empty one: no jobs and no changes."""
    missing = LiveConfig(tmp_path / "absent")
    assert missing.rescan(NOW) == []
    assert missing.jobs == {}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert LiveConfig(empty).rescan(NOW) == []


def test_rescan_ignores_hidden_and_temporary_files(root):
    """Hidden files and folders, editor temporaries and non-YAML files are not job files."""
    write(root, "a.yaml", job_text("real"))
    for i, relative in enumerate(
        [
            ".hidden.yaml",
            ".a.yaml.swp",
            "a.yaml~",
            ".#a.yaml",
            "#a.yaml#",
            "notes.txt",
            "a.yaml.bak",
            ".git/config.yaml",
            ".tmp/b.yaml",
        ]
    ):
        write(root, relative, job_text(f"ignored{i}"))
    config = LiveConfig(root)
    changes = config.rescan(NOW)
    assert [c.file for c in changes] == ["jobs.d/a.yaml"]
    assert sorted(config.jobs) == ["real"]
    assert config.rejected == {}


def test_rescan_without_changes_reports_nothing_and_keeps_the_generation(root):
    """A second rescan of unchanged files is empty and the generation is stable."""
    write(root, "a.yaml", jobs_text("x", "y"))
    write(root, "b.yaml", job_text("z"))
    config = loaded(root)
    generation = config.generation
    assert config.rescan(NOW) == []
    assert config.rescan(NOW) == []
    assert config.generation == generation


def test_generation_is_the_same_for_the_same_files(root):
    """Two LiveConfigs on the same files agree on the generation."""
    write(root, "a.yaml", jobs_text("x", "y"))
    assert loaded(root).generation == loaded(root).generation


def test_generation_changes_when_a_file_changes(root):
    """Editing, adding or deleting a file changes the generation; undoing restores it."""
    write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    start = config.generation
    write(root, "a.yaml", job_text("x", cron="0 10 * * *"))
    config.rescan(NOW)
    edited = config.generation
    write(root, "b.yaml", job_text("y"))
    config.rescan(NOW)
    added = config.generation
    (root / "b.yaml").unlink()
    config.rescan(NOW)
    assert len({start, edited, added}) == 3
    assert config.generation == edited


def test_generation_ignores_a_rejected_edit(root):
    """The generation digests accepted content only: an invalid edit leaves it unchanged."""
    write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    generation = config.generation
    write(root, "a.yaml", BAD_CRON)
    config.rescan(NOW)
    assert config.generation == generation


def test_rescan_forgets_a_deleted_file(root):
    """A file gone at the next rescan has its jobs removed."""
    write(root, "a.yaml", jobs_text("x", "y"))
    write(root, "b.yaml", job_text("z"))
    config = loaded(root)
    (root / "a.yaml").unlink()
    changes = config.rescan(NOW)
    assert [(c.file, sorted(c.removed)) for c in changes] == [("jobs.d/a.yaml", ["x", "y"])]
    assert sorted(config.jobs) == ["z"]


def test_rescan_forgets_a_deleted_file_that_was_only_ever_rejected(root):
    """An invalid file deleted before it was ever valid is no longer listed as rejected."""
    write(root, "good.yaml", job_text("ok"))
    write(root, "bad.yaml", BAD_CRON)
    config = loaded(root)
    assert list(config.rejected) == ["jobs.d/bad.yaml"]
    (root / "bad.yaml").unlink()
    config.rescan(NOW)
    assert config.rejected == {}


# --- apply: edits ----------------------------------------------------------------------


def test_apply_of_an_unchanged_file_is_an_empty_change(root):
    """Re-applying a file whose bytes did not change reports nothing."""
    a = write(root, "a.yaml", jobs_text("x", "y"))
    config = loaded(root)
    change = config.apply(a, NOW)
    assert change.file == "jobs.d/a.yaml"
    assert change.empty


def test_apply_reports_updated_only_for_jobs_whose_definition_changed(root):
    """Changing one job's schedule lists only that job as updated."""
    a = write(root, "a.yaml", jobs_text("x", "y"))
    config = loaded(root)
    before_y = config.jobs["y"].definition_hash
    write(root, "a.yaml", job_text("x", cron="0 10 * * *") + "---\n" + job_text("y"))
    change = config.apply(a, NOW)
    assert names(change.updated) == ["x"]
    assert (change.added, change.removed, change.rejected) == ([], [], [])
    assert config.jobs["x"].spec.schedule.cron == "0 10 * * *"
    assert config.jobs["y"].definition_hash == before_y


def test_comment_only_edit_changes_no_definition(root):
    """A comment-only edit reports no update (updated lists definition changes only)."""
    a = write(root, "a.yaml", jobs_text("x", "y"))
    config = loaded(root)
    hashes = {name: job.definition_hash for name, job in config.jobs.items()}
    write(root, "a.yaml", "# nightly reports, owned by ops\n" + jobs_text("x", "y"))
    change = config.apply(a, NOW)
    assert change.empty
    assert {name: job.definition_hash for name, job in config.jobs.items()} == hashes


def test_comment_only_edit_moves_job_locations(root):
    """After a comment is added above a job, its recorded location follows the new line."""
    a = write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    assert config.jobs["x"].location == "jobs.d/a.yaml:1"
    write(root, "a.yaml", "# one\n# two\n" + job_text("x"))
    config.apply(a, NOW)
    assert config.jobs["x"].location == "jobs.d/a.yaml:3"


def test_apply_reports_added_and_removed_jobs_within_a_file(root):
    """A job renamed inside a file is one removal and one addition."""
    a = write(root, "a.yaml", jobs_text("x", "y"))
    config = loaded(root)
    write(root, "a.yaml", jobs_text("x", "y2"))
    change = config.apply(a, NOW)
    assert names(change.added) == ["y2"]
    assert change.removed == ["y"]
    assert change.updated == []
    assert sorted(config.jobs) == ["x", "y2"]


def test_a_new_file_appears(root):
    """A file created after startup is picked up by apply and by rescan alike."""
    write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    b = write(root, "b.yaml", job_text("y"))
    change = config.apply(b, NOW)
    assert change.file == "jobs.d/b.yaml"
    assert names(change.added) == ["y"]
    write(root, "sub/c.yaml", job_text("z"))
    changes = config.rescan(NOW)
    assert [(c.file, names(c.added)) for c in changes] == [("jobs.d/sub/c.yaml", ["z"])]
    assert sorted(config.jobs) == ["x", "y", "z"]


# --- apply: invalid files --------------------------------------------------------------


def test_invalid_file_is_rejected_with_located_errors(root):
    """A file turned invalid is rejected; each error names file, line, column and path."""
    a = write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    write(root, "a.yaml", BAD_CRON)
    change = config.apply(a, NOW)
    assert (change.added, change.updated, change.removed) == ([], [], [])
    assert len(change.rejected) == 1
    error = change.rejected[0]
    assert (error.file, error.line, error.column, error.path) == (
        "jobs.d/a.yaml",
        4,
        9,
        "schedule.cron",
    )
    assert "61" in error.message
    assert config.rejected == {"jobs.d/a.yaml": change.rejected}


def test_invalid_file_keeps_the_last_valid_definition_of_its_jobs(root):
    """The jobs a rejected file held stay in `jobs` exactly as last accepted."""
    a = write(root, "a.yaml", jobs_text("x", "y"))
    config = loaded(root)
    before = dict(config.jobs)
    write(root, "a.yaml", BAD_CRON + "---\n" + job_text("y", cron="0 10 * * *"))
    config.apply(a, NOW)
    assert config.jobs == before
    assert config.jobs["x"].spec.schedule.cron == "0 9 * * *"
    assert config.jobs["y"].spec.schedule.cron == "0 9 * * *"


def test_an_invalid_file_is_rejected_again_on_every_apply(root):
    """Until fixed, re-applying the invalid file reports its rejection again."""
    a = write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    write(root, "a.yaml", BAD_CRON)
    first = config.apply(a, NOW)
    again = config.apply(a, NOW)
    assert [e.path for e in again.rejected] == [e.path for e in first.rejected]


def test_fixing_a_rejected_file_accepts_it_again(root):
    """A fixed file is accepted, its rejection cleared, and changed jobs reported updated."""
    a = write(root, "a.yaml", jobs_text("x", "y"))
    config = loaded(root)
    write(root, "a.yaml", BAD_CRON)
    config.apply(a, NOW)
    write(root, "a.yaml", job_text("x", cron="0 10 * * *") + "---\n" + job_text("y"))
    change = config.apply(a, NOW)
    assert change.rejected == []
    assert names(change.updated) == ["x"]
    assert config.rejected == {}
    assert config.jobs["x"].spec.schedule.cron == "0 10 * * *"


def test_reverting_a_rejected_file_to_its_last_valid_content_clears_the_rejection(root):
    """Restoring the exact last good bytes is accepted again, with no definition change."""
    a = write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    generation = config.generation
    write(root, "a.yaml", BAD_CRON)
    config.apply(a, NOW)
    write(root, "a.yaml", job_text("x"))
    change = config.apply(a, NOW)
    assert change.rejected == []
    assert config.rejected == {}
    assert config.generation == generation


def test_invalid_file_leaves_other_files_unaffected(root):
    """Rejecting one file changes nothing about the jobs of the others."""
    a = write(root, "a.yaml", job_text("x"))
    write(root, "b.yaml", jobs_text("y", "z"))
    config = loaded(root)
    others = {name: config.jobs[name] for name in ("y", "z")}
    write(root, "a.yaml", BAD_CRON)
    change = config.apply(a, NOW)
    assert change.rejected
    assert {name: config.jobs[name] for name in ("y", "z")} == others
    assert list(config.rejected) == ["jobs.d/a.yaml"]
    assert config.rescan(NOW)[0].file == "jobs.d/a.yaml"


def test_invalid_file_at_startup_loads_the_others(root):
    """On the first rescan an invalid file is rejected and every other file loads."""
    write(root, "a.yaml", BAD_CRON)
    write(root, "b.yaml", job_text("y"))
    config = LiveConfig(root)
    changes = config.rescan(NOW)
    by_file = {c.file: c for c in changes}
    assert by_file["jobs.d/a.yaml"].rejected
    assert names(by_file["jobs.d/b.yaml"].added) == ["y"]
    assert sorted(config.jobs) == ["y"]


def test_one_invalid_document_rejects_the_whole_file(root):
    """A valid job next to an invalid one in the same file is not loaded either."""
    write(root, "a.yaml", job_text("ok") + "---\n" + BAD_CRON)
    config = LiveConfig(root)
    config.rescan(NOW)
    assert "ok" not in config.jobs
    assert list(config.rejected) == ["jobs.d/a.yaml"]


# --- deletions -------------------------------------------------------------------------


def test_deleting_a_file_removes_its_jobs(root):
    """Applying a deleted file removes every job it held, and only those."""
    a = write(root, "a.yaml", jobs_text("x", "y"))
    write(root, "b.yaml", job_text("z"))
    config = loaded(root)
    a.unlink()
    change = config.apply(a, NOW)
    assert sorted(change.removed) == ["x", "y"]
    assert (change.added, change.updated, change.rejected) == ([], [], [])
    assert sorted(config.jobs) == ["z"]


def test_deleting_a_rejected_file_removes_its_last_valid_jobs(root):
    """A file rejected then deleted removes the jobs it kept and its rejection."""
    a = write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    write(root, "a.yaml", BAD_CRON)
    config.apply(a, NOW)
    a.unlink()
    change = config.apply(a, NOW)
    assert change.removed == ["x"]
    assert config.jobs == {}
    assert config.rejected == {}


def test_applying_a_file_that_never_existed_is_an_empty_change(root):
    """A deletion event for an unknown file changes nothing."""
    config = loaded(root)
    assert config.apply(root / "ghost.yaml", NOW).empty


# --- duplicates and moves --------------------------------------------------------------


def test_duplicate_names_within_one_file_are_rejected(root):
    """Two documents with the same name in one file reject the file at the second name."""
    write(root, "dup.yaml", job_text("d") + "---\n" + job_text("d", cron="0 10 * * *"))
    config = LiveConfig(root)
    [change] = config.rescan(NOW)
    assert change.file == "jobs.d/dup.yaml"
    assert [(e.file, e.line, e.path) for e in change.rejected] == [("jobs.d/dup.yaml", 6, "name")]
    assert "duplicate job name 'd'" in change.rejected[0].message
    assert "d" not in config.jobs


def test_duplicate_within_one_file_names_the_line_of_the_first_definition(root):
    """The duplicate error points at the first definition's line, as `validate` does."""
    write(root, "dup.yaml", job_text("d") + "---\n" + job_text("d", cron="0 10 * * *"))
    config = LiveConfig(root)
    [change] = config.rescan(NOW)
    assert change.rejected[0].message.endswith("already defined at jobs.d/dup.yaml:1")


def test_duplicate_name_in_another_file_rejects_the_newcomer(root):
    """A second file defining a loaded job's name is rejected; the first file keeps the job."""
    write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    b = write(root, "b.yaml", job_text("x", cron="0 10 * * *") + "---\n" + job_text("other"))
    change = config.apply(b, NOW)
    assert [(e.file, e.line, e.path) for e in change.rejected] == [("jobs.d/b.yaml", 1, "name")]
    assert "already defined at jobs.d/a.yaml:1" in change.rejected[0].message
    assert config.jobs["x"].file == "jobs.d/a.yaml"
    assert "other" not in config.jobs


def test_job_moved_with_new_file_applied_first_is_accepted_after_retry(root):
    """x moved a.yaml -> b.yaml: b first is a duplicate; after a's deletion, retry accepts b."""
    a = write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    b = write(root, "b.yaml", job_text("x"))
    a.unlink()

    first = config.apply(b, NOW)
    assert [e.path for e in first.rejected] == ["name"]
    assert config.jobs["x"].file == "jobs.d/a.yaml"

    gone = config.apply(a, NOW)
    assert gone.removed == ["x"]
    assert "x" not in config.jobs

    retried = config.retry_rejected(NOW)
    assert [(c.file, names(c.added), c.rejected) for c in retried] == [("jobs.d/b.yaml", ["x"], [])]
    assert config.jobs["x"].file == "jobs.d/b.yaml"
    assert config.rejected == {}


def test_job_moved_with_deletion_applied_first_needs_no_retry(root):
    """Moving x from a.yaml to b.yaml, deletion first (as the watcher orders it): b is accepted."""
    a = write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    b = write(root, "b.yaml", job_text("x"))
    a.unlink()
    assert config.apply(a, NOW).removed == ["x"]
    change = config.apply(b, NOW)
    assert names(change.added) == ["x"]
    assert change.rejected == []
    assert config.jobs["x"].file == "jobs.d/b.yaml"
    assert config.retry_rejected(NOW) == []


def test_job_moved_by_editing_both_files_is_accepted_after_retry(root):
    """x moves from a.yaml (kept, edited) to b.yaml; b applied first is accepted on retry."""
    a = write(root, "a.yaml", jobs_text("x", "y"))
    config = loaded(root)
    b = write(root, "b.yaml", job_text("x"))
    write(root, "a.yaml", job_text("y"))
    assert config.apply(b, NOW).rejected
    assert config.apply(a, NOW).removed == ["x"]
    [retried] = config.retry_rejected(NOW)
    assert names(retried.added) == ["x"]
    assert {n: j.file for n, j in config.jobs.items()} == {
        "x": "jobs.d/b.yaml",
        "y": "jobs.d/a.yaml",
    }


def test_job_moved_is_settled_by_a_rescan_and_retry(root):
    """A rescan after a move, then the retry the watcher makes, leaves x with the new file."""
    a = write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    write(root, "b.yaml", job_text("x"))
    a.unlink()
    config.rescan(NOW)
    config.retry_rejected(NOW)
    assert config.jobs["x"].file == "jobs.d/b.yaml"
    assert config.rejected == {}


def test_rescan_applies_deletions_first_so_a_moved_job_is_no_duplicate(root):
    """One rescan after x moved from a.yaml to b.yaml rejects nothing and gives x to b.yaml."""
    a = write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    write(root, "b.yaml", job_text("x"))
    a.unlink()
    changes = config.rescan(NOW)
    assert [e for c in changes for e in c.rejected] == []
    assert config.jobs["x"].file == "jobs.d/b.yaml"


def test_retry_rejected_leaves_a_still_conflicting_file_rejected(root):
    """Retrying while the clash remains keeps the newcomer rejected and the owner unchanged."""
    write(root, "a.yaml", job_text("x"))
    config = loaded(root)
    write(root, "b.yaml", job_text("x"))
    config.rescan(NOW)
    [change] = config.retry_rejected(NOW)
    assert change.rejected
    assert config.jobs["x"].file == "jobs.d/a.yaml"
    assert list(config.rejected) == ["jobs.d/b.yaml"]


def test_a_defaults_change_updates_the_jobs_below_it_and_only_those(root: Path) -> None:
    """Editing _defaults.yaml re-applies the files under it; their jobs come back updated."""
    write(root, "_defaults.yaml", "timezone: Europe/Paris\n")
    write(root, "team/a.yaml", job_text("a"))
    write(root, "b.yaml", job_text("b").replace("schedule:\n", "schedule:\n  timezone: UTC\n"))
    config = loaded(root)
    assert config.jobs["a"].spec.schedule.timezone == "Europe/Paris"

    write(root, "_defaults.yaml", "timezone: Asia/Tokyo\n")
    changes = config.rescan(NOW)

    assert [j.name for c in changes for j in c.updated] == ["a"]
    assert config.jobs["a"].spec.schedule.timezone == "Asia/Tokyo"
    assert config.jobs["b"].spec.schedule.timezone == "UTC"


def test_a_broken_defaults_file_keeps_the_last_valid_jobs(root: Path) -> None:
    """A defaults typo rejects its files; the jobs keep their definitions until it is fixed."""
    write(root, "_defaults.yaml", "timezone: Europe/Paris\n")
    write(root, "a.yaml", job_text("a"))
    config = loaded(root)

    write(root, "_defaults.yaml", "timezone: Europe/Pariss\n")
    changes = config.rescan(NOW)

    assert {c.file for c in changes if c.rejected} == {"jobs.d/_defaults.yaml", "jobs.d/a.yaml"}
    assert config.jobs["a"].spec.schedule.timezone == "Europe/Paris"
    assert "jobs.d/_defaults.yaml" in config.rejected

    write(root, "_defaults.yaml", "timezone: Asia/Tokyo\n")
    config.rescan(NOW)
    assert config.rejected == {}
    assert config.jobs["a"].spec.schedule.timezone == "Asia/Tokyo"


def test_the_watcher_refuses_a_task_outside_the_allow_list(root: Path) -> None:
    """A pull request cannot make the watcher load a job that would run os:system."""
    write(root, "evil.yaml", "name: evil\ntask: os:system\nschedule:\n  interval: 1m\n")
    write(root, "ok.yaml", job_text("ok"))
    config = loaded(root)
    assert set(config.jobs) == {"ok"}
    [error] = config.rejected["jobs.d/evil.yaml"]
    assert (error.line, error.path) == (2, "task")
