"""The job tree the parse pool and validate's split read are both checked on: valid files,
defaults in one folder, and the bad files each must locate as one process does."""

from __future__ import annotations

from pathlib import Path


def job_text(name: str, schedule: str = "cron: '0 9 * * *'") -> str:
    """A valid one-job document named ``name``."""
    return f"name: {name}\ntask: pkg.mod:func\nschedule:\n  {schedule}\n"


def mixed_tree(path: Path) -> Path:
    """``path`` filled: 40 daily jobs (half under ``eu/`` with Europe/Paris defaults), one
    file of two documents, a bad cron, a duplicate name, a non-UTF-8 file and an empty one."""
    (path / "eu").mkdir(parents=True)
    (path / "eu" / "_defaults.yaml").write_text("timezone: Europe/Paris\n")
    for i in range(40):
        folder = path / "eu" if i % 2 else path
        (folder / f"job-{i:02d}.yaml").write_text(
            job_text(f"job-{i:02d}", f"daily: '0{i % 10}:30'")
        )
    (path / "multi.yaml").write_text(job_text("m-1") + "---\n" + job_text("m-2", "interval: 15m"))
    (path / "bad-cron.yaml").write_text(job_text("bad", "cron: '61 * * * *'"))
    (path / "twice.yaml").write_text(job_text("job-03"))
    (path / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    (path / "empty.yaml").write_text("# nothing yet\n")
    return path
