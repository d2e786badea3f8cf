"""Defaults files: settings shared by every job in a folder, merged under each job.

A ``_defaults.yaml`` (or ``_defaults.yml``) in ``jobs.d/`` or any sub-folder holds a partial
job document. It applies to the job files in its folder and below; a deeper file's
settings win over a shallower one's, and a job's own settings win over both::

    timezone: Europe/Paris   # shorthand for schedule.timezone
    queue: bots
    params:
      dry_run: true          # merged key by key under each job's params

Mappings merge key by key; any other value (a list, a number) is replaced whole. Settings
that identify a job or say when it runs (name, task, description, previous_names, the
schedule kind and its window) cannot be defaults. A defaults file with an error rejects
the job files under it, so a typo never silently changes when or how jobs run.

Pure: text in, data and located problems out; ``DefaultsTree`` is given the files' text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any

from scheduler.config.messages import (
    describe_value,
    keyword_name_problems,
    problems_from_validation,
)
from scheduler.config.yamlsource import Document, parse_documents
from scheduler.core.errors import JobFileError
from scheduler.core.modelrefs import job_spec, validation_error

DEFAULTS_NAMES = ("_defaults.yaml", "_defaults.yml")
#: Top-level shorthands for schedule settings.
SCHEDULE_SHORTHANDS = ("timezone", "jitter")
_NOT_DEFAULTS = ("name", "task", "description", "previous_names")
_SCHEDULE_DEFAULTS = ("timezone", "jitter")
# A stand-in job the defaults are merged under, so they are checked by the job model itself.
_PROBE: dict[str, Any] = {
    "name": "defaults",
    "task": "defaults:probe",
    "schedule": {"at": "2100-01-01T00:00:00"},
}


def is_defaults_file(name: str) -> bool:
    return name in DEFAULTS_NAMES


@dataclass(frozen=True)
class Defaults:
    """The merged defaults that apply to one job file, and the files they came from."""

    data: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    #: Set when a defaults file on the way is invalid: the job file is then rejected.
    broken: str | None = None

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(
            repr((sorted(self.files), _canonical(self.data))).encode()
        ).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return sorted((str(k), _canonical(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return repr(value)


@dataclass
class DefaultsFile:
    """One parsed defaults file: its settings (job-document shape) and its problems."""

    file: str
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[JobFileError] = field(default_factory=list)


def parse_defaults(text: str, source: str) -> DefaultsFile:
    """Parse and check a defaults file's text."""
    result = DefaultsFile(source)
    documents, syntax = parse_documents(text, source)
    result.errors.extend(syntax)
    docs = [d for d in documents if d.data is not None]
    if syntax or not docs:
        return result
    if len(docs) > 1:
        extra = docs[1]
        result.errors.append(
            JobFileError(source, extra.line, extra.column, "", "a defaults file holds one document")
        )
        return result
    doc = docs[0]
    if not isinstance(doc.data, dict):
        message = f"defaults must be a mapping of job fields, got {describe_value(doc.data)}"
        result.errors.append(JobFileError(source, doc.line, doc.column, "", message))
        return result
    result.errors.extend(_not_defaultable(doc, source))
    result.errors.extend(keyword_name_problems(doc, source))
    if result.errors:
        return result
    data = normalise(doc.data)
    try:
        job_spec().model_validate(merge(data, _PROBE))
    except validation_error() as exc:
        result.errors.extend(_relocate(problems_from_validation(exc, _as_job(doc), source), doc))
        return result
    result.data = data
    return result


def _not_defaultable(doc: Document, source: str) -> list[JobFileError]:
    out = []
    for key in doc.data:
        if key in _NOT_DEFAULTS:
            line, col = doc.key_position((key,))
            out.append(
                JobFileError(
                    source, line, col, str(key), f"{key!r} belongs to each job, not to defaults"
                )
            )
    schedule = doc.data.get("schedule")
    if isinstance(schedule, dict):
        for key in SCHEDULE_SHORTHANDS:
            if key in schedule and key in doc.data:
                line, col = doc.key_position(("schedule", key))
                message = f"{key} is given twice (also at the top level); keep one"
                out.append(JobFileError(source, line, col, f"schedule.{key}", message))
        for key in schedule:
            if key not in _SCHEDULE_DEFAULTS:
                line, col = doc.key_position(("schedule", key))
                out.append(
                    JobFileError(
                        source,
                        line,
                        col,
                        f"schedule.{key}",
                        f"schedule.{key} cannot be a default (only timezone and jitter can)",
                    )
                )
    elif schedule is not None:
        line, col = doc.value_position(("schedule",))
        out.append(
            JobFileError(source, line, col, "schedule", "expected a mapping (timezone, jitter)")
        )
    return out


def normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults in job-document shape: the ``timezone``/``jitter`` shorthands moved to schedule."""
    out = {k: v for k, v in data.items() if k not in SCHEDULE_SHORTHANDS}
    moved = {k: data[k] for k in SCHEDULE_SHORTHANDS if k in data}
    if moved:
        out["schedule"] = {**moved, **dict(out.get("schedule") or {})}
    return out


def _as_job(doc: Document) -> Document:
    """The document with shorthand positions also filed under ``schedule`` (for errors)."""
    values = dict(doc.values)
    keys = dict(doc.keys)
    for name in SCHEDULE_SHORTHANDS:
        if (name,) in doc.values:
            values[("schedule", name)] = doc.values[(name,)]
            keys[("schedule", name)] = doc.keys.get((name,), doc.values[(name,)])
    return Document(doc.data, doc.index, doc.line, doc.column, values, keys)


def _relocate(errors: list[JobFileError], doc: Document) -> list[JobFileError]:
    # The probe's own fields are never wrong; a path the user wrote as a shorthand is
    # reported as written.
    out = []
    for e in errors:
        path = e.path
        for name in SCHEDULE_SHORTHANDS:
            if path == f"schedule.{name}" and (name,) in doc.values:
                path = name
        out.append(JobFileError(e.file, e.line, e.column, path, e.message))
    return out


def merge(defaults: Mapping[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    """``job`` over ``defaults``: mappings merge key by key, anything else is replaced."""
    out = dict(defaults)
    for key, value in job.items():
        below = out.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            out[key] = merge(below, value)
        else:
            out[key] = value
    return out


class DefaultsTree:
    """The defaults files of one jobs directory, by folder (relative POSIX paths)."""

    def __init__(self) -> None:
        self._by_folder: dict[str, DefaultsFile] = {}
        # A load asks once per job file; every file of a folder gets the same answer.
        self._resolved: dict[str, Defaults] = {}

    def set(self, folder: str, parsed: DefaultsFile) -> None:
        self._by_folder[_folder_key(folder)] = parsed
        self._resolved.clear()

    def clear(self) -> None:
        self._by_folder.clear()
        self._resolved.clear()

    @property
    def empty(self) -> bool:
        return not self._by_folder

    @property
    def files(self) -> list[DefaultsFile]:
        return [self._by_folder[k] for k in sorted(self._by_folder)]

    def for_file(self, relative: str) -> Defaults:
        """The defaults for the job file at ``relative`` (to the jobs directory)."""
        folder = PurePosixPath(relative).parent.as_posix()
        known = self._resolved.get(folder)
        if known is None:
            known = self._resolved[folder] = self._resolve(folder)
        return known

    def _resolve(self, folder: str) -> Defaults:
        parts = PurePosixPath(folder).parts
        merged: dict[str, Any] = {}
        files: list[str] = []
        for depth in range(len(parts) + 1):
            found = self._by_folder.get(_folder_key("/".join(parts[:depth])))
            if found is None:
                continue
            if found.errors:
                return Defaults(files=(*files, found.file), broken=found.file)
            merged = merge(merged, found.data)
            files.append(found.file)
        return Defaults(merged, tuple(files))


def _folder_key(folder: str) -> str:
    return "/".join(p for p in PurePosixPath(folder).parts if p not in ("", "."))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a defaults file (what ``schemas/defaults.schema.json`` holds)."""
    from scheduler.core.models import json_schema as job_schema

    job = job_schema()
    schedule_fields = job["$defs"]["ScheduleSpec"]["properties"]
    shared = {name: schedule_fields[name] for name in _SCHEDULE_DEFAULTS}
    properties = {k: v for k, v in job["properties"].items() if k not in _NOT_DEFAULTS}
    properties["schedule"] = {"type": "object", "additionalProperties": False, "properties": shared}
    return {
        "$schema": job["$schema"],
        "$id": job["$id"].replace("job.schema.json", "defaults.schema.json"),
        "title": "Job defaults (_defaults.yaml)",
        "type": "object",
        "additionalProperties": False,
        "properties": {**shared, **properties},
        "$defs": job["$defs"],
    }
