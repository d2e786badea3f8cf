"""SIGTERM/SIGINT as `scheduler run` takes them (``engine.stopsignals``): real signals sent to
this process, the handler doing nothing but the interpreter's wakeup-fd write, the relay
thread deciding."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from scheduler.engine.stopsignals import DUPLICATE_WINDOW, StopSignals
from tests.integration.helpers import wait_for


@pytest.fixture
def signals() -> Iterator[StopSignals]:
    installed = StopSignals()
    installed.install()
    try:
        yield installed
    finally:
        installed.close()


def test_a_copy_is_ignored_a_later_signal_hurries(signals: StopSignals) -> None:
    """Two signals at once are one stop request; one after the window means stop now."""
    stops: list[str] = []
    signals.on_stop(lambda: stops.append("stop"))
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGINT)  # make forwarding the group's SIGTERM, say
    wait_for(lambda: signals.received == 2, timeout=5, message="both signals relayed")
    assert stops == ["stop"]
    assert signals.stopping.is_set()
    assert not signals.hurry.is_set()
    time.sleep(DUPLICATE_WINDOW + 0.1)  # a user pressing Ctrl-C again, a moment later
    os.kill(os.getpid(), signal.SIGINT)
    assert signals.hurry.wait(5)
    late: list[str] = []
    signals.on_stop(lambda: late.append("stop"))  # registered after the signal: called at once
    assert late == ["stop"]


def test_a_flood_of_signals_never_blocks_the_interrupted_thread(signals: StopSignals) -> None:
    """5,000 SIGTERMs while this thread sets and clears an event (the watcher's wake-up): a
    handler that set an event itself could block on the lock the interrupted set() holds."""
    wake = threading.Event()
    signals.on_stop(wake.set)
    sent = 0

    def flood() -> None:
        nonlocal sent
        for _ in range(5000):
            os.kill(os.getpid(), signal.SIGTERM)
            sent += 1

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    while thread.is_alive():
        wake.set()
        wake.clear()
    thread.join()
    assert sent == 5000
    assert signals.stopping.wait(5)
    wait_for(lambda: signals.received > 0, timeout=5, message="signals relayed")


def test_close_gives_the_signals_back() -> None:
    """After close(), SIGTERM has its former handler again."""
    before = signal.getsignal(signal.SIGTERM)
    installed = StopSignals()
    installed.install()
    assert signal.getsignal(signal.SIGTERM) is not before
    installed.close()
    assert signal.getsignal(signal.SIGTERM) is before
