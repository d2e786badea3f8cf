"""A pause of the cyclic garbage collector around building many long-lived objects."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: building 100,000 jobs' objects would otherwise
    run the collector over the growing heap hundreds of times (it is what costs most). The
    collector is given back as it was found."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
