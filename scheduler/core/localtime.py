"""Wall-clock time in a zone, and the instants where a zone's UTC offset changes.

Everything here is pure: instants go in and come out as aware UTC datetimes, local
wall-clock times as naive datetimes. The two DST questions the schedule core asks
(does this local time exist? when does the offset next change?) are answered here
and nowhere else.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

# No zone in the tz database changes its offset twice within this span, so probing at
# this step cannot step over a change and its reversal.
_PROBE_STEP = timedelta(hours=6)
#: A schedule's zone when its file names none (``schedule.timezone``'s default).
DEFAULT_TIMEZONE = "UTC"
#: UTC as a zone (the default ``timezone``): wall time is the instant, with no gap nor
#: repeat, so the conversions below are skipped for it (a cold start asks 100,000 times).
_UTC_ZONE = ZoneInfo(DEFAULT_TIMEZONE)
_NO_OFFSET = timedelta(0)


def offset(instant: datetime, tz: tzinfo) -> timedelta:
    """The zone's UTC offset in force at an aware instant."""
    if tz is _UTC_ZONE or tz is UTC:
        return _NO_OFFSET
    off = instant.astimezone(tz).utcoffset()
    assert off is not None
    return off


def wall(instant: datetime, tz: tzinfo) -> datetime:
    """The local wall-clock reading (naive) of an aware instant."""
    if (tz is _UTC_ZONE or tz is UTC) and instant.tzinfo is UTC:
        return instant.replace(tzinfo=None, fold=0)
    return instant.astimezone(tz).replace(tzinfo=None)


def exists(local: datetime, tz: tzinfo) -> bool:
    """False for a wall-clock time skipped by a forward DST jump."""
    aware = local.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local


def first_instant(local: datetime, tz: tzinfo) -> datetime:
    """The UTC instant a fixed local time means, by the Debian cron rule.

    A repeated wall-clock time (the fall-back hour) means its first pass. A skipped
    one (the spring-forward gap) means the end of the gap: 02:30 on the night
    Europe/Paris jumps from 02:00 to 03:00 means 03:00 CEST.
    """
    if tz is _UTC_ZONE or tz is UTC:
        return local.replace(tzinfo=UTC, fold=0)
    before = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if before.astimezone(tz).replace(tzinfo=None) == local:  # exists(), its UTC at hand
        return before
    # In a gap, fold=1 reads the local time with the later (larger) offset, which
    # puts it before the transition; fold=0 puts it after.
    after = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    change = next_offset_change(after, before, tz)
    assert change is not None, "a skipped local time must lie across an offset change"
    return change


def next_offset_change(start: datetime, stop: datetime, tz: tzinfo) -> datetime | None:
    """The first instant in (start, stop] whose UTC offset differs from start's, to the second."""
    base = offset(start, tz)
    lo = start
    while lo < stop:
        hi = min(lo + _PROBE_STEP, stop)
        if offset(hi, tz) != base:
            return _bisect_change(lo, hi, base, tz)
        lo = hi
    return None


def _bisect_change(lo: datetime, hi: datetime, base: timedelta, tz: tzinfo) -> datetime:
    # Offsets change on whole seconds, so bisect over integer POSIX seconds.
    # Invariant: offset(lo_s) == base != offset(hi_s).
    lo_s = math.floor(lo.timestamp())
    hi_s = math.ceil(hi.timestamp())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if offset(datetime.fromtimestamp(mid, UTC), tz) == base:
            lo_s = mid
        else:
            hi_s = mid
    return datetime.fromtimestamp(hi_s, UTC)


def local_iso(instant: datetime, tz: ZoneInfo) -> str:
    """An instant as local ISO-8601 with its UTC offset: 2026-03-29T03:00:00+02:00."""
    local = instant.astimezone(tz)
    return local.isoformat(timespec="microseconds" if local.microsecond else "seconds")
