"""Keeping the records: ``scheduler prune``, ``backup`` and ``restore``, as library calls.

``prune`` and ``backup`` work beside a running watcher: a prune's batches are short
transactions (the watcher's writes wait milliseconds), a backup is one read snapshot (WAL:
the watcher keeps writing). ``restore`` replaces the file, so it refuses while a watcher
runs on the data dir, and sets that data dir's place on the results stream back to when
the backup was taken (asked in the restored file, done by the watcher's next start, so it
works with the embedded Redis too): the restarted watcher reads again (idempotently) what
the backup lacks, so no run that finished since is missing from the restored records.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.config.project import Project
from scheduler.core.catalog import Catalog
from scheduler.core.errors import StoreError, StoreMissingError, WatcherRunningError
from scheduler.core.runs import iso_utc
from scheduler.engine.pruning import JobRules, PruneReport, prune_now
from scheduler.engine.recordhealth import status_key
from scheduler.engine.results import results_group
from scheduler.engine.runhistory import DB_NAME, store_path
from scheduler.store import Store
from scheduler.store.backup import REWIND_META, CopyFacts, check_copy, put_meta

#: How far before a backup's instant the stream is read again (clocks a little apart).
REWIND_MARGIN = timedelta(minutes=1)


def prune(
    catalog: Catalog, project: Project, data_dir: Path, now: datetime, *, dry_run: bool
) -> PruneReport:
    """Apply every job's retention rule now (``dry_run``: only count what would go)."""
    rules = JobRules(catalog.jobs, project.retention)
    path = store_path(data_dir)
    try:
        store = Store.open_readonly(path) if dry_run else Store(path)
    except StoreMissingError:
        return PruneReport([], dry_run, 0, 0)
    try:
        with store:
            return prune_now(store, rules, now, dry_run=dry_run)
    except sqlite3.Error as exc:
        raise StoreError(path, f"cannot prune ({exc})") from exc


def vacuum(data_dir: Path) -> dict[str, int]:
    """Rewrite the file compact, switching it to incremental vacuum (``prune --vacuum``)."""
    path = store_path(data_dir)
    if not path.is_file():
        raise StoreMissingError(path)
    before = path.stat().st_size
    with Store(path) as store:
        try:
            store.prune.convert()
        except sqlite3.Error as exc:
            raise StoreError(
                path, f"cannot vacuum ({exc}); it needs free disk as large as the file"
            ) from exc
    return {"size_before": before, "size_after": path.stat().st_size}


def backup(data_dir: Path, dest: Path, now: datetime) -> CopyFacts:
    """Write a consistent copy of the records to ``dest`` (a file, or a folder to hold
    ``scheduler-<UTC instant>.db``) while the watcher may be writing."""
    if dest.is_dir():
        dest = dest / f"scheduler-{now.strftime('%Y%m%dT%H%M%SZ')}.db"
    elif not dest.parent.is_dir():
        raise StoreError(dest, "its folder does not exist")
    with Store.open_readonly(store_path(data_dir)) as store:
        return store.backup(dest, iso_utc(now))


def watcher_evidence(data_dir: Path, now: datetime, conn: Any | None) -> str | None:
    """Why a watcher is thought to run on ``data_dir`` (a fresh heartbeat), or None."""
    from scheduler.engine import api

    with contextlib.suppress(StoreError):
        found = api.health(data_dir, now)
        if found["state"] == "running" and found["healthy"]:
            return f"its heartbeat is {found['heartbeat_age_s']}s old"
    if conn is not None:
        import redis

        with contextlib.suppress(redis.RedisError):
            if conn.exists(status_key(results_group(data_dir))):
                return "it reports its records failing in Redis"
    return None


def restore(data_dir: Path, src: Path, now: datetime, conn: Any | None) -> dict[str, Any]:
    """Replace the records with the backup ``src``; the old file is kept beside it.

    Raises :class:`WatcherRunningError` while a watcher runs on ``data_dir`` and
    :class:`StoreError` when ``src`` is not a whole records file.
    """
    facts = check_copy(src)
    evidence = watcher_evidence(data_dir, now, conn)
    if evidence is not None:
        raise WatcherRunningError(data_dir, evidence)
    path = store_path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    kept = None
    if path.exists():
        kept = path.with_name(f"{DB_NAME}.before-restore-{now.strftime('%Y%m%dT%H%M%SZ')}")
        os.replace(path, kept)
        for suffix in ("-wal", "-shm"):  # the old file's journal stays with it
            side = path.with_name(DB_NAME + suffix)
            if side.exists():
                os.replace(side, kept.with_name(kept.name + suffix))
    partial = path.with_name(DB_NAME + ".partial")
    shutil.copyfile(src, partial)
    rewind = _rewind_point(facts.taken_at)
    if rewind is not None:  # the watcher's next start reads the stream again from there
        with contextlib.closing(sqlite3.connect(partial, isolation_level=None)) as copy:
            put_meta(copy, REWIND_META, rewind, iso_utc(now))
    os.replace(partial, path)
    return {
        "restored": str(path),
        "from": str(src),
        "runs": facts.runs,
        "taken_at": facts.taken_at,
        "previous": None if kept is None else str(kept),
        "stream_rewind_to": rewind,
    }


def _rewind_point(taken_at: str | None) -> str | None:
    """The results stream entry id a minute before ``taken_at`` (None: no instant)."""
    if taken_at is None:
        return None
    start = datetime.fromisoformat(taken_at) - REWIND_MARGIN
    return f"{max(0, int(start.timestamp() * 1000))}-0"


def apply_rewind(store: Store, conn: Any, group: str, now: datetime) -> str | None:
    """At the watcher's start: set its consumer group back to where a restore asked (the
    restored records lack what happened since the backup; reading it again is idempotent).
    Returns the entry id, or None when nothing was asked or Redis did not answer (then the
    next start tries again)."""
    import redis
    import structlog

    from scheduler.worker.events import STREAM

    asked = store.get_meta(REWIND_META)
    if asked is None or not asked[0]:
        return None
    entry = asked[0]
    try:
        try:
            conn.xgroup_setid(STREAM, group, entry)
        except redis.ResponseError:  # no such group yet: make it, reading from there
            conn.xgroup_create(STREAM, group, id=entry, mkstream=True)
    except redis.RedisError:
        return None
    store.set_meta(REWIND_META, "", now)
    structlog.get_logger("scheduler.records").info("records.stream_rewound", to=entry)
    return entry
