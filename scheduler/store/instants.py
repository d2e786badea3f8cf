"""How the store writes and reads instants: ISO-8601 UTC text, which sorts chronologically.

Naive datetimes are refused at this boundary, so no row ever holds a local time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from scheduler.core.runs import iso_utc


def aware(value: datetime, name: str) -> str:
    """``value`` as stored text; ValueError naming ``name`` if it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return iso_utc(value)


def aware_or_none(value: datetime | None, name: str) -> str | None:
    """:func:`aware`, with None kept as None (a NULL column)."""
    return None if value is None else aware(value, name)


def instant(text: str | None) -> datetime | None:
    """A stored text back as an aware UTC datetime; None for NULL."""
    return None if text is None else aware_instant(text)


def aware_instant(text: str) -> datetime:
    """A stored (not NULL) text back as an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)
