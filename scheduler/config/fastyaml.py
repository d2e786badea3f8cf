"""The fast path of reading job YAML: libyaml composes the nodes in C, with their marks.

``yamlsource.parse_documents`` composes every parser event in Python, which costs several
times libyaml's own load. Most job files are plain and valid, so they are read here first:
libyaml (``CSafeLoader``) builds the node tree, and a short walk turns it into the same
``Document`` (data and positions). Anything this path does not vouch for (an anchor, a tag
outside the core types, a duplicate or non-text key, too deep, too many values, a syntax
error, no libyaml at all) returns None, and the caller reads the file again with
``parse_documents``, which finds and locates the problem exactly as before. So errors keep
their file, line, column and path; only valid input takes the fast road.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from scheduler.config.blockyaml import block_documents
from scheduler.config.yamlsource import (
    MAX_CHARS,
    MAX_DEPTH,
    MAX_NODES,
    Document,
    Loc,
    job_loader,
)

_STR = "tag:yaml.org,2002:str"
# YAML 1.1 reads a plain '<<' and '=' as these; without aliases they are text (as the slow path).
_TEXT = {_STR, "tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"}
_TYPED = {f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null", "timestamp")}
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
# libyaml's composer recurses in C: text that could nest deeply goes the slow (iterative)
# way. Block nesting needs a longer indent or '- ' prefix, flow nesting a bracket.
_DEEP_INDENT = re.compile(r"^[ \t?-]{96,}", re.M)
_MAX_BRACKETS = 256


class _NotPlain(Exception):
    """This file needs the slow path (which reports what is wrong, if anything)."""


def fast_documents(text: str, *, positions: bool) -> list[Document] | None:
    """The documents of ``text`` as ``parse_documents`` reads them, or None (read it slowly).

    With ``positions`` False only the root and its top-level keys are located: enough for a
    valid job (its name's line); errors are located by the slow path anyway. The plainest
    files are read line by line first (``blockyaml``), without libyaml's nodes.
    """
    plain = block_documents(text, positions=positions)
    if plain is not None:
        return plain
    loader_class = job_loader()
    if (
        not getattr(yaml, "__with_libyaml__", False)
        or len(text) > MAX_CHARS
        or "&" in text  # an anchor: an alias may follow, which the slow path refuses
        or text.count("[") + text.count("{") > _MAX_BRACKETS
        or _DEEP_INDENT.search(text)
    ):
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        loader = loader_class(text)
    except Exception:  # not encodable: the slow path says where
        return None
    try:
        documents: list[Document] = []
        while loader.check_node():
            node = loader.get_node()
            documents.append(_Walk(loader, len(documents), positions).document(node))
        return documents
    except Exception:  # _NotPlain, a syntax error, a constructor refusing a scalar...
        return None
    finally:
        loader.dispose()


_SCALAR = yaml.ScalarNode  # libyaml's composer makes exactly these (no subclass)


class _Walk:
    """One document's node tree to data, recording positions as ``parse_documents`` does.

    Most values are text scalars: a mapping or sequence takes those itself (no call per
    value), and counts its values in one step; anything else goes through ``value``.
    """

    __slots__ = ("constructors", "doc", "full", "loader", "nodes")

    def __init__(self, loader: Any, index: int, full: bool) -> None:
        self.loader = loader
        self.constructors = loader.yaml_constructors
        self.full = full
        self.nodes = 1  # the root
        self.doc = Document(data=None, index=index, line=1, column=1)

    def document(self, node: yaml.Node) -> Document:
        mark = node.start_mark
        self.doc.line, self.doc.column = mark.line + 1, mark.column + 1
        self.doc.values[()] = (self.doc.line, self.doc.column)
        self.doc.data = self.value(node, (), 0)
        return self.doc

    def value(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        """Any value (counted by its container); a text scalar is its text."""
        tag = node.tag
        if node.__class__ is _SCALAR:
            if tag in _TEXT:
                return node.value
            if tag not in _TYPED:
                raise _NotPlain
            return self.constructors[tag](self.loader, node)
        if depth >= MAX_DEPTH:
            raise _NotPlain
        if isinstance(node, yaml.SequenceNode) and tag == _SEQ:
            return self.sequence(node, loc, depth)
        if isinstance(node, yaml.MappingNode) and tag == _MAP:
            return self.mapping(node, loc, depth)
        raise _NotPlain

    def _count(self, values: int) -> None:
        self.nodes += values
        if self.nodes > MAX_NODES:
            raise _NotPlain

    def sequence(self, node: yaml.SequenceNode, loc: Loc, depth: int) -> list[Any]:
        items = node.value
        self._count(len(items))
        record = self.full or depth == 0
        values = self.doc.values
        out: list[Any] = []
        for i, item in enumerate(items):
            if record:
                mark = item.start_mark
                values[(*loc, i)] = (mark.line + 1, mark.column + 1)
            if item.__class__ is _SCALAR and item.tag in _TEXT:
                out.append(item.value)
            else:
                out.append(self.value(item, (*loc, i), depth + 1))
        return out

    def mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        pairs = node.value
        self._count(2 * len(pairs))
        record = self.full or depth == 0
        values, keys = self.doc.values, self.doc.keys
        out: dict[str, Any] = {}
        for key_node, value_node in pairs:
            if key_node.__class__ is _SCALAR and key_node.tag in _TEXT:
                key = str(key_node.value)
            else:
                key = self.key(key_node, loc)
            if key in out:
                raise _NotPlain
            if record:
                mark = value_node.start_mark
                values[(*loc, key)] = (mark.line + 1, mark.column + 1)
                mark = key_node.start_mark
                keys[(*loc, key)] = (mark.line + 1, mark.column + 1)
            if value_node.__class__ is _SCALAR and value_node.tag in _TEXT:
                out[key] = value_node.value
            else:
                out[key] = self.value(value_node, (*loc, key), depth + 1)
        return out

    def key(self, node: yaml.Node, loc: Loc) -> str:
        """A mapping key that is not text: one YAML reads as a number, bool, null or date
        is kept in ``typed_keys`` with the text as written, as ``parse_documents`` does."""
        if not isinstance(node, yaml.ScalarNode):
            raise _NotPlain
        if node.tag in _TEXT:
            return str(node.value)
        if node.tag not in _TYPED:
            raise _NotPlain
        typed = self.constructors[node.tag](self.loader, node)
        self.doc.typed_keys[(*loc, str(typed))] = (typed, node.value)
        return str(typed)
