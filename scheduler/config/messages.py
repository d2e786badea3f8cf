"""One table from validation errors to the words a job author reads, and where to point.

Every pydantic error is kept (``validate`` lists them all). The ``loc`` tuple becomes the
dotted ``path`` and, through the YAML positions, a line and column.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from scheduler.config.yamlsource import Document, Loc, format_loc
from scheduler.core.errors import JobFileError

# Only a rejected document needs the model: a valid load imports these modules without
# pydantic (issue 13: `next` on plain jobs never imports it).
if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails


def describe_value(value: object) -> str:
    """The YAML word for what a value is: 'a number', 'a list', ..."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime):
        return f"the date-time {value.isoformat()}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    return type(value).__name__


def _text_for(err: ErrorDetails, loc: Loc) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    field = loc[-1] if loc else ""
    if "reason" in ctx:
        return str(ctx["reason"])
    if kind == "missing":
        return f"required field {field!r} is missing"
    if kind == "extra_forbidden":
        from scheduler.core.models import model_at

        allowed = model_at(loc[:-1])
        hint = ""
        if allowed is not None:
            import difflib  # only for an error: not on the path of every valid load

            close = difflib.get_close_matches(
                str(field), list(allowed.model_fields), n=1, cutoff=0.6
            )
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f" (allowed: {', '.join(allowed.model_fields)})"
            )
        return f"unknown field {field!r}{hint}"
    if kind == "string_type":
        quote = f' (quote it: "{value}")' if isinstance(value, int | float | date) else ""
        if isinstance(value, bool):  # written yes/on/off..., never as Python spells it
            quote = " (quote it: YAML reads unquoted yes, no, on, off, true and false as booleans)"
        return f"expected text, got {describe_value(value)}{quote}"
    if kind == "bool_type":
        return f"expected true or false, got {describe_value(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping (key: value lines), got {describe_value(value)}"
    if kind == "list_type":
        return f"expected a list, got {describe_value(value)}"
    if kind in ("too_short",):
        return f"needs at least {ctx.get('min_length', 1)} item(s)"
    if kind in ("too_long",):
        return f"has more than {ctx.get('max_length')} items"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    return _choice_or_number_text(kind, ctx, value) or str(err.get("msg", kind))


def _choice_or_number_text(kind: str, ctx: dict[str, object], value: object) -> str | None:
    """Words for a choice, a number or a date-time the field did not accept."""
    if kind == "enum":
        return f"expected one of {ctx.get('expected', '')}, got {describe_value(value)}"
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = ctx.get("ge", ctx.get("le"))
        word = "at least" if kind == "greater_than_equal" else "at most"
        return f"must be {word} {bound}, got {describe_value(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float", "float_type", "float_parsing"):
        return f"expected a number, got {describe_value(value)}"
    if kind.startswith(("datetime_", "date_")):
        return (
            f"expected an ISO-8601 date-time such as 2026-12-24T18:00:00, "
            f"got {describe_value(value)}"
        )
    return None


def keyword_name_problems(doc: Document, source: str) -> list[JobFileError]:
    """Each ``params`` key that YAML read as a number, boolean, null or date, located.

    The task gets its params as keyword arguments, and keyword names are strings: ``1: one``
    would reach it as ``"1"`` and ``on: x`` as ``"True"``, or fail when it is called.
    """
    out = []
    for loc, (value, written) in doc.typed_keys.items():
        if len(loc) == 2 and loc[0] == "params":
            line, column = doc.key_position(loc)
            quote = f' (quote it: "{written}")' if written else ""
            message = f"keyword names must be strings, got {describe_value(value)}{quote}"
            path = format_loc((*loc[:-1], written or loc[-1]))  # as written: 'on', not 'True'
            out.append(JobFileError(source, line, column, path, message))
    return out


def problems_from_validation(
    exc: ValidationError, doc: Document, source: str
) -> list[JobFileError]:
    """Every error in ``exc`` as a located JobFileError, in document order."""
    out: list[JobFileError] = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        if "field" in ctx:
            # A nested field is dotted ("headers.token", "targets.0"); list items are ints.
            parts = str(ctx["field"]).split(".")
            loc = (*loc, *(int(p) if p.isdigit() else p for p in parts))
        if err["type"] == "missing":
            parent = loc[:-1]
            line, column = doc.key_position(parent) if parent else (doc.line, doc.column)
        elif err["type"] == "extra_forbidden":
            line, column = doc.key_position(loc)
        else:
            line, column = doc.value_position(loc)
        out.append(JobFileError(source, line, column, format_loc(loc), _text_for(err, loc)))
    out.sort(key=lambda p: (p.line, p.column))
    return out
