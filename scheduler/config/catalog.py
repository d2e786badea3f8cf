"""The jobs directory as a whole: which files are job files, and the set of jobs they define.

This is the file-reading adapter around the pure loader. Job names are unique across
everything loaded together; a second definition of a name is an error that names both
places, and the file holding it is rejected as a whole (as the watcher would).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from scheduler.config.defaults import (
    Defaults,
    DefaultsFile,
    DefaultsTree,
    is_defaults_file,
    parse_defaults,
)
from scheduler.config.loader import FileContext, parse_job_documents
from scheduler.config.project import Project, TaskRules
from scheduler.config.yamlsource import MAX_CHARS
from scheduler.core.catalog import Catalog, FileResult, build_catalog
from scheduler.core.errors import JobFileError

JOB_SUFFIXES = (".yaml", ".yml")
# 1 MB per file, in bytes as `ls -l` counts them (the README's limit). UTF-8 takes at least a
# byte per character, so a file within it is also within the parser's MAX_CHARS.
MAX_FILE_BYTES = MAX_CHARS
TOO_LARGE = f"file is larger than {MAX_FILE_BYTES / 1_000_000:g} MB ({MAX_FILE_BYTES:,} bytes)"


def is_job_file(path: Path) -> bool:
    """``*.yaml`` / ``*.yml``, not hidden, not an editor temporary (``.#x``, ``x~``, ``.x.swp``)."""
    name = path.name
    if name.startswith((".", "#")) or name.endswith("~") or is_defaults_file(name):
        return False
    return name.endswith(JOB_SUFFIXES)


def discover(root: Path, *, defaults: bool = False) -> list[Path]:
    """Job files under ``root``, sub-folders included (hidden folders skipped), sorted.

    With ``defaults``, the defaults files (``_defaults.yaml``) instead.
    """
    wanted = is_defaults_file if defaults else (lambda name: is_job_file(Path(name)))
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            path = Path(dirpath) / name
            # A dangling symlink is kept (it becomes a "cannot read" error); a FIFO is not.
            if wanted(name) and (path.is_file() or path.is_symlink()):
                found.append(path)
    return sorted(found)


def read_defaults(root: Path) -> tuple[DefaultsTree, list[FileResult]]:
    """The defaults files under ``root``, and a result per file that has errors."""
    tree = DefaultsTree()
    seen: dict[str, str] = {}
    problems: list[FileResult] = []
    for path in discover(root, defaults=True) if root.is_dir() else []:
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


def defaults_for(tree: DefaultsTree, root: Path, path: Path) -> Defaults:
    """The defaults that apply to the job file ``path`` (none when it is outside ``root``)."""
    if tree.empty:
        return _NO_DEFAULTS
    # String arithmetic, not resolve(): this runs once per job file of a large tree.
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if relative == ".." or relative.startswith(".." + os.sep):
        return _NO_DEFAULTS
    return tree.for_file(Path(relative).as_posix())


_NO_DEFAULTS = Defaults()


def read_job_file(
    path: Path, now: datetime | None = None, context: FileContext | None = None
) -> FileResult:
    """Read and parse one file; unreadable or non-text files become located errors."""
    source = display_path(path)
    raw = read_job_bytes(path, source)
    if isinstance(raw, FileResult):
        return raw
    return parse_job_bytes(raw, source, now, context=context)


def read_job_bytes(path: Path, source: str) -> bytes | FileResult:
    """The file's bytes, or a FileResult holding why they cannot be had."""
    if path.exists() and not path.is_file():
        # A FIFO or device would block open() or read forever.
        return FileResult(source, errors=[JobFileError(source, 1, 1, "", "not a regular file")])
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return FileResult(
            source, errors=[JobFileError(source, 1, 1, "", f"cannot read: {exc.strerror}")]
        )
    if len(raw) > MAX_FILE_BYTES:
        return FileResult(source, errors=[JobFileError(source, 1, 1, "", TOO_LARGE)])
    return raw


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


def display_path(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    if not path.is_absolute():
        return str(path)
    cwd = _cwd_path(os.getcwd())
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)


@lru_cache(maxsize=4)
def _cwd_path(here: str) -> Path:
    # Built once per working directory: display_path runs for every file of a big tree.
    return Path(here)


def load_paths(
    paths: Sequence[Path], now: datetime | None = None, *, project: Project | None = None
) -> Catalog:
    """Load explicit files and directories (directories are searched for job files).

    A directory's defaults files apply to the job files under it; an explicit file gets
    the defaults of its own folder. ``project`` gives the task rules (default: the
    project of the first path).
    """
    rules = project.rules if project is not None else _rules_for(paths)
    files: dict[Path, tuple[Path, FileContext]] = {}
    problems: list[FileResult] = []
    for path in paths:
        root = path if path.is_dir() else path.parent
        tree, broken = read_defaults(root)
        problems.extend(b for b in broken if path.is_dir())
        for found in discover(path) if path.is_dir() else [path]:
            context = FileContext(defaults_for(tree, root, found), rules)
            files.setdefault(found.resolve(), (found, context))
    results = [read_job_file(f, now, context) for f, context in files.values()]
    return build_catalog([*problems, *results])


def _rules_for(paths: Sequence[Path]) -> TaskRules:
    from scheduler.config.project import load_project

    if not paths:
        return TaskRules()
    first = paths[0] if paths[0].is_dir() else paths[0].parent
    return load_project(first).rules
