"""Which files under a jobs folder are job files and which are defaults files, found in
one walk (``scan``), in the order every reader of the folder takes them."""

from __future__ import annotations

import bisect
import os
from pathlib import Path

from scheduler.config.defaults import is_defaults_file

JOB_SUFFIXES = (".yaml", ".yml")


def is_job_file(path: Path) -> bool:
    """``*.yaml`` / ``*.yml``, not hidden, not an editor temporary (``.#x``, ``x~``, ``.x.swp``)."""
    return _is_job_name(path.name)


def _is_job_name(name: str) -> bool:
    # The suffix first: it alone turns down most names that are not job files.
    if not name.endswith(JOB_SUFFIXES) or name.startswith((".", "#")) or name.endswith("~"):
        return False
    return not is_defaults_file(name)


def scan(root: Path) -> tuple[list[str], list[str]]:
    """The job files and the defaults files under ``root``, as paths in text, each sorted
    as ``discover`` sorts its paths (component by component: "a/b" before "a-b/c").

    One walk with ``os.scandir`` for both, and no ``Path`` per file: the directory entry
    already tells a file from a folder, so at 100,000 files no file is stat'ed here. Each
    folder's names are sorted as it is listed and its sub-folders walked in their place,
    which gives that order without a sort key (a list of components) per path.

    A folder that may not be listed (``chmod 000``) is given as a job file: reading it then
    fails with a located "cannot read: Permission denied", where skipping it would drop
    its jobs without a word.
    """
    jobs: list[str] = []
    defaults: list[str] = []
    top = str(root)
    walking = [(top, iter(_listing_or_refusal(top, jobs)))]
    while walking:
        folder, items = walking[-1]
        item = next(items, None)
        if item is None:
            walking.pop()
            continue
        kind, names = item
        prefix = "" if folder == "." else f"{folder}{os.sep}"
        if kind == _FOLDER:
            sub = prefix + names[0]
            walking.append((sub, iter(_listing_or_refusal(sub, jobs))))
        else:
            (defaults if kind == _DEFAULTS else jobs).extend([prefix + name for name in names])
    return jobs, defaults


def _listing_or_refusal(folder: str, jobs: list[str]) -> list[tuple[int, list[str]]]:
    try:
        return _listing(folder)
    except PermissionError:
        jobs.append(folder)
        return []


_FOLDER, _JOB, _DEFAULTS = 0, 1, 2


def _listing(folder: str) -> list[tuple[int, list[str]]]:
    """The folder's job files, defaults files and sub-folders in name order: each
    sub-folder on its own, between the runs of files named before and after it.

    Each kind's names are sorted as text (one sort of 100,000 names took half the time of
    sorting them as (name, kind) pairs), and merged at the sub-folders (few, if any).
    """
    jobs: list[str] = []
    defaults: list[str] = []
    folders: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if _is_dir(entry):
                    # Hidden folders skipped; a symlinked folder is not followed (os.walk's rule).
                    if not name.startswith(".") and not entry.is_symlink():
                        folders.append(name)
                # A dangling symlink is kept (it becomes a "cannot read" error); a FIFO is not.
                elif _is_file(entry) or entry.is_symlink():
                    if _is_job_name(name):
                        jobs.append(name)
                    elif is_defaults_file(name):
                        defaults.append(name)
    except PermissionError:
        raise
    except OSError:  # as os.walk: a folder gone (or not one) since it was seen is skipped
        return []
    jobs.sort()
    defaults.sort()
    folders.sort()
    items: list[tuple[int, list[str]]] = []
    done_jobs = done_defaults = 0
    for sub in [*folders, None]:
        upto_jobs = len(jobs) if sub is None else bisect.bisect_left(jobs, sub, done_jobs)
        upto_defaults = (
            len(defaults) if sub is None else bisect.bisect_left(defaults, sub, done_defaults)
        )
        items.append((_JOB, jobs[done_jobs:upto_jobs]))
        items.append((_DEFAULTS, defaults[done_defaults:upto_defaults]))
        if sub is not None:
            items.append((_FOLDER, [sub]))
        done_jobs, done_defaults = upto_jobs, upto_defaults
    return items


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    # A symlink loop raises ELOOP here; it must not end the listing of its whole folder.
    try:
        return entry.is_file()
    except OSError:
        return False
