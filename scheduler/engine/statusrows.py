"""The rows of ``scheduler status``: one per job, from its definition and its records."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.core.catalog import Catalog
from scheduler.core.errors import JobFileError
from scheduler.core.localtime import local_iso


def status_row(
    name: str, enabled: bool, nxt: datetime | None, run: Any, file: str, tz: ZoneInfo
) -> dict[str, Any]:
    """One job's row of ``status``: instants in ``tz``."""
    return {
        "name": name,
        "enabled": enabled,
        "next_run": None if nxt is None or not enabled else local_iso(nxt, tz),
        "last_run": None
        if run is None
        else {
            "scheduled_for": local_iso(run.scheduled_for, tz),
            "status": str(run.status),
            "trigger": str(run.trigger),
            "duration_s": run.duration_s,
            "error": run.error,
        },
        "file": file,
    }


def kept_from_rejected(
    catalog: Catalog, states: dict[str, Any]
) -> list[tuple[str, Any, JobFileError]]:
    """The jobs the watcher keeps from files that are invalid now (their state rows name
    them), each with its state and its file's first error."""
    rejected = {os.path.realpath(f.file): f.errors[0] for f in catalog.files if f.errors}
    out = []
    for name, state in states.items():
        source = state.source_file
        if name in catalog.jobs or source is None:
            continue
        error = rejected.get(os.path.realpath(source))
        if error is not None:
            out.append((name, state, error))
    return out
