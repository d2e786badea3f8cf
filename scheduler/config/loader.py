"""Job documents to validated jobs: pure (text in, jobs and located problems out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from scheduler.config.defaults import Defaults, merge
from scheduler.config.fastyaml import fast_documents
from scheduler.config.messages import (
    describe_value,
    keyword_name_problems,
    problems_from_validation,
)
from scheduler.config.project import TaskRules
from scheduler.config.yamlsource import Document, Loc, format_loc, parse_documents
from scheduler.core.catalog import FileResult
from scheduler.core.cronexpr import parse_cron
from scheduler.core.errors import JobFileError, JobFileWarning
from scheduler.core.job import LoadedJob, Place, from_plain
from scheduler.core.modelrefs import job_spec, validation_error
from scheduler.core.plainjob import plain_job

if TYPE_CHECKING:
    from scheduler.core.models import ScheduleSpec


@dataclass(frozen=True)
class FileContext:
    """What applies to a job file besides its text: its folder's defaults, the task rules."""

    defaults: Defaults = field(default_factory=Defaults)
    rules: TaskRules = field(default_factory=TaskRules)


def parse_job_documents(
    text: str,
    source: str,
    now: datetime | None = None,
    *,
    positions: bool = True,
    context: FileContext | None = None,
) -> FileResult:
    """Parse and validate every job document in ``text`` (the contents of file ``source``).

    ``now`` (aware) enables the warnings that depend on the date, such as a one-shot
    ``at`` in the past; without it the result depends on the text alone. ``positions``
    keeps every field's line and column on the jobs (for the linter); the watcher, which
    holds every job in memory for good, does without. ``context`` gives the defaults
    merged under each job and the task rules (default: none, and "not the stdlib").
    """
    context = context or FileContext()
    fast = fast_documents(text, positions=positions)
    if fast is not None:
        result = _from_documents(fast, [], source, now, positions, context)
        if result.ok:
            return result
    # Read again event by event: that path locates every problem (see fastyaml).
    documents, syntax_errors = parse_documents(text, source)
    return _from_documents(documents, syntax_errors, source, now, positions, context)


def _from_documents(
    documents: list[Document],
    syntax_errors: list[JobFileError],
    source: str,
    now: datetime | None,
    positions: bool,
    context: FileContext,
) -> FileResult:
    result = FileResult(file=source)
    if context.defaults.broken is not None:
        message = f"the defaults file {context.defaults.broken} is invalid; fix it first"
        result.errors.append(JobFileError(source, 1, 1, "", message))
    for doc in documents:
        if doc.data is None:
            continue  # an empty document, such as a trailing '---'
        _validate_document(doc, source, now, result, positions, context)
    result.errors.extend(syntax_errors)
    if context.defaults.broken is not None:
        result.jobs.clear()  # checked without their defaults: not what the file means
    if all(doc.data is None for doc in documents) and not syntax_errors:
        result.warnings.append(JobFileWarning(source, 1, 1, "", "file holds no job"))
    return result


def _validate_document(
    doc: Document,
    source: str,
    now: datetime | None,
    result: FileResult,
    positions: bool,
    context: FileContext,
) -> None:
    if isinstance(doc.data, dict) and isinstance(doc.data.get("name"), str):
        result.declared.setdefault(doc.data["name"], doc.value_position(("name",))[0])
    if not isinstance(doc.data, dict):
        result.errors.append(
            JobFileError(
                source,
                doc.line,
                doc.column,
                "",
                f"a job must be a mapping of fields (name, task, schedule, ...), "
                f"got {describe_value(doc.data)}",
            )
        )
        return
    data = merge(context.defaults.data, doc.data) if context.defaults.data else doc.data
    key_errors = keyword_name_problems(doc, source)
    # A plain document becomes its compact job without the model (core.plainjob), unless
    # dated warnings are asked for: validate and plan then read every job's spec whole
    # (lint, diff), which a compact job would rebuild from its JSON, so the model's is kept.
    plain = None if key_errors or now is not None else plain_job(data)
    if plain is None:
        try:
            spec = job_spec().model_validate(data)
        except validation_error() as exc:
            found = key_errors + problems_from_validation(exc, doc, source)
            result.errors.extend(sorted(found, key=lambda p: (p.line, p.column)))
            return
        if key_errors:
            result.errors.extend(key_errors)
            return
    refused = context.rules.problem(spec.task if plain is None else plain.task)
    if refused is not None:
        line, column = doc.value_position(("task",))
        result.errors.append(JobFileError(source, line, column, "task", refused))
        return
    place: Place = (
        source,
        doc.line,
        doc.column,
        doc.index,
        doc.value_position(("name",))[0],
        context.defaults.files,
        _dotted(doc.values) if positions else {},
    )
    job = LoadedJob(spec, *place) if plain is None else from_plain(plain, place)
    if now is not None:
        result.warnings.extend(_dated_warnings(job, doc, now))
    result.jobs.append(job)


def _dotted(values: dict[Loc, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Positions by dotted path; the paths of a big jobs.d recur (``schedule.cron``), so
    each is written once and looked up after."""
    texts = _DOTTED
    out = {}
    for loc, pos in values.items():
        if loc:
            text = texts.get(loc)
            if text is None:
                text = format_loc(loc)
                if len(texts) < 4096:
                    texts[loc] = text
            out[text] = pos
    return out


_DOTTED: dict[Loc, str] = {}


def _dated_warnings(job: LoadedJob, doc: Document, now: datetime) -> list[JobFileWarning]:
    sched = job.spec.schedule
    out = []
    if sched.at is not None and sched.aware(sched.at) <= now:
        line, col = doc.value_position(("schedule", "at"))
        out.append(
            JobFileWarning(
                job.file,
                line,
                col,
                "schedule.at",
                f"{sched.at.isoformat()} is in the past; this one-shot job will not run",
            )
        )
    elif sched.end is not None and sched.aware(sched.end) <= now:
        line, col = doc.value_position(("schedule", "end"))
        out.append(
            JobFileWarning(
                job.file,
                line,
                col,
                "schedule.end",
                f"the window ended at {sched.end.isoformat()}; this job will not run again",
            )
        )
    elif _may_have_no_future_run(sched) and job.schedule.next_after(now) is None:
        line, col = doc.value_position(("schedule",))
        out.append(
            JobFileWarning(job.file, line, col, "schedule", "this schedule has no future run")
        )
    return out


def _may_have_no_future_run(sched: ScheduleSpec) -> bool:
    # Daily, weekly and interval schedules recur for ever without an end, and so does a
    # cron read as a day's table (set times on set weekdays: runs every week); asking them
    # for their next instant (the costliest part of validate at scale) could only say so.
    if sched.end is not None or sched.at is not None:
        return True
    return sched.cron is not None and parse_cron(sched.cron).daily is None
