"""The jobs directory as a whole: discovery, duplicate names, and isolation of bad files.

Uses real files in ``tmp_path``; the working directory is moved there so that files are
shown as the user would type them (``jobs.d/a.yaml``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scheduler.config.catalog import discover, load_paths, read_job_file
from scheduler.config.jobfiles import is_job_file
from scheduler.core.catalog import build_catalog

SCHEDULE = "task: pkg.mod:func\nschedule:\n  cron: '0 9 * * *'\n"


def job_text(name: str) -> str:
    """A valid one-job document named ``name``."""
    return f"name: {name}\n{SCHEDULE}"


@pytest.fixture
def jobs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``jobs.d`` in a fresh working directory."""
    monkeypatch.chdir(tmp_path)
    root = Path("jobs.d")
    root.mkdir()
    return root


def write(root: Path, relative: str, text: str) -> Path:
    """Write ``text`` to ``root/relative``, creating folders."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- discovery ---------------------------------------------------------------------------


def test_discover_recurses_into_sub_folders(jobs_dir):
    """Job files in sub-folders at any depth are found, sorted."""
    for relative in ["a.yaml", "team/b.yaml", "team/nightly/c.yaml", "z/d.yml"]:
        write(jobs_dir, relative, job_text("x"))
    found = [p.relative_to(jobs_dir).as_posix() for p in discover(jobs_dir)]
    assert found == ["a.yaml", "team/b.yaml", "team/nightly/c.yaml", "z/d.yml"]


def test_discover_walks_each_sub_folder_in_its_place_among_the_files(jobs_dir):
    """Files and sub-folders sort together by name, component by component ("a/x" before
    "a-b.yaml", "a.yaml" after "a/"), the defaults files in the same order as the jobs."""
    relative = [
        "0.yaml",
        "a/x.yaml",
        "a/_defaults.yaml",
        "a-b.yaml",
        "a-b/c.yml",
        "a-b/_defaults.yml",
        "a.yaml",
        "a0/b/c/d.yaml",
        "m.yaml",
        "n/_defaults.yaml",
        "n/o.yaml",
        "_defaults.yaml",
        "z.yml",
    ]
    for path in relative:
        write(jobs_dir, path, job_text("x"))

    def by_components(paths: list[Path]) -> list[str]:
        return [p.relative_to(jobs_dir).as_posix() for p in paths]

    expected = sorted((Path(p) for p in relative), key=lambda p: p.parts)
    assert by_components(discover(jobs_dir)) == [
        p.as_posix() for p in expected if not p.name.startswith("_defaults")
    ]
    assert by_components(discover(jobs_dir, defaults=True)) == [
        p.as_posix() for p in expected if p.name.startswith("_defaults")
    ]


def test_discover_takes_yaml_and_yml(jobs_dir):
    """Both .yaml and .yml are job files."""
    write(jobs_dir, "one.yaml", job_text("one"))
    write(jobs_dir, "two.yml", job_text("two"))
    assert [p.name for p in discover(jobs_dir)] == ["one.yaml", "two.yml"]


@pytest.mark.parametrize(
    "relative",
    [
        ".hidden.yaml",
        ".#x.yaml",
        "#x.yaml#",
        "x.yaml~",
        ".x.yaml.swp",
        "x.swp",
        "x.yaml.swp",
        "README.md",
        "x.json",
        "x.yaml.bak",
        "x.txt",
        ".hidden/inside.yaml",
        "team/.git/config.yaml",
        "team/.#y.yml",
        "team/y.yml~",
    ],
)
def test_discover_ignores_hidden_files_and_editor_temporaries(jobs_dir, relative):
    """Hidden files and folders, editor temporaries and other extensions are skipped."""
    write(jobs_dir, "real.yaml", job_text("real"))
    write(jobs_dir, relative, job_text("ignored"))
    assert [p.name for p in discover(jobs_dir)] == ["real.yaml"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.yaml", True),
        ("a.yml", True),
        ("a.b.yaml", True),
        (".a.yaml", False),
        (".#a.yaml", False),
        ("a.yaml~", False),
        (".a.yaml.swp", False),
        ("a.swp", False),
        ("a.json", False),
        ("README.md", False),
    ],
)
def test_is_job_file(name, expected):
    """is_job_file decides by the file name alone."""
    assert is_job_file(Path("jobs.d") / name) is expected


def test_discover_of_empty_folder_is_empty(jobs_dir):
    """An empty jobs directory holds no job files."""
    assert discover(jobs_dir) == []


def test_load_paths_of_directory_loads_every_job(jobs_dir):
    """Every job of every discovered file is in the catalog, keyed by name."""
    write(jobs_dir, "a.yaml", job_text("alpha"))
    write(jobs_dir, "sub/b.yml", job_text("beta") + "---\n" + job_text("gamma"))
    write(jobs_dir, ".#a.yaml", "not: [valid")
    catalog = load_paths([jobs_dir])
    assert catalog.valid
    assert sorted(catalog.jobs) == ["alpha", "beta", "gamma"]
    assert [f.file for f in catalog.files] == ["jobs.d/a.yaml", "jobs.d/sub/b.yml"]
    assert catalog.jobs["gamma"].file == "jobs.d/sub/b.yml"
    assert catalog.jobs["gamma"].line == 6


# --- duplicate names ---------------------------------------------------------------------


def test_duplicate_name_across_files_names_both_files(jobs_dir):
    """The second definition is an error at its `name` line naming the first file and line."""
    write(jobs_dir, "a.yaml", "# first\n" + job_text("report"))
    write(jobs_dir, "b.yaml", "description: again\n" + job_text("report"))
    catalog = load_paths([jobs_dir])
    assert not catalog.valid
    assert [(e.file, e.line, e.column, e.path) for e in catalog.errors] == [
        ("jobs.d/b.yaml", 2, 1, "name")
    ]
    message = catalog.errors[0].message
    assert "duplicate job name 'report'" in message
    assert "jobs.d/a.yaml:2" in message


def test_duplicate_name_keeps_first_and_excludes_the_second_file(jobs_dir):
    """The file holding the duplicate is rejected whole; the first definition stays."""
    write(jobs_dir, "a.yaml", job_text("report"))
    write(jobs_dir, "b.yaml", job_text("unique") + "---\n" + job_text("report"))
    catalog = load_paths([jobs_dir])
    assert sorted(catalog.jobs) == ["report"]
    assert catalog.jobs["report"].file == "jobs.d/a.yaml"
    assert "unique" not in catalog.jobs
    rejected = catalog.invalid_file_for("unique")
    assert rejected is not None
    assert rejected.file == "jobs.d/b.yaml"
    assert [(e.line, e.path) for e in rejected.errors] == [(6, "name")]


def test_duplicate_name_in_a_sub_folder_is_detected(jobs_dir):
    """Names are unique across the whole tree, sub-folders included."""
    write(jobs_dir, "a.yaml", job_text("same"))
    write(jobs_dir, "team/deep/b.yaml", job_text("same"))
    catalog = load_paths([jobs_dir])
    assert [e.file for e in catalog.errors] == ["jobs.d/team/deep/b.yaml"]
    assert "jobs.d/a.yaml:1" in catalog.errors[0].message
    assert catalog.jobs["same"].file == "jobs.d/a.yaml"


def test_duplicate_name_within_one_file_is_an_error(jobs_dir):
    """Two documents of one file with the same name: the second is the error."""
    write(jobs_dir, "a.yaml", job_text("twice") + "---\n" + job_text("twice"))
    catalog = load_paths([jobs_dir])
    assert [(e.file, e.line, e.path) for e in catalog.errors] == [("jobs.d/a.yaml", 6, "name")]
    assert "jobs.d/a.yaml:1" in catalog.errors[0].message
    assert catalog.jobs == {}


def test_three_definitions_of_one_name_each_point_at_the_first(jobs_dir):
    """Every later duplicate names the first definition."""
    for stem in ("a", "b", "c"):
        write(jobs_dir, f"{stem}.yaml", job_text("dup"))
    catalog = load_paths([jobs_dir])
    assert [e.file for e in catalog.errors] == ["jobs.d/b.yaml", "jobs.d/c.yaml"]
    assert all("jobs.d/a.yaml:1" in e.message for e in catalog.errors)
    assert catalog.jobs["dup"].file == "jobs.d/a.yaml"


def test_build_catalog_flags_duplicates_in_the_order_given(jobs_dir):
    """build_catalog treats the first result it is given as the first definition."""
    first = write(jobs_dir, "z.yaml", job_text("dup"))
    second = write(jobs_dir, "a.yaml", job_text("dup"))
    catalog = build_catalog([read_job_file(first), read_job_file(second)])
    assert [e.file for e in catalog.errors] == ["jobs.d/a.yaml"]
    assert catalog.jobs["dup"].file == "jobs.d/z.yaml"


# --- isolation of invalid files ------------------------------------------------------------


def test_invalid_file_does_not_stop_the_others(jobs_dir):
    """Syntax errors, bad fields and unreadable bytes in some files leave the others loaded."""
    write(jobs_dir, "a.yaml", job_text("alpha"))
    write(jobs_dir, "b.yaml", "name: [broken\n")
    write(jobs_dir, "c.yaml", "name: gamma\ntask: m:f\nschedule: {cron: '61 * * * *'}\n")
    (jobs_dir / "d.yaml").write_bytes(b"name: \xff\n")
    write(jobs_dir, "e.yaml", "- a list\n")
    write(jobs_dir, "sub/f.yml", job_text("phi"))
    catalog = load_paths([jobs_dir])
    assert sorted(catalog.jobs) == ["alpha", "phi"]
    assert sorted({e.file for e in catalog.errors}) == [
        "jobs.d/b.yaml",
        "jobs.d/c.yaml",
        "jobs.d/d.yaml",
        "jobs.d/e.yaml",
    ]
    assert all(e.line >= 1 and e.column >= 1 for e in catalog.errors)
    assert len(catalog.files) == 6


def test_valid_job_in_a_file_with_an_invalid_document_is_excluded(jobs_dir):
    """A file is accepted or rejected as a whole: one bad document rejects its good ones."""
    write(jobs_dir, "a.yaml", job_text("good") + "---\nname: bad\n")
    write(jobs_dir, "b.yaml", job_text("other"))
    catalog = load_paths([jobs_dir])
    assert sorted(catalog.jobs) == ["other"]
    rejected = catalog.invalid_file_for("good")
    assert rejected is not None
    assert catalog.invalid_file_for("bad") is rejected
    assert rejected.file == "jobs.d/a.yaml"


def test_invalid_file_does_not_claim_its_names(jobs_dir):
    """A name in a rejected file still counts as taken: a later file using it is flagged."""
    write(jobs_dir, "a.yaml", job_text("shared") + "---\nname: broken\n")
    write(jobs_dir, "b.yaml", job_text("shared"))
    catalog = load_paths([jobs_dir])
    duplicate = [e for e in catalog.errors if e.file == "jobs.d/b.yaml"]
    assert [(e.line, e.path) for e in duplicate] == [(1, "name")]
    assert "jobs.d/a.yaml:1" in duplicate[0].message


def test_warnings_do_not_reject_a_file(jobs_dir):
    """An empty file only warns; the catalog stays valid."""
    write(jobs_dir, "a.yaml", job_text("alpha"))
    write(jobs_dir, "empty.yaml", "# nothing here yet\n")
    catalog = load_paths([jobs_dir])
    assert catalog.valid
    assert sorted(catalog.jobs) == ["alpha"]
    assert [(w.file, w.message) for w in catalog.warnings] == [
        ("jobs.d/empty.yaml", "file holds no job")
    ]


# --- explicit paths ------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["job.txt", "job", "x.json", ".hidden.yaml", "job.yaml~"])
def test_explicit_file_is_validated_whatever_its_extension(jobs_dir, filename):
    """A file named on the command line is read even if discovery would skip it."""
    path = write(jobs_dir, filename, job_text("named"))
    catalog = load_paths([path])
    assert sorted(catalog.jobs) == ["named"]
    assert [f.file for f in catalog.files] == [f"jobs.d/{filename}"]


def test_explicit_invalid_file_is_reported_whatever_its_extension(jobs_dir):
    """An explicit non-.yaml file with errors reports them, located."""
    path = write(jobs_dir, "notes.txt", "name: job\ntask: m:f\nschedule: {cron: '61 * * * *'}\n")
    catalog = load_paths([path])
    assert [(e.file, e.line, e.column, e.path) for e in catalog.errors] == [
        ("jobs.d/notes.txt", 3, 18, "schedule.cron")
    ]


def test_explicit_files_and_directories_combine(jobs_dir):
    """Files and folders can be mixed, and a file given twice is read once."""
    a = write(jobs_dir, "a.yaml", job_text("alpha"))
    write(jobs_dir, "sub/b.yaml", job_text("beta"))
    extra = write(Path("elsewhere"), "c.conf", job_text("gamma"))
    catalog = load_paths([a, jobs_dir / "sub", extra, a])
    assert catalog.valid
    assert sorted(catalog.jobs) == ["alpha", "beta", "gamma"]
    assert len(catalog.files) == 3


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_a_file_reached_twice_through_symlinks_is_read_once(jobs_dir):
    """A job file linked from another folder, or a folder and a file given together
    through different spellings (a symlinked folder, a relative and an absolute path),
    defines its jobs once: no duplicate-name error."""
    a = write(jobs_dir, "team/a.yaml", job_text("alpha"))
    (jobs_dir / "link.yaml").symlink_to(Path("team/a.yaml"))
    Path("alias.d").symlink_to(jobs_dir.resolve(), target_is_directory=True)
    catalog = load_paths([jobs_dir, Path("alias.d"), a.resolve(), Path("alias.d/link.yaml")])
    assert catalog.valid, catalog.errors
    assert sorted(catalog.jobs) == ["alpha"]
    assert [f.file for f in catalog.files] == ["jobs.d/link.yaml"]  # the first found


def test_missing_explicit_file_is_a_located_error(jobs_dir):
    """A path that does not exist is an error naming it, not an exception."""
    catalog = load_paths([jobs_dir / "missing.yaml"])
    assert [(e.file, e.line, e.column) for e in catalog.errors] == [("jobs.d/missing.yaml", 1, 1)]
    assert "cannot read" in catalog.errors[0].message


def test_absolute_path_inside_working_directory_is_shown_relative(jobs_dir):
    """Files under the working directory are shown relative to it."""
    path = write(jobs_dir, "a.yaml", job_text("alpha"))
    catalog = load_paths([path.resolve()])
    assert [f.file for f in catalog.files] == ["jobs.d/a.yaml"]


# --- the size limit ----------------------------------------------------------------------


def padded(size: int, filler: str = "#") -> str:
    """A valid job file of exactly ``size`` bytes of UTF-8: a job, then a comment line."""
    head = job_text("big") + "#"
    room = size - len(head.encode()) - 1
    return head + filler * (room // len(filler.encode())) + "\n"


def test_file_of_exactly_1_mb_is_read(jobs_dir):
    """1,000,000 bytes is within the limit the README states (1 MB per file)."""
    path = write(jobs_dir, "big.yaml", padded(1_000_000))
    assert path.stat().st_size == 1_000_000
    result = read_job_file(path)
    assert result.errors == []
    assert [j.name for j in result.jobs] == ["big"]


def test_file_over_1_mb_is_one_error_saying_so(jobs_dir):
    """One byte more is a single error at 1:1 that states the limit as the README does."""
    path = write(jobs_dir, "big.yaml", padded(1_000_001))
    assert path.stat().st_size == 1_000_001
    [error] = read_job_file(path).errors
    assert (error.file, error.line, error.column, error.path) == ("jobs.d/big.yaml", 1, 1, "")
    assert error.message == "file is larger than 1 MB (1,000,000 bytes)"
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "1 MB (1,000,000 bytes) per file" in " ".join(readme.split())


def test_the_size_limit_counts_bytes_not_characters(jobs_dir):
    """600,000 two-byte characters (1.2 MB) are over the limit, though under a million."""
    path = write(jobs_dir, "big.yaml", padded(1_200_000, filler="é"))
    assert len(path.read_text(encoding="utf-8")) < 1_000_000
    [error] = read_job_file(path).errors
    assert error.message.startswith("file is larger than 1 MB")


@pytest.mark.parametrize("collecting", [True, False])
def test_loading_leaves_the_garbage_collector_as_it_was(jobs_dir, collecting):
    """load_paths pauses the collector while it builds the jobs, and gives it back as it
    found it (a caller that switched it off keeps it off), errors or not."""
    import gc

    write(jobs_dir, "a.yaml", job_text("alpha"))
    write(jobs_dir, "b.yaml", "name: [broken\n")
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        catalog = load_paths([jobs_dir])
        assert gc.isenabled() is collecting
    finally:
        (gc.enable if was else gc.disable)()
    assert sorted(catalog.jobs) == ["alpha"]
    assert [e.file for e in catalog.errors] == ["jobs.d/b.yaml"]
