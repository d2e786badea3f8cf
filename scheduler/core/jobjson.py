"""A compact job's fields read off its JSON, no spec rebuilt (pure).

A compact job keeps its spec as the model's JSON with defaults left out (``LoadedJob``):
what the watcher reads on every run (task, params, zone) and whether a field is set at
all come from that text, so a watcher of plain jobs never imports the model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, cast


#: Compact jobs' JSON read lately: a burst reads the same few thousand (never changed by a
#: reader: copies are taken).
@lru_cache(maxsize=4096)
def json_fields(data: bytes) -> Mapping[str, Any]:
    """The spec's fields, as its JSON holds them (defaults left out)."""
    return cast(Mapping[str, Any], json.loads(data))


@lru_cache(maxsize=4096)
def json_schedule(data: bytes) -> Mapping[str, Any]:
    """The spec's ``schedule:`` fields (defaults left out)."""
    return cast(Mapping[str, Any], json_fields(data)["schedule"])


def leaves_out(data: bytes, fields: Iterable[str]) -> bool:
    """None of ``fields`` is a key of the spec's JSON ``data``: each takes its default.

    Conservative: a field's name written anywhere else in the text (a param's key or
    value) reads as set, and sends the caller to the spec.
    """
    return not any(f'"{field}"'.encode() in data for field in fields)
