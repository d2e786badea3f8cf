"""Where the records live under a data dir, and ``history``: the recorded runs.

Light on purpose: ``scheduler history`` imports this and the store only (no job model, no
pydantic), so it answers in well under 100 ms at ten million runs, start-up included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DB_NAME = "scheduler.db"


def store_path(data_dir: Path) -> Path:
    """The records file of ``data_dir``."""
    return data_dir / DB_NAME


def history(
    data_dir: Path, *, job: str | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """Recorded runs, newest scheduled first, as ``history --format json`` prints them.

    Before the watcher's first start there are no records, which is an empty history.
    """
    from scheduler.core.errors import StoreMissingError
    from scheduler.core.ledger import LEDGER, Filter, state
    from scheduler.store import Store

    pick = LEDGER[status] if status else Filter()
    try:
        with Store.open_readonly(store_path(data_dir)) as store:
            rows = store.history(
                job=job,
                status=pick.status,
                reason=None if pick.reason is None else str(pick.reason),
                trigger=pick.trigger,
                limit=limit,
            )
    except StoreMissingError:
        return []
    return [{**row.as_json(), "state": state(row.status, row.reason)} for row in rows]
