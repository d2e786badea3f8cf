"""How command results are printed: text for people, JSON for machines, GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from json.encoder import encode_basestring as _json_text  # the C one where built
from typing import TYPE_CHECKING, Any

from scheduler.core.errors import JobFileProblem

# Types only: ``history`` and ``health`` print through this module, and must not pay for
# importing the job model (pydantic) at start-up.
if TYPE_CHECKING:
    from scheduler.core.catalog import Catalog
    from scheduler.engine.api import Upcoming


def validation_json(catalog: Catalog) -> dict[str, Any]:
    return {
        "valid": catalog.valid,
        "files": len(catalog.files),
        "jobs": len(catalog.jobs),
        "errors": [e.as_dict() for e in catalog.errors],
        "warnings": [w.as_dict() for w in catalog.warnings],
    }


def validation_dumps(catalog: Catalog) -> str:
    """``dumps(validation_json(catalog))``, the same text, written without the pure-Python
    indenting encoder: a big tree's report holds thousands of warnings (10,000 files: about
    0.1 s of validate's 2)."""
    errors, warnings = catalog.errors, catalog.warnings
    valid = "true" if not errors else "false"
    return (
        f'{{\n  "valid": {valid},\n  "files": {len(catalog.files)},\n'
        f'  "jobs": {len(catalog.jobs)},\n  "errors": {_problems_json(errors)},\n'
        f'  "warnings": {_problems_json(warnings)}\n}}'
    )


def _problems_json(problems: Sequence[JobFileProblem]) -> str:
    """Problems as ``dumps`` indents their ``as_dict()`` under a top-level key."""
    if not problems:
        return "[]"
    text = _json_text
    blocks = []
    for p in problems:
        code = f',\n      "code": {text(p.code)}' if p.code else ""
        blocks.append(
            f'    {{\n      "file": {text(p.file)},\n      "line": {int(p.line)},\n'
            f'      "column": {int(p.column)},\n      "path": {text(p.path)},\n'
            f'      "message": {text(p.message)}{code}\n    }}'
        )
    return "[\n" + ",\n".join(blocks) + "\n  ]"


def validation_text(catalog: Catalog) -> str:
    lines = [_problem_line(p) for p in _ordered([*catalog.errors, *catalog.warnings])]
    n_err, n_warn = len(catalog.errors), len(catalog.warnings)
    files = _plural(len(catalog.files), "file")
    jobs = _plural(len(catalog.jobs), "valid job")
    if n_err:
        summary = (
            f"invalid: {_plural(n_err, 'error')}, {_plural(n_warn, 'warning')} in {files} ({jobs})"
        )
    else:
        warn = f", {_plural(n_warn, 'warning')}" if n_warn else ""
        summary = f"ok: {files}, {_plural(len(catalog.jobs), 'job')}{warn}"
    if lines:
        lines.append("")
    lines.append(summary)
    return "\n".join(lines)


def validation_github(catalog: Catalog) -> str:
    out = []
    for p in _ordered([*catalog.errors, *catalog.warnings]):
        text = f"{p.path}: {p.message}" if p.path else p.message
        where = f"file={_gh_property(p.file)},line={p.line},col={p.column}"
        if p.code:
            where += f",title={_gh_property(p.code)}"
        out.append(f"::{p.severity} {where}::{_gh_data(text)}")
    return "\n".join(out)


def upcoming_text(up: Upcoming) -> str:
    from scheduler.core.describe import describe_job_schedule
    from scheduler.core.localtime import local_iso

    job = up.job
    tz = job.timezone
    head = f"{job.name}: {describe_job_schedule(job)} [{job.timezone_name}]"
    if not job.enabled:
        head += "  (disabled in its file: these runs will not be dispatched)"
    if not up.runs:
        return f"{head}\n  no future runs"
    rows = [
        f"  {local_iso(r, tz)}  {r.astimezone(tz):%a}  ({r:%Y-%m-%d %H:%M:%S} UTC)" for r in up.runs
    ]
    return "\n".join([head, *rows])


def jobs_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no jobs"
    header = ("NAME", "SCHEDULE", "TIMEZONE", "NEXT RUN", "FILE")
    return _table(
        [header]
        + [
            (
                r["name"],
                r["schedule_text"],
                r["timezone"],
                (r["next_run"] or "-") if r["enabled"] else "disabled",
                f"{r['file']}:{r['line']}",
            )
            for r in rows
        ]
    )


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def _problem_line(p: JobFileProblem) -> str:
    where = f"{p.path}: " if p.path else ""
    code = f" [{p.code}]" if p.code else ""
    return f"{p.file}:{p.line}:{p.column}: {p.severity}: {where}{p.message}{code}"


def _ordered(problems: list[JobFileProblem]) -> list[JobFileProblem]:
    return sorted(problems, key=lambda p: (p.file, p.line, p.column))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def history_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no runs recorded"
    header = ("SCHEDULED FOR (UTC)", "JOB", "TRIGGER", "STATUS", "DURATION", "RESULT / ERROR")
    table = [header] + [
        (
            str(r["scheduled_for"]).replace("+00:00", "Z"),
            r["job"],
            r["trigger"],
            (r.get("state") or r["status"]) + (" (canary)" if r.get("canary") else ""),
            "-" if r["duration_s"] is None else f"{r['duration_s']:.3f}s",
            _cut(r["error"] or r.get("note") or summary(r.get("result")), 100),
        )
        for r in rows
    ]
    return _table(table)


def summary(result: Any) -> str:
    """A task's result on one line: ``key=value`` pairs for a mapping, else compact JSON."""
    if result is None:
        return ""
    if isinstance(result, dict):
        return ", ".join(f"{k}={_compact(v)}" for k, v in result.items())
    return _compact(result)


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_text(data: dict[str, Any]) -> str:
    w = data["watcher"]
    age = w["heartbeat_age_s"]
    head = (
        f"watcher: {'healthy' if w['healthy'] else 'NOT healthy'} ({w['state']}"
        + (f", heartbeat {age:.1f}s ago" if age is not None else "")
        + f"), generation {w['generation'] or '-'}"
    )
    if w.get("role"):
        head += "\n" + leadership_text(w)
    if w["last_rejected"]:
        head += f"\nlast rejected: {w['last_rejected']}"
    head += paused_text(w.get("paused") or {})
    rows = [("NAME", "ENABLED", "NEXT RUN", "LAST RUN", "LAST STATUS")]
    for j in data["jobs"]:
        last = j["last_run"]
        rows.append(
            (
                j["name"],
                ("paused" if j.get("paused") else "yes") if j["enabled"] else "no",
                (j["next_run"] or "-") if j["enabled"] else "disabled",
                last["scheduled_for"] if last else "-",
                last["status"] if last else "-",
            )
        )
    kept = [
        f"\n{j['name']}: its file is invalid; the watcher runs its last valid definition"
        f" (times in UTC): {j['rejected']}"
        for j in data["jobs"]
        if j.get("rejected")
    ]
    return head + "\n\n" + _table(rows) + "\n" * bool(kept) + "".join(kept)


def paused_text(paused: dict[str, Any]) -> str:
    """Runtime pauses, drift from git: one line each (empty when none)."""
    lines = [
        f"\npaused (drift from git): {name} by {p.get('by')} at {p.get('at')}"
        + (f" until {p['until']}" if p.get("until") else "")
        + f": {p.get('reason')}"
        for name, p in sorted(paused.items())
    ]
    return "".join(lines)


def leadership_text(w: dict[str, Any]) -> str:
    """``role: standby, leader host:42 since 2026-...`` for status and health."""
    leader = w.get("leader")
    text = f"role: {w['role']}"
    if leader:
        text += f", leader {leader['id']} since {leader['since']}"
    return text


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )
