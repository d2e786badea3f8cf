"""What every part of the job file's model shares: the strict base, the error a field
check raises, and the duration type (pydantic v2).

Field-level checks raise ``PydanticCustomError`` with a stable type and a finished
message; ``config/messages.py`` turns every error into user text and a dotted path. A
check that needs two fields names the field to blame in ``ctx["field"]``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema
from pydantic_core import PydanticCustomError

from scheduler.core.durations import DurationSyntaxError, parse_duration

DURATION_PATTERN = r"^\s*(\d+\s*[ywdhms]\s*)+$"


def fail(code: str, message: str, field: str | None = None) -> PydanticCustomError:
    """A validation error whose message is already final (pydantic formats ``{name}`` only)."""
    ctx: dict[str, Any] = {"reason": message}
    if field is not None:
        ctx["field"] = field
    return PydanticCustomError(code, "{reason}", ctx)


def _check_duration(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise fail("duration_type", "expected a duration such as 30s, 15m or 1h30m")
    try:
        parse_duration(str(value))
    except DurationSyntaxError as exc:
        raise fail("duration_syntax", str(exc)) from exc
    return str(value).strip()


DurationText = Annotated[
    str,
    BeforeValidator(_check_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration such as 30s, 15m, 2h, 1d or 1h30m.",
        }
    ),
]


class StrictSpec(BaseModel):
    """The base of every part of a job document: frozen, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)
