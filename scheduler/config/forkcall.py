"""A call run by a forked helper process while this one goes on with other work.

The restart stats every job file while it loads the job cache: on two cores the two take
about as long, and neither needs the other's result until both are done. The helper runs
pure code on what it inherited, sends back bytes, and leaves with ``os._exit`` (it never
returns into the caller's code nor flushes the caller's buffers). If it fails or dies, the
caller has no result and does the work itself: the same result either way, only slower.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from scheduler.config.cpus import usable_cpus


def helper_worth_it() -> bool:
    """Whether a forked helper can run beside this process: ``fork`` exists and more than
    one CPU is usable. The helper does work this process would do otherwise, so a busy
    machine costs no more with it than without (only the fork, a few milliseconds)."""
    return hasattr(os, "fork") and usable_cpus() > 1


class ForkCall:
    """``work()`` in a forked helper from construction on; ``result()`` waits for it."""

    def __init__(self, work: Callable[[], bytes]) -> None:
        self._read, write = os.pipe()
        parent = os.getpid()
        self._pid = os.fork()
        if self._pid == 0:
            os.close(self._read)
            _helper(work, write, parent)  # never returns
        os.close(write)

    def result(self) -> bytes | None:
        """What ``work`` returned, or None if the helper failed (or was asked already)."""
        pid, self._pid = self._pid, 0
        if pid == 0:
            return None
        try:
            with os.fdopen(self._read, "rb") as pipe:
                data = pipe.read()
        except BaseException:  # interrupted here (Ctrl-C): no helper is left behind
            _end(pid)
            raise
        _, status = os.waitpid(pid, 0)
        return data if os.waitstatus_to_exitcode(status) == 0 else None

    def cancel(self) -> None:
        """End the helper if it still runs (the caller stopped half-way); idempotent."""
        pid, self._pid = self._pid, 0
        if pid:
            _end(pid)
            os.close(self._read)


def _end(pid: int) -> None:
    import signal

    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _helper(work: Callable[[], bytes], out_fd: int, parent: int) -> None:
    code = 1
    try:
        die_with(parent)
        data = work()
        with os.fdopen(out_fd, "wb") as out:
            out.write(data)
        code = 0
    finally:
        os._exit(code)


def die_with(parent: int) -> None:
    """Have this process killed when ``parent`` ends (Linux): a helper left behind would
    wait for ever on a pipe, or for a token the parent held."""
    import signal

    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (ImportError, OSError, AttributeError):  # elsewhere: the rare hang stays possible
        pass
    if os.getppid() != parent:  # it ended before that took effect
        os._exit(1)
