"""How a plan is printed: text for people, Markdown for a pull-request comment, JSON for tools.

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

MARKER = "<!-- scheduler-plan -->"
"""First line of the Markdown, so a CI bot can find and update its earlier comment."""
_MAX_VALUE = 120
#: Per-job details stop before this size: GitHub refuses comments over 65,536 characters.
MAX_MARKDOWN = 60_000
_SYMBOL = {
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
        "schedule": _schedule(c.new),
        "old_schedule": _schedule(c.old),
        "timezone": c.new.spec.schedule.timezone if c.new else None,
        "old_timezone": c.old.spec.schedule.timezone if c.old else None,
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
        lines += ["", f"{_plural(len(warnings), 'warning')}:"]
        lines += [f"  ! {w.job + ': ' if w.job else ''}[{w.code}] {w.message}" for w in warnings]
    for c in plan.changed:
        lines += ["", _title_text(c)]
        if c.old is None or c.new is None:
            lines.append(f"    {_definition(c.new or c.old)}")
        else:
            lines += [f"    {f.path}: {_value(f.old)} -> {_value(f.new)}" for f in c.fields]
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
    return f"{_SYMBOL[c.kind]} {name}  {c.kind.value}  {_files(c)}"


def _definition(job: LoadedJob | None) -> str:
    assert job is not None
    spec = job.spec
    text = f"{spec.task} on {spec.queue}, {_schedule(job)} [{_tz(job)}]"
    if spec.params:
        text += f", params {_value(spec.params)}"
    return text if spec.enabled else f"{text} (disabled)"


def _runs_text(c: JobChange) -> list[str]:
    before = _column(c.old, c.next_before, len(c.next_after))
    after = _column(c.new, c.next_after, len(c.next_before))
    head_b = f"before ({_tz(c.old)})" if c.old else "before"
    head_a = f"after ({_tz(c.new)})" if c.new else "after"
    width = max(len(s) for s in [head_b, *before])
    rows = [f"    next runs  {head_b.ljust(width)}  {head_a}"]
    pad = " " * len("    next runs  ")
    rows += [f"{pad}{b.ljust(width)}  {a}".rstrip() for b, a in zip(before, after, strict=True)]
    return rows


def _column(job: LoadedJob | None, runs: tuple[datetime, ...], other: int) -> list[str]:
    if job is None:
        cells = ["-"]
    elif not job.enabled:
        cells = ["(disabled)"]
    elif not runs:
        cells = ["(no run)"]
    else:
        cells = [_when(t) for t in runs]
    return cells + [""] * (max(other, 1) - len(cells))


# -- Markdown ---------------------------------------------------------------------------


def plan_markdown(plan: Plan, sides: Sides) -> str:
    out = [MARKER, f"### Scheduler plan: {_md_heading(sides)}", "", _summary_md(plan)]
    warnings = plan.all_warnings
    if warnings:
        out += ["", "> [!WARNING]", f"> **{_plural(len(warnings), 'warning')}**", ">"]
        for w in warnings:
            who = f"**{_code(w.job)}** " if w.job else ""
            out.append(f"> - {who}`{w.code}`: {_md_text(w.message)}")
    if not plan.changed:
        out += ["", "No job changes."]
        return "\n".join(out) + "\n"
    out += ["", "| | Job | Change | Schedule | Next run | Warnings | File |"]
    out += ["|---|---|---|---|---|---|---|"]
    for c in plan.changed:
        job = c.new or c.old
        runs = c.next_after if c.new else ()
        nxt = _when(runs[0]) if runs else ("disabled" if c.new and not c.new.spec.enabled else "—")
        out.append(
            f"| {_SYMBOL[c.kind]} | {_md_name(c)} | {c.kind.value} | "
            f"{_md_text(_schedule(job) or '')} ({_md_text(_tz(job))}) | {nxt} | "
            f"{len(c.warnings) or ''} | {_md_files(c)} |"
        )
    size = sum(len(line) + 1 for line in out)
    for i, c in enumerate(plan.changed):
        block = ["", *_details_md(c)]
        size += sum(len(line) + 1 for line in block)
        if size > MAX_MARKDOWN:
            rest = len(plan.changed) - i
            out += [
                "",
                f"_{_plural(rest, 'more job')} not detailed: a comment holds "
                "65,536 characters; `--format text` or `json` shows every job._",
            ]
            break
        out += block
    return "\n".join(out) + "\n"


def invalid_markdown(catalog: Catalog, sides: Sides) -> str:
    from scheduler.cli.report import validation_text

    return "\n".join(
        [
            MARKER,
            f"### Scheduler plan: {_md_heading(sides)}",
            "",
            "> [!CAUTION]",
            "> The jobs in this change are **invalid**; `scheduler validate` reports:",
            "",
            "```text",
            validation_text(catalog).replace("```", "'''"),
            "```",
            "",
        ]
    )


def _details_md(c: JobChange) -> list[str]:
    notes = [c.kind.value, _plural(len(c.fields), "field")]
    if c.warnings:
        notes.append(f"⚠️ {_plural(len(c.warnings), 'warning')}")
    name = f"{c.old_name} → {c.name}" if c.old_name else c.name
    summary = f"<code>{_html(name)}</code> · {' · '.join(notes)}"
    out = [f"<details><summary>{summary}</summary>", ""]
    out += [f"- ⚠️ `{w.code}`: {_md_text(w.message)}" for w in c.warnings]
    if c.warnings:
        out.append("")
    if c.fields:
        out += ["| Field | Before | After |", "|---|---|---|"]
        out += [f"| `{f.path}` | {_md_value(f.old)} | {_md_value(f.new)} |" for f in c.fields]
        out.append("")
    before = _column(c.old, c.next_before, len(c.next_after))
    after = _column(c.new, c.next_after, len(c.next_before))
    head_b = f"Before ({_tz(c.old)})" if c.old else "Before"
    head_a = f"After ({_tz(c.new)})" if c.new else "After"
    out += [f"| Next runs | {head_b} | {head_a} |", "|---|---|---|"]
    out += [f"| {i} | {b} | {a} |" for i, (b, a) in enumerate(zip(before, after, strict=True), 1)]
    return [*out, "", "</details>"]


def _md_heading(sides: Sides) -> str:
    base = _code(sides.base_label)
    if sides.base_commit:
        base += f" ({sides.base_commit[:10]})"
    if not sides.base_exists:
        base += f", no {_code(sides.base_dir)} there"
    head = sides.head_label if sides.uncommitted is not None else _code(sides.head_label)
    if sides.uncommitted:
        head += " (uncommitted changes included)"
    return f"{base} → {head}"


def _summary_md(plan: Plan) -> str:
    counts = plan.summary
    parts = [f"**{counts[k.value]} {k.value}**" for k in _SYMBOL if counts[k.value]]
    parts.append(f"{counts[ChangeKind.unchanged.value]} unchanged")
    return " · ".join(parts)


def _md_name(c: JobChange) -> str:
    return f"{_code(c.old_name)} → {_code(c.name)}" if c.old_name else _code(c.name)


def _md_value(value: Any) -> str:
    return "—" if value is None else _md_cell(_code(_value(value)))


def _md_files(c: JobChange) -> str:
    job = c.new or c.old
    assert job is not None
    if c.old and c.new and c.moved:
        return f"{_md_cell(_code(c.old.file))} → {_md_cell(_code(c.new.file))}"
    return _md_cell(_code(job.file))


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_text(text: str) -> str:
    """Plain prose in Markdown: no HTML, no accidental code, emphasis, links or cells."""
    out = text.replace("&", "&amp;").replace("<", "&lt;")
    for ch in "\\`*[]|":
        out = out.replace(ch, "\\" + ch)
    return out


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# -- shared -----------------------------------------------------------------------------


def _summary_line(plan: Plan) -> str:
    counts = plan.summary
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _files(c: JobChange) -> str:
    if c.old and c.new and c.moved:
        return f"{c.old.file} -> {c.new.file}"
    job = c.new or c.old
    assert job is not None
    return job.file


def _schedule(job: LoadedJob | None) -> str | None:
    if job is None:
        return None
    from scheduler.core.describe import describe_schedule

    return describe_schedule(job.spec.schedule)


def _tz(job: LoadedJob | None) -> str:
    return job.spec.schedule.timezone if job else ""


def _value(value: Any) -> str:
    text = "(none)" if value is None else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds")


def _when(t: datetime) -> str:
    return f"{_iso(t)} {t:%a}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
