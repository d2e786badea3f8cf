"""The plainest job YAML read line by line: block mappings of one-line scalars and lists.

Nearly every file of a large jobs.d is ``key: value`` lines, nested by indentation, whose
values are plain or simply quoted text, numbers, booleans, dates and one-line ``[a, b]``
lists. Composing those through libyaml (``fastyaml``) builds a node and two marks per
value and resolves each in Python: most of a cold start's parsing. Here such a file is
read a line at a time, each scalar typed by the job loader's own resolver and
constructors, into the same ``Document`` (data and positions).

It only accepts: any line outside that subset (a block sequence, a multi-line or
escaped scalar, a flow mapping, an anchor, a tag, a tab, a typed or duplicate key,
an empty value, ...) gives None, and the caller reads the text the libyaml way, which
reads or locates it exactly as before. Its equivalence with that path is a property
test (tests/unit/test_blockyaml.py).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from scheduler.config.yamlsource import Document, Loc, job_loader, plain_tag

#: One ``key:`` at some indent, and the value (if any) after at least one space. At most
#: 1,024 characters to the colon: libyaml refuses a longer implicit key.
_KEY = re.compile(r"( *)([A-Za-z_][A-Za-z0-9_.-]{0,1023}):(?: +(.*)|$)")
#: Characters outside printable ASCII and the plain BMP (tabs, CR, NEL, BOM, surrogates,
#: astral) and the two libyaml breaks lines at (U+2028, U+2029): their lines, breaks and
#: columns are left to libyaml.
_UNUSUAL = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]")
#: A plain scalar may not start with these (indicators); "-" only before a digit.
_NOT_FIRST = frozenset("-?:,[]{}#&*!|>'\"%@`")
_QUOTES = ('"', "'")
_STR = "tag:yaml.org,2002:str"
_TYPED = {f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null", "timestamp")}
# Within yamlsource's bounds by construction: at most 1,000 lines of one key and a list of
# at most 16 values each stay under MAX_NODES (libyaml's path refuses more, as an error).
_MAX_DEPTH = 16
_MAX_LINES = 1000
_MAX_LIST = 16

# The job loader's constructors, on a constructor of their own (they read the node only).
_CONSTRUCTORS = job_loader().yaml_constructors
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TYPED_VALUES: dict[str, Any] = {}  # text -> its (immutable) value; bounded
_TEXT_KEYS: set[str] = set()  # keys known to be text; bounded


class _NotBlock(Exception):
    """Not in the subset read here: libyaml reads it."""


def block_documents(text: str, *, positions: bool) -> list[Document] | None:
    """The documents of ``text`` as ``fastyaml.fast_documents`` reads them, or None.

    ``positions`` as there: False locates only each root and its keys' values and keys.
    """
    if len(text) > 100_000 or _UNUSUAL.search(text):
        return None
    lines = text.split("\n")
    if len(lines) > _MAX_LINES:
        return None
    try:
        return _Reader(positions).read(lines)
    except _NotBlock:
        return None


class _Reader:
    __slots__ = ("doc", "docs", "full", "keys", "last_indent", "opened", "stack", "values")

    def __init__(self, full: bool) -> None:
        self.full = full
        self.docs: list[Document] = []
        self.values: dict[Loc, tuple[int, int]] = {}  # the current document's
        self.keys: dict[Loc, tuple[int, int]] = {}  # the current document's
        self.doc: Document | None = None
        # Open mappings, innermost last: (indent, mapping, its location).
        self.stack: list[tuple[int, dict[str, Any], Loc]] = []
        #: A key whose value is the mapping on the next lines: (its mapping, key, location,
        #: indent).
        self.opened: tuple[dict[str, Any], str, Loc, int] | None = None
        self.last_indent = -1  # of the last scalar's key: no more indented line may follow

    def read(self, lines: list[str]) -> list[Document]:
        start = 0
        if lines[0] == "---":
            start = 1
        for i in range(start, len(lines)):
            if lines[i] == "---":
                self._document(lines, start, i)
                start = i + 1
        self._document(lines, start, len(lines))
        return self.docs

    def _document(self, lines: list[str], first: int, end: int) -> None:
        """Lines ``first`` to ``end`` (exclusive): one document, at least one key."""
        self.doc, self.stack, self.opened = None, [], None
        full = self.full
        for number in range(first, end):
            line = lines[number]
            match = _KEY.match(line)
            if match is None:
                stripped = line.lstrip(" ")
                if not stripped or stripped[0] == "#":
                    continue
                raise _NotBlock
            pad, key, rest = match.groups()
            indent = len(pad)
            if key not in _TEXT_KEYS:
                _text_key(key)
            row = number + 1
            mapping, at = self._mapping_at(indent, row)
            if key in mapping:
                raise _NotBlock
            loc = (*at, key)
            record = full or not at
            if record:
                self.keys[loc] = (row, indent + 1)
            if not rest or rest[0] == "#":
                self.opened = (mapping, key, loc, indent)
                mapping[key] = None  # its place in the key order; the mapping comes next
                continue
            column = match.start(3) + 1
            if record:
                self.values[loc] = (row, column)
            mapping[key] = self._value(rest, row, column, loc)
            self.last_indent = indent
        if self.doc is None or self.opened is not None:
            raise _NotBlock  # no key (an empty or comment-only document), or an empty value
        self.docs.append(self.doc)

    def _mapping_at(self, indent: int, row: int) -> tuple[dict[str, Any], Loc]:
        """The mapping a key at ``indent`` on line ``row`` belongs to, and its location."""
        stack = self.stack
        if self.doc is None:
            if indent:
                raise _NotBlock
            doc = self.doc = Document(data={}, index=len(self.docs), line=row, column=1)
            self.values, self.keys = doc.values, doc.keys
            doc.values[()] = (row, 1)
            stack.append((0, doc.data, ()))
        elif self.opened is not None:
            parent, name, loc, outer = self.opened
            if indent <= outer or len(stack) >= _MAX_DEPTH:
                raise _NotBlock  # an empty value (null), or too deep
            child: dict[str, Any] = {}
            parent[name] = child
            if self.full or len(loc) == 1:
                self.values[loc] = (row, indent + 1)
            stack.append((indent, child, loc))
            self.opened = None
        else:
            if indent > self.last_indent:
                raise _NotBlock  # a scalar's next line, or an indent of its own
            while indent < stack[-1][0]:
                stack.pop()
            if indent != stack[-1][0]:
                raise _NotBlock
        _, mapping, at = stack[-1]
        return mapping, at

    def _value(self, text: str, row: int, column: int, loc: Loc) -> Any:
        """The one-line value ``text`` (starting at ``column``), its comment cut off."""
        first = text[0]
        if first in _QUOTES:
            end = text.find(first, 1)
            if end < 0 or (first == '"' and "\\" in text[:end]):
                raise _NotBlock
            _after(text, end + 1)
            return text[1:end]
        if first == "[":
            end = text.find("]")
            if end < 0:
                raise _NotBlock
            _after(text, end + 1)
            return self._flow(text[1:end], row, column + 1, loc)
        cut = text.find(" #")
        if cut >= 0:
            text = text[:cut]
        return _plain(text.rstrip(" "), ": ")

    def _flow(self, inner: str, row: int, column: int, loc: Loc) -> list[Any]:
        """A one-line ``[a, "b", 'c']`` of scalars (``inner`` from ``column``)."""
        if not inner.strip(" "):
            return []
        if "#" in inner or "{" in inner or "}" in inner or "[" in inner:
            raise _NotBlock  # a comment, or flow indicators libyaml reads otherwise
        if inner.count(",") >= _MAX_LIST:
            raise _NotBlock
        out = []
        offset = 0
        for i, part in enumerate(inner.split(",")):
            item = part.strip(" ")
            if not item:
                raise _NotBlock  # [a, , b] or a trailing comma: libyaml's to read
            if self.full:
                self.values[(*loc, i)] = (row, column + offset + len(part) - len(part.lstrip(" ")))
            offset += len(part) + 1
            quote = item[0]
            if quote in _QUOTES:
                if len(item) < 2 or item[-1] != quote or quote in item[1:-1]:
                    raise _NotBlock
                if quote == '"' and "\\" in item:
                    raise _NotBlock
                out.append(item[1:-1])
            else:
                out.append(_plain(item, ":"))
        return out


def _text_key(key: str) -> None:
    if plain_tag(key) != _STR:
        raise _NotBlock  # a key YAML types (on, 1, null): fastyaml keeps it apart
    if len(_TEXT_KEYS) < 4096:
        _TEXT_KEYS.add(key)


def _after(text: str, end: int) -> None:
    """What follows a closed value on its line: nothing, or a comment after a space."""
    rest = text[end:]
    if rest and (rest[0] != " " or rest.lstrip(" ")[:1] not in ("", "#")):
        raise _NotBlock


def _plain(text: str, stop: str) -> Any:
    """A plain scalar's value, typed as the job loader types it; ``stop``: what it may not
    hold (``: `` in a block, ``:`` in a flow list, where libyaml reads those otherwise)."""
    if not text or (text[0] in _NOT_FIRST and not (text[0] == "-" and text[1:2].isdigit())):
        raise _NotBlock
    if stop in text or text[-1] == ":":
        raise _NotBlock
    tag = plain_tag(text)
    if tag not in _TYPED:
        return text  # str, and '<<' and '=' (merge and value: text without aliases)
    found = _TYPED_VALUES.get(text)
    if found is None:
        try:
            found = _CONSTRUCTORS[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, text))
        except Exception:  # 2026-13-01: the slow path reports it with its file and line
            raise _NotBlock from None
        if found is None:
            return None
        if len(_TYPED_VALUES) < 4096 and len(text) <= 40:
            _TYPED_VALUES[text] = found
    return found
