"""The text of new job files: the commented example of ``scheduler init`` and the file
``scheduler new`` writes from its options.

Pure: these functions return text and never touch the disk; the commands in
``scheduler.cli.commands.scaffold`` validate that text with the loader and write it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import yaml

EXAMPLE_NAME = "example"
SCHEMA_FILE = PurePath("schemas", "job.schema.json")

#: Which command-line option produced each field of a ``new`` job (for error messages).
OPTION_FOR_FIELD = {
    "name": "NAME",
    "description": "--description",
    "task": "--task",
    "queue": "--queue",
    "params": "--param",
    "schedule.cron": "--cron",
    "schedule.interval": "--interval",
    "schedule.daily": "--daily",
    "schedule.timezone": "--timezone",
    "schedule": "--cron/--interval/--daily",
}

# Strings written without quotes when they also read back unchanged; anything else is
# double-quoted (a JSON string is a valid YAML double-quoted scalar).
_PLAIN = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./:+ -]*")
# Characters YAML does not take raw in a quoted scalar (C1 controls, DEL, surrogates) or
# reads as line breaks (NEL, LS, PS); JSON leaves them raw, so they are escaped as \uXXXX.
_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")

_EXAMPLE = """\
{schema}#
# A job file: one job (or several, separated by ---). Every *.yaml / *.yml file under this
# folder and its sub-folders is read; `scheduler validate` checks them all, and
# `scheduler next {name}` shows when this one would run.
#
# This example is disabled: point `task` at a function of yours, then set `enabled: true`
# (or copy it, or write a new job with `scheduler new NAME --cron "..." --task mod:func`).

# Unique across the folder: lower-case letters, digits, '.', '_' and '-'.
name: {name}
description: An example job; copy this file to start a new one
# What to run: "package.module:function", imported by the worker that runs it.
task: myapp.tasks:send_report
# The RQ queue to enqueue into; `scheduler worker default` serves this one.
queue: default
# Keyword arguments for the task.
params:
  dry_run: true
schedule:
  # Exactly one of these five kinds:
  #   cron: "0 9 * * mon-fri"       5 fields, or 6 with seconds last; @hourly, @daily, ...
  #   interval: 15m                 every 30s, 15m, 2h, 1d, 1h30m ... of real time
  #   daily: "09:00"                a local time of day, or a list: ["09:00", "18:00"]
  #   weekly: {{days: [mon, thu], at: "10:00"}}
  #   at: "2026-12-24T18:00"        once, at this local time
  cron: "0 9 * * mon-fri"
  # The IANA time zone the local times above are read in (default UTC).
  timezone: Europe/Paris
  # Optional: a stable per-job delay in [0, jitter), so jobs due together spread out.
  # jitter: 30s
# false: the watcher never dispatches it.
enabled: false
"""


@dataclass(frozen=True, kw_only=True)
class NewJob:
    """What ``scheduler new`` was asked for. Exactly one schedule kind should be set;
    the loader, not this class, reports a job that breaks the rules."""

    name: str
    task: str
    cron: str | None = None
    interval: str | None = None
    daily: tuple[str, ...] = ()
    timezone: str | None = None
    queue: str | None = None
    description: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True


def option_for(path: str) -> str:
    """The ``new`` option behind the field at ``path`` (``schedule.daily[1]``), or ""."""
    parts = re.split(r"[.\[]", path)
    while parts:
        found = OPTION_FOR_FIELD.get(".".join(parts))
        if found:
            return found
        parts.pop()
    return ""


def schema_reference(job_dir: Path, schema_file: Path) -> str:
    """The ``$schema`` value for a file in ``job_dir``: ``schema_file`` relative to it,
    with forward slashes (yaml-language-server reads it relative to the job file)."""
    return Path(os.path.relpath(schema_file, job_dir)).as_posix()


def schema_line(reference: str | None) -> str:
    """The yaml-language-server modeline naming the schema, or nothing without one."""
    return f"# yaml-language-server: $schema={reference}\n" if reference else ""


def example_job(schema_ref: str | None) -> str:
    """The commented, disabled example job that ``scheduler init`` writes."""
    return _EXAMPLE.format(schema=schema_line(schema_ref), name=EXAMPLE_NAME)


def job_text(job: NewJob, schema_ref: str | None) -> str:
    """The YAML of one job file for ``job``: fields in the order the README shows them."""
    lines = [f"name: {scalar(job.name)}"]
    if job.description is not None:
        lines.append(f"description: {scalar(job.description)}")
    lines.append(f"task: {scalar(job.task)}")
    if job.queue is not None:
        lines.append(f"queue: {scalar(job.queue)}")
    if job.params:
        lines.append("params:")
        lines += [f"  {scalar(key)}: {scalar(value)}" for key, value in job.params.items()]
    lines.append("schedule:")
    if job.cron is not None:
        lines.append(f"  cron: {scalar(job.cron, quote=True)}")
    if job.interval is not None:
        lines.append(f"  interval: {scalar(job.interval)}")
    if len(job.daily) == 1:
        lines.append(f"  daily: {scalar(job.daily[0], quote=True)}")
    elif job.daily:
        lines.append(f"  daily: [{', '.join(scalar(t, quote=True) for t in job.daily)}]")
    if job.timezone is not None:
        lines.append(f"  timezone: {scalar(job.timezone)}")
    if not job.enabled:
        lines.append("enabled: false")
    return schema_line(schema_ref) + "\n".join(lines) + "\n"


def parse_param(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` from ``--param``; VALUE reads as a YAML scalar (``true``, ``10``, text).

    Raises ValueError with a message for the user when there is no ``=`` or no key.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{text!r} is not KEY=VALUE (e.g. dry_run=true)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    if isinstance(value, dict | list) or not isinstance(value, str | int | float | bool | None):
        value = raw  # keep the text: a parameter from the command line is one scalar
    return key.strip(), value


def scalar(value: Any, *, quote: bool = False) -> str:
    """``value`` as a one-line YAML scalar (or flow collection) that reads back as the same
    value and type. Strings stay plain when that is unambiguous, else are double-quoted."""
    if isinstance(value, str):
        if not quote and _PLAIN.fullmatch(value) and _reads_back(value):
            return value
        return _UNSAFE.sub(_escape, json.dumps(value, ensure_ascii=False))
    dumped = yaml.safe_dump(value, default_flow_style=True, width=2**31, allow_unicode=True)
    return dumped.rstrip("\n").removesuffix("\n...")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _reads_back(text: str) -> bool:
    try:
        return bool(yaml.safe_load(f"k: {text}") == {"k": text})
    except yaml.YAMLError:
        return False
