"""Instances of immutable slotted classes restored from their slots' values without a
constructor: the job cache unpickles 100,000 jobs of 19 slots.

An immutable class refuses ``obj.field = value``, so each slot was set through its
descriptor (``__set__``, a call each): a third of the cache's load. A restorer stores into
the slots of an instance of a subclass with no slots of its own and the default
``__setattr__`` (plain stores, which the interpreter specialises), then gives it the class
itself (one layout: ``__class__`` may be swapped). No instance of the class is ever
mutable. The stores are one generated statement, as ``dataclasses`` generates ``__init__``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")


def slot_restorer(cls: type[_T]) -> Callable[[tuple[Any, ...]], _T]:
    """A function of the values of ``cls.__slots__``, a tuple in that order, returning the
    ``cls`` that holds them (a tuple of another length: ValueError)."""
    names: tuple[str, ...] = cls.__slots__  # type: ignore[attr-defined]
    building = type(
        f"_Restoring{cls.__name__}", (cls,), {"__slots__": (), "__setattr__": object.__setattr__}
    )
    source = (
        "def restore(state):\n"
        "    made = new(building)\n"
        f"    {''.join(f'made.{name}, ' for name in names)}= state\n"
        "    set_attr(made, '__class__', cls)\n"
        "    return made\n"
    )
    scope: dict[str, Any] = {
        "new": object.__new__,
        "building": building,
        "set_attr": object.__setattr__,
        "cls": cls,
    }
    exec(source, scope)  # the class's own slot names only: nothing read from outside
    restore: Callable[[tuple[Any, ...]], _T] = scope["restore"]
    return restore
