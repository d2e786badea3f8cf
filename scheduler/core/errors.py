"""The project's exception types. Each builds its own message from typed fields."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class SchedulerError(Exception):
    """Base of every error this package raises on purpose."""


class JobFileProblem:
    """Something wrong in a job file, located to file, line, column and dotted field path.

    Lines and columns are 1-based, as editors and GitHub annotations count them.
    ``path`` is the dotted field (``schedule.cron``), empty when the problem is the
    file or document as a whole.
    """

    severity = "error"

    def __init__(
        self, file: Path | str, line: int, column: int, path: str, message: str, code: str = ""
    ) -> None:
        self.file = str(file)
        self.line = line
        self.column = column
        self.path = path
        self.message = message
        self.code = code

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled from a worker process (parsepool) with its fields, not the message alone.
        return (type(self), (self.file, self.line, self.column, self.path, self.message, self.code))

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JobFileProblem) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().items()))

    def as_dict(self) -> dict[str, str | int]:
        """The stable JSON shape used by ``validate --format json`` (``code`` when it has one)."""
        out: dict[str, str | int] = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }
        if self.code:
            out["code"] = self.code
        return out


class JobFileError(JobFileProblem, SchedulerError):
    """A job file (or one document in it) that cannot be accepted."""

    def __init__(
        self, file: Path | str, line: int, column: int, path: str, message: str, code: str = ""
    ) -> None:
        JobFileProblem.__init__(self, file, line, column, path, message, code)
        SchedulerError.__init__(self, str(self))


class JobFileWarning(JobFileProblem, UserWarning):
    """A job file that is valid but probably not what its author meant."""

    severity = "warning"

    def __init__(
        self, file: Path | str, line: int, column: int, path: str, message: str, code: str = ""
    ) -> None:
        JobFileProblem.__init__(self, file, line, column, path, message, code)
        UserWarning.__init__(self, str(self))

    def as_error(self) -> JobFileError:
        """The same problem as an error (``validate --strict``)."""
        return JobFileError(self.file, self.line, self.column, self.path, self.message, self.code)


class UnknownJobError(SchedulerError, LookupError):
    """No valid job of that name exists in the jobs directory."""

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = suggestions or []
        hint = (
            f"; did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
            if self.suggestions
            else ""
        )
        super().__init__(f"no job named {name!r}{hint}")


class InvalidJobError(SchedulerError):
    """The named job exists but its definition is invalid."""

    def __init__(self, name: str, problems: list[JobFileError]) -> None:
        self.name = name
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"job {name!r} is invalid:\n{lines}")


class StoreError(SchedulerError):
    """The run records file cannot be used."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class StoreMissingError(StoreError):
    """The run records file does not exist yet (the watcher creates it on its first start)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "no run records yet; `scheduler run` creates this file")


class StoreVersionError(StoreError):
    """The file's schema version is not one this code can use."""

    def __init__(self, path: Path, found: int, supported: int, hint: str) -> None:
        self.found, self.supported = found, supported
        super().__init__(path, f"schema version {found}, this version expects {supported}; {hint}")


class EmbeddedRedisError(SchedulerError):
    """The embedded Redis could not be found, started or reached.

    ``log_tail`` holds the server's last log lines when there are any.
    """

    def __init__(self, reason: str, log_tail: str = "") -> None:
        self.reason = reason
        self.log_tail = log_tail
        tail = f"\nredis-server log:\n{log_tail}" if log_tail else ""
        super().__init__(f"embedded Redis: {reason}{tail}")


class WorkerPoolError(SchedulerError):
    """A worker process could not be started."""

    def __init__(self, command: Sequence[str], reason: str) -> None:
        self.command = list(command)
        self.reason = reason
        super().__init__(f"cannot start worker {' '.join(self.command)!r}: {reason}")


class TaskImportError(SchedulerError, ImportError):
    """A job's ``task`` reference that does not resolve to a callable."""

    def __init__(self, ref: str, reason: str) -> None:
        self.ref = ref
        self.reason = reason
        super().__init__(f"cannot import task {ref!r}: {reason}")

    def __reduce__(self) -> tuple[type[TaskImportError], tuple[str, str]]:
        return (type(self), (self.ref, self.reason))


class ProjectConfigError(SchedulerError):
    """The project settings file (scheduler.toml / [tool.scheduler]) cannot be used."""

    def __init__(self, file: str, reason: str) -> None:
        self.file = file
        self.reason = reason
        super().__init__(f"{file}: {reason}")


class TaskParamsError(SchedulerError, ValueError):
    """A run's params that do not satisfy its task's declared model (checked in the worker)."""

    def __init__(self, task: str, problems: list[str]) -> None:
        self.task = task
        self.problems = problems
        super().__init__(f"params of {task} are invalid: " + "; ".join(problems))

    def __reduce__(self) -> tuple[type[TaskParamsError], tuple[str, list[str]]]:
        return (type(self), (self.task, self.problems))


class WatcherRunningError(SchedulerError):
    """An operation that needs the watcher stopped found it running (``restore``)."""

    def __init__(self, data_dir: Path, evidence: str) -> None:
        self.data_dir = data_dir
        self.evidence = evidence
        super().__init__(
            f"a watcher is running on {data_dir} ({evidence}); stop it first "
            "(SIGTERM, or stop its container), then restore"
        )
