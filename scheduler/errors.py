"""The project's exception types. Each builds its own message from typed fields."""

from __future__ import annotations

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

    def __init__(self, file: Path | str, line: int, column: int, path: str, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.column = column
        self.path = path
        self.message = message

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
        """The stable JSON shape used by ``validate --format json``."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }


class JobFileError(JobFileProblem, SchedulerError):
    """A job file (or one document in it) that cannot be accepted."""

    def __init__(self, file: Path | str, line: int, column: int, path: str, message: str) -> None:
        JobFileProblem.__init__(self, file, line, column, path, message)
        SchedulerError.__init__(self, str(self))


class JobFileWarning(JobFileProblem, UserWarning):
    """A job file that is valid but probably not what its author meant."""

    severity = "warning"

    def __init__(self, file: Path | str, line: int, column: int, path: str, message: str) -> None:
        JobFileProblem.__init__(self, file, line, column, path, message)
        UserWarning.__init__(self, str(self))


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
