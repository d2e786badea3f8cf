"""The runtime actions an operator may take without a commit: run now, pause, resume.

Both front ends call these: the CLI (``scheduler trigger/pause/resume``) and the web page
and API (``scheduler web``), so the two cannot drift apart. Each takes who acts (``by``):
the CLI passes ``user@host``, the web ``web:<login>``. Redis failures propagate as
``redis.RedisError``; bad input is an :class:`ActionInputError` naming the field.
"""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.core.errors import SchedulerError
from scheduler.core.job import LoadedJob
from scheduler.core.pause import Pause

#: The farthest a pause may reach: a typo such as ``20000d`` is refused, not obeyed.
MAX_PAUSE = timedelta(days=3650)


class ActionInputError(SchedulerError, ValueError):
    """An action's input is wrong: ``field`` (``until``, ``reason``) and why."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def local_user() -> str:
    """Who runs this process, as ``user@host`` (what the CLI records as ``by``)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def parse_until(value: str | None, now: datetime) -> datetime | None:
    """A pause's end: a duration from ``now`` (``2h``) or an ISO-8601 date-time (naive = UTC).

    None or blank means no end. Raises :class:`ActionInputError` (field ``until``) for text
    that is neither, an instant in the past, or one more than ten years away.
    """
    if value is None or not value.strip():
        return None
    from scheduler.core.durations import DurationSyntaxError, parse_duration

    text = value.strip()
    try:
        return now + parse_duration(text)
    except DurationSyntaxError:
        pass
    try:
        until = datetime.fromisoformat(text)
    except ValueError:
        raise ActionInputError(
            "until", f"{value!r} is neither a duration (2h, 1d) nor an ISO-8601 date-time"
        ) from None
    until = until.replace(tzinfo=UTC) if until.tzinfo is None else until.astimezone(UTC)
    if until <= now:
        raise ActionInputError("until", f"{value!r} is in the past")
    if until - now > MAX_PAUSE:
        raise ActionInputError("until", f"{value!r} is more than ten years away")
    return until


def trigger(
    conn: Any, data_dir: Path, job: LoadedJob, now: datetime, *, by: str | None = None
) -> dict[str, Any]:
    """Enqueue one manual run of ``job`` now, as ``trigger --format json`` reports it.

    A job with canary runs left gets its dry_run forced, as a scheduled run would.
    ``by`` (None: the CLI, recorded as before) goes in the run's note.
    """
    from scheduler.engine import api

    canary = api.in_canary(data_dir, job)
    return api.trigger(conn, job, now, canary=canary, by=by)


def check_reason(reason: str) -> str:
    """A pause's reason without surrounding blanks; :class:`ActionInputError` when blank."""
    if not reason.strip():
        raise ActionInputError("reason", "give a reason")
    return reason.strip()


def pause(
    conn: Any, job: LoadedJob, now: datetime, *, reason: str, until: datetime | None, by: str
) -> Pause:
    """Pause ``job`` from ``now`` until ``until`` (None: until resumed), stored in Redis.

    Every watcher on that Redis sees it within a second. ``until`` comes from
    :func:`parse_until`; a blank reason is an :class:`ActionInputError`.
    """
    from scheduler.engine import pauses

    record = Pause(job=job.name, by=by, at=now, reason=check_reason(reason), until=until)
    pauses.save(conn, record)
    return record


def resume(conn: Any, job: LoadedJob) -> Pause | None:
    """Remove ``job``'s pause; the pause removed, or None when it was not paused."""
    from scheduler.engine import pauses

    return pauses.clear(conn, job.name)
