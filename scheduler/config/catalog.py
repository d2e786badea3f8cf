"""The jobs directory as a whole: which files are job files, and the set of jobs they define.

This is the file-reading adapter around the pure loader. Job names are unique across
everything loaded together; a second definition of a name is an error that names both
places, and the file holding it is rejected as a whole (as the watcher would).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from scheduler.config.defaults import (
    Defaults,
    DefaultsFile,
    DefaultsTree,
    parse_defaults,
)
from scheduler.config.gcpause import paused_gc
from scheduler.config.jobfiles import scan
from scheduler.config.loader import FileContext, parse_job_documents
from scheduler.config.parsepool import in_workers, pool_size
from scheduler.config.project import Project, TaskRules
from scheduler.config.yamlsource import MAX_CHARS
from scheduler.core.catalog import Catalog, FileResult, build_catalog
from scheduler.core.errors import JobFileError

# 1 MB per file, in bytes as `ls -l` counts them (the README's limit). UTF-8 takes at least a
# byte per character, so a file within it is also within the parser's MAX_CHARS.
MAX_FILE_BYTES = MAX_CHARS
TOO_LARGE = f"file is larger than {MAX_FILE_BYTES / 1_000_000:g} MB ({MAX_FILE_BYTES:,} bytes)"


def discover(root: Path, *, defaults: bool = False) -> list[Path]:
    """Job files under ``root``, sub-folders included (hidden folders skipped), sorted.

    With ``defaults``, the defaults files (``_defaults.yaml``) instead.
    """
    return [Path(p) for p in scan(root)[1 if defaults else 0]]


def read_defaults(
    root: Path, files: Sequence[str] | None = None
) -> tuple[DefaultsTree, list[FileResult]]:
    """The defaults files under ``root`` (``files``: those ``scan`` found there), and a
    result per file that has errors."""
    tree = DefaultsTree()
    seen: dict[str, str] = {}
    problems: list[FileResult] = []
    if files is None:
        files = scan(root)[1] if root.is_dir() else []
    for path in map(Path, files):
        source = display_path(path)
        folder = path.parent.relative_to(root).as_posix()
        raw = read_job_bytes(path, source)
        if isinstance(raw, FileResult):
            parsed = DefaultsFile(source, errors=raw.errors)
        else:
            parsed = parse_defaults_bytes(raw, source)
        if folder in seen:
            message = f"a second defaults file in this folder (the first is {seen[folder]})"
            parsed.errors = [JobFileError(source, 1, 1, "", message)]
        seen.setdefault(folder, source)
        tree.set(folder, parsed)
        if parsed.errors:
            problems.append(FileResult(source, errors=list(parsed.errors)))
    return tree, problems


def parse_defaults_bytes(raw: bytes, source: str) -> DefaultsFile:
    """A defaults file's bytes parsed; text that is not UTF-8 is an error, as for job files."""
    try:
        return parse_defaults(decode(raw), source)
    except UnicodeDecodeError:
        message = "not UTF-8 text; defaults files are UTF-8 YAML"
        return DefaultsFile(source, errors=[JobFileError(source, 1, 1, "", message)])


def defaults_for(tree: DefaultsTree, root: Path, path: Path | str) -> Defaults:
    """The defaults that apply to the job file ``path`` (none when it is outside ``root``)."""
    if tree.empty:
        return _NO_DEFAULTS
    # String arithmetic, not resolve(): this runs once per job file of a large tree.
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if relative == ".." or relative.startswith(".." + os.sep):
        return _NO_DEFAULTS
    return tree.for_file(Path(relative).as_posix())


_NO_DEFAULTS = Defaults()


class FileContexts:
    """The context of each job file under ``root``: one object per distinct defaults (in
    practice per folder), so a chunk of files sent to a worker process carries it once."""

    def __init__(self, tree: DefaultsTree, root: Path | str, rules: TaskRules) -> None:
        self.tree, self.root, self.rules = tree, Path(root), rules
        self._made: dict[int, FileContext] = {}

    def __call__(self, path: Path | str) -> FileContext:
        defaults = defaults_for(self.tree, self.root, path)
        found = self._made.get(id(defaults))
        if found is None or found.defaults is not defaults:
            found = self._made[id(defaults)] = FileContext(defaults, self.rules)
        return found


def read_job_file(
    path: Path, now: datetime | None = None, context: FileContext | None = None
) -> FileResult:
    """Read and parse one file; unreadable or non-text files become located errors."""
    source = display_path(path)
    raw = read_job_bytes(path, source)
    if isinstance(raw, FileResult):
        return raw
    return parse_job_bytes(raw, source, now, context=context)


def read_job_bytes(path: Path | str, source: str) -> bytes | FileResult:
    """The file's bytes, or a FileResult holding why they cannot be had."""
    return read_job_bytes_stat(path, source)[0]


def read_job_bytes_stat(
    path: Path | str, source: str
) -> tuple[bytes | FileResult, os.stat_result | None]:
    """``read_job_bytes``, and what ``fstat`` said of the file before it was read (None if
    it was not): a stamp from it needs no second ``stat`` by path."""
    try:
        # Not blocking: a FIFO would block open() (and a read) forever; fstat then says what
        # it is. A file descriptor, not a file object: this runs for every file of a tree.
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        return _cannot_read(source, exc), None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            error = JobFileError(source, 1, 1, "", "not a regular file")
            return FileResult(source, errors=[error]), None
        # The size it has, not the limit: read(limit) allocates the limit (1 MB) for every
        # file. A byte more shows a file that grew since; then the rest is read.
        size = min(found.st_size, MAX_FILE_BYTES)
        raw = os.read(fd, size + 1)
        while size < len(raw) <= MAX_FILE_BYTES:
            more = os.read(fd, MAX_FILE_BYTES + 1 - len(raw))
            if not more:
                break
            raw += more
    except OSError as exc:
        return _cannot_read(source, exc), None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        return FileResult(source, errors=[JobFileError(source, 1, 1, "", TOO_LARGE)]), found
    return raw, found


def _cannot_read(source: str, exc: OSError) -> FileResult:
    return FileResult(
        source, errors=[JobFileError(source, 1, 1, "", f"cannot read: {exc.strerror}")]
    )


_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def parse_job_bytes(
    raw: bytes,
    source: str,
    now: datetime | None = None,
    *,
    positions: bool = True,
    context: FileContext | None = None,
) -> FileResult:
    """Decode and parse a job file's bytes; text that is not UTF-8 is a located error."""
    try:
        text = decode(raw)
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        line_start = before[before.rfind(b"\n") + 1 :]
        column = len(line_start.decode("utf-8", errors="replace")) + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); job files are UTF-8 YAML"
        return FileResult(source, errors=[JobFileError(source, line, column, "", message)])
    return parse_job_documents(text, source, now, positions=positions, context=context)


def decode(raw: bytes) -> str:
    """UTF-8 (a BOM is allowed), or UTF-16 when it starts with a UTF-16 BOM."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def display_path(path: Path | str, *, cwd: str | None = None) -> str:
    """The path as the user would type it: relative to the working directory when inside it.

    A ``str`` must be normalised as ``str(Path(...))`` is (``scan``'s paths are). String
    arithmetic, not ``Path.relative_to``: this runs for every file of a big tree (whose
    caller passes ``cwd``, ``os.getcwd()`` read once).
    """
    text = os.fspath(path)
    if not text.startswith(os.sep):
        return text
    if cwd is None:
        cwd = os.getcwd()
    if text == cwd:
        return "."
    inside = cwd if cwd.endswith(os.sep) else cwd + os.sep
    return text[len(inside) :] if text.startswith(inside) else text


def load_paths(
    paths: Sequence[Path],
    now: datetime | None = None,
    *,
    project: Project | None = None,
    helper: bool = False,
    root: Path | None = None,
) -> Catalog:
    """Load explicit files and directories (directories are searched for job files).

    A directory's defaults files apply to the job files under it; an explicit file gets
    the defaults of its own folder. A file or folder inside ``root`` (the jobs dir) gets
    the defaults the watcher gives it: those of every folder from ``root`` down to it
    (``validate jobs.d/team/x.yaml`` as pre-commit runs it checks what will run).
    ``project`` gives the task rules (default: the
    project of the first path). A file reached twice (named twice, or through a symlink)
    is read once. ``helper``: on two or three cores, a big tree is read with one forked
    helper process (``splitread``); a caller with threads of its own leaves it off.
    """
    # A big tree's jobs are built here with next to no cycle among them: the collector's
    # passes over the growing heap would free nothing (a tenth of the time at 10k files).
    with paused_gc():
        return _load_paths(paths, now, project, helper, root)


def _load_paths(
    paths: Sequence[Path],
    now: datetime | None,
    project: Project | None,
    helper: bool,
    root: Path | None,
) -> Catalog:
    rules = project.rules if project is not None else _rules_for(paths)
    files: dict[str, tuple[str, FileContext]] = {}
    problems: list[FileResult] = []
    from_root: FileContexts | None = None
    for path in paths:
        context_of: FileContexts | None = None
        if root is not None and _strictly_inside(path, root):
            if from_root is None:
                from_root = FileContexts(read_defaults(root)[0], root, rules)
            context_of = from_root
        if path.is_dir():
            found, defaults_files = scan(path)
            tree, broken = read_defaults(path, defaults_files)
            problems.extend(broken)
            context_of = context_of or FileContexts(tree, path, rules)
            for file, real in zip(found, _real_paths(str(path), found), strict=True):
                files.setdefault(real, (file, context_of(file)))
        else:
            context_of = context_of or FileContexts(
                read_defaults(path.parent)[0], path.parent, rules
            )
            files.setdefault(os.path.realpath(path), (str(path), context_of(path)))
    cwd = os.getcwd()
    tasks = [(found, now, context, cwd) for found, context in files.values()]
    # Full results (positions, warnings, lint findings) cost ~40% more CPU sent back than
    # read in one process (10k files: 5.5 s against 4.0 s): on two cores, with anything
    # else running, that is slower; from four cores on it pays.
    workers = pool_size(len(tasks), min_cores=4)
    if workers:
        results = list(in_workers(_read_and_lint, tasks, workers))
    elif helper and pool_size(len(tasks)):
        from scheduler.config.splitread import read_split  # validate only: not at import

        if now is not None:
            _import_for_lint()  # once, before the helper is forked: not in both processes
        results = read_split(_read_and_find, _read_and_report, tasks)
    else:
        results = [_read(*task) for task in tasks]
    return build_catalog([*problems, *results])


def _strictly_inside(path: Path, root: Path) -> bool:
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return relative not in {".", ".."} and not relative.startswith(".." + os.sep)


def _real_paths(top: str, found: Sequence[str]) -> list[str]:
    """What ``os.path.realpath`` gives for each of ``found`` (``scan(top)``'s job files),
    resolving only ``top`` and the files that are symlinks: ``scan`` follows no symlinked
    folder, so below ``top`` only a file itself can lead elsewhere (one lstat, not one per
    path component: at 10,000 files, a tenth of validate's time)."""
    real_top = os.path.realpath(top)
    skip = 0 if top == "." else len(top) + 1  # scan's paths under "." have no prefix
    islink, join, realpath = os.path.islink, os.path.join, os.path.realpath
    return [realpath(f) if islink(f) else join(real_top, f[skip:]) for f in found]


def _read(path: str, now: datetime | None, context: FileContext, cwd: str) -> FileResult:
    source = display_path(path, cwd=cwd)
    raw = read_job_bytes(path, source)
    if isinstance(raw, FileResult):
        return raw
    return parse_job_bytes(raw, source, now, context=context)


def _read_and_lint(task: tuple[str, datetime | None, FileContext, str]) -> FileResult:
    """One file read by a worker process, with its jobs' lint (the costly part of checking
    a job after parsing it) done there too, and its jobs compact (they pickle small)."""
    result = _read_and_find(task)
    result.jobs = [job.compact() for job in result.jobs]
    return result


def _read_and_report(task: tuple[str, datetime | None, FileContext, str]) -> FileResult:
    """One file read by ``splitread``'s helper, its jobs' lint done there: the jobs go
    back only to be reported on, so compact and unresolved (they pickle small)."""
    result = _read_and_find(task)
    result.jobs = [job.compact(resolved=False) for job in result.jobs]
    return result


def _import_for_lint() -> None:
    """What reading a file with its lint imports on the first document: the job model
    (pydantic: 0.48G instructions, a tenth of validating 2,000 files) and the linter."""
    from scheduler.core.lint import job_findings  # noqa: F401
    from scheduler.core.modelrefs import job_spec

    job_spec()


def _read_and_find(task: tuple[str, datetime | None, FileContext, str]) -> FileResult:
    """One file read, with its jobs' lint findings when ``now`` is given."""
    from scheduler.core.lint import job_findings  # only validate lints: not at import

    result = _read(*task)
    now = task[1]
    if now is not None:
        result.findings = job_findings(result.jobs, now)
    return result


def _rules_for(paths: Sequence[Path]) -> TaskRules:
    from scheduler.config.project import load_project

    if not paths:
        return TaskRules()
    first = paths[0] if paths[0].is_dir() else paths[0].parent
    return load_project(first).rules
