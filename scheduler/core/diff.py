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
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from scheduler.core.catalog import Catalog, FileResult
from scheduler.core.job import LoadedJob, local_iso
from scheduler.core.models import JobSpec
from scheduler.core.schedule import Schedule, iter_runs, next_runs

#: A schedule that has no run within this span of ``now`` "never fires".
NEVER_FIRES_HORIZON = timedelta(days=366)
#: Run counts are compared over this span after ``now`` ...
FREQUENCY_HORIZON = timedelta(days=7)
#: ... or over a year when the old schedule has no run in it (monthly, yearly jobs).
LONG_FREQUENCY_HORIZON = timedelta(days=366)
#: At most this many runs are counted per schedule (exact up to one run every ~20 minutes
#: over 7 days); past it the rate is measured over the time the first FREQUENCY_CAP runs
#: take, since a 1-second job has 604,800 runs in 7 days and a cron step costs ~50 us.
FREQUENCY_CAP = 500
#: A job that will run more than this many times as often gets a warning.
FREQUENCY_FACTOR = 10


class ChangeKind(StrEnum):
    """What happened to one job between the old and the new side."""

    added = "added"  # only the new side has it
    removed = "removed"  # only the old side has it: its runs stop
    renamed = "renamed"  # the same job under a new name (previous_names) or in another file
    changed = "changed"  # same name, same file, some field differs
    unchanged = "unchanged"  # identical definition in the same file


class WarningCode(StrEnum):
    """Stable codes of the warnings a plan raises (tools may match on them)."""

    more_frequent = "more-frequent"  # will run more than FREQUENCY_FACTOR times as often
    dry_run_off = "dry-run-off"  # params.dry_run was true and no longer is: production
    job_disabled = "job-disabled"  # enabled: true -> false
    job_deleted = "job-deleted"  # removed from the jobs directory
    timezone_changed = "timezone-changed"  # schedule.timezone differs: local times move
    never_fires = "never-fires"  # enabled, but no run within NEVER_FIRES_HORIZON of now
    base_invalid = "base-invalid"  # an old-side file is invalid: its jobs are unknown there
    possible_rename = "possible-rename"  # added and removed in one file, no previous_names
    previous_name_in_use = "previous-name-in-use"  # a previous_names entry is another job
    production_job = "production-job"  # added with params.dry_run false: runs for real at once


@dataclass(frozen=True, kw_only=True)
class PlanWarning:
    """One warning: its stable code, the job it concerns (None: the plan), and a sentence."""

    code: WarningCode
    message: str
    job: str | None = None


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
        PlanWarning(code=WarningCode.base_invalid, message=_base_invalid_message(f))
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


@dataclass(frozen=True)
class RunCount:
    """Runs counted after ``now``: ``count`` of them within ``span`` (whole microseconds)."""

    count: int
    span: timedelta
    capped: bool

    def describe(self) -> str:
        if self.capped:
            per_day = self.count / (self.span / timedelta(days=1))
            return f"about {per_day:,.0f} runs a day"
        days = self.span // timedelta(days=1)
        return f"{self.count} run{'' if self.count == 1 else 's'} in the next {days} days"


def count_runs(schedule: Schedule, now: datetime, horizon: timedelta) -> RunCount:
    """Runs in (now, now + horizon], stopping at FREQUENCY_CAP (then ``span`` is the time
    from ``now`` to that last counted run)."""
    count, last = 0, now
    for run in iter_runs(schedule, now, FREQUENCY_CAP):
        if run > now + horizon:
            break
        count, last = count + 1, run
    if count == FREQUENCY_CAP:
        return RunCount(count, last - now, capped=True)
    return RunCount(count, horizon, capped=False)


def frequency_ratio(before: RunCount, after: RunCount) -> float:
    """How many times as often ``after`` runs as ``before`` (whose count is not 0)."""
    return (after.count * (before.span // _US)) / (before.count * (after.span // _US))


def more_frequent(old: Schedule, new: Schedule, now: datetime) -> tuple[RunCount, RunCount] | None:
    """The two counts when ``new`` runs more than FREQUENCY_FACTOR times as often as ``old``.

    Both are counted over FREQUENCY_HORIZON, or over LONG_FREQUENCY_HORIZON when ``old``
    has no run in it. An old schedule with no run in a year gives None (no ratio).
    """
    before = count_runs(old, now, FREQUENCY_HORIZON)
    horizon = FREQUENCY_HORIZON
    if before.count == 0:
        horizon = LONG_FREQUENCY_HORIZON
        before = count_runs(old, now, horizon)
        if before.count == 0:
            return None
    after = count_runs(new, now, horizon)
    # Integers, so that exactly FREQUENCY_FACTOR times is never "more" by a rounding error.
    if after.count * (before.span // _US) > FREQUENCY_FACTOR * before.count * (after.span // _US):
        return before, after
    return None


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
    warnings: list[PlanWarning] = []
    if new is not None and old is None and new.name in unknown_before:
        was = f"its old definition ({unknown_before[new.name]}) is invalid: shown as added"
        warnings.append(_warn(WarningCode.base_invalid, new.name, was))
    if new is not None and (old is None or old.name != new.name):
        warnings.extend(_previous_names_in_use(new, new_jobs))
    if old is not None and new is not None:
        warnings.extend(_change_warnings(ctx, old, new))
    elif old is not None:
        warnings.append(_deleted(ctx, old))
    elif new is not None and new.spec.params.get("dry_run") is False:
        text = "added with params.dry_run false: it runs for real (production) from its first run"
        if new.spec.canary:
            text += f", after {new.spec.canary} canary run(s) with dry_run forced"
        warnings.append(_warn(WarningCode.production_job, new.name, text))
    if new is not None:
        warnings.extend(_never_fires(ctx, new))
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


def _warn(code: WarningCode, job: str, message: str) -> PlanWarning:
    return PlanWarning(code=code, job=job, message=message)


def _change_warnings(ctx: _Context, old: LoadedJob, new: LoadedJob) -> Iterable[PlanWarning]:
    name = new.name
    if old.spec.enabled and not new.spec.enabled:
        nxt = old.schedule.next_after(ctx.now)
        was = f" (its next run was {local_iso(nxt, old.timezone)})" if nxt else ""
        yield _warn(WarningCode.job_disabled, name, f"disabled: it will not run{was}")
    was_dry = old.spec.params.get("dry_run")
    now_dry = new.spec.params.get("dry_run", _ABSENT)
    if was_dry is True and now_dry is not True:
        new_value = "removed" if now_dry is _ABSENT else json.dumps(now_dry)
        text = f"params.dry_run true -> {new_value}: this job now runs for real (production)"
        if new.spec.canary:
            text += f", after {new.spec.canary} canary run(s) with dry_run forced"
        yield _warn(WarningCode.dry_run_off, name, text)
    tz_old, tz_new = old.spec.schedule.timezone, new.spec.schedule.timezone
    if tz_old != tz_new:
        yield _warn(
            WarningCode.timezone_changed,
            name,
            f"time zone {tz_old} -> {tz_new}: its local times are now read in {tz_new}",
        )
    if new.spec.enabled and old.spec.schedule != new.spec.schedule:
        found = more_frequent(old.schedule, new.schedule, ctx.now)
        if found is not None:
            before, after = found
            ratio = frequency_ratio(before, after)
            times = f"{ratio:,.0f}" if ratio >= 100 else f"{ratio:.1f}".removesuffix(".0")
            yield _warn(
                WarningCode.more_frequent,
                name,
                f"will run {times}x as often: {after.describe()}, was {before.describe()}",
            )


def _deleted(ctx: _Context, old: LoadedJob) -> PlanWarning:
    if not old.spec.enabled:
        text = "deleted (it was disabled)"
    else:
        nxt = old.schedule.next_after(ctx.now)
        was = f" (its next run was {local_iso(nxt, old.timezone)})" if nxt else ""
        text = f"deleted: it will no longer run{was}"
    return _warn(WarningCode.job_deleted, old.name, text)


def _never_fires(ctx: _Context, job: LoadedJob) -> Iterable[PlanWarning]:
    if not job.spec.enabled:
        return
    nxt = job.schedule.next_after(ctx.now)
    if nxt is not None and nxt <= ctx.now + NEVER_FIRES_HORIZON:
        return
    days = NEVER_FIRES_HORIZON.days
    if nxt is not None:
        text = f"no run in the next {days} days (the first is {local_iso(nxt, job.timezone)})"
    else:
        sched = job.spec.schedule
        if sched.at is not None and sched.aware(sched.at) <= ctx.now:
            why = f"schedule.at {sched.at.isoformat()} is in the past"
        elif sched.end is not None and sched.aware(sched.end) <= ctx.now:
            why = f"schedule.end {sched.end.isoformat()} has passed"
        else:
            why = "the schedule has no future run"
        text = f"never fires: {why}"
    yield _warn(WarningCode.never_fires, job.name, text)


def _previous_names_in_use(job: LoadedJob, new_jobs: Mapping[str, LoadedJob]) -> list[PlanWarning]:
    return [
        _warn(
            WarningCode.previous_name_in_use,
            job.name,
            f"previous_names lists {name!r}, which is still a job ({new_jobs[name].location}); "
            "the two would share history",
        )
        for name in job.spec.previous_names
        if name in new_jobs and name != job.name
    ]


def _flag_possible_renames(ctx: _Context, changes: list[JobChange]) -> list[JobChange]:
    removed_by_file: dict[str, list[str]] = {}
    for c in changes:
        if c.kind is ChangeKind.removed and c.old is not None:
            removed_by_file.setdefault(ctx.old_file(c.old), []).append(c.old.name)
    out = []
    for change in changes:
        gone = removed_by_file.get(ctx.new_file(change.new), []) if change.new else []
        if change.kind is not ChangeKind.added or not gone:
            out.append(change)
            continue
        names = ", ".join(gone)
        hint = _warn(
            WarningCode.possible_rename,
            change.name,
            f"replaces {names} in the same file: if this is a rename, add "
            f"'previous_names: [{names}]' so its history and state carry over",
        )
        out.append(replace(change, warnings=(*change.warnings, hint)))
    return out


def _base_invalid_message(result: FileResult) -> str:
    errors = result.errors
    first = str(errors[0])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    names = ", ".join(sorted(result.declared))
    jobs = f"; its jobs ({names}) are unknown on the old side" if names else ""
    return f"the old side is invalid: {first}{more}{jobs}"


_US = timedelta(microseconds=1)
_EMPTY: tuple[Any, ...] = (None, [], {})
_ABSENT = object()
