"""How a plan is printed: text for people, JSON for tools (Markdown for a pull-request
comment: :mod:`scheduler.cli.planmarkdown`).

Times are ISO-8601 in each job's own time zone, with the UTC offset
(``2026-03-29T03:00:00+02:00``). The JSON shape is stable; ``null`` stands for "absent"::

    {
      "valid": true,
      "base": {"label": "HEAD~1", "commit": "<40 hex> or null", "jobs_dir": "jobs.d",
               "exists": true},
      "head": {"label": "working tree", "jobs_dir": "jobs.d",
               "uncommitted_changes": true},           # null for `scheduler diff`
      "now": "2026-06-01T12:00:00+00:00",
      "summary": {"added": 1, "removed": 1, "renamed": 0, "changed": 2, "unchanged": 4},
      "jobs": [                                        # every job but the unchanged, by name
        {"name": "nightly", "change": "changed",       # added|removed|renamed|changed
         "old_name": null,                             # set for a rename via previous_names
         "file": "jobs.d/nightly.yaml", "line": 1,     # null for a removed job
         "old_file": "HEAD~1:jobs.d/nightly.yaml",     # null for an added job
         "schedule": "cron 0 3 * * * (At 03:00)", "old_schedule": "cron 0 2 * * * (...)",
         "timezone": "Europe/Paris", "old_timezone": "UTC",
         "enabled": true, "old_enabled": true,
         "fields": [{"path": "schedule.cron", "old": "0 2 * * *", "new": "0 3 * * *"}],
         "next_before": ["2026-06-02T02:00:00+00:00", ...],   # up to 5; [] when disabled
         "next_after": ["2026-06-02T03:00:00+02:00", ...],
         "warnings": [{"code": "timezone_changed", "message": "..."}]}
      ],
      "warnings": [{"code": "...", "job": "nightly", "message": "..."}]  # all; plan-wide
    }                                                                     # ones have job null

When the new side is invalid there is no plan: ``{"valid": false, "base": ..., "head": ...,
"errors": [{"file", "line", "column", "path", "message"}]}`` (exit code 1).

Warning codes are the values of :class:`scheduler.core.diff.WarningCode`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scheduler.core.catalog import Catalog
from scheduler.core.diff import ChangeKind, JobChange, Plan, PlanWarning
from scheduler.core.job import LoadedJob

_MAX_VALUE = 120
#: The mark of each kind of change in the text and Markdown listings.
SYMBOL = {
    ChangeKind.added: "+",
    ChangeKind.removed: "-",
    ChangeKind.renamed: ">",
    ChangeKind.changed: "~",
}


@dataclass(frozen=True, kw_only=True)
class Sides:
    """What was compared, for the headings: the old side (base) and the new side (head)."""

    base_label: str
    base_dir: str
    base_commit: str | None = None
    base_exists: bool = True
    head_label: str
    head_dir: str
    uncommitted: bool | None = None
    """The working tree differs from HEAD in the jobs dir (None: not a git comparison)."""

    def heading(self) -> str:
        commit = f" ({self.base_commit[:10]})" if self.base_commit else ""
        missing = f", no {self.base_dir} there" if not self.base_exists else ""
        head = self.head_label
        if self.uncommitted is not None:
            state = "uncommitted changes included" if self.uncommitted else "clean"
            head = f"{head} ({self.head_dir}, {state})"
        return f"{self.base_label}{commit}{missing} -> {head}"


# -- JSON -------------------------------------------------------------------------------


def plan_json(plan: Plan, sides: Sides) -> dict[str, Any]:
    return {
        "valid": True,
        **_sides_json(sides),
        "now": plan.now.isoformat(),
        "summary": plan.summary,
        "jobs": [_job_json(c) for c in plan.changed],
        "warnings": [_warning_json(w, with_job=True) for w in plan.all_warnings],
    }


def invalid_json(catalog: Catalog, sides: Sides) -> dict[str, Any]:
    return {
        "valid": False,
        **_sides_json(sides),
        "errors": [e.as_dict() for e in catalog.errors],
    }


def _sides_json(sides: Sides) -> dict[str, Any]:
    return {
        "base": {
            "label": sides.base_label,
            "commit": sides.base_commit,
            "jobs_dir": sides.base_dir,
            "exists": sides.base_exists,
        },
        "head": {
            "label": sides.head_label,
            "jobs_dir": sides.head_dir,
            "uncommitted_changes": sides.uncommitted,
        },
    }


def _job_json(c: JobChange) -> dict[str, Any]:
    return {
        "name": c.name,
        "change": c.kind.value,
        "old_name": c.old_name,
        "file": c.new.file if c.new else None,
        "line": c.new.line if c.new else None,
        "old_file": c.old.file if c.old else None,
        "schedule": schedule_text(c.new),
        "old_schedule": schedule_text(c.old),
        "timezone": c.new.timezone_name if c.new else None,
        "old_timezone": c.old.timezone_name if c.old else None,
        "enabled": c.new.spec.enabled if c.new else None,
        "old_enabled": c.old.spec.enabled if c.old else None,
        "fields": [{"path": f.path, "old": f.old, "new": f.new} for f in c.fields],
        "next_before": [_iso(t) for t in c.next_before],
        "next_after": [_iso(t) for t in c.next_after],
        "warnings": [_warning_json(w, with_job=False) for w in c.warnings],
    }


def _warning_json(w: PlanWarning, *, with_job: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"code": w.code.value}
    if with_job:
        out["job"] = w.job
    out["message"] = w.message
    return out


# -- text -------------------------------------------------------------------------------


def plan_text(plan: Plan, sides: Sides) -> str:
    lines = [f"plan: {sides.heading()}", _summary_line(plan)]
    warnings = plan.all_warnings
    if warnings:
        lines += ["", f"{plural(len(warnings), 'warning')}:"]
        lines += [f"  ! {w.job + ': ' if w.job else ''}[{w.code}] {w.message}" for w in warnings]
    for c in plan.changed:
        lines += ["", _title_text(c)]
        if c.old is None or c.new is None:
            lines.append(f"    {_definition(c.new or c.old)}")
        else:
            lines += [f"    {f.path}: {value_text(f.old)} -> {value_text(f.new)}" for f in c.fields]
        lines += _runs_text(c)
    if not plan.changed:
        lines += ["", "no job changes"]
    return "\n".join(lines)


def invalid_text(catalog: Catalog, sides: Sides) -> str:
    from scheduler.cli.report import validation_text

    return (
        f"plan: {sides.heading()}\n"
        f"the new side is invalid; no plan until it validates:\n\n{validation_text(catalog)}"
    )


def _title_text(c: JobChange) -> str:
    name = f"{c.old_name} -> {c.name}" if c.old_name else c.name
    return f"{SYMBOL[c.kind]} {name}  {c.kind.value}  {_files(c)}"


def _definition(job: LoadedJob | None) -> str:
    assert job is not None
    spec = job.spec
    text = f"{spec.task} on {spec.queue}, {schedule_text(job)} [{zone(job)}]"
    if spec.params:
        text += f", params {value_text(spec.params)}"
    return text if spec.enabled else f"{text} (disabled)"


def _runs_text(c: JobChange) -> list[str]:
    before = runs_column(c.old, c.next_before, len(c.next_after))
    after = runs_column(c.new, c.next_after, len(c.next_before))
    head_b = f"before ({zone(c.old)})" if c.old else "before"
    head_a = f"after ({zone(c.new)})" if c.new else "after"
    width = max(len(s) for s in [head_b, *before])
    rows = [f"    next runs  {head_b.ljust(width)}  {head_a}"]
    pad = " " * len("    next runs  ")
    rows += [f"{pad}{b.ljust(width)}  {a}".rstrip() for b, a in zip(before, after, strict=True)]
    return rows


# -- shared -----------------------------------------------------------------------------


def runs_column(job: LoadedJob | None, runs: tuple[datetime, ...], other: int) -> list[str]:
    """A job's next runs as cells, padded to ``other`` rows (the other side's count)."""
    if job is None:
        cells = ["-"]
    elif not job.enabled:
        cells = ["(disabled)"]
    elif not runs:
        cells = ["(no run)"]
    else:
        cells = [when(t) for t in runs]
    return cells + [""] * (max(other, 1) - len(cells))


def _summary_line(plan: Plan) -> str:
    counts = plan.summary
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _files(c: JobChange) -> str:
    if c.old and c.new and c.moved:
        return f"{c.old.file} -> {c.new.file}"
    job = c.new or c.old
    assert job is not None
    return job.file


def schedule_text(job: LoadedJob | None) -> str | None:
    """The job's schedule in words (``cron 0 3 * * * (At 03:00)``); None without a job."""
    if job is None:
        return None
    from scheduler.core.describe import describe_schedule

    return describe_schedule(job.spec.schedule)


def zone(job: LoadedJob | None) -> str:
    """The job's time zone; empty without a job."""
    return job.timezone_name if job else ""


def value_text(value: Any) -> str:
    """A field's value as JSON, cut at 120 characters."""
    text = "(none)" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds")


def when(t: datetime) -> str:
    """An instant as ISO-8601 with its offset and weekday."""
    return f"{_iso(t)} {t:%a}"


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, with an s unless one."""
    return f"{n} {word}{'' if n == 1 else 's'}"
