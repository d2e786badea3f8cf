"""A long list of files read by this process and one forked helper, meeting in the middle.

On two cores a pool (``parsepool``) keeps both busy with workers while this process only
takes their results in: three processes for two cores, and every result sent back. Here
this process takes chunks of the list from the front and one forked helper takes chunks
from the back, until they meet; the helper pickles each chunk as it finishes it and sends
them all when they have met. Only the helper's part crosses, and however fast each of
them runs (another program busy on one core, the helper's extra work of pickling), both
finish within a chunk of each other.

The helper runs pure code on what it inherited, never returns into the caller's code and
never flushes the caller's buffers (``os._exit``). If it fails or dies, its part is read
here after all: the results are the same either way, only slower.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from scheduler.config.cpus import usable_cpus
from scheduler.config.forkcall import die_with

_T = TypeVar("_T")
_R = TypeVar("_R")


def spare_core() -> bool:
    """Whether a helper would have a core to itself: more than one core, and the load of
    the last minute leaving about one of them idle. On a busy machine the helper only
    competes with this process (and its pickle is work a single process does not do)."""
    # In a container the load is the host's: a busy host then starts no helper even where
    # this container's CPUs are idle, the cheap side to err on.
    cores = usable_cpus()
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available here: assume other work
        return False
    return cores > 1 and load <= cores - 0.5


#: Items claimed at a time: small enough that neither waits long for the other's last
#: chunk at the end, large enough that claiming (two system calls) costs nothing.
CHUNK = 64


class _Ends:
    """The next front index and the back end of the items, shared by the two processes
    (an anonymous shared mapping); a one-byte token in a pipe guards them."""

    def __init__(self, count: int) -> None:
        import mmap
        import struct

        self._pack, self._unpack = struct.pack_into, struct.unpack_from
        self._bounds = mmap.mmap(-1, 16)
        self._pack("qq", self._bounds, 0, 0, count)
        self._take, self._give = os.pipe()
        os.write(self._give, b".")

    def claim(self, *, front: bool) -> tuple[int, int]:
        """The next chunk from the front (or the back), as (start, stop); empty once met."""
        os.read(self._take, 1)
        try:
            lo, hi = self._unpack("qq", self._bounds, 0)
            if lo < hi and front:
                hi = min(hi, lo + CHUNK)
                self._pack("q", self._bounds, 0, hi)
            elif lo < hi:
                lo = max(lo, hi - CHUNK)
                self._pack("q", self._bounds, 8, lo)
            return lo, hi
        finally:
            os.write(self._give, b".")

    def close(self) -> None:
        os.close(self._take)
        os.close(self._give)
        self._bounds.close()


def read_split(own: Callable[[_T], _R], sent: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``own(item)`` for items from the front here, ``sent(item)`` for items from the back
    in a forked helper; every result, in the items' order. Without a spare core (or with
    few items) no helper: ``own`` for every item.

    ``sent`` must give results that pickle (and whose pickles are cheap to load: the
    helper's part is loaded here once both are done).
    """
    import signal  # only for a big tree: not on the path of every command

    if len(items) <= CHUNK or not spare_core():
        return [own(item) for item in items]
    ends = _Ends(len(items))
    data_read, data_write = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(data_read)
        _helper(sent, items, ends, data_write, parent)  # never returns
    os.close(data_write)
    results: list[_R] = []
    helped: list[Any] | None = None
    try:
        with os.fdopen(data_read, "rb") as pipe:
            while True:
                lo, hi = ends.claim(front=True)
                if lo >= hi:
                    break
                results += [own(item) for item in items[lo:hi]]
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        pid = 0
        if os.waitstatus_to_exitcode(status) == 0:
            helped = _unpacked(data, len(results), len(items))
    finally:
        if pid:  # interrupted (Ctrl-C) or failed here: no helper is left behind
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        ends.close()
    if helped is None:
        helped = [own(item) for item in items[len(results) :]]
    return results + helped


def _helper(
    sent: Callable[[_T], _R], items: Sequence[_T], ends: _Ends, out_fd: int, parent: int
) -> None:
    """The helper process: chunks from the back, each pickled as done, all written to
    ``out_fd`` once the two have met; then gone, whatever happened (``parent`` too)."""
    code = 1
    try:
        die_with(parent)
        import pickle
        import struct

        blobs = []
        while True:
            lo, hi = ends.claim(front=False)
            if lo >= hi:
                break
            part = [sent(item) for item in items[lo:hi]]
            blobs.append(pickle.dumps((lo, part), protocol=pickle.HIGHEST_PROTOCOL))
        with os.fdopen(out_fd, "wb") as out:
            for blob in blobs:
                out.write(struct.pack("q", len(blob)))
                out.write(blob)
        code = 0
    finally:
        os._exit(code)


def _unpacked(data: bytes, start: int, stop: int) -> list[Any] | None:
    """The helper's chunks (length-prefixed pickles of ``(index, results)``) as one list
    for items ``start`` to ``stop``, or None if they do not cover exactly that."""
    import pickle
    import struct

    chunks: list[tuple[int, list[Any]]] = []
    at = 0
    while at + 8 <= len(data):
        (size,) = struct.unpack_from("q", data, at)
        chunks.append(pickle.loads(data[at + 8 : at + 8 + size]))
        at += 8 + size
    out: list[Any] = []
    expected = start
    for lo, part in sorted(chunks, key=lambda chunk: chunk[0]):
        if lo != expected:
            return None
        out += part
        expected += len(part)
    return out if expected == stop and at == len(data) else None
