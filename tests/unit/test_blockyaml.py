"""The line-by-line reader of plain block YAML reads what it accepts exactly as the
event-by-event path does (data and its types, documents, every position), and declines the
rest, which the other paths then read or locate as before: the loader's result is the same
with or without it, and never an exception."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scheduler.config import fastyaml
from scheduler.config.blockyaml import block_documents
from scheduler.config.loader import parse_job_documents
from scheduler.config.yamlsource import Document, parse_documents
from scheduler.core.catalog import FileResult

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

# The same examples on every run come from the suite's profile (tests/conftest.py).
_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _typed(value: Any) -> object:
    """``value`` with every type spelled out: True is not 1, 1 is not 1.0, a date is not
    a datetime, an offset is kept, nan equals nan, and a mapping's key order counts."""
    if type(value) is dict:
        return ("map", [(key, _typed(item)) for key, item in value.items()])
    if type(value) is list:
        return ("seq", [_typed(item) for item in value])
    return (type(value).__name__, repr(value))


def _shape(docs: list[Document], *, full: bool) -> list[tuple[object, ...]]:
    def kept(table: dict[Any, Any]) -> dict[Any, object]:
        return {loc: _typed(pos) for loc, pos in table.items() if full or len(loc) <= 1}

    return [
        (
            _typed(d.data),
            (d.index, d.line, d.column),
            (kept(d.values), kept(d.keys), kept(d.typed_keys)),
        )
        for d in docs
    ]


def _same_as_event_path(text: str) -> bool:
    """True when the reader took ``text``; then it read it as ``parse_documents`` does."""
    slow: list[Document] | None = None
    taken = False
    for full in (True, False):
        found = block_documents(text, positions=full)
        if found is None:
            continue
        taken = True
        if slow is None:
            slow, errors = parse_documents(text, "x.yaml")
            assert [str(e) for e in errors] == [], text
        assert _shape(found, full=full) == _shape(slow, full=full), text
    return taken


def _result(found: FileResult) -> tuple[object, ...]:
    jobs = [
        (
            (job.name, job.line, job.column, job.document, job.name_line, job.positions),
            (_typed(job.spec.model_dump()), _typed(job.params)),
        )
        for job in found.jobs
    ]
    errors = [(e.file, e.line, e.column, e.path, str(e)) for e in found.errors]
    warnings = [(w.file, w.line, w.column, w.path, str(w)) for w in found.warnings]
    return jobs, errors, warnings, found.declared


def _same_as_without_it(text: str) -> None:
    """The loader reads ``text`` as it does with the line reader switched off (the libyaml
    paths alone), without raising, whether the reader took it or not."""
    for positions in (True, False):
        taken = parse_job_documents(text, "x.yaml", positions=positions)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fastyaml, "block_documents", lambda text, positions: None)
            reference = parse_job_documents(text, "x.yaml", positions=positions)
        assert _result(taken) == _result(reference), text


def _agrees(text: str) -> bool:
    taken = _same_as_event_path(text)
    _same_as_without_it(text)
    return taken


# Plain scalars of every shape the job loader's resolver types (yamlsource: YAML 1.1
# without base 60), some of which their constructor refuses (0b_, 2026-02-30).
def _casings(*words: str) -> list[str]:
    out: list[str] = []
    for word in words:
        mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(word))
        out += dict.fromkeys([word, word.upper(), word.capitalize(), mixed, mixed.swapcase()])
    return out


_INTS = ["0", "1", "-5", "+3", "012", "-012", "08", "0_", "0o7", "0x1F", "0X1F", "0x_"]
_INTS += ["0b101", "-0b1", "0b_", "0b2", "1_000", "1__0_", "+0", "-0", "9" * 30, "9" * 5000]
_SEXAGESIMAL = ["1:30", "190:20:30", "-1:30", "+1:30", "1:30.5", "10:00", "1:60", "1:3"]
_FLOATS = ["1.5", ".5", "1.", "-1.5", "+.5", "1e3", "1.0e+3", "6.8523015e+5", "1.5e3"]
_FLOATS += ["685.230_15e+03", "685_230.15", "1_.5", "._5", "1.0E-3", "1.e5", "-0.0"]
_FLOATS += [*_casings(".inf", ".nan"), "-.inf", "+.inf", "-.Inf", "inf", "nan", "-.nan"]
_BOOLS = _casings("yes", "no", "on", "off", "true", "false", "y", "n")
_NULLS = ["~", *_casings("null"), "none", "None", "Nil"]
_TIMESTAMPS = [
    "2026-01-01",
    "2026-02-30",
    "2026-13-01",
    "2026-1-1",
    "0000-01-01",
    "2026-01-01T10:00:00Z",
    "2026-01-01 10:00:00",
    "2026-01-01  10:00:00",
    "2026-1-1 1:00:00",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "2001-12-14 21:59:43.10 Z",
    "2001-12-15 2:59:43.10",
    "2026-01-01T10:00:00.1234567Z",
    "2026-01-01T24:00:00",
    "2026-01-01T10:00:00+25:00",
    "2026-01-01T10:00:00+14",
    "2026-01-01T10:00",
    "9999-12-31T23:59:59-00:30",
]
_TYPED = _INTS + _SEXAGESIMAL + _FLOATS + _BOOLS + _NULLS + _TIMESTAMPS
#: Typed by their shape, refused by their type's constructor (located errors).
_REFUSED = ["0x_", "0b_", "9" * 5000, "2026-02-30", "2026-13-01", "2026-01-01T24:00:00"]
_REFUSED += ["2026-01-01T10:00:00+25:00", "0000-01-01"]
_TEXTS = ["a", "job-1", "examples.bots:birthday", "Europe/Paris", "a b", "a  b", "a, b", "<<"]
_TEXTS += ["=", "...", "a.", "-a", "-1-2", "1e3x", "0x", "a'b", 'a"b', "a[b]", "a{b}", "a]"]
_TEXTS += ["http://x/y?q=1&r", "a!b", "a*b", "a&b", "a|b", "a>b", "a%b", "a@b", "a`b", "a~"]
_HASHES = ["a#b", "a #b", "a  #b", "a# b", "a #", "a:#b", "a#", "a ##", "#a", "a #b: c"]
_COLONS = ["a: b", "a:b", "a:", "a :", "a : b", ":a", "a::b", "a:  b", "a:\u00a0b", "a:,"]
_QUOTED = ["''", '""', "'q'", '"d"', "'it''s'", "''''", "'a''", "'a' '", "'a'#c", "'a' #c"]
_QUOTED += ['"a #b"', "'a: b'", '"a: b"', '"\\t"', '"\\u00e9"', '"\\x41"', '"\\\\"', '"\\""']
_QUOTED += ['"\\U0001F600"', '"a\\\nb"', "'a' b", '"a" y', "'a':", "'#'", "'['", '"it\'s"']
_QUOTED += ["'a' # c 'd'", '"a"  ', "'\u00e9'", "'a", '"a', "'a\"'"]
_INDICATORS = ["-", "- a", "--", "---", "--- a", "?", "? a", "?a", ":", "!a", "!!str 1", "! a"]
_INDICATORS += ["&a b", "*a", "|", ">", "|-", "%a", "@a", "`a", "{a: 1}", "{}", "]a", "}a", ",a"]
_UNICODE = ["\u00e9", "\u65e5\u672c", "\U0001f600", "a\u2028b", "a\u2029", "\u0085a", "a\u0085"]
_UNICODE += ["\ufeffa", "a\ufeff", "\u00a0", "a\u00a0", "\u200b", "\ufffd", "\x7f", "a\x00"]
_UNICODE += ["\x1b", "\ud7ff", "\ue000", "\uff0c", "a\u3000b", "\u00a0#a", "a\u00a0#b"]
_ITEMS = _TYPED + _TEXTS + _QUOTED + _UNICODE + ["", " ", "a: b", "[a]", "{a}", "a}", "a]b"]
_ITEMS += ["a #b", "#", "a:", ":a", "- a", "? a", "*a", "&a a", "!a a", "'a,b'", '"a]"']
_FLOWS = ["[]", "[ ]", "[a,b]", "[a, , b]", "[a, b,]", "[,]", "[a] #c", "[a]#c", "[a]x", "[a]]"]
_FLOWS += ["[a, [b]]", "[a #c]", "[a, b", "[a: b]", "[a}]", "[a{]", "[ a ,b ]", "[[]]", "[a] "]
_SCALARS = _TYPED + _TEXTS + _HASHES + _COLONS + _QUOTED + _INDICATORS + _UNICODE + _FLOWS
_SCALARS += ["x" * 2000, "a" + " " * 3, "a\t", "a \t# c", "a\r", "\t"]
_KEYS = ["a", "b", "name", "dry_run", "x.y", "k-1", "_k", "A", "task", "n", "a_1", "z.9-"]
_ODD_KEYS = [*_BOOLS, *_NULLS[:5], "1", "0x1F", "1.5", ".inf", "1:30", "2026-01-01", "<<"]
_ODD_KEYS += ["=", "a b", "'q'", '"q"', "- a", "? a", "&x a", "!t a", "[a]", "{a}", "\u00e9"]
_ODD_KEYS += ["a#b", "a #b", "a\t", "k" * 1024, "k" * 1025, "a:b", "-a", "_", ".a", "a."]
_ODD_LINES = ["\t", "#\t", " \r", "\r", "---", "...", "--- # c", "... # c", "--- a: 1", "- a"]
_ODD_LINES += ["%YAML 1.1", "%TAG ! tag:x,2000:", "? a", ": b", "a", "  a", "[a]", "\u2028"]
_ODD_LINES += ["\ufeff", "\u00a0", "  #", "#" * 300, "\x0c"]


class _Odd:
    """Draws the usual choice, or (while its budget lasts, one time in ``rate``) an
    unusual one: most texts are plain with one or two odd things in them, the kind the
    reader must read exactly or decline."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.budget = draw(_BUDGET)

    def __call__(self, usual: st.SearchStrategy[str], unusual: st.SearchStrategy[str]) -> str:
        if self.budget and self.draw(_RATE) == 0:
            self.budget -= 1
            return self.draw(unusual)
        return self.draw(usual)

    def one_in(self, n: int) -> bool:
        return self.draw(_below(n)) == 0


@functools.cache
def _below(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


def _one_of(values: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


_BUDGET = st.sampled_from([0, 0, 1, 1, 1, 2])
_RATE = _below(6)
# Values read as they are (the constructors' refusals and odd shapes are unusual).
_USUAL_ITEM = _one_of(
    [s for s in _TYPED + _TEXTS if s not in _REFUSED and s[:2] not in ("-.", "-a")] + _QUOTED[:4]
)
_USUAL = st.one_of(
    _USUAL_ITEM,
    _one_of([*_HASHES[:4], "'a' #c", '"a #b"', "'a: b'", "a:b", "x" * 300]),
    st.lists(_USUAL_ITEM.filter(lambda item: ":" not in item), max_size=4).map(
        lambda items: "[" + ", ".join(items) + "]"
    ),
)
_UNUSUAL = st.one_of(
    _one_of(_SCALARS),
    st.lists(_one_of(_ITEMS), max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
    st.tuples(_one_of(_SCALARS), _one_of(["", " ", "  ", " # c", "#c", " #", "\t"])).map("".join),
    st.text(st.characters(codec="utf-8", exclude_characters="\n"), min_size=1, max_size=6),
)
_KEY = _one_of(_KEYS)
_ODD_KEY = _one_of(_ODD_KEYS)
_SOME_KEYS = st.lists(_KEY, min_size=1, max_size=4, unique=True)
_NOTE = _one_of(["", "# note", "  #", "   "])
_ODD_LINE = _one_of(_ODD_LINES)
_DEPTHS = st.sampled_from(
    [2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 16, 17, 34]
)  # nesting past both readers' bounds
_GAP, _ODD_GAP = _one_of([" ", "  "]), _one_of(["", "\t", " \t", "\u00a0"])
_OPEN, _ODD_OPEN = _one_of(["", " # c", " "]), _one_of([" #", ":", "#c", "\t"])
_STEP, _ODD_STEP = _one_of(["2", "4", "1"]), _one_of(["0", "-1", "3"])
_START, _ODD_START = _one_of(["---", "# c\n---"]), _one_of(["--- ", "...", "--- a: 1", "--- # c"])
_HEAD = _one_of(["\ufeff", "%YAML 1.1\n---\n", "\n", "# c\n", "---\n---\n", "--- |\n x\n"])
_END, _ODD_END = _one_of(["\n", ""]), _one_of(["\n\n", "\n---\n", "\n...", "\n...\n# c\n"])
_EOL = _one_of(["\r\n", "\r", "\u2028", "\u0085"])
_NONE = st.just("")
_NEWLINE = st.just("\n")


@st.composite
def _documents(draw: st.DrawFn) -> str:
    odd = _Odd(draw)
    lines: list[str] = []
    most = draw(_DEPTHS)

    def mapping(indent: int, depth: int) -> None:
        chain = most > 3 and depth < most  # deep nesting: one key a level, the last nests
        keys = [draw(_KEY)] if chain else draw(_SOME_KEYS)
        if odd.budget and odd.one_in(20):
            keys.append(draw(st.sampled_from(keys)))  # a duplicate key
        for number, usual in enumerate(keys):
            key, pad = odd(st.just(usual), _ODD_KEY), " " * indent
            if odd.one_in(7):
                note = odd(_NOTE, _ODD_LINE)
                lines.append(pad + note if note.startswith("#") else note)
            if depth < most and (number == 0 if chain else odd.one_in(4)):
                lines.append(f"{pad}{key}:" + odd(_OPEN, _ODD_OPEN))
                mapping(max(indent + int(odd(_STEP, _ODD_STEP)), 0), depth + 1)
            else:
                lines.append(f"{pad}{key}:{odd(_GAP, _ODD_GAP)}{odd(_USUAL, _UNUSUAL)}")
                if odd.budget and odd.one_in(20):  # a scalar's next line, more indented
                    lines.append(pad + "  more")

    for i in range(1 + draw(_below(3))):
        if i:
            lines.append(odd(_START, _ODD_START))
        elif odd.one_in(2):
            lines.append(odd(st.just("---"), _ODD_START))
        mapping(int(odd(st.just("0"), st.just("2"))), 0)
    head, end = odd(_NONE, _HEAD), odd(_END, _ODD_END)
    return head + odd(_NEWLINE, _EOL).join(lines) + end


@given(_documents())
@settings(_SETTINGS, max_examples=500)
@example(JOB)
@example("a: 1\n---\nb: 2\n")
def test_what_it_reads_it_reads_as_the_event_path(text: str) -> None:
    _same_as_event_path(text)


# Job files: the plain fields with values of every shape, so that most reach validation
# (and the plain job reader) and some are refused, located.
_JOB_FIELDS = {  # field: (values the model takes, values it refuses or reads otherwise)
    "task": (["m:f", "examples.bots:birthday", "'m:f'", "m:f #c"], ["m", "1:30", "~", "m:f:g"]),
    "description": (["d", "'a: b'", "x" * 2000, "\u00e9", "a #b"], ["'it''s'", "a: b", "yes"]),
    "queue": (["default", "q-1", "'1'"], ["1", "''", "null", "Q"]),
    "enabled": (["true", "false", "yes", "No", "ON", "off", "TRUE"], ["1", "~", "y", "oN"]),
    "canary": (["0", "1", "5", "1_0", "0x1", "07"], ["-1", "1.5", "true", "'1'"]),
}
_NAMES, _ODD_NAMES = ["job-{}", "'job-{}'", "j{}.x_y"], ["Job", "1", "on", "~", "[a]", "a{}: b"]
_SCHEDULES = [
    "cron: '0 9 * * *'",
    "cron: 0 9 * * *",
    "cron: '*/5 * * * * */10'  # seconds last",
    "cron: '@daily'",
    "daily: '07:30'",
    "daily: [07:30, '08:00']",
    "daily: ['07:30', '08:00']",
    "interval: 5m",
    "interval: 1h30m",
    "at: 2026-06-01T10:00:00",
    "at: 2026-06-01 10:00:00+02:00",
    "at: 2001-12-14t21:59:43.10-05:00",
    "at: '2026-06-01T10:00:00'",
    "weekly:\n    days: [fri]\n    at: '07:03'",
    "weekly:\n    days: [fri, Mon]\n    at: 07:03",
]
_ODD_SCHEDULES = ["cron: '61 * * * *'", "cron: 1", "daily: 07:30", "daily: 7:30", "daily: 450"]
_ODD_SCHEDULES += ["interval: 300", "interval: 0s", "interval: on", "at: 2026-06-01"]
_ODD_SCHEDULES += ["at: 2026-02-30", "at: yes", "weekly:\n    days: fri\n    at: '07:03'"]
_ODD_SCHEDULES += ["weekly:\n    days: []\n    at: '7:03'", "cron:", "cron: ''", "x: 1"]
_EXTRAS = st.lists(
    _one_of(["timezone: Europe/Paris", "timezone: UTC", "jitter: 30s", "start: 2026-01-01"]),
    max_size=2,
    unique_by=lambda extra: extra.split(":")[0],
)
_ODD_EXTRAS = _one_of(["timezone: Mars/Base", "jitter: 30", "end: 2025-01-01T00:00:00Z"])
_JOB_VALUES = {key: (_one_of(ok), _one_of(odd)) for key, (ok, odd) in _JOB_FIELDS.items()}
_NAME, _ODD_NAME = _one_of(_NAMES), _one_of(_ODD_NAMES)
_SCHEDULE, _ODD_SCHEDULE = _one_of(_SCHEDULES), _one_of(_ODD_SCHEDULES)
_FIRST, _ODD_FIRST = _one_of(["", "---\n"]), _one_of(["\ufeff", "%YAML 1.1\n---\n"])


@st.composite
def _job_files(draw: st.DrawFn) -> str:
    odd = _Odd(draw)
    docs = []
    for i in range(1 + draw(_below(2))):
        lines = [f"name: {odd(_NAME, _ODD_NAME).format(i)}"]
        for key, (values, refused) in _JOB_VALUES.items():
            if key == "task" or odd.one_in(3):
                lines.append(f"{key}: {odd(values, st.one_of(refused, _UNUSUAL))}")
        if draw(st.booleans()):
            lines.append("params:")
            for key in draw(_SOME_KEYS):
                lines.append(f"  {odd(st.just(key), _ODD_KEY)}: {odd(_USUAL, _UNUSUAL)}")
        lines += ["schedule:", "  " + odd(_SCHEDULE, _ODD_SCHEDULE)]
        lines += ["  " + extra for extra in draw(_EXTRAS)]
        if odd.budget and odd.one_in(4):
            lines.append("  " + draw(_ODD_EXTRAS))
        if odd.budget and odd.one_in(6):
            lines.insert(draw(_below(len(lines) + 1)), draw(_ODD_LINE))
        docs.append("\n".join(lines) + "\n")
    return odd(_FIRST, _ODD_FIRST) + "---\n".join(docs)


@given(_job_files())
@settings(_SETTINGS, max_examples=150)
@example(JOB)
@example("name: a\ntask: m:f\nparams:\n  d: 2026-13-01\n")
def test_the_loader_reads_job_files_as_without_it(text: str) -> None:
    _agrees(text)


def _table() -> Iterator[str]:
    """Each shape as a value, a key, a list item, a nested value and a job's param."""
    for shape in dict.fromkeys(_SCALARS + _ODD_KEYS):
        yield f"a: {shape}\n"
        yield f"{shape}: 1\n"
        yield f"x: 1\n{shape}:\n  b: 1\n"
        yield f"a: [{shape}]\n"
        yield f"a: [1, {shape} ]\n"
        yield f"a:\n  b: {shape}\n  c: 1\n"
        yield f"name: a\ntask: m:f\nparams:\n  {shape}: 1\n  d: {shape}  # c\n"
    for line in _ODD_LINES:
        yield f"{line}\na: 1\n"
        yield f"a: 1\n{line}\nb: 2\n"
        yield f"a:\n  b: 1\n{line}\n  c: 2\n"


def test_every_shape_reads_as_the_event_path() -> None:
    """The table of shapes: each read the same, or declined and read the same by the
    libyaml paths."""
    wrong = []
    for text in _table():
        try:
            _agrees(text)
        except AssertionError:
            wrong.append(text)
    assert wrong == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "# only a comment\n",
        "# a\n\n  # b\n",
        "---\n",
        "---\n...\n",
        "...\n",
        "\ufeff",
        "\ufeffa: 1\n",
        "a: 1\r\nb: 2\r\n",
        "%YAML 1.1\n---\na: 1\n",
        "--- a: 1\n",
        "--- # c\na: 1\n",
        "a: 1\n... # end\n",
        "a: 1\n...\nb: 2\n",
        "a: 1\n---\n",
        "a: 1\n--- \nb: 2\n",
        "a:\n  b:\n    a: 1\n  a: 2\na: 3\n",  # the same key at three levels
        "a:\n  b: 1\n  b: 2\n",  # a duplicate below the top
        "".join(f"{' ' * 2 * i}k{i}:\n" for i in range(40)) + " " * 80 + "v: 1\n",
        "".join(f"{' ' * i}k{i}:\n" for i in range(16)) + " " * 16 + "v: 1\n",
        "".join(f"{' ' * i}k{i}:\n" for i in range(17)) + " " * 17 + "v: 1\n",
        "a: " + "x" * 99_990 + "\n",
        "a: [" + ", ".join(["1"] * 15) + "]\n",
        "a: [" + ", ".join(["1"] * 16) + "]\n",
        "".join(f"k{i}: [{', '.join(['1'] * 15)}]\n" for i in range(999)),
    ],
)
def test_edge_files_read_the_same(text: str) -> None:
    """Empty and comment-only files, markers, directives, BOM, CRLF, deep nesting, long
    lines, sizes at the reader's bounds."""
    _agrees(text)


def test_it_reads_plain_job_files() -> None:
    assert _same_as_event_path(JOB)
    assert _same_as_event_path("---\n# a job\nname: a\ntask: m:f\n---\nname: b\ntask: m:f\n")
    read = [s for s in _TYPED + _TEXTS + _HASHES[:5] if s not in _REFUSED and s[:2] != "-."]
    shapes = "\n".join(f"  k{i}: {s}" for i, s in enumerate(read) if s != "-a")
    assert _same_as_event_path(f"a:\n{shapes}\n")


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


def test_libyaml_breaks_lines_at_the_unicode_line_and_paragraph_separators() -> None:
    """U+2028 and U+2029 end a line for libyaml (a plain value stops there, the next key
    starts): the line reader, which splits at newlines only, leaves them to it."""
    for text in [
        "a: x\u2028\n",
        "a: x\u2028b: 1\n",
        "a: 1\u2029b: 2\n",
        "a: [x\u2028]\n",
        "# \u2028\na: 1\n",
    ]:
        assert block_documents(text, positions=True) is None, text
        assert _agrees(text) is False
    result = parse_job_documents("name: a\u2028task: m:f\nschedule:\n  cron: '0 9 * * *'\n", "x")
    assert [(job.name, job.positions["task"]) for job in result.jobs] == [("a", (2, 7))]


def test_a_closing_brace_in_a_flow_list_is_libyaml_s_syntax_error() -> None:
    """``[a}]`` was read as the text 'a}'; libyaml refuses it, located."""
    for text in ["a: [a}]\n", "a: [x, a}b]\n", "a:\n  b: [1}]\n"]:
        assert block_documents(text, positions=True) is None, text
        assert _agrees(text) is False
    result = parse_job_documents("name: a\ntask: m:f\nparams:\n  p: [a}]\n", "x.yaml")
    assert [(e.line, e.column) for e in result.errors] == [(4, 8)]
    assert "YAML syntax error" in str(result.errors[0])


@pytest.mark.parametrize("indent", [0, 2])
def test_a_key_longer_than_libyaml_takes_is_its_error(indent: int) -> None:
    """libyaml reads an implicit key of at most 1,024 characters: a longer one was read
    as a key by the line reader, and is a located syntax error the libyaml way."""
    head = "a:\n" if indent else ""
    longest = f"{head}{' ' * indent}{'k' * 1024}: 1\n"
    assert _agrees(longest) is True
    longer = f"{head}{' ' * indent}{'k' * 1025}: 1\n"
    assert block_documents(longer, positions=True) is None
    assert _agrees(longer) is False
    result = parse_job_documents(longer, "x.yaml")
    assert [(e.line, e.column) for e in result.errors] == [(1 + bool(indent), indent + 1026)]
