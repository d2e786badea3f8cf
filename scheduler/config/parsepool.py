"""Many job files read at once in worker processes: the cold start, ``validate`` at scale.

Parsing is CPU-bound Python (the GIL allows one core), so a folder of many files is split
in chunks among one forked worker per core, and each chunk comes back as the results of
its files, in order, while the next chunks are still being read: a caller consuming them
as they come works alongside the workers. What a worker sends back must pickle small (the
parent pays for unpickling it): compact jobs (``LoadedJob.compact``), located problems.
Small folders, one core, or a platform without ``fork`` keep the single-process path (a
pool costs more than it saves there).
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable, Generator, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, TypeVar

from scheduler.config.cpus import usable_cpus

if TYPE_CHECKING:
    from scheduler.config.loader import FileContext

#: Below this many files, one process is faster (a worker's start and the results' round
#: trip cost more than the parsing they spread).
POOL_MIN_FILES = 2000
_CHUNK = 500

_T = TypeVar("_T")
_R = TypeVar("_R")


def content_digest(raw: bytes, context: FileContext) -> bytes:
    """What decides a file's jobs: its bytes and the defaults merged under them.

    The raw digest, not its hex: the watcher holds one per file for good (at 100,000 files,
    hex text cost 5 MB more).
    """
    return hashlib.sha256(raw + context.defaults.digest.encode()).digest()


def pool_size(files: int, *, min_cores: int = 2) -> int:
    """How many worker processes reading ``files`` files is worth (0: read in-process): one
    per usable CPU (``cpus.usable_cpus``).

    ``min_cores``: fewer cores than this and the pool's own cost (sending the results
    back, work a single process would not do) outweighs what the other cores save.
    """
    if files < POOL_MIN_FILES or not hasattr(os, "fork"):
        return 0
    cores = usable_cpus()
    return cores if cores >= max(2, min_cores) else 0


def in_workers(
    work: Callable[[_T], _R], items: Sequence[_T], workers: int
) -> Generator[_R, None, None]:
    """``work(item)`` for every item, by ``workers`` processes, yielded in the items' order.

    ``work`` must be a module-level function, and items and results picklable.
    """
    # Imported here: every command reads job files, few read enough of them for a pool.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork: a worker starts with the parser's code imported, in milliseconds; it only
    # reads files and runs pure code, so the parent's other threads do not concern it.
    context = multiprocessing.get_context("fork")
    chunks = [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]
    del items  # each chunk is then held by its pending call only, until its results are in
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        done = pool.map(_run_chunk, repeat(work), chunks)
        del chunks
        for results in done:
            yield from results


def _run_chunk(work: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    gc.disable()  # nothing made here is garbage before the chunk is sent
    try:
        return [work(item) for item in items]
    finally:
        gc.enable()
