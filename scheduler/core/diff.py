"""Two sets of jobs compared: what a change to the jobs directory does (pure).

:func:`diff_catalogs` takes the old and the new :class:`~scheduler.config.catalog.Catalog` and
``now`` and returns a :class:`Plan`: one :class:`JobChange` per job, with its field changes
(dotted paths such as ``schedule.cron`` or ``params.dry_run``), its next runs before and
after in its own time zone, and the warnings a reviewer must not miss. It reads no file
and no clock; ``scheduler plan`` and ``scheduler diff`` feed it and print the result.

Matching old jobs to new ones:

* the same name on both sides is the same job: ``renamed`` when its file moved (paths
  compared relative to each side's jobs directory), else ``changed`` or ``unchanged``;
* a new job listing an old name under ``previous_names`` that no new job still uses is
  that old job ``renamed`` (its history carries over), not one job removed and one added;
* the rest are ``added`` or ``removed``.

The warnings are worded in ``planwarnings`` and run counts taken in ``frequency``; their
names are re-exported here, where importers have always found them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from scheduler.core.catalog import Catalog
from scheduler.core.frequency import (
    FREQUENCY_CAP,
    FREQUENCY_FACTOR,
    FREQUENCY_HORIZON,
    LONG_FREQUENCY_HORIZON,
    RunCount,
    count_runs,
    frequency_ratio,
    more_frequent,
)
from scheduler.core.job import LoadedJob
from scheduler.core.planwarnings import (
    NEVER_FIRES_HORIZON,
    PlanWarning,
    WarningCode,
    base_invalid_message,
    job_warnings,
    possible_renames,
)
from scheduler.core.schedule import next_runs

if TYPE_CHECKING:  # the job model (pydantic): imported where specs are compared
    from scheduler.core.models import JobSpec

__all__ = [
    "FREQUENCY_CAP",
    "FREQUENCY_FACTOR",
    "FREQUENCY_HORIZON",
    "LONG_FREQUENCY_HORIZON",
    "NEVER_FIRES_HORIZON",
    "ChangeKind",
    "FieldChange",
    "JobChange",
    "Plan",
    "PlanWarning",
    "RunCount",
    "WarningCode",
    "count_runs",
    "diff_catalogs",
    "field_changes",
    "flatten",
    "frequency_ratio",
    "more_frequent",
]


class ChangeKind(StrEnum):
    """What happened to one job between the old and the new side."""

    added = "added"  # only the new side has it
    removed = "removed"  # only the old side has it: its runs stop
    renamed = "renamed"  # the same job under a new name (previous_names) or in another file
    changed = "changed"  # same name, same file, some field differs
    unchanged = "unchanged"  # identical definition in the same file


@dataclass(frozen=True, kw_only=True)
class FieldChange:
    """One field that differs: dotted path and JSON-like values (None means absent)."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True, kw_only=True)
class JobChange:
    """One job's change. ``next_before`` / ``next_after`` are aware datetimes in the job's
    own time zone on that side; empty when the job is absent or disabled on that side, or
    when it is unchanged (nothing to compare)."""

    kind: ChangeKind
    old: LoadedJob | None
    new: LoadedJob | None
    moved: bool = False
    """The job's file differs (relative to each side's jobs directory)."""
    fields: tuple[FieldChange, ...] = ()
    next_before: tuple[datetime, ...] = ()
    next_after: tuple[datetime, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()

    @property
    def name(self) -> str:
        """The job's name on the new side (on the old side for a removed job)."""
        job = self.new or self.old
        assert job is not None
        return job.name

    @property
    def old_name(self) -> str | None:
        """The old name when it differs from the new one (a rename through previous_names)."""
        if self.old is None or self.new is None or self.old.name == self.new.name:
            return None
        return self.old.name


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Every job's change (sorted by name, unchanged jobs included) and plan-wide warnings."""

    now: datetime
    changes: tuple[JobChange, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()
    """Warnings about the comparison itself (an invalid old side), not about one job."""

    @property
    def summary(self) -> dict[str, int]:
        """How many jobs of each kind, every kind present (in ChangeKind order)."""
        counts = {kind.value: 0 for kind in ChangeKind}
        for change in self.changes:
            counts[change.kind.value] += 1
        return counts

    @property
    def changed(self) -> tuple[JobChange, ...]:
        """The changes a reviewer looks at: every kind but ``unchanged``."""
        return tuple(c for c in self.changes if c.kind is not ChangeKind.unchanged)

    @property
    def all_warnings(self) -> tuple[PlanWarning, ...]:
        """Plan-wide warnings first, then each job's in the order of ``changes``."""
        return self.warnings + tuple(w for c in self.changes for w in c.warnings)


def diff_catalogs(
    old: Catalog,
    new: Catalog,
    now: datetime,
    runs: int = 5,
    *,
    old_root: str = "",
    new_root: str = "",
) -> Plan:
    """Compare ``old`` with ``new`` as of ``now`` (aware), with ``runs`` next runs per side.

    ``old_root`` / ``new_root`` are the prefixes of each side's file names (its jobs
    directory as it appears in ``LoadedJob.file``); files are compared relative to them,
    so ``old/a.yaml`` and ``new/a.yaml`` are the same file. Only the valid jobs of each
    catalog take part; a file the old side rejects gives a ``base_invalid`` warning, and
    the jobs it names are shown as added. The new side is expected to be valid.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now!r}: a plan needs an aware 'now'")
    ctx = _Context(now=now, runs=runs, old_root=old_root, new_root=new_root)
    unknown_before = {name: f.file for f in old.files if not f.ok for name in f.declared}
    changes = [
        _change(ctx, before, after, unknown_before, new.jobs)
        for before, after in _match(old.jobs, new.jobs)
    ]
    changes = _flag_possible_renames(ctx, changes)
    changes.sort(key=lambda c: (c.name, c.kind is ChangeKind.removed))
    plan_warnings = tuple(
        PlanWarning(code=WarningCode.base_invalid, message=base_invalid_message(f))
        for f in old.files
        if not f.ok
    )
    return Plan(now=now, changes=tuple(changes), warnings=plan_warnings)


def field_changes(old: JobSpec | None, new: JobSpec | None) -> tuple[FieldChange, ...]:
    """Every dotted field whose value differs, in the order fields are declared.

    Mappings (``params``, ``schedule``) are compared key by key; lists as a whole. For an
    added or removed job (one side None) every field the other side sets is listed.
    """
    before = flatten(old.model_dump(mode="json")) if old is not None else {}
    after = flatten(new.model_dump(mode="json")) if new is not None else {}
    from scheduler.core.models import JobSpec

    order = list(JobSpec.model_fields)
    paths = sorted(
        dict.fromkeys([*before, *after]),
        key=lambda p: order.index(p.split(".")[0]) if p.split(".")[0] in order else len(order),
    )
    out = []
    for path in paths:
        a, b = before.get(path), after.get(path)
        one_sided = old is None or new is None
        if a == b or (one_sided and a in _EMPTY and b in _EMPTY):
            continue
        out.append(FieldChange(path=path, old=a, new=b))
    return tuple(out)


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"schedule": {"cron": "x"}}`` -> ``{"schedule.cron": "x"}``; lists and empty
    mappings are leaves."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping) and item:
            out.update(flatten(item, path))
        else:
            out[path] = item
    return out


# -- internals --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    now: datetime
    runs: int
    old_root: str
    new_root: str

    def old_file(self, job: LoadedJob) -> str:
        return _relative(job.file, self.old_root)

    def new_file(self, job: LoadedJob) -> str:
        return _relative(job.file, self.new_root)


def _relative(file: str, root: str) -> str:
    if root in ("", "."):
        return file
    prefix = root if root.endswith(("/", ":")) else root + "/"
    return file[len(prefix) :] if file.startswith(prefix) else file


def _match(
    old: Mapping[str, LoadedJob], new: Mapping[str, LoadedJob]
) -> list[tuple[LoadedJob | None, LoadedJob | None]]:
    pairs: list[tuple[LoadedJob | None, LoadedJob | None]] = []
    taken = {name for name in new if name in old}
    for name in sorted(new):
        job = new[name]
        if name in old:
            pairs.append((old[name], job))
            continue
        previous = next((p for p in job.spec.previous_names if p in old and p not in taken), None)
        if previous is not None:
            taken.add(previous)
            pairs.append((old[previous], job))
        else:
            pairs.append((None, job))
    pairs.extend((old[name], None) for name in sorted(old) if name not in taken)
    return pairs


def _change(
    ctx: _Context,
    old: LoadedJob | None,
    new: LoadedJob | None,
    unknown_before: Mapping[str, str],
    new_jobs: Mapping[str, LoadedJob],
) -> JobChange:
    fields = field_changes(old.spec if old else None, new.spec if new else None)
    moved = old is not None and new is not None and ctx.old_file(old) != ctx.new_file(new)
    if old is None:
        kind = ChangeKind.added
    elif new is None:
        kind = ChangeKind.removed
    elif old.name != new.name or moved:
        kind = ChangeKind.renamed
    elif fields:
        kind = ChangeKind.changed
    else:
        return JobChange(kind=ChangeKind.unchanged, old=old, new=new)
    warnings = job_warnings(old, new, ctx.now, unknown_before, new_jobs)
    return JobChange(
        kind=kind,
        old=old,
        new=new,
        moved=moved,
        fields=fields,
        next_before=_upcoming(old, ctx),
        next_after=_upcoming(new, ctx),
        warnings=tuple(warnings),
    )


def _upcoming(job: LoadedJob | None, ctx: _Context) -> tuple[datetime, ...]:
    if job is None or not job.spec.enabled:
        return ()
    tz = job.timezone
    return tuple(r.astimezone(tz) for r in next_runs(job.schedule, ctx.now, ctx.runs))


def _flag_possible_renames(ctx: _Context, changes: list[JobChange]) -> list[JobChange]:
    removed = [c.old for c in changes if c.kind is ChangeKind.removed and c.old is not None]
    added = [c.new for c in changes if c.kind is ChangeKind.added and c.new is not None]
    hints = possible_renames(
        [(ctx.old_file(job), job.name) for job in removed],
        [(ctx.new_file(job), job.name) for job in added],
    )
    return [
        replace(c, warnings=(*c.warnings, hints[c.name]))
        if c.kind is ChangeKind.added and c.name in hints
        else c
        for c in changes
    ]


_EMPTY: tuple[Any, ...] = (None, [], {})
