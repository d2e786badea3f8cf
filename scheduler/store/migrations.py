"""The schema: its versions and the steps that migrate a file from one to the next."""

from __future__ import annotations

from scheduler.core.errors import StoreVersionError
from scheduler.store.connection import Database

# Each migration is a list of statements applied in one transaction, then user_version is set
# to its 1-based position. Append only: never edit a released migration, never DROP a table.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE IF NOT EXISTS runs (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            job TEXT NOT NULL,
            scheduled_for TEXT NOT NULL,
            trigger TEXT NOT NULL,
            status TEXT NOT NULL,
            enqueued_at TEXT,
            started_at TEXT,
            finished_at TEXT,
            duration_s REAL,
            error TEXT,
            traceback TEXT,
            result TEXT,
            worker TEXT,
            note TEXT,
            UNIQUE (job, scheduled_for, trigger)
        )
        """,
        "CREATE INDEX IF NOT EXISTS runs_job_scheduled ON runs (job, scheduled_for DESC)",
        "CREATE INDEX IF NOT EXISTS runs_status ON runs (status)",
        """
        CREATE TABLE IF NOT EXISTS job_state (
            job TEXT PRIMARY KEY,
            last_scheduled TEXT,
            next_run TEXT,
            definition_hash TEXT,
            source_file TEXT,
            enabled INTEGER,
            updated_at TEXT
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS meta (
            key TEXT PRIMARY KEY,
            value TEXT,
            updated_at TEXT
        )
        """,
    ),
    (
        # Issue 5: canary runs (dry_run forced) and the canary runs a job has left.
        "ALTER TABLE runs ADD COLUMN canary INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE job_state ADD COLUMN canary_left INTEGER NOT NULL DEFAULT 0",
    ),
    # 3 (issue 6): the occurrence ledger's reason (policies.Reason) and the attempt a run is on.
    (
        "ALTER TABLE runs ADD COLUMN reason TEXT",
        "ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1",
        "CREATE INDEX IF NOT EXISTS runs_job_status ON runs (job, status)",
    ),
    # 4 (issue 14): retention. A job's runs by status in time order (history filtered by
    # status, what a prune may remove); and per job the
    # latest instant pruned, so an entry read late never brings a pruned run back.
    (
        "CREATE INDEX IF NOT EXISTS runs_job_status_scheduled ON runs (job, status, scheduled_for)",
        "CREATE TABLE IF NOT EXISTS pruned (job TEXT PRIMARY KEY, through TEXT NOT NULL)",
    ),
    # 5 (issue 14): fast at ten million runs. (job, scheduled_for) ascending, read backwards,
    # is newest first with the id as tie-break (rowid ends every index), the very order of
    # history and last run per job, so no sort is needed; it replaces the DESC one, whose
    # tie-break ran the other way. (job, status) is a prefix of migration 4's index. Runs by
    # time across all jobs: the web page's timeline. Building them on a big file takes a
    # while once (about a minute at ten million runs).
    (
        "CREATE INDEX IF NOT EXISTS runs_job_time ON runs (job, scheduled_for)",
        "DROP INDEX IF EXISTS runs_job_scheduled",
        "DROP INDEX IF EXISTS runs_job_status",
        "CREATE INDEX IF NOT EXISTS runs_scheduled ON runs (scheduled_for)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes and expects (SQLite ``PRAGMA user_version``)."""


def migrate(db: Database) -> None:
    """Bring the file up to :data:`SCHEMA_VERSION`, one migration per transaction.

    Raises :class:`StoreVersionError` when the file is newer than this code.
    """
    if db.schema_version > SCHEMA_VERSION:
        hint = "upgrade the scheduler before running this watcher on it"
        raise StoreVersionError(db.path, db.schema_version, SCHEMA_VERSION, hint)
    for version, statements in enumerate(MIGRATIONS, start=1):
        if db.schema_version >= version:
            continue
        with db.write() as conn:
            # Read again under the write lock: another process may have migrated meanwhile.
            if db.schema_version >= version:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version:d}")
