"""The JSON texts of a job's definition, written by one C encoder each.

``canonical_json``: what a job's definition hash is taken of, ``json.dumps(data,
sort_keys=True)`` byte for byte (every stored job state holds a digest of it: a byte
changed would make every job look edited). ``compact_json``: a spec as pydantic's
``model_dump_json`` writes one (keys in their order, no spaces, text not escaped to ASCII),
for the plain-document fast path (``plainjob``), which builds a job without pydantic.
``json_exact``: whether JSON gives a value back as it was (a compact job keeps its params
only in its JSON then).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

#: ``json.dumps(data, sort_keys=True)``'s encoder made once (``dumps`` makes one per call
#: given an option): what every stored definition hash was computed from, never to change.
CANONICAL = json.JSONEncoder(sort_keys=True)
#: What serde_json (pydantic's writer) makes of str, int, bool, None, lists and dicts.
COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

_MAKE_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)  # not in typeshed


def _c_encoder(like: json.JSONEncoder) -> Callable[[Any, int], Any] | None:
    # ``like.encode`` builds this C encoder anew at each call (a fifth of a job's hash),
    # with a check for circular references that a JSON-mode dump cannot need.
    if _MAKE_C_ENCODER is None:
        return None
    return _MAKE_C_ENCODER(  # type: ignore[no-any-return]
        None,  # markers: no circular check
        like.default,
        json.encoder.encode_basestring_ascii
        if like.ensure_ascii
        else json.encoder.encode_basestring,
        None,  # indent
        like.key_separator,
        like.item_separator,
        like.sort_keys,
        like.skipkeys,
        like.allow_nan,
    )


_C_CANONICAL = _c_encoder(CANONICAL)
_C_COMPACT = _c_encoder(COMPACT)


def canonical_json(data: Any) -> str:
    """``CANONICAL.encode(data)`` for a JSON-mode dump or a value of one (no cycles)."""
    if _C_CANONICAL is None:
        return CANONICAL.encode(data)
    return "".join(_C_CANONICAL(data, 0))


def compact_json(data: Any) -> str:
    """``COMPACT.encode(data)`` for JSON-safe plain values (no cycles)."""
    if _C_COMPACT is None:
        return COMPACT.encode(data)
    return "".join(_C_COMPACT(data, 0))


class Hole(str):
    """A leaf of a ``CanonicalTemplate``'s shape that each text fills in (by its name)."""

    __slots__ = ()


class CanonicalTemplate:
    """``canonical_json`` of dicts of one shape, in which only the ``Hole`` leaves vary:
    the text between them is encoded once (and sorted once), each hole's value per call."""

    def __init__(self, shape: dict[str, Any]) -> None:
        markers: dict[str, str] = {}

        def mark(node: Any) -> Any:
            if isinstance(node, Hole):
                marker = f"\x00{node}\x00"
                markers[_ASCII(marker)] = str(node)
                return marker
            if isinstance(node, dict):
                return {key: mark(value) for key, value in node.items()}
            return node

        text = canonical_json(mark(shape))
        found = re.compile("|".join(re.escape(m) for m in markers))
        self._holes = [markers[m] for m in found.findall(text)]
        # One %-format (in C) puts the holes' texts between the constant pieces.
        self._format = "%s".join(p.replace("%", "%%") for p in found.split(text))

    def fill(self, values: dict[str, Any]) -> str:
        """The canonical JSON of the shape with each hole's value from ``values``."""
        return self._format % tuple([_canonical_value(values[hole]) for hole in self._holes])


def _canonical_value(value: Any) -> str:
    # The commonest values written directly: the encoder's call costs more than they do.
    kind = type(value)
    if kind is str:
        return _ASCII(value)
    if value is None or kind is bool:
        return _CONSTANTS[value]
    if kind is int:
        return int.__repr__(value)
    if not value and (kind is dict or kind is list):
        return "{}" if kind is dict else "[]"
    return canonical_json(value)


_CONSTANTS = {None: "null", True: "true", False: "false"}
_ASCII = json.encoder.encode_basestring_ascii


#: The ints JSON gives back as the same int (what a compact job's JSON may hold).
JSON_INTS = range(-(2**63), 2**63)


def json_exact(value: object) -> bool:
    """JSON gives ``value`` back equal and of the same types (a YAML date would come back
    as text, a big integer or a NaN not at all)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return value in JSON_INTS
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    if kind is list:
        return all(json_exact(v) for v in value)  # type: ignore[attr-defined]
    if kind is dict:
        return all(type(k) is str and json_exact(v) for k, v in value.items())  # type: ignore[attr-defined]
    return False


def json_mode(value: Any) -> Any:
    """A params value of text, numbers, bools, nulls, dates and naive datetimes, keyed by
    text, bools or ints, as pydantic's JSON-mode dump gives it (dates as ISO text, keys as
    text); ValueError if two keys become one text."""
    kind = type(value)
    if kind is date or kind is datetime:
        return value.isoformat()
    if kind is list:
        return [json_mode(item) for item in value]
    if kind is dict:
        out = {_key_text(key): json_mode(item) for key, item in value.items()}
        if len(out) != len(value):
            raise ValueError("keys that are one text")
        return out
    return value


def _key_text(key: str | int) -> str:
    if type(key) is bool:
        return "true" if key else "false"
    return key if type(key) is str else int.__repr__(key)
