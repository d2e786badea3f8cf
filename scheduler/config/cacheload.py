"""The job cache loaded at a restart while a forked helper takes the job files' stamps.

At 100,000 files each is about a second of CPU and neither needs the other: on two cores
the restart waits for one of them, not both. The stamps come back packed, 8 bytes a file.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from functools import partial
from pathlib import Path

from scheduler.config import jobcache
from scheduler.config.forkcall import ForkCall, helper_worth_it

#: Fewer job files than this and the caller takes their stamps itself: the helper's fork
#: and its result's round trip cost about what it saves.
HELPER_MIN_FILES = 2000


def load_beside_stamps(
    data_dir: Path, salt: str, paths: Collection[str], digest_of: Callable[[str], str]
) -> tuple[jobcache.Entries, Sequence[int] | None]:
    """``jobcache.load(data_dir, salt)``, and the ``jobcache.stamp`` of each of ``paths``
    (``digest_of(path)``: its defaults' digest; 0: none), taken meanwhile by a forked
    helper, or None when none took them.

    No cache file (a cold start), no helper: its stamps would go unused (the parsing
    workers take their own) and the caller would wait for them.
    """
    helper = None
    cached = (data_dir / jobcache.CACHE_FILE).is_file()
    if len(paths) >= HELPER_MIN_FILES and cached and helper_worth_it():
        helper = ForkCall(partial(jobcache.packed_stamps, paths, digest_of))
    try:
        entries = jobcache.load(data_dir, salt)
    except BaseException:
        if helper is not None:
            helper.cancel()
        raise
    data = None if helper is None else helper.result()
    return entries, None if data is None else jobcache.unpacked_stamps(data, len(paths))
