"""The project settings: which modules hold tasks, and which modules tasks may come from.

They live in ``scheduler.toml`` or under ``[tool.scheduler]`` in ``pyproject.toml``, in the
folder that holds the jobs directory (the project root), or in the file given by
``SCHEDULER_CONFIG``::

    [tool.scheduler]
    task_modules = ["examples.bots"]        # imported by `validate --import-tasks`
    allowed_tasks = ["examples", "myapp.jobs"]  # default: task_modules
    history = { keep = "30d", keep_failed = "90d", keep_last = 100 }  # retention

A job whose task is outside ``allowed_tasks`` is invalid, so a pull request cannot make
the watcher enqueue ``os:system``. With no settings at all, every task is allowed except
those in Python's standard library (``os``, ``subprocess``, ``shutil``, ...).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scheduler.core.errors import ProjectConfigError

if TYPE_CHECKING:
    from scheduler.core.policyspecs import HistorySpec
    from scheduler.core.retention import Retention

CONFIG_ENV = "SCHEDULER_CONFIG"
CONFIG_FILES = ("scheduler.toml", "pyproject.toml")


@dataclass(frozen=True)
class TaskRules:
    """Which task references a job may use."""

    #: Module prefixes ("examples" allows "examples.bots:x"); None means "not the stdlib".
    allowed: tuple[str, ...] | None = None
    source: str | None = None

    def problem(self, task: str) -> str | None:
        """Why ``task`` ("package.module:function") is not allowed, or None if it is."""
        module = task.partition(":")[0]
        if self.allowed is None:
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top == "scheduler":
                return (
                    f"{module!r} is part of Python itself, never a task; to allow it anyway, "
                    "list it in allowed_tasks in scheduler.toml or [tool.scheduler]"
                )
            return None
        if any(_within(task, prefix) for prefix in self.allowed):
            return None
        listed = ", ".join(self.allowed) or "nothing"
        return (
            f"{module!r} is not an allowed task module (allowed_tasks in {self.source}: {listed})"
        )


def _within(task: str, prefix: str) -> bool:
    if ":" in prefix:
        return task == prefix
    module = task.partition(":")[0]
    return module == prefix or module.startswith(prefix + ".")


@dataclass(frozen=True)
class Project:
    """The settings of one project: its root, task modules and task rules."""

    root: Path
    task_modules: tuple[str, ...] = ()
    rules: TaskRules = TaskRules()
    source: str | None = None
    #: The settings file's ``history`` table (checked when read), None when it has none.
    history: HistorySpec | None = None

    @property
    def retention(self) -> Retention:
        """The retention rule of every job that does not set its own (``history:``)."""
        # Imported when asked: the commands that read no records (`next`) never are.
        from scheduler.core.retention import DEFAULT_RETENTION

        return DEFAULT_RETENTION.over(self.history)


def load_project(jobs_dir: Path) -> Project:
    """The settings for the jobs under ``jobs_dir`` (defaults when no file has any).

    Raises ProjectConfigError naming the file when it is not valid TOML or a setting has
    the wrong type.
    """
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ProjectConfigError(str(path), f"{CONFIG_ENV} names a file that does not exist")
        return _from_file(path, _read(path, pyproject=path.name == "pyproject.toml"))
    root = jobs_dir.resolve().parent
    for name in CONFIG_FILES:
        path = root / name
        if path.is_file():
            table = _read(path, pyproject=name == "pyproject.toml")
            if table is not None:
                return _from_file(path, table)
    return Project(root=root)


def _read(path: Path, *, pyproject: bool) -> dict[str, Any] | None:
    import tomllib  # only when there is a settings file to read (issue 13: `next` fast)

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectConfigError(str(path), f"cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProjectConfigError(str(path), f"not valid TOML: {exc}") from exc
    if not pyproject:
        return data
    table = data.get("tool", {}).get("scheduler")
    return table if isinstance(table, dict) else None


def _from_file(path: Path, table: dict[str, Any] | None) -> Project:
    table = table or {}
    where = str(path)
    unknown = set(table) - {"task_modules", "allowed_tasks", "history"}
    if unknown:
        raise ProjectConfigError(
            where,
            f"unknown setting {sorted(unknown)[0]!r} (known: task_modules, allowed_tasks, history)",
        )
    modules = _names(table, "task_modules", where)
    allowed = _names(table, "allowed_tasks", where) if "allowed_tasks" in table else None
    if allowed is None and modules:
        allowed = modules
    return Project(
        root=path.resolve().parent,
        task_modules=modules,
        rules=TaskRules(allowed, where),
        source=where,
        history=_history(table.get("history"), where, path),
    )


def _history(value: object, where: str, path: Path) -> HistorySpec | None:
    """The project's ``history`` table, checked (the retention rule is its fields over the
    built-in defaults)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProjectConfigError(
            where, 'history must be a table such as { keep = "30d", keep_last = 100 }'
        )
    # The model (pydantic) only for a settings file that has the table.
    from pydantic import ValidationError

    from scheduler.core.policyspecs import HistorySpec

    try:
        spec = HistorySpec.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = (
            first["msg"]
            if first["type"] != "extra_forbidden"
            else ("unknown field (known: keep, keep_failed, keep_last)")
        )
        line = _line_of(path, str(first["loc"][0]) if first["loc"] else "history")
        raise ProjectConfigError(f"{where}:{line}", f"history.{field}: {message}") from exc
    return spec


def _line_of(path: Path, key: str) -> int:
    """The 1-based line of the first ``key =`` after ``history`` (tomllib keeps no
    positions); the ``history`` line itself when the key is not found, else 1."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((n for n, text in enumerate(lines) if "history" in text), 0)
    pattern = re.compile(rf"(^|[{{,\s.]){re.escape(key)}\s*=")
    for n in range(start, len(lines)):
        if pattern.search(lines[n]):
            return n + 1
    return start + 1


def _names(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProjectConfigError(where, f"{key} must be a list of module names")
    return tuple(value)
