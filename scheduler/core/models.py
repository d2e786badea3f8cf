"""The job file's data model (pydantic v2): what a YAML job may say, and nothing else.

:class:`JobSpec` is one job document. Its parts live beside it: ``schedulespec`` (the
``schedule:`` mapping and its field checks), ``policyspecs`` (misfire, dst, retries,
on_failure) and ``specbase`` (the strict base, the error a check raises, durations).
Their names are re-exported here, where importers have always found them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
    model_validator,
)

from scheduler.core.cronexpr import parse_cron
from scheduler.core.envrefs import reference_problems, strings
from scheduler.core.fieldchecks import (
    MAX_YEAR,
    MIN_YEAR,
    NAME_PATTERN,
    QUEUE_PATTERN,
    TASK_PATTERN,
    TIME_PATTERN,
    Weekday,
    known_timezone,
    name_problem,
    queue_problem,
    task_problem,
)
from scheduler.core.policies import OverlapPolicy
from scheduler.core.policyspecs import (
    DstSpec,
    HistorySpec,
    MisfireSpec,
    OnFailureSpec,
    RetriesSpec,
)
from scheduler.core.schedulespec import (
    LOCAL_DATETIME_PATTERN,
    SCHEDULE_KINDS,
    ScheduleSpec,
    WeeklySpec,
)
from scheduler.core.specbase import DURATION_PATTERN, DurationText, StrictSpec, fail

__all__ = [
    "DURATION_PATTERN",
    "LOCAL_DATETIME_PATTERN",
    "MAX_YEAR",
    "MIN_YEAR",
    "NAME_PATTERN",
    "QUEUE_PATTERN",
    "SCHEDULE_KINDS",
    "TASK_PATTERN",
    "TIME_PATTERN",
    "DstSpec",
    "HistorySpec",
    "JobSpec",
    "MisfireSpec",
    "OnFailureSpec",
    "RetriesSpec",
    "ScheduleSpec",
    "Weekday",
    "WeeklySpec",
    "field_names",
    "json_schema",
    "known_timezone",
    "model_at",
]


def _check_name(value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise fail(*problem)
    return value


def _check_task(value: str) -> str:
    problem = task_problem(value)
    if problem is not None:
        raise fail(*problem)
    return value


def _check_queue(value: str) -> str:
    problem = queue_problem(value)
    if problem is not None:
        raise fail(*problem)
    return value


# Each check matches its pattern first; no Field(pattern=...) beside it: placed after a
# validator, pydantic checks it again through a Python wrapper (a call per name, task and
# queue of every job read), and leaves it out of the JSON Schema anyway.
Name = Annotated[StrictStr, AfterValidator(_check_name)]
TaskRef = Annotated[StrictStr, AfterValidator(_check_task)]
QueueName = Annotated[StrictStr, AfterValidator(_check_queue)]


#: Frozen, so one for every job without a ``misfire:`` (most): a model built per job cost
#: as much as validating its name and task.
_DEFAULT_MISFIRE = MisfireSpec()


class JobSpec(StrictSpec):
    """One scheduled job, as written in a YAML document under jobs.d/."""

    name: Name = Field(description="Unique across jobs.d; lower-case, digits, '.', '_', '-'.")
    description: StrictStr | None = Field(default=None, max_length=2000)
    task: TaskRef = Field(description="What to run: 'package.module:function'.")
    queue: QueueName = Field(default="default", description="The RQ queue to enqueue into.")
    params: dict[StrictStr, Any] = Field(
        default_factory=dict, description="Keyword arguments for the task."
    )
    schedule: ScheduleSpec
    enabled: StrictBool = Field(default=True, description="false: never dispatched.")
    canary: Annotated[int, Field(ge=0, le=1000, strict=True)] = Field(
        default=0,
        description="After the job is added or its definition changes, its first N runs "
        "run with dry_run: true forced, marked canary in history; then it goes live.",
    )
    previous_names: Annotated[list[Name], Field(max_length=50)] = Field(
        default_factory=list,
        description="Names this job had before: its history and state carry over on rename.",
    )
    misfire: MisfireSpec = Field(default_factory=lambda: _DEFAULT_MISFIRE)
    overlap: OverlapPolicy = Field(
        default=OverlapPolicy.forbid,
        description="A run due while the previous one is queued or running: allow, forbid "
        "(default: record it skipped), replace (cancel the previous one), queue_one.",
    )
    dst: DstSpec | None = Field(
        default=None,
        description="Fixed-time schedules only: override the Debian-cron DST rule.",
    )
    retries: RetriesSpec | None = None
    timeout: DurationText | None = Field(
        default=None, description="Kill a run after this long (recorded failed, reason timeout)."
    )
    result_ttl: DurationText | None = Field(
        default=None, description="How long RQ keeps a succeeded run's result (default 500s)."
    )
    failure_ttl: DurationText | None = Field(
        default=None, description="How long RQ keeps a failed run (default 1 year)."
    )
    on_failure: OnFailureSpec | None = None
    history: HistorySpec | None = Field(
        default=None,
        description="How long this job's runs stay in the records (retention).",
    )

    @model_validator(mode="after")
    def _dst_needs_fixed_time(self) -> JobSpec:
        if self.dst is None:
            return self
        sched = self.schedule
        # `at` is fixed-time too (a one-shot: its one run is not moved by dst), which also
        # lets a defaults file set dst (defaults are checked under a stand-in `at` job).
        fixed = sched.daily is not None or sched.weekly is not None or sched.at is not None
        if sched.cron is not None:
            fixed = parse_cron(sched.cron).fixed_time
        if not fixed:
            raise fail(
                "dst_not_fixed_time",
                "dst applies only to fixed-time schedules (daily, weekly, at, or a cron whose "
                "minute and hour do not begin with '*'); this one follows elapsed time",
                "dst",
            )
        return self

    @field_validator("params")
    @classmethod
    def _references_well_formed(cls, params: dict[str, Any]) -> dict[str, Any]:
        # Most params hold no "${" at all: their repr (text in C, where every string
        # shows its "${" as written) says so without a walk building each value's path.
        if "${" not in repr(params):
            return params
        for path, text in strings(params, ""):
            problems = reference_problems(text)
            if problems:
                raise fail("env_reference", problems[0], path.lstrip("."))
        return params


def field_names(model: type[BaseModel]) -> list[str]:
    """The field names a mapping at that place may use (for did-you-mean hints)."""
    return list(model.model_fields)


def model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model that owns the mapping at ``loc`` (relative to a job document)."""
    nested: dict[str, type[BaseModel]] = {
        "schedule": ScheduleSpec,
        "weekly": WeeklySpec,
        "misfire": MisfireSpec,
        "dst": DstSpec,
        "retries": RetriesSpec,
        "on_failure": OnFailureSpec,
        "history": HistorySpec,
    }
    model: type[BaseModel] = JobSpec
    for part in loc:
        if str(part) not in model.model_fields or str(part) not in nested:
            return None
        model = nested[str(part)]
    return model


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a job document (what ``schemas/job.schema.json`` holds)."""
    schema = _drop_nulls(JobSpec.model_json_schema())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/scheduler/scheduler/schemas/job.schema.json",
        "title": "Scheduled job",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def _drop_nulls(node: Any) -> Any:
    # Optional fields read "absent" in YAML, not "null": show editors the real type only.
    if isinstance(node, dict):
        any_of = node.get("anyOf")
        if isinstance(any_of, list) and {"type": "null"} in any_of:
            rest = [alt for alt in any_of if alt != {"type": "null"}]
            node = {k: v for k, v in node.items() if k != "anyOf"}
            if node.get("default", 0) is None:
                del node["default"]
            node = {**rest[0], **node} if len(rest) == 1 else {"anyOf": rest, **node}
        return {k: _drop_nulls(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_drop_nulls(v) for v in node]
    return node
