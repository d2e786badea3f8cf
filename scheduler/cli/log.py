"""Structured logging, configured once by the command that runs (never by library modules).

JSON lines on stdout by default (one object per event, ISO-8601 UTC timestamps), or
coloured console lines for people (``--log-format console``). The console shows durations
in milliseconds (``duration_ms=18.2`` for the JSON's ``duration_s``) and, unless asked for
(``rq_info``), none of RQ's info lines (a job taken, done, its result kept): the watcher's
own ``run.*`` lines say the same. JSON keeps every field and every line.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import TYPE_CHECKING, Literal

from scheduler.engine.richless import without_rich

if TYPE_CHECKING:
    import structlog

LogFormat = Literal["json", "console"]
#: Set by ``scheduler run`` for its embedded workers: "0" keeps RQ's info lines off their
#: console output too, "1" shows them (``--verbose``). Unset: shown.
RQ_INFO_ENV = "SCHEDULER_LOG_RQ_INFO"


def configure(fmt: LogFormat = "json", level: str = "INFO", *, rq_info: bool = True) -> None:
    """Set up structlog and route stdlib logging (RQ, watchdog) through the same renderer.

    With ``rq_info=False`` the console format drops RQ's records below WARNING; JSON keeps
    them all.
    """
    # The console format keeps rich's tracebacks where it is installed.
    with contextlib.nullcontext() if fmt == "console" else without_rich():
        import structlog
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
        for_people: list[structlog.typing.Processor] = [_duration_ms]
    else:
        renderer = structlog.processors.JSONRenderer()
        for_people = [structlog.processors.dict_tracebacks]
    structlog.configure(
        processors=[*shared, structlog.processors.StackInfoRenderer(), *for_people, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        # One write per line, newline included (print writes the two apart): the watcher
        # and its embedded workers share stdout, unbuffered in the container
        # (PYTHONUNBUFFERED=1), and two writes let another process's line in between.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    if fmt == "console" and not rq_info:
        handler.addFilter(_no_rq_info)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def _duration_ms(
    logger: object, name: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    seconds = event.get("duration_s")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        del event["duration_s"]
        event["duration_ms"] = round(seconds * 1000, 1)
    return event


def _no_rq_info(record: logging.LogRecord) -> bool:
    # RQ's workers log each job three or four times at INFO; its warnings and errors
    # (a cold shutdown, a lost connection) still show.
    from_rq = record.name == "rq" or record.name.startswith("rq.")
    return not from_rq or record.levelno >= logging.WARNING
