"""What RQ workers execute: run one task and report it on the results stream.

The watcher enqueues ``scheduler.runner.run`` (this ``run``, re-exported there) with a
``RunRequest`` payload. ``run`` publishes ``started``, resolves ``${env:NAME}`` references
from the worker's environment, imports and
calls the task (with its validated params model when it declared one, see
``scheduler.worker.tasks``), then publishes ``succeeded`` (duration, result) or ``failed``
(duration, error, traceback) and re-raises, so RQ records the failure too. Resolved secret
values are scrubbed from the result, error and traceback before they leave the worker.
Reporting is best effort: a Redis error while publishing is logged as
``run_event_publish_failed`` and never changes the run's outcome.

A worker killed outright (SIGKILL, out of memory) publishes no final event; RQ's own job
status is the only record of that.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import redis
import rq
import structlog

from scheduler.core.envrefs import redact, resolve
from scheduler.core.errors import TaskImportError
from scheduler.core.runs import EventKind, RunEvent, RunRequest, iso_utc
from scheduler.worker.events import publish
from scheduler.worker.tasks import RunContext, call_task

RESULT_CAP = 4096  # bytes of JSON text in a succeeded event
ERROR_CAP = 2048  # bytes of "ExcType: message"
TRACEBACK_CAP = 8192  # bytes of traceback text, kept from the end
TRACEBACK_LINES = 30  # lines of traceback, the last ones


def import_task(ref: str) -> Callable[..., Any]:
    """The callable named by ``"package.module:function"`` (``"pkg.mod:Class.method"`` too).

    Raises ``TaskImportError`` naming the reference and the reason: a malformed
    reference, a module that is missing or fails while importing, a missing attribute,
    or an attribute that is not callable.
    """
    module_name, sep, attr_path = ref.partition(":")
    names = attr_path.split(".")
    if not sep or not all(p.isidentifier() for p in [*module_name.split("."), *names]):
        raise TaskImportError(ref, "expected 'package.module:function'")
    try:
        target: object = importlib.import_module(module_name)
    except Exception as exc:  # anything the module raises while importing is the task's fault
        raise TaskImportError(ref, f"{type(exc).__name__}: {exc}") from exc
    for depth, name in enumerate(names):
        try:
            target = getattr(target, name)
        except AttributeError as exc:
            owner = ".".join([module_name, *names[:depth]])
            raise TaskImportError(ref, f"{owner!r} has no attribute {name!r}") from exc
    if not callable(target):
        raise TaskImportError(ref, f"not callable (a {type(target).__name__})")
    return target


def run(payload: dict[str, Any], *, connection: redis.Redis | None = None) -> Any:
    """Execute the run described by ``payload`` (a ``RunRequest.as_payload()``).

    Events go to ``connection`` when given, else to the current RQ job's connection.
    Returns the task's result when it is JSON-serialisable, else its ``repr`` (so RQ never
    has to pickle an arbitrary object after ``succeeded`` was published). Re-raises
    whatever the task (or its import, as ``TaskImportError``) raised.
    """
    request = RunRequest.from_payload(payload)
    conn = connection if connection is not None else _current_connection()
    log = structlog.get_logger().bind(
        run_id=request.run_id, job=request.job, scheduled_for=request.scheduled_for
    )
    worker = f"{socket.gethostname()}:{os.getpid()}"
    attempt, retries_left = _attempt(request)
    numbered = {} if attempt is None else {"attempt": attempt}

    _report(conn, log, _event(request, EventKind.started, worker, **numbered))
    start = time.monotonic()
    secrets: list[str] = []
    try:
        params, secrets = resolve(request.params, os.environ)
        task = import_task(request.task)
        value = call_task(task, request.task, params, _context(request))
    except BaseException as exc:  # report even SystemExit/timeouts, then let them propagate
        from rq.timeouts import JobTimeoutException

        # RQ retries any failure, a timeout included, while the job has retries left.
        kind = EventKind.retrying if retries_left > 0 else EventKind.failed
        error = redact(_describe(exc), secrets)
        failed = _event(
            request,
            kind,
            worker,
            duration_s=time.monotonic() - start,
            error=_cap(error, ERROR_CAP),
            traceback=redact(_traceback_tail(exc), secrets),
            reason="timeout" if isinstance(exc, JobTimeoutException) else None,
            **numbered,
        )
        _report(conn, log, failed)
        if secrets and isinstance(exc, Exception) and error != _describe(exc):
            # RQ stores the exception text in Redis: hand it one without the secret.
            raise RunFailedError(error) from None
        raise
    duration = time.monotonic() - start
    text, value = _as_json(value)
    if secrets:
        scrubbed = redact(text, secrets)
        if scrubbed != text:
            text = scrubbed
            try:
                value = json.loads(scrubbed)
            except ValueError:  # the secret spanned JSON syntax: keep the scrubbed text
                value = scrubbed
    _report(
        conn,
        log,
        _event(
            request,
            EventKind.succeeded,
            worker,
            duration_s=duration,
            result=_cap(text, RESULT_CAP),
            **numbered,
        ),
    )
    return value


def _attempt(request: RunRequest) -> tuple[int | None, int]:
    """(this attempt's 1-based number or None without retries, RQ retries left after it)."""
    if not request.retries:
        return None, 0
    job = rq.get_current_job()
    left = 0 if job is None or job.retries_left is None else int(job.retries_left)
    return request.retries - left + 1, left


class RunFailedError(Exception):
    """A task's exception whose text held a secret, re-raised with the secret scrubbed."""


def _context(request: RunRequest) -> RunContext:
    return RunContext(
        run_id=request.run_id,
        job=request.job,
        scheduled_for=datetime.fromisoformat(request.scheduled_for),
        timezone=request.timezone,
        trigger=str(request.trigger),
        canary=request.canary,
    )


def _current_connection() -> redis.Redis:
    job = rq.get_current_job()
    if job is None:
        raise RuntimeError("scheduler.runner.run outside an RQ job needs connection=")
    return job.connection


def _event(request: RunRequest, kind: EventKind, worker: str, **final: Any) -> RunEvent:
    return RunEvent(
        kind=kind,
        run_id=request.run_id,
        job=request.job,
        scheduled_for=request.scheduled_for,
        trigger=request.trigger,
        at=iso_utc(datetime.now(UTC)),
        worker=worker,
        canary=request.canary,
        **final,
    )


def _report(conn: redis.Redis, log: Any, event: RunEvent) -> None:
    try:
        publish(conn, event)
    except Exception as exc:  # reporting must never change the run's outcome
        log.error("run_event_publish_failed", kind=str(event.kind), error=_describe(exc))


def _describe(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _as_json(value: Any) -> tuple[str, Any]:
    """The result as JSON text, and the value RQ should keep (``value`` or its repr)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False), value
    except (TypeError, ValueError, RecursionError):
        try:
            shown = repr(value)
        except Exception:  # a broken __repr__ still must not fail a run that succeeded
            shown = f"<{type(value).__name__} object, repr failed>"
        return json.dumps(shown, ensure_ascii=False), shown


def _traceback_tail(exc: BaseException) -> str:
    lines = "".join(traceback.format_exception(exc)).splitlines()
    return _cap("\n".join(lines[-TRACEBACK_LINES:]), TRACEBACK_CAP, keep="tail")


def _cap(text: str, limit: int, *, keep: Literal["head", "tail"] = "head") -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, with a marker saying how long it was."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    if keep == "head":
        marker = f"…[truncated, {len(data)} bytes]"
        room = limit - len(marker.encode())
        return data[:room].decode("utf-8", errors="ignore") + marker
    marker = f"[truncated, {len(data)} bytes]…\n"
    room = limit - len(marker.encode())
    return marker + data[-room:].decode("utf-8", errors="ignore")
