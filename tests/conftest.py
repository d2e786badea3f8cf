"""Settings for the whole suite."""

from __future__ import annotations

import os

from hypothesis import settings

# The property tests draw the same examples on every run (``make test`` and CI must not
# pass or fail by luck: a random draw once failed a clean clone's run). To explore new
# ones, as when changing a fast path against its reference:
# ``HYPOTHESIS_PROFILE=explore make unit``.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
