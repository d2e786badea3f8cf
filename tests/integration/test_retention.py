"""Retention on a real SQLite file: what a prune removes and keeps, the dry run, the
incremental vacuum, the guard against pruned runs coming back, and idle-time pruning."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from scheduler.core.policyspecs import HistorySpec
from scheduler.core.retention import DEFAULT_RETENTION, Cutoffs, Retention
from scheduler.core.runs import EventKind, RunEvent, RunStatus, RunTrigger, iso_utc, run_id
from scheduler.engine.pruning import BATCH, IdlePruner, JobRules, prune_now
from scheduler.store import Store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def seed(store: Store, job: str, instants: list[datetime], status: RunStatus) -> None:
    """Runs of ``job`` at ``instants`` ending in ``status`` (in one transaction)."""
    with store.batch():
        for at in instants:
            rid = run_id(job, at)
            store.record_enqueued(
                run_id=rid, job=job, scheduled_for=at, trigger=RunTrigger.schedule, enqueued_at=at
            )
            if status is not RunStatus.enqueued:
                kind = EventKind.succeeded if status is RunStatus.succeeded else EventKind.failed
                store.apply_event(
                    RunEvent(
                        kind=kind,
                        run_id=rid,
                        job=job,
                        scheduled_for=iso_utc(at),
                        trigger=RunTrigger.schedule,
                        at=iso_utc(at + timedelta(seconds=1)),
                        duration_s=1.0,
                    )
                )


def statuses(store: Store, job: str) -> list[tuple[datetime, RunStatus]]:
    return sorted((r.scheduled_for, r.status) for r in store.history(job=job, limit=100_000))


RULE = Retention(keep=10 * DAY, keep_failed=30 * DAY, keep_last=3)


def test_prune_by_age_failed_longer_and_never_active(tmp_path: Path) -> None:
    """Ended runs older than keep go, failed ones only past keep_failed, active ones stay."""
    with Store(tmp_path / "s.db") as store:
        days = [NOW - n * DAY for n in range(60, 0, -1)]  # 60 days, newest yesterday
        seed(store, "a", days[0::3], RunStatus.succeeded)
        seed(store, "a", days[1::3], RunStatus.failed)
        seed(store, "a", days[2::3], RunStatus.enqueued)  # never final: never pruned
        dry = prune_now(store, JobRules({}, RULE), NOW, dry_run=True)
        assert store.count_runs("a") == 60
        report = prune_now(store, JobRules({}, RULE), NOW, dry_run=False)
        left = statuses(store, "a")
        assert report.jobs == dry.jobs
        assert report.jobs[0].total == 60 - len(left)
        for at, status in left:
            age = NOW - at
            if status is RunStatus.succeeded:
                assert age < RULE.keep
            elif status is RunStatus.failed:
                assert age < RULE.keep_failed
        assert sum(1 for _, s in left if s is RunStatus.enqueued) == 20
        assert any(s is RunStatus.failed and NOW - at > RULE.keep for at, s in left)
        assert report.jobs[0].failed == sum(1 for d in days[1::3] if NOW - d > RULE.keep_failed)


def test_keep_last_keeps_the_newest_however_old(tmp_path: Path) -> None:
    """A job that stopped running a year ago keeps its last keep_last runs."""
    with Store(tmp_path / "s.db") as store:
        old = [NOW - 365 * DAY - n * DAY for n in range(10)]
        seed(store, "quiet", old, RunStatus.succeeded)
        prune_now(store, JobRules({}, RULE), NOW, dry_run=False)
        assert [at for at, _ in statuses(store, "quiet")] == sorted(old)[-3:]
        none_kept = Retention(keep=10 * DAY, keep_failed=10 * DAY, keep_last=0)
        prune_now(store, JobRules({}, none_kept), NOW, dry_run=False)
        assert store.count_runs("quiet") == 0


def test_a_pruned_run_never_comes_back(tmp_path: Path) -> None:
    """An entry about a pruned run, read late from the stream, inserts nothing."""
    with Store(tmp_path / "s.db") as store:
        days = [NOW - n * DAY for n in range(40, 0, -1)]
        seed(store, "a", days, RunStatus.succeeded)
        prune_now(store, JobRules({}, RULE), NOW, dry_run=False)
        gone = days[0]
        replayed = RunEvent(
            kind=EventKind.succeeded,
            run_id=run_id("a", gone),
            job="a",
            scheduled_for=iso_utc(gone),
            trigger=RunTrigger.schedule,
            at=iso_utc(gone),
        )
        assert store.apply_event(replayed) is False
        assert (
            store.apply_event(RunEvent(**{**replayed.__dict__, "kind": EventKind.enqueued}))
            is False
        )
        assert gone not in [at for at, _ in statuses(store, "a")]
        fresh = NOW + DAY  # a new run of the job is recorded as always
        seed(store, "a", [fresh], RunStatus.succeeded)
        assert fresh in [at for at, _ in statuses(store, "a")]


def test_new_file_vacuums_incrementally_and_an_old_one_is_converted(tmp_path: Path) -> None:
    """A new file gives pruned pages back; a file made before (auto_vacuum off) is rewritten
    once when the watcher opens it."""
    with Store(tmp_path / "s.db") as store:
        assert store.prune.incremental
        seed(
            store, "a", [NOW - n * timedelta(minutes=1) for n in range(20_000)], RunStatus.succeeded
        )
        big = (tmp_path / "s.db").stat().st_size
        with closing(sqlite3.connect(tmp_path / "s.db")) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        big = (tmp_path / "s.db").stat().st_size
        prune_now(store, JobRules({}, RULE), NOW + 30 * DAY, dry_run=False)
        with closing(sqlite3.connect(tmp_path / "s.db")) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert (tmp_path / "s.db").stat().st_size < big / 4
    old = tmp_path / "old.db"
    with Store(old):
        pass
    with closing(sqlite3.connect(old)) as conn:
        conn.execute("PRAGMA auto_vacuum=NONE")
        conn.execute("VACUUM")
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    with Store(old) as store:
        assert store.prune.incremental


def test_idle_pruner_works_in_small_steps(tmp_path: Path) -> None:
    """Each step stays within its budget; passes go on until every job is pruned."""
    with Store(tmp_path / "s.db") as store:
        for job in ("a", "b"):
            seed(
                store,
                job,
                [NOW - 40 * DAY - n * timedelta(minutes=1) for n in range(3 * BATCH)],
                RunStatus.succeeded,
            )
        pruner = IdlePruner(store, lambda: JobRules({}, RULE), lambda: NOW)
        pruner._next_pass = 0.0  # no start-up delay in a test
        assert pruner.step(0.1) < 0.2
        steps = 1
        while store.count_runs() > 6 and steps < 100:
            spent = pruner.step(1.0)
            assert spent < 0.5
            steps += 1
        assert store.count_runs() == 6  # keep_last 3 each
        assert pruner.step(0.0) == 0.0  # no idle time: nothing


def test_rule_over_project_over_defaults() -> None:
    rule = DEFAULT_RETENTION.over(HistorySpec(keep_last=5))
    assert rule == Retention(keep=30 * DAY, keep_failed=90 * DAY, keep_last=5)
    assert rule.over(HistorySpec(keep="1y")).keep == 365 * DAY
    assert rule.over(None) is rule


@pytest.mark.parametrize("bad", ["3x", "0s", "-1d"])
def test_history_spec_rejects_bad_durations(bad: str) -> None:
    with pytest.raises(ValidationError, match=r"duration|negative|zero"):
        HistorySpec.model_validate({"keep": bad})


def test_each_loaded_job_follows_its_own_history_rule(tmp_path: Path) -> None:
    """The watcher's jobs (kept compact) follow their ``history:``, and a job without one
    the project's rule, even when a param happens to be named ``history``."""
    from scheduler.config.liveconfig import LiveConfig

    jobs = tmp_path / "jobs"
    jobs.mkdir()
    head = "task: tests.integration.e2e_tasks:fail\nschedule:\n  interval: 1h\n"
    (jobs / "own.yaml").write_text(f"name: own\n{head}history:\n  keep_last: 5\n")
    (jobs / "plain.yaml").write_text(f"name: plain\n{head}")
    (jobs / "param.yaml").write_text(f"name: param\n{head}params:\n  history: 3\n")
    config = LiveConfig(jobs)
    config.rescan(NOW)
    assert set(config.jobs) == {"own", "plain", "param"}
    rules = JobRules(config.jobs, DEFAULT_RETENTION)
    assert rules("own") == DEFAULT_RETENTION.over(HistorySpec(keep_last=5))
    assert rules("plain") is DEFAULT_RETENTION
    assert rules("param") is DEFAULT_RETENTION
    assert rules("gone") is DEFAULT_RETENTION
    assert all(job.history == job.spec.history for job in config.jobs.values())


def run_pass(store: Store, rules: Callable[[], JobRules]) -> list[str]:
    """One idle pass to its end; the jobs it opened a write transaction for."""
    written: list[str] = []
    delete = store.prune.delete

    def spy(job: str, cut: Cutoffs, limit: int) -> int:
        written.append(job)
        return delete(job, cut, limit)

    store.prune.delete = spy  # type: ignore[method-assign]
    pruner = IdlePruner(store, rules, lambda: NOW)
    pruner._next_pass = 0.0  # no start-up delay in a test
    for _ in range(100):
        pruner.step(1.0)
        if not pruner._todo and not pruner._scanning:
            break
    return written


def test_a_pass_writes_only_for_jobs_past_their_rule(tmp_path: Path) -> None:
    """In one pass a job past its rule is pruned and the jobs within theirs are untouched,
    without a write transaction: more runs than keep_last but all recent, old runs but no
    more than keep_last, failed runs past keep but within keep_failed, or a job's own
    shorter ``history:`` that the project's rule alone would not reach."""
    from scheduler.config.liveconfig import LiveConfig

    jobs = tmp_path / "jobs"
    jobs.mkdir()
    head = "task: tests.integration.e2e_tasks:fail\nschedule:\n  interval: 1h\n"
    (jobs / "short.yaml").write_text(f"name: short\n{head}history:\n  keep: 2d\n")
    config = LiveConfig(jobs)
    config.rescan(NOW)
    hours = [NOW - n * timedelta(hours=1) for n in range(1, 21)]
    with Store(tmp_path / "s.db") as store:
        seed(store, "recent", hours, RunStatus.succeeded)  # over keep_last by count only
        seed(store, "few", [NOW - 50 * DAY, NOW - 60 * DAY], RunStatus.succeeded)
        seed(store, "failed", [NOW - 20 * DAY - n * DAY for n in range(5)], RunStatus.failed)
        seed(store, "old", [NOW - 20 * DAY - n * DAY for n in range(5)], RunStatus.succeeded)
        seed(store, "short", [NOW - n * DAY for n in range(1, 6)], RunStatus.succeeded)
        counts = {job: store.count_runs(job) for job in store.prune.jobs()}

        written = run_pass(store, lambda: JobRules({}, RULE))
        assert sorted(set(written)) == ["old"]
        assert store.count_runs("old") == 3
        assert {job: store.count_runs(job) for job in counts if job != "old"} == {
            job: n for job, n in counts.items() if job != "old"
        }

        project = Retention(keep=100 * DAY, keep_failed=100 * DAY, keep_last=0)
        written = run_pass(store, lambda: JobRules(config.jobs, project))
        assert sorted(set(written)) == ["short"]
        assert [at for at, _ in statuses(store, "short")] == [NOW - 2 * DAY, NOW - DAY]


def test_a_pass_with_every_run_within_its_rule_writes_nothing(tmp_path: Path) -> None:
    """Runs all newer than the loosest rule's cutoff: the pass removes nothing and opens no
    write transaction, whatever their number."""
    with Store(tmp_path / "s.db") as store:
        for job in ("a", "b"):
            seed(store, job, [NOW - n * timedelta(hours=1) for n in range(1, 11)], RunStatus.failed)
        project = Retention(keep=DAY, keep_failed=2 * DAY, keep_last=0)
        assert run_pass(store, lambda: JobRules({}, project)) == []
        assert store.count_runs() == 20
        seed(store, "b", [NOW - 3 * DAY], RunStatus.failed)
        assert set(run_pass(store, lambda: JobRules({}, project))) == {"b"}
        assert store.count_runs() == 20


def test_pages_that_skip_jobs_within_keep_last_find_the_same_jobs(tmp_path: Path) -> None:
    """Told that no rule keeps fewer than ``kept`` runs, a read leaves unread the runs of
    jobs that have no more; page by page it finds the same jobs and ends at the same
    cursors as the read of every job's runs."""
    rule = Retention(keep=10 * DAY, keep_failed=30 * DAY, keep_last=3)
    old = [NOW - 40 * DAY - n * DAY for n in range(5)]
    with Store(tmp_path / "s.db") as store:
        for k in range(7):
            seed(store, f"few-{k}", old[:3], RunStatus.succeeded)  # old, but only keep_last
        seed(store, "many-old", old, RunStatus.succeeded)
        seed(store, "many-failed", old, RunStatus.failed)
        seed(store, "many-recent", [NOW - n * DAY for n in range(1, 6)], RunStatus.succeeded)
        seed(store, "zz-last", old, RunStatus.succeeded)

        def pages(limit: int, kept: int) -> list[tuple[list[str], str | None]]:
            out: list[tuple[list[str], str | None]] = []
            after = None
            while True:
                found, after = store.prune.pending(
                    lambda _job: rule.cutoffs(NOW), after, limit, kept=kept
                )
                out.append((found, after))
                if after is None:
                    return out

        for limit in (1, 2, 3, 5, 11, 12, -1):
            assert pages(limit, 3) == pages(limit, 0)
        found = [job for page, _ in pages(4, 3) for job in page]
        assert found == ["many-failed", "many-old", "zz-last"]


def test_a_pass_reads_only_the_jobs_over_the_fewest_kept(tmp_path: Path) -> None:
    """The lowest keep_last of the rules in force bounds what a pass reads: a job's own
    lower ``keep_last`` lowers it, and that job is pruned to its own rule."""
    from scheduler.config.liveconfig import LiveConfig

    jobs = tmp_path / "jobs"
    jobs.mkdir()
    head = "task: tests.integration.e2e_tasks:fail\nschedule:\n  interval: 1h\n"
    (jobs / "lean.yaml").write_text(f"name: lean\n{head}history:\n  keep_last: 1\n")
    (jobs / "plain.yaml").write_text(f"name: plain\n{head}")
    config = LiveConfig(jobs)
    config.rescan(NOW)
    project = Retention(keep=10 * DAY, keep_failed=10 * DAY, keep_last=4)
    rules = JobRules(config.jobs, project)
    assert rules.loosest(NOW)[1] == 1
    assert JobRules({}, project).loosest(NOW)[1] == 4
    old = [NOW - 40 * DAY - n * DAY for n in range(3)]
    with Store(tmp_path / "s.db") as store:
        seed(store, "lean", old, RunStatus.succeeded)
        seed(store, "plain", old, RunStatus.succeeded)
        assert run_pass(store, lambda: rules) == ["lean"]
        assert store.count_runs("lean") == 1
        assert store.count_runs("plain") == 3
