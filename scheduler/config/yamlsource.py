"""YAML text to plain Python data, keeping where every value was written.

Safe by construction: the parser's events are composed here, iteratively, into dicts,
lists and scalars of the YAML core types only. No tags beyond the standard ones, no
aliases, bounded depth and size, duplicate keys refused; so no input can run code,
expand exponentially or recurse without bound. Times like ``10:00`` stay strings
(YAML 1.1 would read them as base-60 integers).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from scheduler.core.errors import JobFileError

try:
    _BaseLoader: type[Any] = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

MAX_DEPTH = 32
MAX_NODES = 20_000
MAX_CHARS = 1_000_000  # files are capped at as many bytes (catalog.MAX_FILE_BYTES)

Loc = tuple[str | int, ...]

_STANDARD_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_STANDARD_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
# YAML 1.1 resolves a plain '<<' and '=' to these; without aliases they mean nothing here.
_TEXT_TAGS = {f"{_STANDARD_TAG}merge", f"{_STANDARD_TAG}value"}
_SEXAGESIMAL = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _JobLoader(_BaseLoader):  # type: ignore[misc]
    """The safe loader, minus YAML 1.1's base-60 numbers."""


_JobLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _SEXAGESIMAL]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
for _tag, _rx, _firsts in (
    ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
    ("tag:yaml.org,2002:float", _FLOAT, "-+.0123456789"),
):
    for _first in _firsts:
        _JobLoader.yaml_implicit_resolvers.setdefault(_first, []).append((_tag, _rx))
assert None not in _JobLoader.yaml_implicit_resolvers  # no wildcard resolvers to consult
_STR_TAG, _SEQ_TAG, _MAP_TAG = (f"{_STANDARD_TAG}{kind}" for kind in ("str", "seq", "map"))
_RESOLVERS = {first: tuple(rs) for first, rs in _JobLoader.yaml_implicit_resolvers.items()}


def _resolve(self: Any, kind: Any, value: str | None, implicit: tuple[bool, bool]) -> str:
    # PyYAML's resolve, without its per-call list building and path resolvers (none are
    # registered): libyaml's composer calls it for every node, so it shows at scale. A
    # plain scalar's tag depends on its text alone, and most texts recur (keys, zones,
    # true, small numbers): looked up before being matched.
    if kind is yaml.ScalarNode:
        return plain_tag(value) if implicit[0] and value is not None else _STR_TAG
    return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG


def plain_tag(value: str) -> str:
    """The tag of a plain (unquoted) scalar written ``value``: its type, as the job loader
    reads it."""
    tag = _PLAIN_TAGS.get(value)
    if tag is None:
        tag = _match_tag(value)
        if len(_PLAIN_TAGS) < _MAX_PLAIN_TAGS and len(value) <= 40:
            _PLAIN_TAGS[value] = tag
    return tag


def _match_tag(value: str) -> str:
    for tag, regexp in _RESOLVERS.get(value[:1], ()):
        if regexp.match(value):
            return str(tag)
    return _STR_TAG


_PLAIN_TAGS: dict[str, str] = {}
_MAX_PLAIN_TAGS = 4096  # a few hundred kB at most: the recurring texts come early


_JobLoader.resolve = _resolve
# libyaml's composer calls these two around every node, for path resolvers; none is
# registered, so each call only returns. Builtins taking the same arguments do nothing
# faster (not being functions, they are not bound to the loader: no self).
_JobLoader.descend_resolver = staticmethod(operator.is_)  # (parent, index): ignored
_JobLoader.ascend_resolver = staticmethod(tuple)  # (): the empty tuple, ignored


def job_loader() -> type[Any]:
    """The loader class job files are read with (libyaml's where present)."""
    return _JobLoader


@dataclass
class Document:
    """One YAML document: its data and the 1-based position of every value and key.

    Mapping keys are always text in ``data``; ``typed_keys`` keeps, for each key that YAML
    read as something else (``1``, ``on``, ``null``, a date), that value and the key as written.
    """

    data: Any
    index: int
    line: int
    column: int
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    typed_keys: dict[Loc, tuple[Any, str]] = field(default_factory=dict)

    def value_position(self, loc: Loc) -> tuple[int, int]:
        """Where the value at ``loc`` was written, or its nearest written parent."""
        for end in range(len(loc), 0, -1):
            found = self.values.get(loc[:end])
            if found is not None:
                return found
        return self.line, self.column

    def key_position(self, loc: Loc) -> tuple[int, int]:
        """Where the key naming ``loc`` was written (falls back to the value)."""
        return self.keys.get(loc) or self.value_position(loc)


class _Frame:
    """An open mapping or sequence, and (for a mapping) the key waiting for its value."""

    __slots__ = ("container", "key", "key_position", "keys_seen", "loc")

    def __init__(self, container: dict[Any, Any] | list[Any], loc: Loc) -> None:
        self.container = container
        self.loc = loc
        self.key: str | None = None
        self.key_position = (0, 0)
        self.keys_seen: dict[str, int] = {}

    @property
    def awaiting_key(self) -> bool:
        return isinstance(self.container, dict) and self.key is None

    def child_loc(self) -> Loc:
        if isinstance(self.container, list):
            return (*self.loc, len(self.container))
        assert self.key is not None
        return (*self.loc, self.key)


class _Located(Exception):
    def __init__(self, error: JobFileError) -> None:
        self.error = error


def parse_documents(text: str, source: str) -> tuple[list[Document], list[JobFileError]]:
    """All documents in ``text``; a syntax error ends the stream and is returned as an error."""
    if len(text) > MAX_CHARS:
        message = f"file is larger than {MAX_CHARS / 1_000_000:g} MB ({MAX_CHARS:,} characters)"
        return [], [JobFileError(source, 1, 1, "", message)]
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        loader = _JobLoader(text)
    except UnicodeEncodeError as exc:
        return [], [_position_error(text, exc.start, source, "not valid Unicode text")]
    documents: list[Document] = []
    try:
        while True:
            event = loader.get_event()
            if isinstance(event, yaml.StreamEndEvent):
                break
            if isinstance(event, yaml.DocumentStartEvent):
                documents.append(_Composer(loader, source, len(documents)).document())
    except _Located as exc:
        return documents, [exc.error]
    except yaml.MarkedYAMLError as exc:
        return documents, [_syntax_error(exc, text, source)]
    except yaml.YAMLError as exc:
        return documents, [_reader_error(exc, text, source)]
    except UnicodeEncodeError as exc:
        return documents, [_position_error(text, exc.start, source, "not valid Unicode text")]
    finally:
        loader.dispose()
    return documents, []


def _pos(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


class _Composer:
    """Builds one document's data from parser events, with an explicit stack (no recursion)."""

    def __init__(self, loader: Any, source: str, index: int) -> None:
        self.loader = loader
        self.source = source
        line, column = _pos(loader.peek_event().start_mark)
        self.doc = Document(data=None, index=index, line=line, column=column)
        self.stack: list[_Frame] = []

    def document(self) -> Document:
        nodes = 0
        while True:
            event = self.loader.get_event()
            if isinstance(event, yaml.DocumentEndEvent):
                return self.doc
            nodes += 1
            if nodes > MAX_NODES:
                raise self._fail(event, (), f"document has more than {MAX_NODES:,} values")
            if isinstance(event, yaml.AliasEvent):
                raise self._fail(
                    event, self._here(), "YAML aliases (*name) are not allowed in job files"
                )
            if isinstance(event, yaml.ScalarEvent):
                self._attach(self._scalar(event), event, is_scalar=True)
            elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                self._open(event)
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                self.stack.pop()

    def _here(self) -> Loc:
        """The loc the next value takes (a key being read counts as its mapping)."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        return top.loc if top.awaiting_key else top.child_loc()

    def _fail(self, event: Any, loc: Loc, message: str) -> _Located:
        line, column = _pos(event.start_mark)
        return _Located(JobFileError(self.source, line, column, format_loc(loc), message))

    def _open(self, event: Any) -> None:
        kind = "seq" if isinstance(event, yaml.SequenceStartEvent) else "map"
        if event.tag not in (None, "!", f"{_STANDARD_TAG}{kind}"):
            raise self._fail(event, self._here(), _tag_message(event.tag))
        if len(self.stack) >= MAX_DEPTH:
            raise self._fail(event, (), f"nested more than {MAX_DEPTH} levels deep")
        container: dict[Any, Any] | list[Any] = [] if kind == "seq" else {}
        loc = self._attach(container, event, is_scalar=False)
        self.stack.append(_Frame(container, loc))

    def _scalar(self, event: Any) -> Any:
        tag = event.tag
        if tag in (None, "!"):
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        elif tag not in _SCALAR_TAGS:
            raise self._fail(event, self._here(), _tag_message(tag))
        if tag == f"{_STANDARD_TAG}str" or tag in _TEXT_TAGS:
            return event.value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return self.loader.yaml_constructors[tag](self.loader, node)
        except Exception:
            kind = tag.rsplit(":", 1)[-1]
            raise self._fail(
                event, self._here(), f"{event.value!r} is not a valid {kind}"
            ) from None

    def _attach(self, value: Any, event: Any, *, is_scalar: bool) -> Loc:
        """Put a finished value in its parent and record its position; return its loc."""
        position = _pos(event.start_mark)
        if not self.stack:
            self.doc.data = value
            self.doc.values[()] = position
            return ()
        frame = self.stack[-1]
        if frame.awaiting_key:
            self._take_key(frame, value, event, is_scalar)
            return frame.loc
        loc = frame.child_loc()
        if isinstance(frame.container, list):
            frame.container.append(value)
        else:
            frame.container[frame.key] = value
            self.doc.keys[loc] = frame.key_position
            frame.key = None
        self.doc.values[loc] = position
        return loc

    def _take_key(self, frame: _Frame, value: Any, event: Any, is_scalar: bool) -> None:
        if not is_scalar or isinstance(value, list | dict):
            raise self._fail(event, frame.loc, "mapping keys must be plain scalars")
        key = str(value)
        if key in frame.keys_seen:
            raise self._fail(
                event,
                (*frame.loc, key),
                f"duplicate key {key!r} (first given on line {frame.keys_seen[key]})",
            )
        frame.keys_seen[key] = _pos(event.start_mark)[0]
        if not isinstance(value, str):
            self.doc.typed_keys[(*frame.loc, key)] = (value, event.value)
        frame.key = key
        frame.key_position = _pos(event.start_mark)


def _tag_message(tag: str) -> str:
    return f"the tag {_show_tag(tag)} is not allowed; job files use plain YAML values only"


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_STANDARD_TAG) :] if tag.startswith(_STANDARD_TAG) else tag


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, source: str) -> JobFileError:
    mark = exc.problem_mark or exc.context_mark
    line, column = _pos(mark) if mark is not None else (1, 1)
    problem = exc.problem or "invalid YAML"
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        problem = "found a tab character; YAML indentation must use spaces"
    message = f"YAML syntax error: {problem}"
    if exc.context:
        message += f" ({exc.context})"
    return JobFileError(source, line, column, "", message)


def _reader_error(exc: yaml.YAMLError, text: str, source: str) -> JobFileError:
    position = getattr(exc, "position", None)
    reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
    char = getattr(exc, "character", None)
    shown = f" (character {char!r})" if char is not None else ""
    message = f"not a readable YAML file: {reason}{shown}"
    return _position_error(text, position if isinstance(position, int) else 0, source, message)


def _position_error(text: str, position: int, source: str, message: str) -> JobFileError:
    before = text[:position]
    line = before.count("\n") + 1
    column = position - (before.rfind("\n") + 1) + 1
    return JobFileError(source, line, column, "", message)


def format_loc(loc: Loc) -> str:
    """('schedule', 'daily', 1) -> 'schedule.daily[1]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
