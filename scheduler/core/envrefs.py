"""Secrets in params: ``${env:NAME}`` references, checked when loading, resolved in the worker.

A job file never holds a secret, only a reference to an environment variable of the
worker that runs it. References stay unresolved in Redis, SQLite, logs and ``list``
output; the runner resolves them just before calling the task, and scrubs the resolved
values from whatever the run reports (result, error, traceback). ``$${`` writes a literal
``${``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REDACTED = "***"
#: Values shorter than this are not scrubbed from reports: replacing every "1" or "ab"
#: would garble the text and hide nothing worth hiding.
MIN_REDACT_LEN = 4


class SecretError(ValueError):
    """A params value whose reference cannot be resolved; ``path`` is the dotted field."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


def reference_problems(value: str) -> list[str]:
    """Why the references in ``value`` are malformed (empty when they are fine)."""
    problems = []
    for match in _TOKEN.finditer(value):
        token = match.group(0)
        if token == "$${":
            continue
        inner = match.group(1)
        if inner is None or "${" in inner:
            problems.append("'${' is not closed; write ${env:NAME}, or $${ for a literal '${'")
        elif not inner.startswith("env:"):
            problems.append(f"'{token}' is not a reference: only ${{env:NAME}} is supported")
        elif not _NAME.fullmatch(inner[4:]):
            problems.append(f"'{token}': {inner[4:]!r} is not an environment variable name")
    return problems


def strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside a params value, with its dotted path (list items by index)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}.{index}")


def has_reference(value: Any) -> bool:
    """Whether ``value`` holds an ``${env:...}`` reference anywhere."""
    return any(
        (m.group(1) or "").startswith("env:")
        for _, text in strings(value, "")
        for m in _TOKEN.finditer(text)
    )


def resolve(
    params: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """``params`` with every reference replaced from ``environ``, and the values used.

    Raises SecretError naming the field when a variable is unset or a reference malformed.
    """
    used: list[str] = []
    resolved = {
        key: _resolve(value, f"params.{key}", environ, used) for key, value in params.items()
    }
    return resolved, used


def _resolve(value: Any, path: str, environ: Mapping[str, str], used: list[str]) -> Any:
    if isinstance(value, str):
        return _substitute(value, path, environ, used)
    if isinstance(value, Mapping):
        return {k: _resolve(v, f"{path}.{k}", environ, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, f"{path}.{i}", environ, used) for i, v in enumerate(value)]
    return value


def _substitute(text: str, path: str, environ: Mapping[str, str], used: list[str]) -> str:
    problems = reference_problems(text)
    if problems:
        raise SecretError(path, problems[0])

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1)[4:]
        if name not in environ:
            raise SecretError(path, f"environment variable {name} is not set on this worker")
        used.append(environ[name])
        return environ[name]

    return _TOKEN.sub(replace, text)


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every resolved secret value replaced by ``***``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_REDACT_LEN:
            text = text.replace(secret, REDACTED)
    return text
