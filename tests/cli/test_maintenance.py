"""``prune``, ``backup``, ``restore``, and the ``history:`` retention fields in ``validate``."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.core.runs import RunStatus
from scheduler.store import Store
from tests.cli.conftest import run_cli
from tests.integration.test_retention import seed

JOB = "name: {name}\ntask: examples.bots:birthday\nschedule:\n  interval: 1h\n{extra}"


def project(tmp_path: Path, jobs: dict[str, str], settings: str = "") -> Path:
    (tmp_path / "jobs").mkdir()
    for name, extra in jobs.items():
        (tmp_path / "jobs" / f"{name}.yaml").write_text(JOB.format(name=name, extra=extra))
    (tmp_path / "scheduler.toml").write_text(settings)
    return tmp_path


def test_validate_locates_a_bad_history_field(tmp_path: Path) -> None:
    root = project(tmp_path, {"a": "history:\n  keep: 3x\n  keep_last: -1\n"})
    result = run_cli("validate", "--jobs-dir", "jobs", "--format", "json", cwd=root)
    assert result.code == 1
    found = {(e["path"], e["line"]) for e in result.json()["errors"]}
    assert found == {("history.keep", 6), ("history.keep_last", 7)}


def test_validate_names_a_bad_project_rule(tmp_path: Path) -> None:
    root = project(tmp_path, {"a": ""}, '[history]\nkeep = "30d"\nkeep_lost = 3\n')
    result = run_cli("validate", "--jobs-dir", "jobs", cwd=root)
    assert result.code == 1
    assert "scheduler.toml:3: history.keep_lost: unknown field" in result.err


def test_prune_dry_run_then_prune(tmp_path: Path) -> None:
    """The dry run names what would go per job (the job's own rule over the project's);
    the prune removes exactly that."""
    root = project(
        tmp_path,
        {"short": "history:\n  keep: 1d\n  keep_last: 2\n", "long": ""},
        '[history]\nkeep = "10d"\nkeep_last = 0\n',
    )
    now = datetime.now(UTC)
    with Store(root / "data" / "scheduler.db") as store:
        days = [now - timedelta(days=n, hours=1) for n in range(20, 0, -1)]
        for job in ("short", "long", "gone"):
            seed(store, job, days, RunStatus.succeeded)
    dry = run_cli("prune", "--dry-run", "--jobs-dir", "jobs", "--format", "json", cwd=root)
    assert dry.code == 0, dry.err
    by_job = {row["job"]: row["runs"] for row in dry.json()["jobs"]}
    assert by_job == {"short": 18, "long": 11, "gone": 11}  # gone: the project's rule
    text = run_cli("prune", "--dry-run", "--jobs-dir", "jobs", cwd=root)
    assert "short: would remove 18 runs" in text.out
    done = run_cli("prune", "--jobs-dir", "jobs", "--format", "json", cwd=root)
    assert done.code == 0
    assert done.json()["runs"] == 40
    with Store.open_readonly(root / "data" / "scheduler.db") as store:
        assert store.count_runs("short") == 2
        assert store.count_runs("long") == 9


def test_backup_then_restore(tmp_path: Path) -> None:
    root = project(tmp_path, {"a": ""})
    db = root / "data" / "scheduler.db"
    with Store(db) as store:
        seed(store, "a", [datetime(2026, 1, 1, tzinfo=UTC)], RunStatus.succeeded)
    (root / "backups").mkdir()
    made = run_cli("backup", "backups", "--format", "json", cwd=root)
    assert made.code == 0, made.err
    copy = Path(root / made.json()["backup"])
    assert made.json()["runs"] == 1
    assert copy.parent == root / "backups"
    with closing(sqlite3.connect(copy)) as conn:  # one self-contained file
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    with Store(db) as store:
        seed(store, "a", [datetime(2026, 1, 2, tzinfo=UTC)], RunStatus.succeeded)
        store.set_meta("heartbeat", "running w1", datetime.now(UTC))
    refused = run_cli("restore", str(copy), cwd=root)
    assert refused.code == 1
    assert "a watcher is running" in refused.err
    with Store(db) as store:
        store.set_meta("heartbeat", "stopped w1", datetime.now(UTC))
    done = run_cli("restore", str(copy), "--format", "json", cwd=root)
    assert done.code == 0, done.err
    assert (root / done.json()["previous"]).is_file()
    history = run_cli("history", "a", "--format", "json", cwd=root)
    assert [r["scheduled_for"] for r in history.json()] == ["2026-01-01T00:00:00+00:00"]


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    result = run_cli("restore", "junk.db", cwd=tmp_path)
    assert result.code == 1
    assert "junk.db" in result.err
    missing = run_cli("backup", "nowhere/x.db", cwd=tmp_path)
    assert missing.code == 1
    assert "error:" in missing.err
