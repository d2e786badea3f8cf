"""Many job files parsed at once in worker processes: the cold start of a big jobs dir.

Parsing is CPU-bound Python (the GIL allows one core), so a folder of many files not in
the job cache is parsed by one forked worker per core, each taking chunks of files and
sending back, in order, what each valid file yields: its content digest and its compact
jobs (``LoadedJob.compact``, which pickles small, as the job cache stores them). A file with
any problem sends back only its name: the caller reads it again itself, which locates and
reports the problem exactly as a one-file reload does. Small folders, one core, or a
platform without ``fork`` keep the single-process path (a pool costs more than it saves).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from scheduler.config.catalog import parse_job_bytes, read_job_bytes
from scheduler.config.jobcache import paused_gc
from scheduler.config.loader import FileContext
from scheduler.core.catalog import FileResult
from scheduler.core.job import LoadedJob

#: Below this many files to parse, one process is faster (a worker's start and the
#: results' round trip cost more than the parsing they spread).
POOL_MIN_FILES = 2000
_CHUNK = 500

#: (display path, content digest, its compact jobs) for a valid file; (display path, None,
#: ()) for one the caller must read itself.
Parsed = tuple[str, str | None, tuple[LoadedJob, ...]]
#: (the file's path, its display path, the context it is read in)
Task = tuple[Path | str, str, FileContext]


def content_digest(raw: bytes, context: FileContext) -> str:
    """What decides a file's jobs: its bytes and the defaults merged under them."""
    return hashlib.sha256(raw + context.defaults.digest.encode()).hexdigest()


def pool_size(files: int) -> int:
    """How many worker processes parsing ``files`` files is worth (0: parse in-process)."""
    cores = os.cpu_count() or 1
    if files < POOL_MIN_FILES or cores < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return cores


def parse_all(tasks: Sequence[Task], workers: int) -> Generator[Parsed, None, None]:
    """What each file of ``tasks`` yields, parsed by ``workers`` processes, in their order.

    Results arrive while later chunks are still being parsed: a caller consuming them as
    they come works alongside the workers.
    """
    # fork: a worker starts with the parser's code already imported, in milliseconds;
    # it only reads files and runs pure code, so the parent's threads do not concern it.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for chunk in pool.map(_parse_chunk, _chunks(tasks)):
            yield from chunk


@dataclass(frozen=True)
class _Chunk:
    """Files to parse and the few distinct contexts they use (sent once, not per file)."""

    files: tuple[tuple[str, str, int], ...]  # (path, display path, index in contexts)
    contexts: tuple[FileContext, ...]


def _chunks(tasks: Sequence[Task]) -> Iterator[_Chunk]:
    for start in range(0, len(tasks), _CHUNK):
        contexts: dict[int, int] = {}  # id(context) -> its index in the chunk's contexts
        held: list[FileContext] = []
        files = []
        for path, source, context in tasks[start : start + _CHUNK]:
            index = contexts.setdefault(id(context), len(held))
            if index == len(held):
                held.append(context)
            files.append((str(path), source, index))
        yield _Chunk(tuple(files), tuple(held))


def _parse_chunk(chunk: _Chunk) -> list[Parsed]:
    out: list[Parsed] = []
    with paused_gc():  # nothing made here is garbage until the chunk is sent
        for path, source, index in chunk.files:
            context = chunk.contexts[index]
            raw = read_job_bytes(Path(path), source)
            result = (
                raw
                if isinstance(raw, FileResult)
                else parse_job_bytes(raw, source, positions=False, context=context)
            )
            if result.ok and not isinstance(raw, FileResult):
                jobs = tuple(job.compact() for job in result.jobs)
                out.append((source, content_digest(raw, context), jobs))
            else:
                out.append((source, None, ()))
    return out
