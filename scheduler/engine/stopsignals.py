"""SIGTERM and SIGINT for ``scheduler run``: the handler records, a thread acts.

A Python signal handler runs on the main thread between two bytecodes, possibly inside a
``threading.Event.set()`` that holds the event's lock: a handler that sets an event can
then block for ever on that lock (two signals in quick succession, as when ``make``
forwards the SIGTERM its process group got). So the handler here does nothing at all: the
interpreter's C-level handler writes the signal's number to a pipe
(``signal.set_wakeup_fd``), and a relay thread reads it and calls the callbacks, where
taking a lock is safe.

What the signals mean: the first asks for a stop (``on_stop`` callbacks: the watcher stops
dispatching, its workers finish their tasks); another one more than
:data:`DUPLICATE_WINDOW` seconds later asks to stop now (``hurry``: running tasks are cut
short), every child still being stopped. A second signal sooner is the same request
delivered twice and is ignored, as RQ does for its workers.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import structlog

log = structlog.get_logger("scheduler.daemon")

#: Seconds within which a second signal counts as a copy of the first.
DUPLICATE_WINDOW = 0.5
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """SIGTERM/SIGINT turned into ``stopping`` and ``hurry``, off the signal handler.

    ``install()`` from the main thread; ``close()`` when everything is stopped.
    """

    def __init__(self) -> None:
        self.stopping = threading.Event()
        #: Set by a later signal: stop now (tasks are cut short), still stopping every child.
        self.hurry = threading.Event()
        #: How many SIGTERM/SIGINT the relay has seen (copies included).
        self.received = 0
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._first = 0.0
        self._read_fd = self._write_fd = -1
        self._previous: dict[signal.Signals, Any] = {}
        self._previous_fd = -1
        self._thread: threading.Thread | None = None

    def install(self) -> None:
        """Handle SIGTERM and SIGINT from now on (main thread only)."""
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._previous_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, _record)
        self._thread = threading.Thread(target=self._relay, name="stop-signals", daemon=True)
        self._thread.start()

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the first signal (at once if it already came)."""
        with self._lock:
            self._callbacks.append(callback)
            late = self.stopping.is_set()
        if late:
            callback()

    def close(self, *, ignore: bool = False) -> None:
        """Give the signals back: to their former handlers, or with ``ignore`` to SIG_IGN
        (a process on its way out does not die of a late signal, nor print a traceback)."""
        for sig, previous in self._previous.items():
            signal.signal(sig, signal.SIG_IGN if ignore else previous)
        self._previous.clear()
        if self._write_fd >= 0:
            signal.set_wakeup_fd(self._previous_fd)
            os.close(self._write_fd)  # the relay reads EOF and ends
            self._write_fd = -1
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None
        if self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1

    def _relay(self) -> None:
        while True:
            try:
                data = os.read(self._read_fd, 64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                if signum in STOP_SIGNALS:
                    self._received(signal.Signals(signum))

    def _received(self, sig: signal.Signals) -> None:
        now = time.monotonic()
        self.received += 1
        if not self.stopping.is_set():
            self._first = now
            log.info("watcher.stopping", signal=sig.name)
            with self._lock:
                self.stopping.set()
                callbacks = list(self._callbacks)
            for callback in callbacks:
                try:
                    callback()
                except Exception:  # one failing callback must not stop the others
                    log.exception("watcher.stop_callback_failed")
        elif not self.hurry.is_set() and now - self._first > DUPLICATE_WINDOW:
            log.warning("watcher.stopping_now", signal=sig.name)
            self.hurry.set()


def _record(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: nothing to do, the wakeup fd already carries the signal.

    It must exist (a handler replaces the default action: termination, KeyboardInterrupt),
    and it must not take a lock (see the module's docstring).
    """
