"""The warnings a plan raises about a job change: what a reviewer must not miss (pure).

Each has a stable :class:`WarningCode`; :func:`job_warnings` gives those of one job's
change, :func:`possible_renames` those of jobs replaced within a file without
``previous_names``, :func:`base_invalid_message` the plan-wide one about an invalid old side.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from scheduler.core.catalog import FileResult
from scheduler.core.frequency import frequency_ratio, more_frequent
from scheduler.core.job import LoadedJob
from scheduler.core.localtime import local_iso

#: A schedule that has no run within this span of ``now`` "never fires".
NEVER_FIRES_HORIZON = timedelta(days=366)
_ABSENT = object()


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


def job_warnings(
    old: LoadedJob | None,
    new: LoadedJob | None,
    now: datetime,
    unknown_before: Mapping[str, str],
    new_jobs: Mapping[str, LoadedJob],
) -> list[PlanWarning]:
    """The warnings about one job's change (``old`` / ``new`` None: added / removed).

    ``unknown_before`` maps the names the old side's invalid files declare to those files;
    ``new_jobs`` is every valid job of the new side by name.
    """
    warnings: list[PlanWarning] = []
    if new is not None and old is None and new.name in unknown_before:
        was = f"its old definition ({unknown_before[new.name]}) is invalid: shown as added"
        warnings.append(_warn(WarningCode.base_invalid, new.name, was))
    if new is not None and (old is None or old.name != new.name):
        warnings.extend(_previous_names_in_use(new, new_jobs))
    if old is not None and new is not None:
        warnings.extend(_change_warnings(now, old, new))
    elif old is not None:
        warnings.append(_deleted(now, old))
    elif new is not None and new.spec.params.get("dry_run") is False:
        text = "added with params.dry_run false: it runs for real (production) from its first run"
        if new.spec.canary:
            text += f", after {new.spec.canary} canary run(s) with dry_run forced"
        warnings.append(_warn(WarningCode.production_job, new.name, text))
    if new is not None:
        warnings.extend(_never_fires(now, new))
    return warnings


def _warn(code: WarningCode, job: str, message: str) -> PlanWarning:
    return PlanWarning(code=code, job=job, message=message)


def _change_warnings(now: datetime, old: LoadedJob, new: LoadedJob) -> Iterable[PlanWarning]:
    name = new.name
    if old.spec.enabled and not new.spec.enabled:
        nxt = old.schedule.next_after(now)
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
    tz_old, tz_new = old.timezone_name, new.timezone_name
    if tz_old != tz_new:
        yield _warn(
            WarningCode.timezone_changed,
            name,
            f"time zone {tz_old} -> {tz_new}: its local times are now read in {tz_new}",
        )
    if new.spec.enabled and old.spec.schedule != new.spec.schedule:
        found = more_frequent(old.schedule, new.schedule, now)
        if found is not None:
            before, after = found
            ratio = frequency_ratio(before, after)
            times = f"{ratio:,.0f}" if ratio >= 100 else f"{ratio:.1f}".removesuffix(".0")
            yield _warn(
                WarningCode.more_frequent,
                name,
                f"will run {times}x as often: {after.describe()}, was {before.describe()}",
            )


def _deleted(now: datetime, old: LoadedJob) -> PlanWarning:
    if not old.spec.enabled:
        text = "deleted (it was disabled)"
    else:
        nxt = old.schedule.next_after(now)
        was = f" (its next run was {local_iso(nxt, old.timezone)})" if nxt else ""
        text = f"deleted: it will no longer run{was}"
    return _warn(WarningCode.job_deleted, old.name, text)


def _never_fires(now: datetime, job: LoadedJob) -> Iterable[PlanWarning]:
    if not job.spec.enabled:
        return
    nxt = job.schedule.next_after(now)
    if nxt is not None and nxt <= now + NEVER_FIRES_HORIZON:
        return
    days = NEVER_FIRES_HORIZON.days
    if nxt is not None:
        text = f"no run in the next {days} days (the first is {local_iso(nxt, job.timezone)})"
    else:
        sched = job.spec.schedule
        if sched.at is not None and sched.aware(sched.at) <= now:
            why = f"schedule.at {sched.at.isoformat()} is in the past"
        elif sched.end is not None and sched.aware(sched.end) <= now:
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


def possible_renames(
    removed: Iterable[tuple[str, str]], added: Iterable[tuple[str, str]]
) -> dict[str, PlanWarning]:
    """A possible-rename warning for each added job in a file that lost jobs, by its name.

    ``removed`` and ``added`` are ``(file, job name)`` pairs, files relative to each side's
    jobs directory; the lost names are listed in the order ``removed`` gives them.
    """
    removed_by_file: dict[str, list[str]] = {}
    for file, name in removed:
        removed_by_file.setdefault(file, []).append(name)
    out = {}
    for file, name in added:
        gone = removed_by_file.get(file)
        if not gone:
            continue
        names = ", ".join(gone)
        out[name] = _warn(
            WarningCode.possible_rename,
            name,
            f"replaces {names} in the same file: if this is a rename, add "
            f"'previous_names: [{names}]' so its history and state carry over",
        )
    return out


def base_invalid_message(result: FileResult) -> str:
    errors = result.errors
    first = str(errors[0])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    names = ", ".join(sorted(result.declared))
    jobs = f"; its jobs ({names}) are unknown on the old side" if names else ""
    return f"the old side is invalid: {first}{more}{jobs}"
