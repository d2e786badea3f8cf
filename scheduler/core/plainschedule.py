"""The ``schedule:`` of a plain job document, accepted without pydantic (pure).

``plainjob``'s part for the schedule: ``plain_schedule`` reads a ``schedule:`` mapping by
the model's own field checks (``fieldchecks``, ``parse_cron``, ``parse_duration``), or
raises ``Declined`` for anything it does not fully understand, and the schedule then
writes its part of the two JSON texts the model would (``json_text``, ``with_dump``).

Local datetimes (``at``, ``start``, ``end``, ``anchor``) are taken as YAML gives them
(a date, a naive datetime) or as quoted text of the plainest ISO forms; each is made an
instant as ``ScheduleSpec.aware`` makes it (in the job's zone, by the fixed-time rule).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from scheduler.core.canonical import compact_json
from scheduler.core.cronexpr import parse_cron
from scheduler.core.durations import parse_duration
from scheduler.core.fieldchecks import (
    MAX_YEAR,
    MIN_YEAR,
    Weekday,
    known_timezone,
    time_of_day,
    weekday_of,
)
from scheduler.core.localtime import DEFAULT_TIMEZONE, first_instant

#: The schedule model's fields, in its order (a dump's key order).
SCHEDULE_FIELDS = (
    "cron",
    "interval",
    "daily",
    "weekly",
    "at",
    "timezone",
    "jitter",
    "start",
    "end",
    "anchor",
)
_PLAIN_SCHEDULE = frozenset(SCHEDULE_FIELDS)
_KINDS = ("cron", "interval", "daily", "weekly", "at")
#: The window and the phase, in the model's order after the kind, zone and jitter.
_BOUNDS = ("start", "end", "anchor")
_BOUNDS_OR_AT = frozenset(("at", *_BOUNDS))
_NO_FIELDS = dict.fromkeys(SCHEDULE_FIELDS)
_NO_KIND = dict.fromkeys(_KINDS[:4])
#: The schedule fields a recurring schedule without window or phase fills in the hash's
#: dump (``DUMP_HOLES``); the others are null there. Any other schedule fills them all.
RECURRING_HOLES = (*_KINDS[:4], "timezone", "jitter")
_MAX_TIMES = 1440
#: Quoted local datetimes taken here (the model's parser reads many more forms): a date,
#: or a date and a time to the minute or second, "T" or a space between.
_LOCAL_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?")

#: Text as serde_json (pydantic's writer) and ``COMPACT`` write it: quoted, '"', '\\' and
#: control characters escaped, the rest as it is.
TEXT = json.encoder.encode_basestring


class Declined(Exception):
    """Not a document the fast path understands: the model reads it."""


class PlainSchedule(NamedTuple):
    """An accepted plain ``schedule:``: its one kind, zone, jitter, window and phase."""

    #: ("cron", text), ("interval", text), ("daily", [times]), ("weekly", {days, at}) or
    #: ("at", local ISO text), each as the model dumps it.
    kind: tuple[str, Any]
    timezone: str
    jitter: str | None
    days: tuple[Weekday, ...] = ()  # weekly's
    #: The start, end and anchor written, as the model dumps them: (field, local ISO text).
    bounds: tuple[tuple[str, str], ...] = ()
    #: at's, start's, end's and anchor's instants (UTC), None where not written.
    at: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    anchor: datetime | None = None
    #: A one-shot, or a window or phase given: every schedule field is in its dump.
    bounded: bool = False

    @property
    def cron(self) -> str | None:
        return self.kind[1] if self.kind[0] == "cron" else None

    @property
    def interval(self) -> str | None:
        return self.kind[1] if self.kind[0] == "interval" else None

    @property
    def daily(self) -> list[str] | None:
        return self.kind[1] if self.kind[0] == "daily" else None

    @property
    def weekly(self) -> tuple[tuple[Weekday, ...], list[str]] | None:
        return (self.days, self.kind[1]["at"]) if self.kind[0] == "weekly" else None

    def json_text(self) -> list[str]:
        """The spec JSON's ``"schedule":{...}`` as ``model_dump_json(exclude_defaults=True)``
        writes it, in pieces."""
        kind, value = self.kind
        out = [
            ',"schedule":{"',
            kind,
            '":',
            TEXT(value) if type(value) is str else compact_json(value),
        ]
        if self.timezone != DEFAULT_TIMEZONE:
            out += (',"timezone":', TEXT(self.timezone))
        if self.jitter is not None:
            out += (',"jitter":', TEXT(self.jitter))
        for field, text in self.bounds:
            out += (',"', field, '":"', text, '"')  # ISO text: nothing to escape
        out.append("}")
        return out

    def with_dump(self, fields: dict[str, Any]) -> dict[str, Any]:
        """``fields`` and the schedule's as ``model_dump(mode="json")`` gives them (the
        hash's dump): those of ``RECURRING_HOLES``, or all when ``bounded``."""
        kind, value = self.kind
        if not self.bounded:  # one dict made: a cold start's every job
            return {
                **fields,
                **_NO_KIND,
                kind: value,
                "timezone": self.timezone,
                "jitter": self.jitter,
            }
        return {
            **fields,
            **_NO_FIELDS,
            kind: value,
            "timezone": self.timezone,
            "jitter": self.jitter,
            **dict(self.bounds),
        }


def plain_schedule(value: object) -> PlainSchedule:
    """A ``schedule:`` as the model reads it; ``Declined`` if it is not a plain one."""
    if type(value) is not dict or not _PLAIN_SCHEDULE.issuperset(value):
        raise Declined
    kinds = [k for k in _KINDS if k in value]
    if len(kinds) != 1:
        raise Declined
    timezone = exactly(value.get("timezone", DEFAULT_TIMEZONE), str)
    if not known_timezone(timezone):
        raise Declined
    kind = kinds[0]
    given = value[kind]
    days: tuple[Weekday, ...] = ()
    if kind == "cron":
        exactly(given, str)
        try:
            parse_cron(given)
        except Exception:  # whatever it is, the model reports it
            raise Declined from None
    elif kind == "interval":
        given = _duration(given)
    elif kind == "daily":
        given = _times(given)
    elif kind == "weekly":
        days, at = _weekly(given)
        given = {"days": [d.value for d in days], "at": at}
    jitter = None if "jitter" not in value else _duration(value["jitter"])
    if (
        jitter is not None
        and kind == "interval"
        and parse_duration(jitter) >= parse_duration(given)
    ):
        raise Declined
    found = PlainSchedule((kind, given), timezone, jitter, days)
    if kind != "at" and _BOUNDS_OR_AT.isdisjoint(value):  # the common case: none given
        return found
    return _with_bounds(found, value)


def _with_bounds(found: PlainSchedule, value: dict[str, Any]) -> PlainSchedule:
    """``found`` with its ``at``, ``start``, ``end`` and ``anchor`` as the model reads them."""
    kind = found.kind[0]
    if "anchor" in value and kind != "interval":
        raise Declined  # the model's error
    zone = ZoneInfo(found.timezone)
    local = {f: _local_datetime(value[f]) for f in ("at", *_BOUNDS) if f in value}
    instant = {f: first_instant(v, zone).astimezone(UTC) for f, v in local.items()}
    start, end = instant.get("start"), instant.get("end")
    if start is not None and end is not None and start > end:
        raise Declined  # the model's error
    return found._replace(
        kind=(kind, local["at"].isoformat()) if kind == "at" else found.kind,
        bounds=tuple((f, local[f].isoformat()) for f in _BOUNDS if f in local),
        at=instant.get("at"),
        start=start,
        end=end,
        anchor=instant.get("anchor"),
        bounded=True,
    )


def _local_datetime(value: Any) -> datetime:
    """A naive local datetime as the model reads one, within its years."""
    kind = type(value)
    found: datetime
    if kind is date:  # YAML's unquoted 2026-12-24: its local midnight
        found = datetime.combine(value, time())
    elif kind is datetime:
        found = value
        # An aware one the model keeps and dumps in its own way; a fold the JSON loses.
        if found.tzinfo is not None or found.fold:
            raise Declined
    elif kind is str and _LOCAL_TEXT.fullmatch(value):
        try:
            found = datetime.fromisoformat(value)
        except ValueError:
            raise Declined from None
    else:
        raise Declined
    if not MIN_YEAR <= found.year <= MAX_YEAR:
        raise Declined
    return found


def exactly(value: Any, kind: type) -> Any:
    """``value`` if it is of exactly that type, else ``Declined``."""
    # The model's strict fields refuse a bool for an int and the reverse, and a str
    # subclass is no document's.
    if type(value) is not kind:
        raise Declined
    return value


def _duration(value: object) -> str:
    text: str = exactly(value, str)
    try:
        parse_duration(text)
    except ValueError:
        raise Declined from None
    return text.strip()


def _times(value: object) -> list[str]:
    items = [value] if type(value) is str else exactly(value, list)
    if not 1 <= len(items) <= _MAX_TIMES:
        raise Declined
    found = [time_of_day(t) if type(t) is str else None for t in items]
    if None in found:
        raise Declined
    return found  # type: ignore[return-value]


def _weekly(value: object) -> tuple[tuple[Weekday, ...], list[str]]:
    if type(value) is not dict or value.keys() != {"days", "at"}:
        raise Declined
    given = exactly(value["days"], list)
    if not 1 <= len(given) <= 7:
        raise Declined
    days = tuple(weekday_of(d) if type(d) is str else None for d in given)
    if None in days:
        raise Declined
    return days, _times(value["at"])  # type: ignore[return-value]
