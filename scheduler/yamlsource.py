"""YAML text to plain Python data, keeping where every value was written.

Safe by construction: the parser's events are composed here, iteratively, into dicts,
lists and scalars of the YAML core types only. No tags beyond the standard ones, no
aliases, bounded depth and size, duplicate keys refused; so no input can run code,
expand exponentially or recurse without bound. Times like ``10:00`` stay strings
(YAML 1.1 would read them as base-60 integers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from scheduler.errors import JobFileError

try:
    _BaseLoader: type[Any] = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

MAX_DEPTH = 32
MAX_NODES = 20_000
MAX_CHARS = 1_000_000

Loc = tuple[str | int, ...]

_STANDARD_TAG = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {
    f"{_STANDARD_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}
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
for _first in "-+0123456789":
    _JobLoader.yaml_implicit_resolvers.setdefault(_first, []).append(("tag:yaml.org,2002:int", _INT))
for _first in "-+.0123456789":
    _JobLoader.yaml_implicit_resolvers.setdefault(_first, []).append(("tag:yaml.org,2002:float", _FLOAT))


@dataclass
class Document:
    """One YAML document: its data and the 1-based position of every value and key."""

    data: Any
    index: int
    line: int
    column: int
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

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
    __slots__ = ("container", "key", "key_mark", "keys_seen", "loc")

    def __init__(self, container: dict[Any, Any] | list[Any], loc: Loc) -> None:
        self.container = container
        self.loc = loc
        self.key: Any = _NO_KEY
        self.key_mark: tuple[int, int] = (0, 0)
        self.keys_seen: dict[Any, int] = {}


_NO_KEY = object()


def parse_documents(text: str, source: str) -> tuple[list[Document], list[JobFileError]]:
    """All documents in ``text``; a syntax error ends the stream and is returned as an error."""
    if len(text) > MAX_CHARS:
        return [], [JobFileError(source, 1, 1, "", f"file is larger than {MAX_CHARS:,} characters")]
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = _JobLoader(text)
    documents: list[Document] = []
    try:
        while True:
            event = loader.get_event()
            if isinstance(event, yaml.StreamEndEvent):
                break
            if isinstance(event, yaml.DocumentStartEvent):
                doc = _compose_document(loader, source, len(documents), event)
                documents.append(doc)
    except _Located as exc:
        return documents, [exc.error]
    except yaml.MarkedYAMLError as exc:
        return documents, [_syntax_error(exc, text, source)]
    except yaml.YAMLError as exc:
        return documents, [_reader_error(exc, text, source)]
    finally:
        loader.dispose()
    return documents, []


class _Located(Exception):
    def __init__(self, error: JobFileError) -> None:
        self.error = error


def _pos(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _compose_document(loader: Any, source: str, index: int, start: Any) -> Document:
    first = loader.peek_event()
    line, column = _pos(first.start_mark)
    doc = Document(data=None, index=index, line=line, column=column)
    stack: list[_Frame] = []
    nodes = 0
    root: Any = None

    def fail(mark: Any, path: Loc, message: str) -> _Located:
        ln, col = _pos(mark)
        return _Located(JobFileError(source, ln, col, format_loc(path), message))

    child_loc = _child_loc

    def attach(value: Any, mark: Any, is_scalar: bool) -> Loc | None:
        """Put a finished value into its parent; return its loc (None for a mapping key)."""
        nonlocal root
        if not stack:
            root = value
            doc.values[()] = _pos(mark)
            return ()
        frame = stack[-1]
        if isinstance(frame.container, list):
            loc = child_loc(frame)
            frame.container.append(value)
            doc.values[loc] = _pos(mark)
            return loc
        if frame.key is _NO_KEY:
            if not is_scalar:
                raise fail(mark, frame.loc, "mapping keys must be plain scalars")
            try:
                hash(value)
            except TypeError:
                raise fail(mark, frame.loc, "mapping keys must be plain scalars") from None
            key_text = str(value)
            if key_text in frame.keys_seen:
                raise fail(
                    mark,
                    (*frame.loc, key_text),
                    f"duplicate key {key_text!r} (first given on line {frame.keys_seen[key_text]})",
                )
            frame.keys_seen[key_text] = _pos(mark)[0]
            frame.key = key_text
            frame.key_mark = _pos(mark)
            return None
        loc = child_loc(frame)
        assert isinstance(frame.container, dict)
        frame.container[frame.key] = value
        doc.keys[loc] = frame.key_mark
        doc.values[loc] = _pos(mark)
        frame.key = _NO_KEY
        return loc

    while True:
        event = loader.get_event()
        if isinstance(event, yaml.DocumentEndEvent):
            break
        nodes += 1
        if nodes > MAX_NODES:
            raise fail(event.start_mark, (), f"document has more than {MAX_NODES:,} values")
        here = _current_loc(stack)
        if isinstance(event, yaml.AliasEvent):
            raise fail(event.start_mark, here, "YAML aliases (*name) are not allowed in job files")
        if isinstance(event, yaml.ScalarEvent):
            value = _construct_scalar(loader, event, lambda msg, e=event, h=here: fail(e.start_mark, h, msg))
            attach(value, event.start_mark, True)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            _check_tag(event, "seq" if isinstance(event, yaml.SequenceStartEvent) else "map",
                       lambda msg, e=event, h=here: fail(e.start_mark, h, msg))
            if len(stack) >= MAX_DEPTH:
                raise fail(event.start_mark, (), f"nested more than {MAX_DEPTH} levels deep")
            if stack and isinstance(stack[-1].container, dict) and stack[-1].key is _NO_KEY:
                raise fail(event.start_mark, stack[-1].loc, "mapping keys must be plain scalars")
            container: dict[Any, Any] | list[Any] = (
                [] if isinstance(event, yaml.SequenceStartEvent) else {}
            )
            loc = attach(container, event.start_mark, False)
            stack.append(_Frame(container, loc if loc is not None else ()))
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            stack.pop()
    doc.data = root
    return doc


def _child_loc(frame: _Frame) -> Loc:
    if isinstance(frame.container, list):
        return (*frame.loc, len(frame.container))
    return (*frame.loc, frame.key)


def _current_loc(stack: list[_Frame]) -> Loc:
    """The loc the next value will take (a key being read counts as its mapping)."""
    if not stack:
        return ()
    top = stack[-1]
    if isinstance(top.container, dict) and top.key is _NO_KEY:
        return top.loc
    return _child_loc(top)


def _check_tag(event: Any, kind: str, fail: Any) -> None:
    tag = event.tag
    if tag in (None, "!") or tag == f"{_STANDARD_TAG}{kind}":
        return
    raise fail(f"the tag {_show_tag(tag)} is not allowed; job files use plain YAML values only")


def _construct_scalar(loader: Any, event: Any, fail: Any) -> Any:
    tag = event.tag
    if tag in (None, "!"):
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    elif tag not in _ALLOWED_TAGS:
        raise fail(f"the tag {_show_tag(tag)} is not allowed; job files use plain YAML values only")
    if tag == "tag:yaml.org,2002:str":
        return event.value
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return loader.yaml_constructors[tag](loader, node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise fail(f"{event.value!r} is not a valid {tag.rsplit(':', 1)[-1]}: {exc}") from None


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_STANDARD_TAG):] if tag.startswith(_STANDARD_TAG) else tag


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
    if isinstance(position, int):
        before = text[:position]
        line = before.count("\n") + 1
        column = position - (before.rfind("\n") + 1) + 1
    else:
        line, column = 1, 1
    reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
    char = getattr(exc, "character", None)
    shown = f" (character {char!r})" if char is not None else ""
    return JobFileError(source, line, column, "", f"not a readable YAML file: {reason}{shown}")


def format_loc(loc: Loc) -> str:
    """('schedule', 'daily', 1) -> 'schedule.daily[1]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
