"""The line-by-line reader of plain block YAML reads what it accepts exactly as the
event-by-event path does (data, documents, every position), and declines the rest, which
the other paths then read or locate as before."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scheduler.config.blockyaml import block_documents
from scheduler.config.loader import parse_job_documents
from scheduler.config.yamlsource import Document, parse_documents

JOB = (
    "name: job-000001\n"
    "description: Benchmark background job job-000001\n"
    "task: examples.bots:birthday\n"
    "params:\n"
    "  n: 823\n"
    "  dry_run: false\n"
    "  tags: [a, 'b', \"c\"]\n"
    "schedule:\n"
    "  weekly:\n"
    "    days: [fri]\n"
    '    at: "07:03"\n'
    "  timezone: America/New_York\n"
)


def _shape(docs: list[Document], *, full: bool) -> list[tuple[object, ...]]:
    def kept(table: dict[tuple[object, ...], object]) -> dict[tuple[object, ...], object]:
        return {loc: pos for loc, pos in table.items() if full or len(loc) <= 1}

    return [
        (d.data, d.index, d.line, d.column, kept(d.values), kept(d.keys), d.typed_keys)
        for d in docs
    ]


def _same_as_event_path(text: str) -> bool:
    """True when the reader took ``text``; then it read it as ``parse_documents`` does."""
    slow, errors = None, None
    taken = False
    for full in (True, False):
        found = block_documents(text, positions=full)
        if found is None:
            continue
        taken = True
        if slow is None:
            slow, errors = parse_documents(text, "x.yaml")
        assert errors == [], text
        assert _shape(found, full=full) == _shape(slow, full=full), text
    return taken


# Scalars the reader should take (YAML's typed plain texts among them), and texts around
# them that libyaml reads otherwise or refuses.
_PLAIN = [
    "a",
    "job-1",
    "examples.bots:birthday",
    "Europe/Paris",
    "a b",
    "a, b",
    "x#y",
    "a #c",
    "a  # c",
    "é",
    "true",
    "True",
    "on",
    "no",
    "null",
    "~",
    "1",
    "-5",
    "+3",
    "012",
    "0o7",
    "0x1F",
    "0b11",
    "1_000",
    "1.5",
    "1e3",
    "1.0e+3",
    ".inf",
    ".nan",
    "10:00",
    "2026-01-01",
    "2026-01-01T10:00:00Z",
    "2026-01-01 10:00:00",
    "<<",
    "=",
    "'q'",
    '"d"',
    '"a #b"',
    "'x' #c",
    "[a, b]",
    "[1, '2', \"3\"]",
    "[]",
    "[ ]",
    "[a,b]",
    "[a] #c",
    "[on, 1.5, ~, '10:00', 10]",
    "a ",
    "a:b",
    "''",
    '""',
    "...",
]
_ODD = [
    "'it''s'",
    '"\\t"',
    '"x" y',
    "[a, , b]",
    "[a, b,]",
    "[a: b]",
    "[a, [b]]",
    "[a #c]",
    "[a]x",
    "{a: 1}",
    "-",
    "- a",
    "*x",
    "&a b",
    "!t x",
    "!!str 1",
    "|",
    ">",
    "%x",
    "@x",
    "`x",
    "?x",
    ":x",
    "a: b",
    "a:",
    "'",
    '"',
    "---",
    "#c",
    "[a,",
    "-a",
    "-.inf",
    "[10:00]",
]
_KEYS = ["a", "b", "name", "dry_run", "x.y", "k-1", "_k", "A", "task", "n"]
_ODD_KEYS = ["on", "1", "null", "y", "a b", "'q'", "- a", "? a"]


@st.composite
def _documents(draw: st.DrawFn) -> str:
    lines: list[str] = []

    def odd(usual: list[str], unusual: list[str]) -> str:
        return draw(st.sampled_from(unusual if draw(st.integers(0, 30)) == 0 else usual))

    def mapping(indent: int, depth: int) -> None:
        keys = draw(st.lists(st.sampled_from(_KEYS), min_size=1, max_size=4, unique=True))
        if draw(st.integers(0, 30)) == 0:
            keys.append(draw(st.sampled_from(keys)))  # a duplicate key
        for usual in keys:
            key, pad = odd([usual], _ODD_KEYS), " " * indent
            if draw(st.integers(0, 6)) == 0:
                lines.append(odd(["", pad + "# note", "  #"], ["\t", "#\t", " \r"]))
            if depth < 3 and draw(st.integers(0, 3)) == 0:
                lines.append(f"{pad}{key}:" + odd(["", " # c", " "], [" #", ":", "#c"]))
                mapping(indent + int(odd(["2", "4", "1"], ["0", "-1"])), depth + 1)
            else:
                gap = odd([" ", "  "], ["", "\t"])
                lines.append(f"{pad}{key}:{gap}{odd(_PLAIN, _ODD)}")
                if draw(st.integers(0, 40)) == 0:  # a scalar's next line, more indented
                    lines.append(pad + "  more")

    for i in range(draw(st.integers(1, 3))):
        if i or draw(st.booleans()):
            lines.append(odd(["---", "# c"], ["--- ", "...", "--- a: 1"]))
        mapping(int(odd(["0"], ["2"])), 0)
    return "\n".join(lines) + odd(["\n", ""], ["\n\n", "\n---\n", "\n..."])


@given(_documents())
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@example(JOB)
@example("a: 1\n---\nb: 2\n")
def test_what_it_reads_it_reads_as_the_event_path(text: str) -> None:
    _same_as_event_path(text)


def test_it_reads_plain_job_files() -> None:
    assert _same_as_event_path(JOB)
    assert _same_as_event_path("---\n# a job\nname: a\ntask: m:f\n---\nname: b\ntask: m:f\n")


def test_it_declines_what_libyaml_should_read() -> None:
    for text in [
        "a:\n  - x\n",  # block sequence
        "a: x\n  y\n",  # a scalar over two lines
        'a: "\\u00e9"\n',  # escapes
        "a:\tb\n",  # a tab
        "on: x\n",  # a key YAML reads as a bool
        "a:\nb: 1\n",  # an empty value (null)
        "a: {b: 1}\n",  # flow mapping
        "a: &x 1\n",  # anchor
        "a: [b,\n  c]\n",  # a flow list over two lines
        "",  # no document
        "# only a comment\n",
        "a: 1\na: 2\n",  # duplicate key
    ]:
        assert block_documents(text, positions=False) is None, text


def test_errors_after_a_declined_file_keep_their_location() -> None:
    result = parse_job_documents("name: a\ntask: m:f\nschedule:\n  cron:\n    - x\n", "x.yaml")
    assert [(e.line, e.column, e.path) for e in result.errors] == [(5, 5, "schedule.cron")]


def test_a_scalar_its_type_refuses_is_an_error_with_its_place() -> None:
    # Typed as a timestamp by its shape, refused by its constructor: the libyaml path
    # locates it; an exception out of the line reader was an "internal error".
    for text, place in [
        ("name: a\ntask: m:f\nparams:\n  d: 2026-13-01\n", (4, 6, "params.d")),
        ("name: a\ntask: m:f\nparams:\n  d: [2026-02-30]\n", (4, 7, "params.d[0]")),
    ]:
        assert block_documents(text, positions=True) is None
        result = parse_job_documents(text, "x.yaml")
        assert [(e.line, e.column, e.path) for e in result.errors] == [place], text
