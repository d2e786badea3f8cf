"""A plan as Markdown, for a pull-request comment: a summary table, then each job's fields
and next runs in a folded block (``scheduler plan --format markdown``)."""

from __future__ import annotations

from typing import Any

from scheduler.cli.planreport import (
    SYMBOL,
    Sides,
    plural,
    runs_column,
    schedule_text,
    value_text,
    when,
    zone,
)
from scheduler.core.catalog import Catalog
from scheduler.core.diff import ChangeKind, JobChange, Plan

MARKER = "<!-- scheduler-plan -->"
"""First line of the Markdown, so a CI bot can find and update its earlier comment."""
#: Per-job details stop before this size: GitHub refuses comments over 65,536 characters.
MAX_MARKDOWN = 60_000


def plan_markdown(plan: Plan, sides: Sides) -> str:
    out = [MARKER, f"### Scheduler plan: {_md_heading(sides)}", "", _summary_md(plan)]
    warnings = plan.all_warnings
    if warnings:
        out += ["", "> [!WARNING]", f"> **{plural(len(warnings), 'warning')}**", ">"]
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
        nxt = when(runs[0]) if runs else ("disabled" if c.new and not c.new.spec.enabled else "—")
        out.append(
            f"| {SYMBOL[c.kind]} | {_md_name(c)} | {c.kind.value} | "
            f"{_md_text(schedule_text(job) or '')} ({_md_text(zone(job))}) | {nxt} | "
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
                f"_{plural(rest, 'more job')} not detailed: a comment holds "
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
    notes = [c.kind.value, plural(len(c.fields), "field")]
    if c.warnings:
        notes.append(f"⚠️ {plural(len(c.warnings), 'warning')}")
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
    before = runs_column(c.old, c.next_before, len(c.next_after))
    after = runs_column(c.new, c.next_after, len(c.next_before))
    head_b = f"Before ({zone(c.old)})" if c.old else "Before"
    head_a = f"After ({zone(c.new)})" if c.new else "After"
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
    parts = [f"**{counts[k.value]} {k.value}**" for k in SYMBOL if counts[k.value]]
    parts.append(f"{counts[ChangeKind.unchanged.value]} unchanged")
    return " · ".join(parts)


def _md_name(c: JobChange) -> str:
    return f"{_code(c.old_name)} → {_code(c.name)}" if c.old_name else _code(c.name)


def _md_value(value: Any) -> str:
    return "—" if value is None else _md_cell(_code(value_text(value)))


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
