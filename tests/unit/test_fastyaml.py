"""The libyaml fast path reads valid job YAML exactly as the event-by-event path does,
and hands everything it does not vouch for back to that path (which locates the errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scheduler.config.fastyaml import fast_documents
from scheduler.config.loader import parse_job_documents
from scheduler.config.yamlsource import MAX_NODES, Document, parse_documents

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")


def _shape(docs: list[Document]) -> list[tuple[object, ...]]:
    return [(d.data, d.index, d.line, d.column, d.values, d.keys, d.typed_keys) for d in docs]


SAMPLES = [
    "name: a\ntask: m:f\nschedule:\n  cron: '*/5 * * * *'\n",
    "---\nname: a\nparams: {on: 1, 2: x, ~: y, 2026-01-01: d}\n---\n",
    "name: b\nparams:\n  list: [1, 2.5, true, null, '10:00', 10:00]\n"
    "  deep: {a: {b: [x, {c: d}]}}\n",
    "# only a comment\n",
    "",
    "<<: x\n=: y\n",
    "\ufeffname: bom\n",
    "a: !!str 12\nb: ! 13\nc: !!int '14'\n",
    "a: [!!str 1, ! 2, !!int '3', x, [y, {z: 1}]]\n!!str 4: e\n",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_same_documents_as_the_event_path(text: str) -> None:
    fast = fast_documents(text, positions=True)
    slow, errors = parse_documents(text, "x.yaml")
    assert errors == []
    assert fast is not None
    assert _shape(fast) == _shape(slow)


def test_same_documents_for_every_yaml_file_in_the_repository() -> None:
    compared = 0
    for path in [*ROOT.glob("tests/**/*.y*ml"), *ROOT.glob("jobs.d/**/*.y*ml")]:
        text = path.read_text(errors="replace")
        fast = fast_documents(text, positions=True)
        slow, errors = parse_documents(text, str(path))
        if fast is not None and not errors:
            assert _shape(fast) == _shape(slow), path
            compared += 1
    assert compared > 0


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",  # anchors and aliases
        "a: 1\na: 2\n",  # duplicate key
        "a: !!python/name:os.system x\n",  # a tag outside the core types
        "a: !!set {x}\n",
        "? [a, b]\n: c\n",  # a key that is a collection
        "a: [" * 300 + "]" * 300 + "\n",  # could nest deeply
        "a: b: c\n",  # a syntax error
        "a: !!bool maybe\n",  # a scalar its constructor refuses
        "a: [" + "1, " * MAX_NODES + "]\n",  # more values than a document may hold
        "".join(f"k{i}: v\n" for i in range(MAX_NODES // 2)),  # keys count as values too
    ],
)
def test_what_it_does_not_vouch_for_goes_the_slow_way(text: str) -> None:
    assert fast_documents(text, positions=True) is None


def test_errors_keep_their_location_through_the_fallback() -> None:
    text = "name: a\ntask: m:f\nschedule:\n  cron: '61 * * * *'\n"
    result = parse_job_documents(text, "x.yaml")
    assert [(e.line, e.column, e.path) for e in result.errors] == [(4, 9, "schedule.cron")]


def test_without_positions_only_the_top_level_is_located() -> None:
    docs = fast_documents("name: a\nschedule:\n  cron: x\n", positions=False)
    assert docs is not None
    assert set(docs[0].values) == {(), ("name",), ("schedule",)}


def test_a_text_reads_the_same_every_time_it_recurs() -> None:
    """Plain scalars' tags are remembered by text: the second file reading the same texts
    gets the same values (numbers, booleans, nulls, dates, times kept as text)."""
    text = "a: [010, 1_000, 0x1f, .inf, true, on, ~, 2026-01-01, '7', 10:00, 7, x]\n"
    first = fast_documents(text, positions=True)
    again = fast_documents(text, positions=True)
    slow, errors = parse_documents(text, "x.yaml")
    assert first is not None
    assert again is not None
    assert errors == []
    assert repr(_shape(first)) == repr(_shape(again)) == repr(_shape(slow))
    assert first[0].data["a"][:3] == [8, 1000, 31]
