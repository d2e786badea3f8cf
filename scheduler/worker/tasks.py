"""The task API: a task declares the pydantic model of its params, and gets a run context.

A job's ``task`` is any importable callable. Decorated with :func:`task`, it declares the
model its ``params`` must satisfy; ``scheduler validate --import-tasks`` then checks every
job's params against it, and the runner calls the task with the validated model instead of
loose keyword arguments::

    class BirthdayParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        dry_run: bool = False
        max_messages: int = Field(10, ge=1)

    @task(params=BirthdayParams)
    def birthday(params: BirthdayParams, run: RunContext) -> dict[str, object]: ...

The task takes one argument (the params) or two (the params and a :class:`RunContext`).
An undecorated callable is called as ``task(**params)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from scheduler.core.envrefs import has_reference
from scheduler.core.errors import TaskParamsError

F = TypeVar("F", bound=Callable[..., Any])

_PARAMS_ATTR = "__scheduler_params__"
_WANTS_CONTEXT_ATTR = "__scheduler_wants_context__"


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """What a task may want to know about the run it is executing.

    ``scheduled_for`` is the instant the run was due (aware, UTC); a task that works "on
    today's date" should use :attr:`local_date`, so a run caught up after midnight still
    works on the day it was scheduled for.
    """

    run_id: str
    job: str
    scheduled_for: datetime
    timezone: str
    trigger: str
    canary: bool = False

    @property
    def local_time(self) -> datetime:
        """``scheduled_for`` in the job's time zone."""
        return self.scheduled_for.astimezone(ZoneInfo(self.timezone))

    @property
    def local_date(self) -> Any:
        """The date, in the job's time zone, the run was scheduled for."""
        return self.local_time.date()


def task(*, params: type[BaseModel]) -> Callable[[F], F]:
    """Declare ``params`` as the model of the decorated task's params.

    Raises TypeError at import time when the function cannot take the params (and
    optionally a :class:`RunContext`) positionally.
    """
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise TypeError(f"task(params=...) needs a pydantic model class, got {params!r}")

    def decorate(fn: F) -> F:
        setattr(fn, _PARAMS_ATTR, params)
        setattr(fn, _WANTS_CONTEXT_ATTR, _positional_arity(fn) >= 2)
        return fn

    return decorate


def params_model(fn: Callable[..., Any]) -> type[BaseModel] | None:
    """The params model ``fn`` declared with :func:`task`, or None for a plain callable."""
    model = getattr(fn, _PARAMS_ATTR, None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def call_task(
    fn: Callable[..., Any], ref: str, params: Mapping[str, Any], context: RunContext
) -> Any:
    """Call ``fn`` (the task ``ref``) for one run: with its validated params model, or as
    ``fn(**params)``.

    Raises TaskParamsError, naming each bad field, when the params do not satisfy the
    declared model.
    """
    model = params_model(fn)
    if model is None:
        return fn(**params)
    try:
        validated = model.model_validate(dict(params))
    except ValidationError as exc:
        raise TaskParamsError(ref, [f"{p}: {m}" for p, m in params_problems(exc)]) from None
    if getattr(fn, _WANTS_CONTEXT_ATTR, False):
        return fn(validated, context)
    return fn(validated)


def _positional_arity(fn: Callable[..., Any]) -> int:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [p for p in signature.parameters.values() if p.kind in kinds]
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    if len(required) > 2:
        names = ", ".join(p.name for p in required[2:])
        raise TypeError(
            f"task {fn.__qualname__} takes (params) or (params, run); it also needs {names}"
        )
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in signature.parameters.values()):
        return 2
    if not positional:
        raise TypeError(f"task {fn.__qualname__} must take its params as the first argument")
    return min(len(positional), 2)


def check_params(model: type[BaseModel], params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Why ``params`` do not satisfy ``model``: (dotted path under ``params``, message) pairs.

    A value that holds an ``${env:...}`` reference is resolved only in the worker, so its
    type cannot be checked here and is not reported.
    """
    try:
        model.model_validate(dict(params))
    except ValidationError as exc:
        return [
            (path, message)
            for (path, message), kind in zip(params_problems(exc), _kinds(exc), strict=True)
            if kind in _NAME_PROBLEMS or not has_reference(_value_at(params, path))
        ]
    return []


# Problems with a param's name, not its value: a reference in the value does not excuse them.
_NAME_PROBLEMS = ("extra_forbidden", "missing")


def _kinds(exc: ValidationError) -> list[str]:
    return [err["type"] for err in exc.errors(include_url=False)]


def _value_at(params: Mapping[str, Any], path: str) -> Any:
    value: Any = params
    for part in path.split(".")[1:]:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def params_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Each error of a params model as (``params.<field>``, user text)."""
    out = []
    for err in exc.errors(include_url=False):
        path = ".".join(["params", *(str(p) for p in err["loc"])])
        kind, ctx = err["type"], err.get("ctx") or {}
        if kind in _BOUNDS:
            op, key = _BOUNDS[kind]
            message = f"must be {op} {ctx.get(key)}"
        elif kind == "missing":
            message = "is required by the task"
        elif kind == "extra_forbidden":
            message = "is not a parameter of this task"
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            message = f"expected a whole number, got {err.get('input')!r}"
        elif kind in ("bool_type", "bool_parsing"):
            message = f"expected true or false, got {err.get('input')!r}"
        else:
            text = str(err.get("msg", kind))
            message = text[:1].lower() + text[1:]
        out.append((path, message))
    return out
