"""Hostile and broken input: the loader answers with located errors, never raises or hangs.

Nothing here may run code, expand without bound, recurse without bound or raise out of
``parse_job_documents`` / ``read_job_file``. Every problem has a line and column >= 1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.config.catalog import read_job_file
from scheduler.config.loader import parse_job_documents
from scheduler.config.yamlsource import MAX_CHARS, MAX_DEPTH, MAX_NODES
from scheduler.core.catalog import FileResult

SOURCE = "jobs.d/hostile.yaml"
VALID = "name: job\ntask: pkg.mod:func\nschedule:\n  cron: '0 9 * * *'\n"


def load(text: str) -> FileResult:
    """Parse ``text`` as the contents of SOURCE."""
    return parse_job_documents(text, SOURCE)


def assert_located(result: FileResult) -> None:
    """Every problem in ``result`` is in SOURCE, at line/column >= 1, with words and a path."""
    for problem in [*result.errors, *result.warnings]:
        assert problem.file == result.file
        assert problem.line >= 1
        assert problem.column >= 1
        assert isinstance(problem.path, str)
        assert problem.message.strip()


def rejected(text: str) -> tuple[int, int, str, str]:
    """The first error of a text that must be rejected: (line, column, path, message)."""
    result = load(text)
    assert result.errors, "expected an error"
    assert result.jobs == [] or not result.ok
    assert_located(result)
    first = result.errors[0]
    return first.line, first.column, first.path, first.message


# --- code execution and expansion ------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.mark.timeout(10)
def test_billion_laughs_is_refused_at_the_first_alias():
    """An alias bomb is refused at its first alias, without expanding anything."""
    line, column, path, message = rejected(BILLION_LAUGHS)
    assert (line, column, path) == (2, 8, "b[0]")
    assert "aliases" in message


def test_single_alias_is_refused():
    """Even one harmless alias is refused: job files use no aliases at all."""
    text = VALID + "description: &d hello\nparams:\n  text: *d\n"
    line, column, path, message = rejected(text)
    assert (line, column, path) == (7, 9, "params.text")
    assert "aliases" in message


def test_alias_used_as_key_is_refused():
    """An alias in key position is refused as well."""
    line, column, _, message = rejected("&x a: 1\n*x : 2\n")
    assert (line, column) == (2, 1)
    assert "aliases" in message


def test_python_object_apply_tag_runs_nothing(monkeypatch):
    """!!python/object/apply:os.system is an error at the tagged value and calls nothing."""
    calls: list[object] = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    text = "name: job\ntask: m:f\nschedule: !!python/object/apply:os.system ['echo pwned']\n"
    line, column, path, message = rejected(text)
    assert (line, column, path) == (3, 11, "schedule")
    assert "!!python/object/apply:os.system" in message
    assert "not allowed" in message
    assert calls == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("!!python/object:collections.OrderedDict {}", "!!python/object:collections.OrderedDict"),
        ("!!python/tuple [1, 2]", "!!python/tuple"),
        ("!<tag:yaml.org,2002:python/object> x", "!!python/object"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a, b}", "!!set"),
        ("!!omap [a: 1]", "!!omap"),
    ],
)
def test_python_and_non_core_tags_are_refused(value, shown):
    """Python tags and YAML tags outside the core types are errors at the tagged value."""
    line, column, path, message = rejected(f"name: {value}\n")
    assert (line, column, path) == (1, 7, "name")
    assert shown in message


def test_python_tag_via_tag_directive_is_refused():
    """A %TAG directive cannot smuggle a Python tag in under a short handle."""
    text = "%TAG ! tag:yaml.org,2002:python/\n---\nname: !object:os.system x\n"
    line, column, path, message = rejected(text)
    assert (line, column, path) == (3, 7, "name")
    assert "not allowed" in message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("name: !mytag x\n", (1, 7, "name")),
        (VALID + "params: !Secret {key: v}\n", (5, 9, "params")),
        (VALID + "params:\n  list: !env [A, B]\n", (6, 9, "params.list")),
    ],
    ids=["scalar", "mapping", "sequence"],
)
def test_custom_tags_are_refused(text, where):
    """Application-specific tags (!mytag) are errors located at the tagged node."""
    line, column, path, message = rejected(text)
    assert (line, column, path) == where
    assert "tag" in message


# --- bytes and characters ---------------------------------------------------------------


def test_binary_junk_is_an_error():
    """Control characters from binary data are refused at their position."""
    line, column, path, message = rejected("\x00\x01\x02\xff\xfe garbage")
    assert (line, column, path) == (1, 1, "")
    assert "not a readable YAML file" in message


def test_nul_byte_inside_a_value_is_located():
    """A NUL inside a value points at the NUL itself."""
    line, column, path, message = rejected(VALID + "description: abc\x00def\n")
    assert (line, column, path) == (5, 17, "")
    assert "control characters" in message


def test_escaped_nul_in_a_name_is_an_invalid_name():
    """A quoted "\\x00" escape reaches validation and fails as a name, not as a crash."""
    line, column, path, _ = rejected('name: "a\\x00b"\ntask: m:f\nschedule: {cron: "* * * * *"}\n')
    assert (line, column, path) == (1, 7, "name")


def test_utf8_bom_is_accepted():
    """A BOM-prefixed valid file is valid."""
    result = load("\ufeff" + VALID)
    assert result.errors == []
    assert [j.name for j in result.jobs] == ["job"]
    assert (result.jobs[0].line, result.jobs[0].column) == (1, 1)


def test_utf8_bom_file_is_accepted(tmp_path):
    """A file saved with a UTF-8 BOM loads like one without."""
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    result = read_job_file(path)
    assert result.errors == []
    assert [j.name for j in result.jobs] == ["job"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_file_with_bom_is_accepted(tmp_path, encoding):
    """A UTF-16 file that starts with its BOM is read as UTF-16."""
    path = tmp_path / "wide.yaml"
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding]
    path.write_bytes(bom + VALID.encode(encoding))
    result = read_job_file(path)
    assert result.errors == []
    assert [j.name for j in result.jobs] == ["job"]


def test_utf16_file_with_bom_keeps_error_positions(tmp_path):
    """Errors in a UTF-16 file are located in its characters, as in UTF-8."""
    path = tmp_path / "wide.yaml"
    path.write_bytes(("name: job\ntask: m:f\nschedule: {cron: '61 * * * *'}\n").encode("utf-16"))
    result = read_job_file(path)
    assert [(e.line, e.column, e.path) for e in result.errors] == [(3, 18, "schedule.cron")]


def test_invalid_utf8_is_located_at_the_bad_byte(tmp_path):
    """Bytes that are not UTF-8 give an error at their line and column, naming the byte."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: job\ntask: m:\xff\xfef\n")
    result = read_job_file(path)
    assert result.jobs == []
    assert [(e.line, e.column, e.path) for e in result.errors] == [(2, 9, "")]
    assert "UTF-8" in result.errors[0].message
    assert "0xff" in result.errors[0].message
    assert_located(result)


def test_binary_file_is_an_error(tmp_path):
    """A binary file (a PNG header) in jobs.d is an error, not a crash."""
    path = tmp_path / "image.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = read_job_file(path)
    assert [(e.line, e.column) for e in result.errors] == [(1, 1)]
    assert result.jobs == []


def test_invalid_utf8_column_counts_characters(tmp_path):
    """The column of a bad byte counts the characters before it, as editors do."""
    path = tmp_path / "accent.yaml"
    path.write_bytes("name: é".encode() + b"\xff\n")
    result = read_job_file(path)
    assert [(e.line, e.column) for e in result.errors] == [(1, 8)]


@pytest.mark.parametrize(
    "text",
    [
        "name: job\nschedule:\n\tcron: '* * * * *'\n",
        "schedule:\n  cron: x\n\ttimezone: UTC\n",
    ],
)
def test_tab_indentation_message_mentions_tabs(text):
    """Tabs used for indentation are reported at the tab, saying to use spaces."""
    line, column, path, message = rejected(text)
    assert (line, column, path) == (3, 1, "")
    assert "tab" in message
    assert "spaces" in message


def test_carriage_returns_count_as_line_breaks():
    """Old-Mac CR and Windows CRLF line ends give the same positions as LF."""
    for newline in ("\r", "\r\n"):
        text = f"name: job{newline}task: m:f{newline}schedule: {{cron: '61 * * * *'}}{newline}"
        line, column, path, _ = rejected(text)
        assert (line, column, path) == (3, 18, "schedule.cron")


def test_lone_surrogate_is_an_error():
    """A lone UTF-16 surrogate in the text (e.g. from surrogateescape) is an error."""
    result = load("name: '\ud800'\n")
    assert result.errors
    assert_located(result)


# --- size and depth ---------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_huge_file_is_refused_before_parsing():
    """More than MAX_CHARS characters is one error at 1:1."""
    line, column, path, message = rejected("#" * (MAX_CHARS + 1))
    assert (line, column, path) == (1, 1, "")
    assert "larger than" in message


def test_file_of_exactly_max_chars_is_parsed():
    """The size limit is strict: MAX_CHARS characters are still read."""
    text = VALID + "#" * (MAX_CHARS - len(VALID))
    assert len(text) == MAX_CHARS
    result = load(text)
    assert result.errors == []
    assert [j.name for j in result.jobs] == ["job"]


@pytest.mark.timeout(10)
def test_document_with_too_many_values_is_refused():
    """A document with more than MAX_NODES values is an error at the value over the limit."""
    items = ",".join(["1"] * (MAX_NODES + 10))
    text = f"name: job\nparams:\n  x: [{items}]\n"
    assert len(text) < MAX_CHARS
    line, column, path, message = rejected(text)
    assert (line, path) == (3, "")
    assert column > 1
    assert f"more than {MAX_NODES:,} values" in message


@pytest.mark.timeout(10)
@pytest.mark.parametrize("opener", ["[", "{a: "], ids=["flow-sequence", "flow-mapping"])
def test_deep_flow_nesting_is_refused(opener):
    """10,000 nested flow collections give a nesting error on line 1, no recursion error."""
    closer = "]" if opener == "[" else "}"
    inner = "" if opener == "[" else "1"
    line, column, _, message = rejected(opener * 10_000 + inner + closer * 10_000)
    assert line == 1
    assert column > 1
    assert "nest" in message.lower()


@pytest.mark.timeout(10)
def test_deep_block_sequence_nesting_is_refused():
    """10,000 nested block sequences (`- - - ...`) stop at MAX_DEPTH, at the first too deep."""
    line, column, path, message = rejected("- " * 10_000 + "x\n")
    assert (line, column, path) == (1, 2 * MAX_DEPTH + 1, "")
    assert f"nested more than {MAX_DEPTH} levels deep" in message


@pytest.mark.timeout(10)
def test_deep_block_mapping_nesting_is_refused():
    """1,000 nested block mappings (as deep as fits in MAX_CHARS) stop at MAX_DEPTH."""
    text = "".join(" " * depth + "a:\n" for depth in range(1_000))
    assert len(text) < MAX_CHARS
    line, column, path, message = rejected(text)
    assert (line, column, path) == (MAX_DEPTH + 1, MAX_DEPTH + 1, "")
    assert "nested" in message


@pytest.mark.timeout(10)
def test_deep_block_nesting_beyond_the_size_limit_is_refused():
    """10,000 block levels need more than MAX_CHARS characters: refused by size, quickly."""
    text = "".join(" " * depth + "a:\n" for depth in range(10_000))
    line, column, _, message = rejected(text)
    assert (line, column) == (1, 1)
    assert "larger than" in message


def test_nesting_up_to_the_limit_is_accepted_in_params():
    """Params nested just within MAX_DEPTH are fine: the limit does not bite real jobs."""
    nested = "{a: " * (MAX_DEPTH - 2) + "1" + "}" * (MAX_DEPTH - 2)
    result = load(VALID + f"params: {{deep: {nested}}}\n")
    assert result.errors == []
    assert len(result.jobs) == 1


# --- documents that are not jobs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("- a\n- b\n", "got a list"),
        ("hello\n", "got the text 'hello'"),
        ("42\n", "got the number 42"),
        ("true\n", "got the boolean true"),
        ("2026-01-01\n", "got the date 2026-01-01"),
    ],
)
def test_document_that_is_not_a_mapping_is_an_error(text, words):
    """A document that is a list or a scalar is an error at its start, saying what it is."""
    line, column, path, message = rejected(text)
    assert (line, column, path) == (1, 1, "")
    assert "must be a mapping" in message
    assert words in message


def test_non_mapping_document_after_a_job_is_located():
    """The second document being a list is located at its own first line."""
    result = load(VALID + "---\n- a\n")
    assert [j.name for j in result.jobs] == ["job"]
    assert [(e.line, e.column, e.path) for e in result.errors] == [(6, 1, "")]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("? [a, b]\n: 1\n", (1, 3, "")),
        ("{[a]: 1}\n", (1, 2, "")),
        ("? {a: 1}\n: 2\n", (1, 3, "")),
        (VALID + "params:\n  ? [x]\n  : 1\n", (6, 5, "params")),
    ],
    ids=["sequence-key", "flow-sequence-key", "mapping-key", "nested"],
)
def test_complex_mapping_keys_are_refused(text, where):
    """Keys that are lists or mappings are errors at the key, not TypeErrors."""
    line, column, path, message = rejected(text)
    assert (line, column, path) == where
    assert "keys must be plain scalars" in message


@pytest.mark.parametrize("text", ["", "\n\n", "# just a comment\n# another\n", "  # indented\n"])
def test_empty_or_comment_only_file_warns(text):
    """A file with no document is valid but warns that it holds no job."""
    result = load(text)
    assert result.errors == []
    assert result.jobs == []
    assert [(w.line, w.column, w.path, w.message) for w in result.warnings] == [
        (1, 1, "", "file holds no job")
    ]
    assert result.warnings[0].severity == "warning"
    assert result.ok


def test_bom_only_file_warns(tmp_path):
    """A file holding only a UTF-8 BOM is an empty file."""
    path = tmp_path / "empty.yaml"
    path.write_bytes(b"\xef\xbb\xbf")
    result = read_job_file(path)
    assert result.errors == []
    assert [w.message for w in result.warnings] == ["file holds no job"]


@pytest.mark.parametrize("text", ["---\n", "# nothing yet\n---\n# still nothing\n"])
def test_file_of_empty_documents_warns(text):
    """Explicit but empty documents hold no job either, and warn the same way."""
    result = load(text)
    assert result.errors == []
    assert [w.message for w in result.warnings] == ["file holds no job"]


# --- scalars the safe constructors choke on ------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [VALID + "<<: {queue: low}\n", VALID + "description: <<\n", VALID + "description: =\n"],
    ids=["merge-key", "merge-value", "value"],
)
def test_merge_and_value_scalars_give_errors(text):
    """`<<` (merge keys) and `=` never raise: they are refused or read as text."""
    result = load(text)
    assert_located(result)


@pytest.mark.parametrize("value", ["!!bool maybe", "!!int ''", "!!float ''", "!!timestamp x"])
def test_explicit_core_tag_on_bad_scalar_is_an_error(value):
    """A core tag whose scalar does not fit it is an error located at the value."""
    line, column, path, _ = rejected(VALID + f"params:\n  x: {value}\n")
    assert (line, column, path) == (6, 6, "params.x")


@pytest.mark.parametrize("value", ["!!int x", "!!float x", "!!timestamp 2026-13-45"])
def test_explicit_core_tag_on_bad_scalar_is_located(value):
    """The ill-formed tagged scalars the constructors do report are located errors."""
    line, column, path, message = rejected(VALID + f"params:\n  x: {value}\n")
    assert (line, column, path) == (6, 6, "params.x")
    assert "is not a valid" in message


@pytest.mark.parametrize("tag", ["!!map", "!!seq"])
def test_collection_tag_on_scalar_is_an_error(tag):
    """A mapping or sequence tag on a plain scalar is refused at the value."""
    line, column, path, _ = rejected(VALID + f"params:\n  x: {tag} text\n")
    assert (line, column, path) == (6, 6, "params.x")


# --- property: arbitrary junk ---------------------------------------------------------------

FRAGMENTS = [
    "name:",
    "task:",
    "schedule:",
    "cron:",
    "daily:",
    "interval:",
    "weekly:",
    "at:",
    "timezone:",
    "params:",
    "- ",
    "  ",
    " ",
    "\n",
    "\t",
    "&a",
    "*a",
    "&b ",
    "*b",
    "!!",
    "!!str",
    "!x ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "---",
    "...",
    ":",
    ": ",
    "? ",
    "#",
    "'",
    '"',
    "|",
    ">",
    "~",
    "null",
    "10:00",
    "2026-01-01",
    "m:f",
    "job",
    "1",
    "-1",
    "'* * * * *'",
    "%YAML 1.1\n",
    "\ufeff",
    "\x00",
    "\r\n",
    "\\",
    "é",
]
yamlish = st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join)
binary_text = st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="replace"))
junk = st.one_of(st.text(max_size=300), binary_text, yamlish)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(junk)
def test_junk_never_raises_and_every_problem_is_located(text):
    """Any text gives a FileResult whose every problem is located, never an exception."""
    result = parse_job_documents(text, SOURCE)
    assert isinstance(result, FileResult)
    assert result.file == SOURCE
    assert_located(result)
    if result.jobs:
        assert all(j.file == SOURCE for j in result.jobs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_junk_appended_to_a_valid_job_never_raises(suffix):
    """A valid job followed by junk gives a located result, never an exception."""
    result = parse_job_documents(VALID + suffix, SOURCE)
    assert_located(result)


@pytest.mark.timeout(60)
@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=2000))
def test_read_job_file_never_raises_on_random_bytes(tmp_path_factory, raw):
    """Any bytes on disk give a located FileResult from read_job_file."""
    path: Path = tmp_path_factory.mktemp("junk") / "junk.yaml"
    path.write_bytes(raw)
    result = read_job_file(path)
    assert_located(result)
