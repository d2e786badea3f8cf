"""The validated jobs of the last run, in the data dir, so a restart re-reads only changes.

One file (``jobs.cache``) maps each job file to the digest of its content (the bytes, its
defaults and the task rules), the compact jobs it held (``LoadedJob.compact``: schedule
compiled, no pydantic object) and its ``stamp``: what ``os.stat`` said of it just before it
was read, with its defaults' digest. A restart stats every file and reads only those whose
stamp differs (or has none), then takes a file from the cache only when its content digest
is the same. The whole cache is keyed by the code that reads jobs (a digest of
``scheduler/core`` and ``scheduler/config``, and the Python and pydantic versions): any
change there throws it away.

A stamp is trusted as git trusts its index, minus git's racy window: it holds the device,
inode, size, and modification and change times in nanoseconds, and any write, ``touch``,
rename over or ``utime`` changes the change time (which no program can set) to the clock's
"now". So a file whose times were already ``RACY_NS`` in the past when it was stat'ed cannot
change without its stamp changing. One stat'ed sooner after a write gets no stamp (it is
read again next time): the same tick of a coarse clock (1-2 s on some file systems) could
hold a second write with the same size and times.

Never trusted: a cache that cannot be read, is of another code version or holds anything
but the expected shapes is ignored (and rewritten). It is unpickled with an allow-list of
classes (the core's values, datetimes, zones), so a tampered file cannot run code.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import os
import pickle
import struct
import sys
import time
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from scheduler.config.gcpause import paused_gc
from scheduler.core.job import LoadedJob
from scheduler.core.schedule import forget_restored

log = structlog.get_logger("scheduler.config")

CACHE_FILE = "jobs.cache"
_FORMAT = 4
_CHUNK = 2000
_PACKAGE = Path(__file__).resolve().parents[1]
#: A file whose modification or change time is less than this old when it is stat'ed gets no
#: stamp: 2 s of time stamp granularity (FAT; 1 s on ext3, HFS+) and a second of clock
#: difference with a file server.
RACY_NS = 3_000_000_000

#: file -> (content digest, its jobs, its stamp or None)
Entry = tuple[bytes, tuple[LoadedJob, ...], int | None]
Entries = dict[str, Entry]

_STAT = struct.Struct("<QQQqq")


def stamp(path: str | os.PathLike[str], defaults_digest: str) -> int | None:
    """What stands for the file's content while it is not changed (see the module), or None
    when its stat cannot vouch for that: too recent a change, or no stat at all.

    Taken before the file is read: a write after it changes the next stamp.
    """
    now = time.time_ns()
    try:
        st = os.stat(path)
    except OSError:
        return None
    return stamp_of(st, defaults_digest, now)


def stamp_of(st: os.stat_result, defaults_digest: str, now: int) -> int | None:
    """``stamp`` from the file's stat (taken before it was read) and ``time.time_ns()``
    read before that stat."""
    if max(st.st_mtime_ns, st.st_ctime_ns) > now - RACY_NS:
        return None
    fields = _STAT.pack(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    # One number of 64 bits, not the five (a tuple of them is some 200 bytes more per file
    # held); a changed stat meets the old one in 64 bits by chance once in 2**64.
    digest = hashlib.blake2b(fields + defaults_digest.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def packed_stamps(paths: Iterable[str], digest_of: Callable[[str], str]) -> bytes:
    """``stamp`` of each of ``paths`` (``digest_of(path)``: its defaults' digest), 8 bytes
    each in their order, 0 for none (a stamp that happens to be 0 reads as none: that file
    is read again, nothing worse).

    The clock is read once, before every stat: each file's times are then checked against
    an instant at or before its own stat, as ``stamp`` checks them.
    """
    now = time.time_ns()
    stat = os.stat
    packed = array("Q")  # 8 bytes a number, as unpacked_stamps reads them
    for path in paths:
        try:
            found = stamp_of(stat(path), digest_of(path), now)
        except OSError:
            found = None
        packed.append(found or 0)
    return packed.tobytes()


def unpacked_stamps(data: bytes, count: int) -> Sequence[int] | None:
    """``packed_stamps``' bytes for ``count`` files (read in place, not copied), or None
    if they are not that."""
    if len(data) != count * 8:
        return None
    return memoryview(data).cast("Q")


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the code that turns job files into jobs (and what it runs on)."""
    h = hashlib.sha256(f"{_FORMAT} {sys.version} {_pydantic_version()}".encode())
    for folder in ("core", "config"):
        for path in sorted((_PACKAGE / folder).rglob("*.py")):
            h.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()[:24]


def load(data_dir: Path, salt: str = "") -> Entries:
    """The cached jobs, or nothing if the cache is missing, unreadable or of other code.

    ``salt`` is whatever else decides validity (the task rules): another salt, no cache.
    """
    path = data_dir / CACHE_FILE
    try:
        # Read as it is unpickled: the whole file's bytes held at once were a fifth of
        # the peak memory of a restart at 100,000 jobs.
        stream = path.open("rb")
    except OSError:
        return {}
    entries: Entries = {}
    try:
        with stream, paused_gc():  # a collection per few hundred new objects, each over the heap
            header = _Unpickler(stream).load()
            if not isinstance(header, tuple) or len(header) != 2 or header[0] != _version(salt):
                raise ValueError("another code version")
            for _ in range(int(header[1])):
                chunk = _Unpickler(stream).load()
                if not _well_formed(chunk):
                    raise ValueError("unexpected content")
                entries.update(chunk)
    except Exception as exc:  # any damage: ignored, the files are read again
        log.info("config.cache_ignored", path=str(path), reason=str(exc)[:200])
        return {}
    finally:
        forget_restored()
    return entries


def save(
    data_dir: Path,
    entries: Mapping[str, Entry],
    salt: str = "",
    files: Sequence[str] | None = None,
) -> None:
    """Write the cache atomically (a crash leaves the old one or the new one).

    In chunks of ``_CHUNK`` files, each pickled on its own: a pickler remembers every object
    it wrote, and at 100,000 jobs that memory was a third of the watcher's.

    ``files``: those of ``entries`` to write (all by default), each entry read as its chunk
    is written, so ``entries`` may be a table that changes meanwhile (the watcher's, the
    save running beside its loop): an entry replaced is written as it is then, each being
    whole (one read of its file: digest, jobs, stamp); one removed is left out.
    """
    path = data_dir / CACHE_FILE
    tmp = path.with_name(f".{CACHE_FILE}.tmp")
    names = list(entries) if files is None else files
    count = -(-len(names) // _CHUNK)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as fh:
            pickle.dump((_version(salt), count), fh, protocol=pickle.HIGHEST_PROTOCOL)
            for start in range(0, len(names), _CHUNK):
                chunk = names[start : start + _CHUNK]
                part = {f: e for f in chunk if (e := entries.get(f)) is not None}
                pickle.dump(part, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as exc:  # a cache is an optimisation: never a reason to stop
        log.warning("config.cache_not_saved", path=str(path), error=str(exc))
        with contextlib.suppress(OSError):
            tmp.unlink()


def _pydantic_version() -> str:
    # From its metadata: importing pydantic here was 19 MB of a watcher whose jobs all
    # took the plain path (core.plainjob) and need no model.
    from importlib import metadata

    try:
        return metadata.version("pydantic")
    except metadata.PackageNotFoundError:  # vendored or unusual install: ask the package
        import pydantic

        return pydantic.VERSION


def _version(salt: str) -> str:
    return code_version() + ":" + hashlib.sha256(salt.encode()).hexdigest()[:16]


def _well_formed(entries: object) -> bool:
    if not isinstance(entries, dict):
        return False
    for file, value in entries.items():
        if not (isinstance(file, str) and isinstance(value, tuple) and len(value) == 3):
            return False
        digest, jobs, stamped = value
        if not isinstance(digest, bytes) or not isinstance(jobs, tuple):
            return False
        if stamped is not None and type(stamped) is not int:
            return False
        for job in jobs:  # a loop, not all() of a generator: one per entry was a fifth of a load
            if not isinstance(job, LoadedJob) or job.file != file:
                return False
    return True


def _safe_getattr(owner: object, name: str) -> Any:
    # Pickle finds an enum member, and ZoneInfo its constructor, with getattr(owner, name);
    # only those uses are allowed (getattr in general reaches anything).
    if isinstance(owner, enum.EnumMeta) and isinstance(name, str):
        return owner[name]
    if owner is ZoneInfo and name == "_unpickle":
        return ZoneInfo._unpickle  # type: ignore[attr-defined]
    raise pickle.UnpicklingError("getattr is allowed on enums and zones only")


_ALLOWED_BUILTINS = {"frozenset", "set", "tuple", "list", "dict", "bytes", "str", "int"}
_ALLOWED_MODULES = ("scheduler.core.", "datetime", "zoneinfo")


class _Unpickler(pickle.Unpickler):
    """Unpickles only the classes a cache holds."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins":
            if name == "getattr":
                return _safe_getattr
            if name in _ALLOWED_BUILTINS:
                return super().find_class(module, name)
        elif module.startswith(_ALLOWED_MODULES) and not name.startswith("_"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the job cache")
