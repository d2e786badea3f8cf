"""The job model's classes (pydantic), each imported on its first use, then held.

Importing pydantic and building the models is most of a ``scheduler next`` (issue 13); a
job built without them never pays for it. Where a spec is built, read or dumped, the
class is asked for here: an import statement in the function would cost 1-2 us a call
(pydantic is a package, its names found through its ``__getattr__``), paid by every
document of a cold start; a held class costs a cached call.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import PydanticSerializationError

    from scheduler.core.models import JobSpec
    from scheduler.core.schedule import Schedule


@cache
def job_spec() -> type[JobSpec]:
    """The job model (``models.JobSpec``)."""
    from scheduler.core.models import JobSpec

    return JobSpec


@cache
def validation_error() -> type[ValidationError]:
    """What the model raises for a document it rejects."""
    from pydantic import ValidationError

    return ValidationError


@cache
def serialization_error() -> type[PydanticSerializationError]:
    """What a spec's dump raises for a value JSON cannot hold."""
    from pydantic_core import PydanticSerializationError

    return PydanticSerializationError


@cache
def schedule_builder() -> Callable[[JobSpec], Schedule]:
    """``jobschedule.build_schedule``: a spec's runnable schedule (it reads the model)."""
    from scheduler.core.jobschedule import build_schedule

    return build_schedule
