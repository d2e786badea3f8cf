"""The plain-document fast path (``core.plainjob``) against the job model: it declines, or
gives the very job the model's path gives (every slot, the spec's JSON, the hash, the
pickle); and it does not decline the plain documents it is there for."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from datetime import UTC, date, datetime, time
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from scheduler.config.loader import parse_job_documents
from scheduler.core.job import LoadedJob, Place, from_plain
from scheduler.core.models import JobSpec, ScheduleSpec, WeeklySpec
from scheduler.core.plainjob import JOB_FIELDS, SCHEDULE_FIELDS, plain_job

SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WHERE: Place = ("jobs.d/a/b.yaml", 7, 1, 2, 8, ("jobs.d/_defaults.yaml",), {"name": (8, 7)})

# --- plain documents of the covered shape ---------------------------------------------

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12).filter(
    lambda t: "${" not in t
)
NAMES = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,62}", fullmatch=True)
DOTTED = st.from_regex(
    r"[A-Za-z_][A-Za-z0-9_]{0,6}(\.[A-Za-z_][A-Za-z0-9_]{0,6}){0,2}", fullmatch=True
)
TASKS = st.tuples(DOTTED, DOTTED).map(":".join)
QUEUES = st.one_of(
    st.just("default"), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True)
)
#: What YAML makes of a params value: floats (0.955, 1e+16, -0.0), dates, naive datetimes.
FLOATS = st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: "e-" not in repr(f))
DATES = st.dates() | st.datetimes()


def _distinct_as_text(mapping: dict[Any, Any]) -> bool:
    # ``{'true': 1, True: 2}`` is one key in JSON: the fast path declines it (a test below).
    return len({k if type(k) is str else json.dumps(k) for k in mapping}) == len(mapping)


#: Keys YAML types below params' top (``on:`` is True): the model keeps them.
NESTED_KEYS = TEXT | st.booleans() | st.integers(-(2**63), 2**63 - 1)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TEXT | FLOATS | DATES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(NESTED_KEYS, inner, max_size=3).filter(_distinct_as_text)
    ),
    max_leaves=8,
)
CRONS = st.one_of(
    st.sampled_from(
        [
            "30 2 * * *",
            "0 9 * * 1-5",
            "*/15 9-17 * * 1-5",
            "9 3 1 */3 *",
            "0 0 L * *",
            "0 12 * * mon,fri",
            "@daily",
            "@hourly",
            "5 4 * * sun",
            "0  2 * * *",
            "*/5 * * * * */10",
        ]
    ),
    st.tuples(st.integers(0, 59), st.integers(0, 23), st.integers(0, 59)).map(
        lambda t: f"{t[0]} {t[1]} * * * {t[2]}"
    ),
)
DURATIONS = st.sampled_from(["30s", "1m", "15m", "1h", "1h30m", " 2h ", "1d", "45 s", "1w"])
TIMES = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), st.booleans()).map(
    lambda t: f"{t[0]}:{t[1]:02d}:{t[2]:02d}" if t[3] else f"{t[0]:02d}:{t[1]:02d}"
)
DAYS = st.sampled_from(["mon", "Tue", "wed", "THU", "friday", "Saturday", " sun ", "sat"])
ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Etc/GMT+5"])
#: Local datetimes as job files write them: YAML's dates and naive datetimes, and quoted
#: ISO text (a date, a time to the minute or the second, "T" or a space), within the
#: model's years. DST nights are drawn often: a skipped or repeated local time.
DST_NIGHTS = st.sampled_from(
    [
        datetime(2030, 3, 31, 2, 30),  # Europe/Paris skips 02:00-03:00
        datetime(2030, 10, 27, 2, 30),  # and repeats it
        datetime(2030, 3, 10, 2, 15),  # America/New_York skips
        datetime(2030, 11, 3, 1, 45),  # and repeats
    ]
)
LOCAL_DATETIMES = DST_NIGHTS | st.datetimes(
    datetime(1900, 1, 1), datetime(9000, 12, 31, 23, 59)
).map(
    lambda d: d.replace(fold=0)  # YAML's are never of the second pass
)


def _written(moment: datetime, form: int) -> Any:
    """``moment`` as a job file may give it: form 0-1 as YAML reads it, 2-5 as text."""
    if form == 0:
        return moment
    if form == 1:
        return moment.date()
    texts = (
        moment.date().isoformat(),
        moment.isoformat(timespec="minutes"),
        moment.isoformat(sep=" ", timespec="seconds"),
        moment.isoformat(timespec="seconds"),
    )
    return texts[form - 2]


LOCALS = st.tuples(LOCAL_DATETIMES, st.integers(0, 5)).map(lambda t: _written(*t))


def _one_or_list(items: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return items | st.lists(items, min_size=1, max_size=4)


def _local(written: Any) -> datetime:
    if isinstance(written, str):
        return datetime.fromisoformat(written)
    return written if isinstance(written, datetime) else datetime.combine(written, time())


@st.composite
def schedules(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["cron", "interval", "daily", "weekly", "at"]))
    out: dict[str, Any] = {}
    if kind == "at":
        out["at"] = draw(LOCALS)
    elif kind == "cron":
        out["cron"] = draw(CRONS)
    elif kind == "interval":
        out["interval"] = draw(st.sampled_from(["1h", "1d", "6h", " 90m", "1w"]))
    elif kind == "daily":
        out["daily"] = draw(_one_or_list(TIMES))
    else:
        days = draw(st.lists(DAYS, min_size=1, max_size=7))
        out["weekly"] = {"days": days, "at": draw(_one_or_list(TIMES))}
    if draw(st.booleans()):
        out["timezone"] = draw(ZONES)
    if draw(st.booleans()):
        out["jitter"] = draw(st.sampled_from(["30s", "1m", "15m", " 5s"]))
    # A window in order (local order is instant order: the fixed-time rule keeps it).
    window = sorted(draw(st.lists(LOCALS, max_size=2)), key=_local)
    for field in draw(st.sampled_from([(), ("start",), ("end",), ("start", "end")])):
        if window:
            out[field] = window.pop(0)
    if kind == "interval" and draw(st.booleans()):
        out["anchor"] = draw(LOCALS)
    return out


@st.composite
def plain_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": draw(NAMES), "task": draw(TASKS), "schedule": draw(schedules())}
    optional = {
        "description": TEXT | st.none() | st.just("x" * 2000),
        "queue": QUEUES,
        "params": st.dictionaries(TEXT, VALUES, max_size=4),
        "enabled": st.booleans(),
        "canary": st.integers(0, 1000),
        "previous_names": st.lists(NAMES, max_size=3),
        "overlap": st.sampled_from(["allow", "forbid", "replace", "queue_one"]),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            doc[key] = draw(values)
    return {key: doc[key] for key in draw(st.permutations(list(doc)))}


# --- near misses ------------------------------------------------------------------------

ODD = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        1,
        -1,
        1001,
        2**63,
        -(2**63) - 1,
        1.0,
        0.5,
        float("nan"),
        "",
        " ",
        "yes",
        "no",
        "on",
        "off",
        "1.0",
        "${HOME}",
        "${env:HOME}",
        "${",
        "x${Y}",
        "\ud800",
        "Allow",
        "Bad Name",
        "a/b",
        "..",
        "a" * 64,
        "x" * 2001,
        "pkg.mod",
        "pkg:mod:f",
        "bad queue",
        "0 30 2 * * *",  # Quartz: seconds first
        "0 0 30 2 *",
        "* * * * * * *",
        "61 * * * *",
        "H 2 * * *",
        "@never",
        "Europe/Nowhere",
        "europe/paris",
        "../etc",
        "25:00",
        "9:60",
        "0s",
        "30",
        "10y",
        "1m30h",
        "funday",
        "Mo",
        date(2026, 12, 24),
        datetime(2026, 12, 24, 9, 30),
        [],
        [None],
        [1],
        ["mon", 2],
        {},
        {"k": 1.5},
        {"k": "${A}"},
        {"${": 1},
        {1: "int key"},
        {"days": ["mon"]},
        {"days": ["mon"], "at": "9:00", "extra": 1},
        ("tuple",),
        {"a": {"b": {"c": date(2026, 1, 1)}}},
        1e-7,
        1e-05,
        float("inf"),
        -float("inf"),
        datetime(2026, 12, 24, 9, 30, tzinfo=UTC),
        {True: 1, "true": 2},
        {1: "a", "1": "b"},
        {None: 1},
        {1.5: 1},
        {date(2026, 1, 1): 1},
        {2**63: 1},
        [date(2026, 1, 1), 0.955, {False: [1.0]}],
        datetime(1899, 12, 31, 23, 59),
        date(9001, 1, 1),
        datetime(2030, 10, 27, 2, 30, fold=1),
        "2030-02-30",
        "2030-01-01T24:00",
        "2030-01-01t09:00",
        "2030-01-01T09:00Z",
        "2030-01-01T09:00+01:00",
        "2030-01-01T09:00:00.5",
        "20300101",
        "9001-01-01",
        1700000000,
    ]
)
PLACES = st.sampled_from(
    [(f,) for f in ("name", "description", "task", "queue", "params", "enabled", "canary")]
    + [(f,) for f in ("previous_names", "overlap", "schedule", "misfire", "dst", "retries")]
    + [(f,) for f in ("timeout", "result_ttl", "failure_ttl", "on_failure", "history", "nope")]
    + [("schedule", f) for f in SCHEDULE_FIELDS]
    + [("schedule", "every"), ("params", "k"), ("params", "k", "deep"), ("previous_names", 0)]
    + [("schedule", "weekly", "days"), ("schedule", "weekly", "at"), ("schedule", "daily", 0)]
)


@st.composite
def near_misses(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(plain_docs())
    for _ in range(draw(st.integers(1, 3))):
        place, value = draw(PLACES), copy.deepcopy(draw(ODD))
        if draw(st.integers(0, 9)) == 0:
            doc.pop(place[0], None)
            continue
        node: Any = doc
        for step in place[:-1]:
            if isinstance(node, dict):
                node = node.setdefault(step, {})
            elif isinstance(node, list) and isinstance(step, int) and node:
                node = node[0]
        last = place[-1]
        if isinstance(node, dict) and not isinstance(last, int):
            node[last] = value
        elif isinstance(node, list) and node:
            node[0] = value
    return doc


# --- the comparison ----------------------------------------------------------------------


def model_job(doc: dict[str, Any]) -> LoadedJob | None:
    try:
        spec = JobSpec.model_validate(doc)
    except ValidationError:
        return None
    return LoadedJob(spec, *WHERE).compact()


def assert_same_job(fast: LoadedJob, model: LoadedJob) -> None:
    for slot in LoadedJob.__slots__:
        if slot == "_params" and fast._params is not None:  # Params: equal by identity
            assert model._params is not None
            assert fast._params.value == model._params.value
            continue
        assert getattr(fast, slot) == getattr(model, slot), slot
        assert type(getattr(fast, slot)) is type(getattr(model, slot)), slot
    assert fast.definition_hash == model.definition_hash
    assert pickle.dumps(fast) == pickle.dumps(model)
    assert fast.spec == model.spec
    assert fast.params == model.params


def compare(doc: dict[str, Any]) -> bool:
    """Whether the fast path accepted ``doc``; asserts it then agrees with the model."""
    plain = plain_job(doc)
    model = model_job(doc)
    if plain is None:
        return False
    assert model is not None, f"accepted what the model refuses: {doc!r}"
    assert_same_job(from_plain(plain, WHERE), model)
    return True


@SETTINGS
@given(doc=plain_docs())
def test_plain_documents_are_accepted_as_the_model_reads_them(doc: dict[str, Any]) -> None:
    """A valid plain document is not declined (else the fast path silently stops paying),
    and its job is the model path's, slot for slot."""
    assert model_job(doc) is not None, doc
    assert compare(doc), f"declined a plain document: {doc!r}"


@SETTINGS
@given(doc=near_misses())
def test_near_misses_are_declined_or_read_as_the_model_reads_them(doc: dict[str, Any]) -> None:
    """Wrong types, bad names, crons, zones, times and days, unknown or uncovered fields,
    YAML's oddities: declined, or (where still valid) the model path's very job."""
    compare(doc)


#: Local datetimes of every shape and year, and text of their digits' shape (Feb 30th).
ANY_LOCAL = (
    LOCALS
    | st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30)).map(lambda d: _written(d, 0))
    | st.dates(date(1, 1, 2), date(9999, 12, 30))
    | LOCAL_DATETIMES.map(lambda d: d.replace(fold=1))
    | st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?", fullmatch=True
    )
)


@SETTINGS
@given(
    doc=plain_docs(),
    given_bounds=st.dictionaries(st.sampled_from(["at", "start", "end", "anchor"]), ANY_LOCAL),
)
def test_local_datetimes_are_declined_or_read_as_the_model_reads_them(
    doc: dict[str, Any], given_bounds: dict[str, Any]
) -> None:
    """Any at, start, end and anchor on any kind (a window backwards, a year out of range,
    an anchor on a cron, a second kind beside ``at``): declined, or the model path's job."""
    compare({**doc, "schedule": {**doc["schedule"], **given_bounds}})


def test_what_the_fast_path_leaves_to_the_model_is_declined() -> None:
    """Documents the model accepts but the fast path does not cover go the model's way."""
    base = {"name": "j", "task": "m:f", "schedule": {"cron": "30 2 * * *"}}
    uncovered = [
        {**base, "misfire": {"policy": "skip"}},
        {**base, "retries": {"max": 2}},
        {**base, "timeout": "1m"},
        {**base, "history": {"keep": "30d"}},
        {**base, "params": {"home": "${env:HOME}"}},
        {**base, "params": {"small": 1e-7}},
        {**base, "params": {"at": datetime(2026, 1, 1, tzinfo=UTC)}},
        {**base, "schedule": {"at": "2030-01-01T00:00Z"}},
        {**base, "schedule": {"at": "2030-01-01T00:00:00.5"}},
        {**base, "schedule": {"cron": "30 2 * * *", "start": 1700000000}},
        {**base, "schedule": {"cron": "30 2 * * *", "end": datetime(2030, 1, 1, tzinfo=UTC)}},
        {**base, "schedule": {"interval": "1h", "anchor": "2030-01-01T00:00+01:00"}},
        {**base, "dst": {"gap": "skip"}},
    ]
    for doc in uncovered:
        assert model_job(doc) is not None, doc
        assert plain_job(doc) is None, doc


def test_one_shots_windows_and_phases_are_read_as_the_model_reads_them() -> None:
    """``at``, ``start``, ``end`` and ``anchor`` as job files write them (YAML's dates and
    datetimes, quoted ISO text) are accepted: the model path's very job, DST nights read
    by the fixed-time rule; a window whose start is after its end is the model's error."""
    base = {"name": "j", "task": "m:f"}
    paris = {"timezone": "Europe/Paris"}
    covered = [
        {"at": "2030-01-01T00:00"},
        {"at": datetime(2030, 3, 31, 2, 30), **paris},  # in the gap: its end
        {"cron": "30 2 * * *", "start": "2030-01-01"},
        {"cron": "30 2 * * *", "start": date(2030, 1, 1), "end": "2030-10-27 02:30", **paris},
        {"interval": "1h", "anchor": "2030-01-01"},
        {"interval": "90m", "anchor": datetime(2030, 1, 1, 0, 15), "jitter": "1m", **paris},
        {"daily": "09:00", "start": "2030-10-27 02:30", "end": "2030-10-27 02:30", **paris},
    ]
    for schedule in covered:
        assert compare({**base, "schedule": schedule}), schedule
    backwards = {"cron": "0 9 * * *", "start": "2031-01-01", "end": "2030-01-01"}
    assert plain_job({**base, "schedule": backwards}) is None
    assert model_job({**base, "schedule": backwards}) is None


def test_the_fast_path_knows_every_field_of_the_model() -> None:
    """A field added to the model must be taught to the fast path (or declined by it): the
    two field lists, in the model's order (its dumps' key order), are the same."""
    assert tuple(JobSpec.model_fields) == JOB_FIELDS
    assert tuple(ScheduleSpec.model_fields) == SCHEDULE_FIELDS
    assert tuple(WeeklySpec.model_fields) == ("days", "at")


NO_MODEL = """
import sys
from scheduler.core.job import from_plain
from scheduler.core.plainjob import plain_job
doc = {"name": "j", "task": "m:f", "schedule": {"cron": "30 2 * * *", "timezone": "Europe/Paris"}}
job = from_plain(plain_job(doc), ("f.yaml", 1, 1, 0, 1, (), {}))
job.schedule, job.definition_hash, job.misfire
from datetime import datetime, UTC
from scheduler.core.runs import RunTrigger
from scheduler.engine.watcher import Watcher
from scheduler.engine.dispatch import rq_options
job.run_request(datetime.now(UTC), RunTrigger.schedule), rq_options(job)
print([m for m in sys.modules if "pydantic" in m])
"""


def test_the_fast_path_imports_no_pydantic() -> None:
    """A plain document becomes a compact job without the model's library imported, so a
    command reading only plain documents (``scheduler next``) need not pay for it, nor a
    watcher of such jobs dispatching them (8 MB of its memory at 100,000 jobs)."""
    done = subprocess.run(
        [sys.executable, "-c", NO_MODEL], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


# --- through the loader -------------------------------------------------------------------

PLAIN_FILE = """name: far-000001
task: examples.bots:heartbeat
overlap: allow
params: {to: [ops], limit: 3}
schedule:
  cron: "53 6 * * * 31"
  timezone: Europe/Paris
"""


def test_the_loader_builds_plain_documents_without_the_model() -> None:
    """Without dated warnings (the watcher, ``next``), a plain document's job comes from the
    fast path, compact from the start, and equals the model path's, positions included."""
    for positions in (True, False):
        job = parse_job_documents(PLAIN_FILE, "jobs.d/far.yaml", positions=positions).jobs[0]
        assert job._spec is None
        place: Place = ("jobs.d/far.yaml", 1, 1, 0, 1, (), job.positions)
        assert_same_job(
            job, LoadedJob(JobSpec.model_validate(yaml.safe_load(PLAIN_FILE)), *place).compact()
        )
        assert (job.position("schedule.cron") == (6, 9)) is positions


def test_the_loader_keeps_the_model_where_specs_are_read_whole() -> None:
    """With ``now`` (validate's lint, plan's diff read every spec) the model's spec is kept;
    a params key YAML typed is still reported, as the model path reports it."""
    now = datetime(2026, 12, 3, tzinfo=UTC)
    job = parse_job_documents(PLAIN_FILE, "jobs.d/far.yaml", now).jobs[0]
    assert job._spec is not None
    typed = parse_job_documents(PLAIN_FILE.replace("limit: 3", "1: 3"), "jobs.d/far.yaml")
    assert typed.jobs == []
    assert [e.path for e in typed.errors] == ["params.1"]


EVERYDAY_PARAMS = """name: report
task: examples.bots:heartbeat
params:
  threshold: 0.955
  big: 1e16
  since: 2024-03-22
  at: 2024-03-22T10:00:00
  retry: {on: true, 3: [0.5, 2024-01-01]}
schedule: {cron: "30 2 * * *"}
"""


def test_floats_dates_and_nested_typed_keys_in_params_are_read_as_the_model_reads_them() -> None:
    """Floats, YAML's dates and datetimes, and keys YAML typed below params' top are in
    everyday job files: accepted, the job the model path's (its params kept apart when
    JSON would not give them back, as the model path keeps them)."""
    doc = yaml.safe_load(EVERYDAY_PARAMS)
    assert compare(doc)
    job = parse_job_documents(EVERYDAY_PARAMS, "jobs.d/r.yaml").jobs[0]
    assert job._spec is None
    now = datetime(2026, 12, 3, tzinfo=UTC)  # the model path's
    model = parse_job_documents(EVERYDAY_PARAMS, "jobs.d/r.yaml", now).jobs[0]
    assert model._spec is not None
    assert job.params == model.params
    assert job.definition_hash == model.definition_hash
    floats_only = {**doc, "params": {"threshold": 0.955, "big": 1e16, "zero": -0.0}}
    assert compare(floats_only)
    assert from_plain(plain_job(floats_only), WHERE)._params is None  # type: ignore[arg-type]


def test_params_keys_that_are_one_text_in_json_are_left_to_the_model() -> None:
    """``{'true': ..., True: ...}`` (``true:`` quoted and not) is one JSON key: declined."""
    params = {"": {"true": None, True: None}}
    doc = {"name": "a", "task": "m:f", "params": params, "schedule": {"cron": "0 9 * * *"}}
    assert model_job(doc) is not None
    assert compare(doc) is False
