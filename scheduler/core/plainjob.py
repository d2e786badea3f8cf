"""Plain job documents accepted without pydantic: the cold start's common case (pure).

Nearly every document of a large jobs.d is a name, a task, perhaps a queue and params,
and a cron, interval, daily or weekly schedule in some zone. Validating one through the
job model and dumping it back to JSON for its compact form was most of a parse worker's
time. ``plain_job`` reads such a document directly, by the model's own field checks
(``fieldchecks``, ``parse_cron``, ``parse_duration``), and writes the two JSON texts the
model would: the spec as ``model_dump_json(exclude_defaults=True)`` and the definition
hash's full dump.

It only accepts: anything it does not fully understand (another field, a value of
another type, a NaN, a "${" reference, an aware datetime in params) gives None, and the model
validates the document as before, with its errors, their lines and their fields. Its
equivalence with the model is a property test (tests/unit/test_plainjob.py), which also
fails if the model gains a field this module does not know.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date, datetime
from typing import Any, NamedTuple

from scheduler.core.canonical import (
    JSON_INTS,
    CanonicalTemplate,
    Hole,
    compact_json,
    json_exact,
    json_mode,
)
from scheduler.core.cronexpr import parse_cron
from scheduler.core.durations import parse_duration
from scheduler.core.fieldchecks import (
    NAME_RE,
    QUEUE_RE,
    TASK_RE,
    Weekday,
    known_timezone,
    time_of_day,
    weekday_of,
)
from scheduler.core.localtime import DEFAULT_TIMEZONE
from scheduler.core.policies import DEFAULT_MAX_CATCHUP, DEFAULT_MISFIRE_POLICY, OverlapPolicy

#: The job model's fields, in its order (a dump's key order), and those a plain document
#: may give (the others it must leave out: they take their defaults).
JOB_FIELDS = (
    "name",
    "description",
    "task",
    "queue",
    "params",
    "schedule",
    "enabled",
    "canary",
    "previous_names",
    "misfire",
    "overlap",
    "dst",
    "retries",
    "timeout",
    "result_ttl",
    "failure_ttl",
    "on_failure",
    "history",
)
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
_PLAIN_FIELDS = frozenset(JOB_FIELDS[:9]) | {"overlap"}
_PLAIN_SCHEDULE = frozenset(("cron", "interval", "daily", "weekly", "timezone", "jitter"))
_KINDS = ("cron", "interval", "daily", "weekly")
_NO_KIND = dict.fromkeys(_KINDS)
_OVERLAPS = {p.value: p for p in OverlapPolicy}
_MAX_DESCRIPTION = 2000
_MAX_CANARY = 1000
_MAX_PREVIOUS_NAMES = 50
_MAX_TIMES = 1440
_MAX_DEPTH = 64  # params nested deeper are left to the model

#: The definition hash's dump (``model_dump(mode="json")``, history left out) of a plain
#: document: what it gives, in holes; what it cannot give, the model's defaults.
_FULL_DUMP = CanonicalTemplate(
    {
        **dict.fromkeys(JOB_FIELDS[:-1]),
        **{field: Hole(field) for field in _PLAIN_FIELDS - {"schedule"}},
        "schedule": {
            **dict.fromkeys(SCHEDULE_FIELDS),
            **{field: Hole(field) for field in (*_KINDS, "timezone", "jitter")},
        },
        "misfire": {
            "policy": DEFAULT_MISFIRE_POLICY.value,
            "grace": None,
            "max_catchup": DEFAULT_MAX_CATCHUP,
        },
    }
)


class _Declined(Exception):
    """Not a document this module understands: the model reads it."""


class PlainJob(NamedTuple):
    """An accepted plain document: what a compact ``LoadedJob`` holds of it."""

    name: str
    task: str
    queue: str
    enabled: bool
    canary: int
    overlap: OverlapPolicy
    previous_names: tuple[str, ...]
    schedule: PlainSchedule
    #: The params when JSON would not give them back as they are (a YAML date, a nested
    #: key YAML typed), kept apart as the model path's compact job keeps them; else None.
    params: dict[str, Any] | None
    #: The spec's JSON as ``JobSpec.model_dump_json(exclude_defaults=True)`` writes it.
    spec_json: bytes
    definition_hash: str


def plain_job(data: object) -> PlainJob | None:
    """``data`` (a job document, its defaults merged in) read without the model, or None
    when it is not a plain document that the model would accept as it is read here."""
    try:
        return _read(data)
    except _Declined:
        return None


def _read(data: object) -> PlainJob:
    if type(data) is not dict or not _PLAIN_FIELDS.issuperset(data):
        raise _Declined
    name = _matching(data.get("name"), NAME_RE)
    task = _matching(data.get("task"), TASK_RE)
    queue = _matching(data.get("queue", "default"), QUEUE_RE)
    description = data.get("description")
    if description is not None and (
        type(description) is not str or len(description) > _MAX_DESCRIPTION
    ):
        raise _Declined
    params = data.get("params", {})
    if type(params) is not dict:
        raise _Declined
    _plain_value(params, 0)
    exact = json_exact(params)
    enabled = _exactly(data.get("enabled", True), bool)
    canary = _exactly(data.get("canary", 0), int)
    if not 0 <= canary <= _MAX_CANARY:
        raise _Declined
    previous = _exactly(data.get("previous_names", []), list)
    if len(previous) > _MAX_PREVIOUS_NAMES:
        raise _Declined
    previous_names = tuple(_matching(p, NAME_RE) for p in previous)
    overlap = _OVERLAPS.get(_exactly(data.get("overlap", "forbid"), str))
    if overlap is None:
        raise _Declined
    sched = _schedule(data.get("schedule"))
    fields = {
        "name": name,
        "description": description,
        "task": task,
        "queue": queue,
        "params": params,
        "enabled": enabled,
        "canary": canary,
        "previous_names": previous,
        "overlap": overlap.value,
    }
    kind, value = sched.kind
    full = {**fields, **_NO_KIND, kind: value, "timezone": sched.timezone, "jitter": sched.jitter}
    if not exact:
        try:
            full["params"] = json_mode(params)
        except ValueError:  # 1 and "1": which one the model keeps is its own
            raise _Declined from None
    return PlainJob(
        name,
        task,
        queue,
        enabled,
        canary,
        overlap,
        previous_names,
        sched,
        None if exact else params,
        _spec_json(fields if exact else {**fields, "params": {}}, sched),
        hashlib.sha256(_FULL_DUMP.fill(full).encode()).hexdigest()[:16],
    )


def _spec_json(fields: dict[str, Any], sched: PlainSchedule) -> bytes:
    """The spec as ``model_dump_json(exclude_defaults=True)`` writes it: in the model's
    order, each field equal to its default left out. Written piece by piece: the encoder's
    call alone cost more than all of it (15k instructions a job)."""
    out = ['{"name":', _TEXT(fields["name"])]
    if fields["description"] is not None:
        out += (',"description":', _TEXT(fields["description"]))
    out += (',"task":', _TEXT(fields["task"]))
    if fields["queue"] != "default":
        out += (',"queue":', _TEXT(fields["queue"]))
    if fields["params"]:
        out += (',"params":', compact_json(fields["params"]))
    kind, value = sched.kind
    out += (
        ',"schedule":{"',
        kind,
        '":',
        _TEXT(value) if type(value) is str else compact_json(value),
    )
    if sched.timezone != DEFAULT_TIMEZONE:
        out += (',"timezone":', _TEXT(sched.timezone))
    if sched.jitter is not None:
        out += (',"jitter":', _TEXT(sched.jitter))
    out.append("}")
    if not fields["enabled"]:
        out.append(',"enabled":false')
    if fields["canary"]:
        out += (',"canary":', str(fields["canary"]))
    if fields["previous_names"]:
        out += (',"previous_names":', compact_json(fields["previous_names"]))
    if fields["overlap"] != OverlapPolicy.forbid.value:
        out += (',"overlap":', _TEXT(fields["overlap"]))
    out.append("}")
    try:
        return "".join(out).encode()
    except UnicodeEncodeError:  # a lone surrogate: the model's dump refuses it its own way
        raise _Declined from None


#: Text as serde_json (pydantic's writer) and ``COMPACT`` write it: quoted, '"', '\\' and
#: control characters escaped, the rest as it is.
_TEXT = json.encoder.encode_basestring


class PlainSchedule(NamedTuple):
    """An accepted plain ``schedule:``: its one kind, zone and jitter."""

    #: ("cron", text), ("interval", text), ("daily", [times]) or ("weekly", {days, at}),
    #: each as the model dumps it.
    kind: tuple[str, Any]
    timezone: str
    jitter: str | None
    days: tuple[Weekday, ...] = ()  # weekly's

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


def _schedule(value: object) -> PlainSchedule:
    if type(value) is not dict or not _PLAIN_SCHEDULE.issuperset(value):
        raise _Declined
    kinds = [k for k in _KINDS if k in value]
    if len(kinds) != 1:
        raise _Declined
    timezone = _exactly(value.get("timezone", DEFAULT_TIMEZONE), str)
    if not known_timezone(timezone):
        raise _Declined
    kind = kinds[0]
    given = value[kind]
    days: tuple[Weekday, ...] = ()
    if kind == "cron":
        _exactly(given, str)
        try:
            parse_cron(given)
        except Exception:  # whatever it is, the model reports it
            raise _Declined from None
    elif kind == "interval":
        given = _duration(given)
    elif kind == "daily":
        given = _times(given)
    else:
        days, at = _weekly(given)
        given = {"days": [d.value for d in days], "at": at}
    jitter = None if "jitter" not in value else _duration(value["jitter"])
    if (
        jitter is not None
        and kind == "interval"
        and parse_duration(jitter) >= parse_duration(given)
    ):
        raise _Declined
    return PlainSchedule((kind, given), timezone, jitter, days)


def _exactly(value: Any, kind: type) -> Any:
    # Exactly that type: the model's strict fields refuse a bool for an int and the
    # reverse, and a str subclass is no document's.
    if type(value) is not kind:
        raise _Declined
    return value


def _matching(value: object, pattern: Any) -> str:
    if type(value) is not str or not pattern.fullmatch(value):
        raise _Declined
    return value


def _duration(value: object) -> str:
    text: str = _exactly(value, str)
    try:
        parse_duration(text)
    except ValueError:
        raise _Declined from None
    return text.strip()


def _times(value: object) -> list[str]:
    items = [value] if type(value) is str else _exactly(value, list)
    if not 1 <= len(items) <= _MAX_TIMES:
        raise _Declined
    found = [time_of_day(t) if type(t) is str else None for t in items]
    if None in found:
        raise _Declined
    return found  # type: ignore[return-value]


def _weekly(value: object) -> tuple[tuple[Weekday, ...], list[str]]:
    if type(value) is not dict or value.keys() != {"days", "at"}:
        raise _Declined
    given = _exactly(value["days"], list)
    if not 1 <= len(given) <= 7:
        raise _Declined
    days = tuple(weekday_of(d) if type(d) is str else None for d in given)
    if None in days:
        raise _Declined
    return days, _times(value["at"])  # type: ignore[return-value]


def _plain_value(value: object, depth: int) -> None:
    """Accept text without "${", ints JSON holds, bools, nulls, finite floats, dates and
    naive datetimes, and lists and mappings of them (text keys; below the top, bool and
    int keys too): what the model passes unchanged and this module dumps as it does."""
    kind = type(value)
    if kind is list or kind is dict:
        if depth >= _MAX_DEPTH:
            raise _Declined
        if kind is list:
            for item in value:  # type: ignore[attr-defined]
                _plain_value(item, depth + 1)
            return
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is str:
                if "${" in key:
                    raise _Declined
            elif depth == 0 or type(key) not in (bool, int) or key not in JSON_INTS:
                raise _Declined  # a top-level one is the model's error; others, unusual
            _plain_value(item, depth + 1)
    elif not _plain_leaf(value, kind):
        raise _Declined


def _plain_leaf(value: Any, kind: type) -> bool:
    if kind is str:
        return "${" not in value  # the model checks its references
    if kind is int:
        return value in JSON_INTS
    if kind is float:
        # The model writes a float as repr does, but for a negative exponent (repr's
        # 1e-07 and 1e-05 are its 1e-7 and 0.00001).
        return math.isfinite(value) and "e-" not in repr(value)
    if kind is datetime:
        return value.tzinfo is None  # the model writes UTC as Z
    return kind is bool or value is None or kind is date
