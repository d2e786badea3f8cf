"""Plain job documents accepted without pydantic: the cold start's common case (pure).

Nearly every document of a large jobs.d is a name, a task, perhaps a queue and params,
and a cron, interval, daily or weekly schedule in some zone. Validating one through the
job model and dumping it back to JSON for its compact form was most of a parse worker's
time. ``plain_job`` reads such a document directly, by the model's own field checks
(``fieldchecks``, ``parse_cron``, ``parse_duration``), and writes the two JSON texts the
model would: the spec as ``model_dump_json(exclude_defaults=True)`` and the definition
hash's full dump. Its ``schedule:`` is read by ``plainschedule``.

It only accepts: anything it does not fully understand (another field, a value of
another type, a NaN, a "${" reference, an aware datetime in params) gives None, and the model
validates the document as before, with its errors, their lines and their fields. Its
equivalence with the model is a property test (tests/unit/test_plainjob.py), which also
fails if the model gains a field this module does not know.
"""

from __future__ import annotations

import hashlib
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
from scheduler.core.fieldchecks import NAME_RE, QUEUE_RE, TASK_RE
from scheduler.core.plainschedule import (
    RECURRING_HOLES,
    SCHEDULE_FIELDS,
    TEXT,
    Declined,
    PlainSchedule,
    exactly,
    plain_schedule,
)
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
_PLAIN_FIELDS = frozenset(JOB_FIELDS[:9]) | {"overlap"}
_OVERLAPS = {p.value: p for p in OverlapPolicy}
_MAX_DESCRIPTION = 2000
_MAX_CANARY = 1000
_MAX_PREVIOUS_NAMES = 50
_MAX_DEPTH = 64  # params nested deeper are left to the model

#: The definition hash's dump (``model_dump(mode="json")``, history left out) of a plain
#: document: what it gives, in holes; what it cannot give, the model's defaults. A
#: recurring schedule without window or phase has one of its own (fewer holes to fill).
_DUMP_SHAPE = {
    **dict.fromkeys(JOB_FIELDS[:-1]),
    **{field: Hole(field) for field in _PLAIN_FIELDS - {"schedule"}},
    "misfire": {
        "policy": DEFAULT_MISFIRE_POLICY.value,
        "grace": None,
        "max_catchup": DEFAULT_MAX_CATCHUP,
    },
}
_FULL_DUMP = CanonicalTemplate(
    {
        **_DUMP_SHAPE,
        "schedule": {
            **dict.fromkeys(SCHEDULE_FIELDS),
            **{field: Hole(field) for field in RECURRING_HOLES},
        },
    }
)
_BOUNDED_DUMP = CanonicalTemplate(
    {**_DUMP_SHAPE, "schedule": {field: Hole(field) for field in SCHEDULE_FIELDS}}
)


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
    except Declined:
        return None


def _read(data: object) -> PlainJob:
    if type(data) is not dict or not _PLAIN_FIELDS.issuperset(data):
        raise Declined
    name = _matching(data.get("name"), NAME_RE)
    task = _matching(data.get("task"), TASK_RE)
    queue = _matching(data.get("queue", "default"), QUEUE_RE)
    description = data.get("description")
    if description is not None and (
        type(description) is not str or len(description) > _MAX_DESCRIPTION
    ):
        raise Declined
    params = data.get("params", {})
    if type(params) is not dict:
        raise Declined
    _plain_value(params, 0)
    exact = json_exact(params)
    enabled = exactly(data.get("enabled", True), bool)
    canary = exactly(data.get("canary", 0), int)
    if not 0 <= canary <= _MAX_CANARY:
        raise Declined
    previous = exactly(data.get("previous_names", []), list)
    if len(previous) > _MAX_PREVIOUS_NAMES:
        raise Declined
    previous_names = tuple(_matching(p, NAME_RE) for p in previous)
    overlap = _OVERLAPS.get(exactly(data.get("overlap", "forbid"), str))
    if overlap is None:
        raise Declined
    sched = plain_schedule(data.get("schedule"))
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
    full = sched.with_dump(fields)
    if not exact:
        try:
            full["params"] = json_mode(params)
        except ValueError:  # 1 and "1": which one the model keeps is its own
            raise Declined from None
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
        hashlib.sha256(
            (_BOUNDED_DUMP if sched.bounded else _FULL_DUMP).fill(full).encode()
        ).hexdigest()[:16],
    )


def _spec_json(fields: dict[str, Any], sched: PlainSchedule) -> bytes:
    """The spec as ``model_dump_json(exclude_defaults=True)`` writes it: in the model's
    order, each field equal to its default left out. Written piece by piece: the encoder's
    call alone cost more than all of it (15k instructions a job)."""
    out = ['{"name":', TEXT(fields["name"])]
    if fields["description"] is not None:
        out += (',"description":', TEXT(fields["description"]))
    out += (',"task":', TEXT(fields["task"]))
    if fields["queue"] != "default":
        out += (',"queue":', TEXT(fields["queue"]))
    if fields["params"]:
        out += (',"params":', compact_json(fields["params"]))
    out += sched.json_text()
    if not fields["enabled"]:
        out.append(',"enabled":false')
    if fields["canary"]:
        out += (',"canary":', str(fields["canary"]))
    if fields["previous_names"]:
        out += (',"previous_names":', compact_json(fields["previous_names"]))
    if fields["overlap"] != OverlapPolicy.forbid.value:
        out += (',"overlap":', TEXT(fields["overlap"]))
    out.append("}")
    try:
        return "".join(out).encode()
    except UnicodeEncodeError:  # a lone surrogate: the model's dump refuses it its own way
        raise Declined from None


def _matching(value: object, pattern: Any) -> str:
    if type(value) is not str or not pattern.fullmatch(value):
        raise Declined
    return value


def _plain_value(value: object, depth: int) -> None:
    """Accept text without "${", ints JSON holds, bools, nulls, finite floats, dates and
    naive datetimes, and lists and mappings of them (text keys; below the top, bool and
    int keys too): what the model passes unchanged and this module dumps as it does."""
    kind = type(value)
    if kind is list or kind is dict:
        if depth >= _MAX_DEPTH:
            raise Declined
        if kind is list:
            for item in value:  # type: ignore[attr-defined]
                _plain_value(item, depth + 1)
            return
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is str:
                if "${" in key:
                    raise Declined
            elif depth == 0 or type(key) not in (bool, int) or key not in JSON_INTS:
                raise Declined  # a top-level one is the model's error; others, unusual
            _plain_value(item, depth + 1)
    elif not _plain_leaf(value, kind):
        raise Declined


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
