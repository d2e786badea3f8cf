"""Job files as they were at a git revision: the adapter ``scheduler plan --base`` reads.

Contents come from git itself (``ls-tree`` then one ``cat-file --batch``), never from a
checkout or a temporary file, and go through the same pure loader as files on disk, with
the same choice of job files as :func:`scheduler.config.catalog.discover` (``*.yaml`` / ``*.yml``,
hidden folders and editor temporaries skipped). A symbolic link is followed inside the
commit; submodules are skipped.

Source names: a file at a revision is named ``REF:PATH``, with the revision as the user
gave it and the path relative to the repository's top, e.g. ``origin/main:jobs.d/a.yaml``.
That is what ``git show`` takes, so an error located at ``HEAD~1:jobs.d/a.yaml:4:9`` can
be looked at with ``git show HEAD~1:jobs.d/a.yaml``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from scheduler.config.catalog import (
    MAX_FILE_BYTES,
    TOO_LARGE,
    parse_defaults_bytes,
)
from scheduler.config.catalog import parse_job_bytes as parse_file_bytes
from scheduler.config.defaults import DefaultsFile, DefaultsTree, is_defaults_file
from scheduler.config.jobfiles import is_job_file
from scheduler.config.loader import FileContext
from scheduler.core.catalog import Catalog, FileResult, build_catalog
from scheduler.core.errors import JobFileError, SchedulerError

GIT_TIMEOUT_S = 120.0


class GitError(SchedulerError):
    """git could not answer: not installed, or a command failed (``stderr`` says why)."""

    def __init__(self, message: str, stderr: str = "") -> None:
        self.stderr = stderr.strip()
        detail = f": {self.stderr}" if self.stderr else ""
        super().__init__(f"{message}{detail}")


class NotAGitRepositoryError(GitError):
    """The jobs directory is not inside a git working tree."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{str(path)!r} is not inside a git repository (plan --base needs one)")


class UnknownRefError(GitError, LookupError):
    """The revision names no commit in the repository."""

    def __init__(self, ref: str, repo: Path) -> None:
        self.ref = ref
        self.repo = repo
        super().__init__(
            f"unknown git revision {ref!r} in {str(repo)!r}; a shallow clone may lack it "
            "(git fetch it first, e.g. 'git fetch origin main', or check out with full history)"
        )


@dataclass(frozen=True, kw_only=True)
class RepoPlace:
    """Where a jobs directory sits in its repository."""

    root: Path
    """The repository's top folder."""
    prefix: str
    """The jobs directory relative to ``root``, POSIX style, without a trailing '/' ('' = top)."""


@dataclass(frozen=True, kw_only=True)
class RefSnapshot:
    """The jobs directory at one revision, loaded."""

    ref: str
    commit: str
    place: RepoPlace
    catalog: Catalog
    dir_exists: bool
    """False when the revision has no such folder (then ``catalog`` is empty)."""

    @property
    def source_root(self) -> str:
        """The prefix of this snapshot's source names: ``REF:PREFIX`` (see module docstring)."""
        return f"{self.ref}:{self.place.prefix}"


def locate(jobs_dir: Path) -> RepoPlace:
    """The repository holding ``jobs_dir`` (which need not exist: its nearest existing
    parent is asked), and the folder's path in it."""
    existing = jobs_dir
    missing: list[str] = []
    while not existing.is_dir():
        if existing.name in ("", ".", "..") or existing.parent == existing:
            raise NotAGitRepositoryError(jobs_dir)
        missing.insert(0, existing.name)
        existing = existing.parent
    try:
        out = _git(existing, "rev-parse", "--show-toplevel", "--show-prefix")
    except GitError as exc:
        if "not a git repository" in exc.stderr.lower():
            raise NotAGitRepositoryError(jobs_dir) from None
        raise
    lines = out.decode("utf-8", errors="surrogateescape").split("\n")
    if len(lines) < 2 or not lines[0]:
        raise NotAGitRepositoryError(jobs_dir)
    prefix = "/".join(p for p in (lines[1].rstrip("/"), *missing) if p)
    return RepoPlace(root=Path(lines[0]), prefix=prefix)


def resolve_commit(repo: Path, ref: str) -> str:
    """The full commit id ``ref`` names (a branch, tag, ``HEAD~1``, an id); UnknownRefError
    when it names none."""
    if not ref or ref.startswith("-") or any(c in ref for c in "\x00\n\r"):
        raise UnknownRefError(ref, repo)
    try:
        out = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        raise UnknownRefError(ref, repo) from None
    return out.decode("ascii", errors="replace").strip()


def has_uncommitted_changes(place: RepoPlace) -> bool:
    """True when the jobs directory differs from HEAD in the working tree or the index
    (untracked job files included)."""
    paths = [place.prefix] if place.prefix else []
    out = _git(place.root, "status", "--porcelain", "-z", "--untracked-files=all", "--", *paths)
    return bool(out.strip(b"\0"))


def load_at_ref(jobs_dir: Path, ref: str, now: datetime | None = None) -> RefSnapshot:
    """Load every job file under ``jobs_dir`` as it is at revision ``ref``.

    Raises NotAGitRepositoryError, UnknownRefError or GitError. Unreadable or invalid files
    are not raised: they are located errors in the catalog, as for files on disk.
    """
    place = locate(jobs_dir)
    commit = resolve_commit(place.root, ref)
    entries, dir_exists = _list_tree(place, commit)
    defaults = [e for e in entries if is_defaults_file(PurePosixPath(e.display).name)]
    jobs = [e for e in entries if e not in defaults]
    tree, broken = _read_defaults(place, commit, ref, defaults)
    contexts = {e.path: FileContext(tree.for_file(_relative(place, e))) for e in jobs}
    results = _read_entries(place, commit, ref, jobs, now, contexts)
    return RefSnapshot(
        ref=ref,
        commit=commit,
        place=place,
        catalog=build_catalog([*broken, *results]),
        dir_exists=dir_exists,
    )


def parse_job_bytes(
    raw: bytes, source: str, now: datetime | None = None, context: FileContext | None = None
) -> FileResult:
    """Parse one file's bytes; too large or non-text contents are located errors
    (the same ones :func:`scheduler.config.catalog.read_job_file` gives)."""
    if len(raw) > MAX_FILE_BYTES:
        return _failed(source, TOO_LARGE)
    return parse_file_bytes(raw, source, now, context=context)


def _relative(place: RepoPlace, entry: _Entry) -> str:
    """The entry's path relative to the jobs directory."""
    return entry.display[len(place.prefix) + 1 :] if place.prefix else entry.display


def _read_defaults(
    place: RepoPlace, commit: str, ref: str, entries: list[_Entry]
) -> tuple[DefaultsTree, list[FileResult]]:
    """The defaults files at ``commit``, and a result for each that has errors."""
    tree = DefaultsTree()
    broken: list[FileResult] = []
    if not entries:
        return tree, broken
    request = b"".join(
        (commit.encode("ascii") + b":" + e.path if e.mode == "120000" else e.oid.encode("ascii"))
        + b"\n"
        for e in entries
    )
    out = _git(place.root, "cat-file", "--batch", "--follow-symlinks", stdin=request)
    for entry, (status, body) in zip(entries, _parse_batch(out), strict=True):
        source = f"{ref}:{entry.display}"
        if status == "blob":
            parsed = parse_defaults_bytes(body, source)
        else:
            parsed = DefaultsFile(source, errors=[JobFileError(source, 1, 1, "", "cannot read")])
        tree.set(PurePosixPath(_relative(place, entry)).parent.as_posix(), parsed)
        if parsed.errors:
            broken.append(FileResult(source, errors=list(parsed.errors)))
    return tree, broken


# -- internals --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    mode: str
    oid: str
    size: int | None
    path: bytes
    """Relative to the repository's top, as git stores it."""

    @property
    def display(self) -> str:
        return self.path.decode("utf-8", errors="replace")


def _list_tree(place: RepoPlace, commit: str) -> tuple[list[_Entry], bool]:
    paths = [place.prefix + "/"] if place.prefix else []
    out = _git(place.root, "ls-tree", "-r", "-z", "-l", commit, "--", *paths)
    prefix = (place.prefix + "/").encode("utf-8", errors="surrogateescape") if place.prefix else b""
    entries, seen_any = [], False
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        if not path.startswith(prefix):
            continue
        seen_any = True
        mode, kind, oid, size = meta.decode("ascii", errors="replace").split()
        relative = path[len(prefix) :].decode("utf-8", errors="replace")
        if kind != "blob" or not _is_job_path(relative):
            continue
        entries.append(_Entry(mode, oid, int(size) if size.isdigit() else None, path))
    return entries, seen_any or not place.prefix


def _is_job_path(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    if any(p.startswith(".") for p in parts[:-1]):
        return False
    return is_job_file(Path(parts[-1])) or is_defaults_file(parts[-1])


def _read_entries(
    place: RepoPlace,
    commit: str,
    ref: str,
    entries: list[_Entry],
    now: datetime | None,
    contexts: dict[bytes, FileContext],
) -> list[FileResult]:
    wanted: list[tuple[_Entry, bytes]] = []
    results: dict[bytes, FileResult] = {}
    for entry in entries:
        source = f"{ref}:{entry.display}"
        if entry.mode != "120000" and entry.size is not None and entry.size > MAX_FILE_BYTES:
            results[entry.path] = _failed(source, TOO_LARGE)
        elif entry.mode == "120000" and b"\n" in entry.path:
            results[entry.path] = _failed(
                source, "cannot read: a newline in a symbolic link's name"
            )
        elif entry.mode == "120000":
            wanted.append((entry, commit.encode("ascii") + b":" + entry.path))
        else:
            wanted.append((entry, entry.oid.encode("ascii")))
    if wanted:
        request = b"".join(line + b"\n" for _, line in wanted)
        out = _git(place.root, "cat-file", "--batch", "--follow-symlinks", stdin=request)
        for (entry, _), (status, body) in zip(wanted, _parse_batch(out), strict=True):
            results[entry.path] = _blob_result(
                f"{ref}:{entry.display}", status, body, now, contexts.get(entry.path)
            )
    return [results[e.path] for e in entries]


def _parse_batch(out: bytes) -> list[tuple[str, bytes]]:
    """``cat-file --batch --follow-symlinks`` output as (status, body) pairs; status is the
    object type, or missing / ambiguous / dangling / loop / notdir / symlink."""
    items: list[tuple[str, bytes]] = []
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].decode("utf-8", errors="replace")
        pos = end + 1
        words = header.split(" ")
        if words[-1] in ("missing", "ambiguous"):
            items.append((words[-1], b""))
            continue
        if words[0] in ("dangling", "loop", "notdir", "symlink"):
            status, size = words[0], int(words[1])
        else:
            status, size = words[1], int(words[2])
        items.append((status, out[pos : pos + size]))
        pos += size + 1
    return items


def _blob_result(
    source: str, status: str, body: bytes, now: datetime | None, context: FileContext | None
) -> FileResult:
    if status == "blob":
        return parse_job_bytes(body, source, now, context)
    target = body.decode("utf-8", errors="replace")
    reasons = {
        "symlink": f"cannot read: a symbolic link to {target!r}, outside the repository",
        "dangling": "cannot read: a symbolic link to a file that does not exist",
        "missing": "cannot read: a symbolic link to a file that does not exist",
        "loop": "cannot read: a loop of symbolic links",
        "notdir": "cannot read: a symbolic link through something that is not a folder",
    }
    return _failed(source, reasons.get(status, "not a regular file"))


def _failed(source: str, message: str, line: int = 1, column: int = 1) -> FileResult:
    return FileResult(source, errors=[JobFileError(source, line, column, "", message)])


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes:
    # --literal-pathspecs: a folder named 'jobs[1]' or '*' is a path, not a pattern.
    command = ["git", "--literal-pathspecs", "-C", str(cwd), *args]
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # never take the index lock to read
    try:
        proc = subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            check=False,
            timeout=GIT_TIMEOUT_S,
            env=env,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"'git {args[0]}' took longer than {GIT_TIMEOUT_S:.0f}s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}") from None
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", errors="replace")
        raise GitError(f"'git {args[0]}' failed in {str(cwd)!r}", stderr)
    return proc.stdout
