"""The policy fields of a job file: defaults, and every error located (line, column, path)."""

from __future__ import annotations

from datetime import timedelta

from scheduler.config.loader import parse_job_documents
from scheduler.core.policies import DstGap, MisfirePolicy, OverlapPolicy

SOURCE = "jobs.d/p.yaml"
HEAD = 'name: job\ntask: pkg.mod:func\nschedule:\n  cron: "30 2 * * *"\n'


def errors(tail: str) -> list[tuple[int, int, str, str]]:
    result = parse_job_documents(HEAD + tail, SOURCE, None)
    assert result.jobs == []
    return [(e.line, e.column, e.path, e.message) for e in result.errors]


def test_defaults_are_the_safe_ones():
    """No policy field: run_once without grace, forbid, Debian DST, no retries or timeout."""
    result = parse_job_documents(HEAD, SOURCE, None)
    spec = result.jobs[0].spec
    assert spec.misfire.policy is MisfirePolicy.run_once
    assert spec.misfire.grace is None
    assert spec.misfire.max_catchup == 100
    assert spec.overlap is OverlapPolicy.forbid
    assert spec.dst is None
    assert spec.retries is None
    assert spec.timeout is None
    assert spec.on_failure is None
    assert result.jobs[0].misfire.grace is None


def test_a_full_policy_block_loads():
    """Every field given: the values come through typed."""
    tail = (
        "misfire: {policy: run_all, grace: 2h, max_catchup: 5}\n"
        "overlap: queue_one\n"
        "dst: {gap: skip}\n"
        "retries: {max: 2, backoff: 10s}\n"
        "timeout: 10m\nresult_ttl: 1d\nfailure_ttl: 30d\n"
        "on_failure: {webhook: 'https://example.com/h', log: false}\n"
    )
    result = parse_job_documents(HEAD + tail, SOURCE, None)
    assert result.errors == []
    job = result.jobs[0]
    assert job.misfire.grace == timedelta(hours=2)
    assert job.misfire.max_catchup == 5
    assert job.spec.dst is not None
    assert job.spec.dst.gap is DstGap.skip
    assert job.spec.retries is not None
    assert job.spec.retries.max_backoff == "10m"


def test_bad_values_are_located_with_their_dotted_path():
    """Each wrong policy value: its own line, column and dotted path, in words."""
    tail = (
        "misfire:\n  policy: run_twice\n  grace: 10\n  max_catchup: 0\n"
        "overlap: sometimes\n"
        "retries: {max: 3, backof: 30s}\n"
        "on_failure: {webhook: 'ftp://x'}\n"
        "timeout: 10x\n"
    )
    found = errors(tail)
    assert [(line, path) for line, _, path, _ in found] == [
        (6, "misfire.policy"),
        (7, "misfire.grace"),
        (8, "misfire.max_catchup"),
        (9, "overlap"),
        (10, "retries.backof"),
        (11, "on_failure.webhook"),
        (12, "timeout"),
    ]
    messages = {path: message for _, _, path, message in found}
    assert "expected one of 'skip', 'run_once' or 'run_all'" in messages["misfire.policy"]
    assert "has no unit" in messages["misfire.grace"]
    assert "at least 1" in messages["misfire.max_catchup"]
    assert "did you mean 'backoff'" in messages["retries.backof"]
    assert "http://" in messages["on_failure.webhook"]


def test_dst_on_an_elapsed_time_job_points_at_dst():
    """dst on `*/15 * * * *` is an error at the dst key."""
    text = 'name: job\ntask: pkg.mod:func\nschedule:\n  cron: "*/15 * * * *"\ndst: {gap: skip}\n'
    result = parse_job_documents(text, SOURCE, None)
    [error] = result.errors
    assert (error.line, error.path) == (5, "dst")
    assert "fixed-time" in error.message


def test_policies_can_be_folder_defaults():
    """A _defaults.yaml may set on_failure, retries, overlap, misfire and dst for its folder;
    a job's own value wins."""
    from scheduler.config.defaults import DefaultsTree, parse_defaults
    from scheduler.config.loader import FileContext
    from scheduler.config.project import TaskRules

    text = (
        "on_failure: {webhook: 'https://hooks.example.com/x'}\n"
        "retries: {max: 2}\noverlap: allow\nmisfire: {policy: skip}\ndst: {gap: skip}\n"
    )
    parsed = parse_defaults(text, "jobs.d/_defaults.yaml")
    assert parsed.errors == []
    tree = DefaultsTree()
    tree.set(".", parsed)
    context = FileContext(tree.for_file("p.yaml"), TaskRules())
    result = parse_job_documents(HEAD + "overlap: forbid\n", SOURCE, context=context)
    assert result.errors == []
    spec = result.jobs[0].spec
    assert spec.on_failure is not None
    assert spec.on_failure.webhook == "https://hooks.example.com/x"
    assert spec.retries is not None
    assert spec.retries.max == 2
    assert spec.overlap is OverlapPolicy.forbid
    assert spec.misfire.policy is MisfirePolicy.skip
    assert spec.dst is not None


def test_a_job_that_declares_dst_gets_no_dst_warning(tmp_path):
    """The linter's dst-skipped/dst-repeated warn about the Debian rule; a job with `dst:`
    has chosen its nights, so it gets none (the same job without it gets both)."""
    from datetime import UTC, datetime

    from scheduler.engine import api

    plain = (
        'name: a\ntask: pkg.mod:func\nschedule:\n  cron: "30 2 * * *"\n  timezone: Europe/Paris\n'
    )
    (tmp_path / "a.yaml").write_text(plain)
    (tmp_path / "b.yaml").write_text(plain.replace("name: a", "name: b") + "dst: {gap: skip}\n")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    catalog = api.validate([tmp_path], now)
    api.lint(catalog, now)
    codes = {(w.file.rsplit("/", 1)[-1], w.code) for f in catalog.files for w in f.warnings}
    assert codes == {("a.yaml", "dst-skipped"), ("a.yaml", "dst-repeated")}
