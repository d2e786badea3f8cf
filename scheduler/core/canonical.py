"""The canonical JSON a job's definition hash is taken of: ``json.dumps(data,
sort_keys=True)``, byte for byte (every stored job state holds a digest of it: a byte
changed would make every job look edited)."""

from __future__ import annotations

import json
from typing import Any

#: ``json.dumps(data, sort_keys=True)``'s encoder made once (``dumps`` makes one per call
#: given an option): what every stored definition hash was computed from, never to change.
CANONICAL = json.JSONEncoder(sort_keys=True)

_MAKE_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)  # not in typeshed
# CANONICAL.encode builds this C encoder anew at each call (a fifth of a job's hash), with
# a check for circular references that a JSON-mode dump cannot need.
_C_ENCODER: Any = (
    None
    if _MAKE_C_ENCODER is None
    else _MAKE_C_ENCODER(
        None,  # markers: no circular check
        CANONICAL.default,
        json.encoder.encode_basestring_ascii,  # ensure_ascii, as CANONICAL
        None,  # indent
        CANONICAL.key_separator,
        CANONICAL.item_separator,
        True,  # sort_keys
        CANONICAL.skipkeys,
        CANONICAL.allow_nan,
    )
)


def canonical_json(data: dict[str, Any]) -> str:
    """``CANONICAL.encode(data)`` for a JSON-mode dump (no cycles)."""
    if _C_ENCODER is None:
        return CANONICAL.encode(data)
    return "".join(_C_ENCODER(data, 0))
