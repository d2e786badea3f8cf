"""Durations written as ``30s``, ``15m``, ``2h``, ``1d`` and combinations (``1h30m``).

``w`` is 7 days and ``y`` 365 days (retention rules such as ``keep_failed: 1y``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

_UNITS = {"y": 365 * 86400, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)\s*([ywdhms])")
_WHOLE = re.compile(r"(?:\d{1,12}\s*[ywdhms]\s*)+")


class DurationSyntaxError(ValueError):
    pass


@lru_cache(maxsize=4096)
def parse_duration(text: str) -> timedelta:
    """Parse a positive duration; raise DurationSyntaxError with a reason otherwise.

    Cached: a big jobs.d writes the same few (``30s``, ``15m``) thousands of times, each
    read by the model's check and again for the schedule."""
    s = text.strip().lower()
    if s.startswith("-"):
        raise DurationSyntaxError(f"{text!r} is negative; durations must be positive")
    if len(s) > 100:
        raise DurationSyntaxError(f"{text[:20]!r}... is too long to be a duration")
    if s.isdigit():
        raise DurationSyntaxError(f"{text!r} has no unit; write {s}s, {s}m, {s}h or {s}d")
    if not _WHOLE.fullmatch(s):
        raise DurationSyntaxError(
            f"{text!r} is not a duration; use a number and a unit (s, m, h, d, w, y) "
            "such as 30s, 15m, 1h30m"
        )
    seen: list[str] = []
    seconds = 0
    for amount, unit in _PART.findall(s):
        if unit in seen:
            raise DurationSyntaxError(f"{text!r} gives the unit {unit!r} twice")
        seen.append(unit)
        seconds += int(amount) * _UNITS[unit]
    order = [u for u in _UNITS if u in seen]
    if seen != order:
        raise DurationSyntaxError(f"{text!r} lists units out of order; largest first, as in 1h30m")
    if seconds <= 0:
        raise DurationSyntaxError(f"{text!r} is zero; durations must be positive")
    if seconds > 3650 * 86400:
        raise DurationSyntaxError(f"{text!r} is longer than ten years")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest canonical spelling: 5400 s -> '1h30m'."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        if unit in ("y", "w"):
            continue
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
