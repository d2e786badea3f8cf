"""validate's read with one forked helper: the same report as one process, in order, and
the helper's failure costs time, never results.

Real files in ``tmp_path`` and a real forked child; the split is forced on for a small tree
(its threshold is about when it pays, not about what it reads).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scheduler.config import catalog as catalog_module
from scheduler.config import splitread
from scheduler.config.project import load_project
from scheduler.engine import api
from tests.integration.jobtrees import job_text, mixed_tree

NOW = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``jobs.d`` with defaults in one folder, a pile-up, DST, production mode, bad files."""
    monkeypatch.chdir(tmp_path)
    path = mixed_tree(Path("jobs.d"))
    for i in range(25):  # a pile-up across the two shares
        (path / f"crowd-{i:02d}.yaml").write_text(job_text(f"crowd-{i:02d}", "cron: '0 3 * * *'"))
    (path / "zz-dst.yaml").write_text(
        job_text("zz-dst", "cron: '30 2 * * *'\n  timezone: Europe/Paris")
        + "params:\n  dry_run: false\n"
    )
    return path


def report(root: Path, monkeypatch: pytest.MonkeyPatch, *, helper: bool) -> list[object]:
    """validate's findings on ``root``, the split forced on (or off) whatever the size."""
    # Two cores: no pool (it wants four), a helper where asked.
    monkeypatch.setattr(
        catalog_module, "pool_size", lambda files, min_cores=2: 2 if min_cores <= 2 else 0
    )
    monkeypatch.setattr(splitread, "spare_core", lambda: True)
    monkeypatch.setattr(splitread, "CHUNK", 8)  # both sides take a few chunks
    catalog = api.validate([root], NOW, helper=helper)
    api.check_tasks(catalog, load_project(root), import_tasks=False)
    api.lint(catalog, NOW)
    return [
        len(catalog.files),
        sorted(catalog.jobs),
        [f.file for f in catalog.files],
        [p.as_dict() for p in [*catalog.errors, *catalog.warnings]],
    ]


def test_validate_with_a_helper_reports_the_same(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper's share (linted there, jobs compact) gives the same report, in order."""
    alone = report(root, monkeypatch, helper=False)
    splits: list[int] = []
    real = splitread.read_split

    def spy(own, sent, items):  # type: ignore[no-untyped-def]
        splits.append(len(items))
        return real(own, sent, items)

    monkeypatch.setattr(splitread, "read_split", spy)
    assert report(root, monkeypatch, helper=True) == alone
    assert splits == [alone[0]]
    codes = {p.get("code") for p in alone[3]}  # type: ignore[attr-defined]
    assert codes >= {"pile-up", "dst-skipped", "production-mode"}


def test_a_failing_helper_costs_time_not_results(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper that dies leaves its share to this process: the report is unchanged."""
    alone = report(root, monkeypatch, helper=False)
    parent = os.getpid()

    def dies(task: object) -> object:
        if os.getpid() != parent:
            os._exit(3)
        raise AssertionError("the helper's work ran in this process")

    monkeypatch.setattr(catalog_module, "_read_and_lint", dies)
    assert report(root, monkeypatch, helper=True) == alone


def test_no_helper_without_a_spare_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """One core, or a load that keeps every core busy: no helper is started."""
    monkeypatch.setattr(splitread, "usable_cpus", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.8, 1.0, 1.0))
    assert not splitread.spare_core()
    monkeypatch.setattr(os, "getloadavg", lambda: (0.4, 1.0, 1.0))
    assert splitread.spare_core()
    monkeypatch.setattr(splitread, "usable_cpus", lambda: 1)
    assert not splitread.spare_core()


def test_read_split_keeps_order_and_its_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Results come in the items' order, however many chunks each side took."""
    monkeypatch.setattr(splitread, "spare_core", lambda: True)
    for count in (0, 1, splitread.CHUNK, splitread.CHUNK + 1, 5 * splitread.CHUNK + 7):
        items = list(range(count))
        assert splitread.read_split(lambda x: x * 2, lambda x: x * 2, items) == [
            x * 2 for x in items
        ]


def test_a_helper_raising_is_read_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper whose work raises exits non-zero; its share is done here instead."""
    monkeypatch.setattr(splitread, "spare_core", lambda: True)
    parent = os.getpid()

    def fails_there(x: int) -> int:
        if os.getpid() != parent:
            raise ValueError("boom")
        return x + 1

    items = list(range(3 * splitread.CHUNK))
    assert splitread.read_split(lambda x: x + 1, fails_there, items) == [x + 1 for x in items]


def test_a_helper_does_not_outlive_a_killed_parent(tmp_path: Path) -> None:
    """A parent killed with SIGKILL mid-read takes its helper with it (Linux)."""
    import signal
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    mark = tmp_path / "helper.pid"
    script = f"""
import os, time
from scheduler.config import splitread
splitread.spare_core = lambda: True
parent = os.getpid()
def slow(x):
    if os.getpid() != parent:
        open({str(mark)!r}, "w").write(str(os.getpid()))
    time.sleep(0.05)
    return x
splitread.read_split(slow, slow, list(range(10_000)))
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while not (mark.exists() and mark.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        helper = int(mark.read_text())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(helper, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{helper}/stat") as stat:  # a zombie reaped by init soon enough
            if stat.read().split(")")[-1].split()[0] == "Z":
                return
        time.sleep(0.05)
    os.kill(helper, signal.SIGKILL)  # not left behind by this test either
    raise AssertionError(f"helper {helper} outlived its parent")
