"""A job's compact form (what the watcher holds and the job cache stores) and its
definition hash, which the store's job states and every restart compare against."""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import replace
from datetime import UTC, datetime

from scheduler.config.loader import parse_job_documents
from scheduler.core.canonical import canonical_json
from scheduler.core.job import LoadedJob
from scheduler.core.schedule import next_runs

PINNED = """name: pinned-job
description: "Grüße, ünïcode, \\"quotes\\" and: commas, in text"
task: examples.bots:birthday
queue: mail
params: {dry_run: true, limit: 3, ratio: 0.5, tags: [a, b], nested: {k: v}}
schedule:
  cron: "30 9 * * 1-5"
  timezone: Europe/Paris
  jitter: 30s
misfire: {policy: skip, grace: 5m}
retries: {max: 2}
history: {keep: 30d}
canary: 2
"""


def _job(text: str, file: str = "jobs.d/pinned.yaml") -> LoadedJob:
    result = parse_job_documents(text, file)
    assert result.ok, result.errors
    return result.jobs[0]


def test_definition_hash_is_the_sorted_json_of_the_spec_without_history() -> None:
    """The digest stays what every stored job state holds: SHA-256 of the spec's JSON dump,
    keys sorted, ``json.dumps``' default separators and ASCII escapes, history left out."""
    job = _job(PINNED)
    dump = job.spec.model_dump(mode="json", exclude={"history"})
    canonical = json.dumps(dump, sort_keys=True).encode("utf-8")
    assert job.definition_hash == hashlib.sha256(canonical).hexdigest()[:16]
    assert job.definition_hash == "5363120b6bf6ec3d"  # as computed before any speed-up


def test_canonical_json_is_json_dumps_with_sorted_keys() -> None:
    """The encoder made once writes what ``json.dumps(sort_keys=True)`` writes, byte for byte."""
    data = {
        "z": [1, 2.5, -0.0, 1e300, 2**80, None, True, False],
        "é": 'Grüße \u2028 \ud800 "q" \\ \n',
        "a": {"y": {"x": []}, "b": {}},
        "n": float("nan"),
    }
    assert canonical_json(data) == json.dumps(data, sort_keys=True)


def test_compact_keeps_everything_but_the_spec_object() -> None:
    """The compact job answers as the full one, and survives pickling (the cache, the
    workers of a cold start) unchanged."""
    job = _job(PINNED)
    compact = job.compact()
    assert compact is not job
    assert compact._spec is None
    assert job._spec is not None  # the full job is left as it was
    for name in ("name", "file", "line", "column", "document", "name_line", "enabled"):
        assert getattr(compact, name) == getattr(job, name)
    assert (compact.canary, compact.overlap, compact.queue) == (job.canary, job.overlap, job.queue)
    assert compact.definition_hash == job.definition_hash
    assert compact.schedule is job.schedule
    assert compact.misfire == job.misfire
    assert compact.spec == job.spec
    assert compact.params == job.params
    assert compact.history == job.history
    again = pickle.loads(pickle.dumps(compact))
    assert again.definition_hash == job.definition_hash
    assert again.spec == job.spec
    assert compact.compact() is compact


def test_an_unresolved_compact_job_works_out_the_same_when_asked() -> None:
    """``compact(resolved=False)`` (validate's helper sends such jobs back) answers as the
    full job, its schedule, hash and misfire rule worked out on demand, from a model job
    and from a plain one alike, and it pickles smaller than the resolved form."""
    plain = _job("name: plain-job\ntask: a.b:c\nschedule: {cron: '*/5 * * * *'}\n")
    assert plain._spec is None  # the plain-document fast path's compact job
    for job in (_job(PINNED), plain):
        light = job.compact(resolved=False)
        assert light is not job
        assert light._spec is None
        assert (light._schedule, light._hash, light._misfire) == (None, None, None)
        assert (light.name, light.file, light.line, light.positions) == (
            job.name,
            job.file,
            job.line,
            job.positions,
        )
        assert light.spec == job.spec
        assert light.params == job.params
        assert light.definition_hash == job.definition_hash
        assert light.misfire == job.misfire
        run = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
        assert next_runs(light.schedule, run, 5) == next_runs(job.schedule, run, 5)
        sent = pickle.dumps(job.compact(resolved=False))
        assert len(sent) < len(pickle.dumps(job.compact()))
        assert pickle.loads(sent).definition_hash == job.definition_hash


def test_equal_misfire_rules_are_one_object() -> None:
    """Jobs with the same misfire settings share one rule (100,000 jobs hold few)."""
    other = PINNED.replace("pinned-job", "other-job")
    a, b = _job(PINNED).compact(), _job(other, "jobs.d/other.yaml").compact()
    assert a.misfire is b.misfire
    assert a.definition_hash != b.definition_hash
    plain = _job("name: plain\ntask: a.b:c\nschedule: {cron: '* * * * *'}\n").compact()
    assert plain.misfire != a.misfire


def test_a_compact_jobs_zone_is_read_without_rebuilding_its_spec() -> None:
    """``timezone_name`` (what ``next`` prints) comes from the compact job's JSON, which
    leaves the default zone out; the spec is not validated again for it."""
    from scheduler.core import job as jobmodule

    written = _job(PINNED)
    default = _job(PINNED.replace("  timezone: Europe/Paris\n", ""), "jobs.d/utc.yaml")
    assert (written.timezone_name, default.timezone_name) == ("Europe/Paris", "UTC")
    rebuilt = jobmodule._spec_from_json.cache_info().misses
    for full in (written, default):
        compact = full.compact()
        assert compact.timezone_name == full.spec.schedule.timezone
        assert compact.timezone == full.timezone
    assert jobmodule._spec_from_json.cache_info().misses == rebuilt


def test_a_compact_jobs_runs_are_the_full_jobs_without_rebuilding_its_spec() -> None:
    """What a run is enqueued with (payload, RQ options) is the same from the compact job's
    JSON as from its spec; only a job that sets what the JSON path leaves to the spec
    (retries, a timeout, TTLs) has it rebuilt, so a watcher of plain jobs needs no model."""
    from scheduler.core import job as jobmodule
    from scheduler.core.runs import RunTrigger
    from scheduler.engine.dispatch import rq_options

    no_policies = PINNED.replace("retries: {max: 2}\n", "")
    cases = {
        "retries": (PINNED, True),
        "plain": ("name: p\ntask: m:f\nschedule:\n  interval: 5m\n", False),
        "params, zone, queue": (no_policies, False),
        "dates in params": (no_policies.replace("limit: 3", "day: 2026-03-01"), False),
        "a param named timeout": (no_policies.replace("limit: 3", "timeout: 3"), True),
        "timeout": (no_policies + "timeout: 10m\nresult_ttl: 1h\n", True),
    }
    instant = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    for case, (text, rebuilds) in cases.items():
        full = _job(text)
        compact = pickle.loads(pickle.dumps(full.compact()))
        asked = jobmodule._spec_from_json.cache_info
        before = asked().hits + asked().misses
        for trigger, canary in [(RunTrigger.schedule, False), (RunTrigger.manual, True)]:
            got = compact.run_request(instant, trigger, canary=canary)
            want = full.run_request(instant, trigger, canary=canary)
            assert replace(got, run_id="") == replace(want, run_id=""), case  # manual: random
        assert rq_options(compact) == rq_options(full), case
        rebuilt = asked().hits + asked().misses > before
        assert rebuilt == rebuilds, case
