"""The job file's data model (pydantic v2): what a YAML job may say, and nothing else.

Field-level checks raise ``PydanticCustomError`` with a stable type and a finished
message; ``messages.py`` turns every error into user text and a dotted path. A check
that needs two fields names the field to blame in ``ctx["field"]``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from scheduler.core.cronexpr import CronSyntaxError, parse_cron
from scheduler.core.durations import DurationSyntaxError, parse_duration
from scheduler.core.envrefs import reference_problems, strings
from scheduler.core.policies import DstGap, DstRepeat, MisfirePolicy, OverlapPolicy

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
TASK_PATTERN = rf"^{_DOTTED}:{_DOTTED}$"
QUEUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
DURATION_PATTERN = r"^\s*(\d+\s*[wdhms]\s*)+$"
TIME_PATTERN = r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"
LOCAL_DATETIME_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)

# Datetimes far from now only overflow date arithmetic; no schedule needs them.
MIN_YEAR, MAX_YEAR = 1900, 9000

_NAME_RE = re.compile(NAME_PATTERN)
_TASK_RE = re.compile(TASK_PATTERN)
_QUEUE_RE = re.compile(QUEUE_PATTERN)
_TIME_RE = re.compile(TIME_PATTERN)


class Weekday(StrEnum):
    """Days for ``weekly``; the cron day-of-week number is the member's position."""

    sun = "sun"
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"

    @property
    def cron(self) -> int:
        return list(Weekday).index(self)


SCHEDULE_KINDS = ("cron", "interval", "daily", "weekly", "at")


def _fail(code: str, message: str, field: str | None = None) -> PydanticCustomError:
    """A validation error whose message is already final (pydantic formats ``{name}`` only)."""
    ctx: dict[str, Any] = {"reason": message}
    if field is not None:
        ctx["field"] = field
    return PydanticCustomError(code, "{reason}", ctx)


def _check_name(value: str) -> str:
    if _NAME_RE.fullmatch(value):
        return value
    if any(c in value for c in "/\\") or value in (".", "..") or ".." in value:
        raise _fail(
            "name_path", f"{value!r} looks like a path; a job name is one word, without '/' or '..'"
        )
    if len(value) > 63:
        raise _fail("name_length", f"is {len(value)} characters long; at most 63 are allowed")
    raise _fail(
        "name_syntax",
        f"{value!r} is not a valid job name: use lower-case letters, digits, '.', '_' and '-', "
        "starting with a letter or digit",
    )


def _check_task(value: str) -> str:
    if _TASK_RE.fullmatch(value):
        return value
    raise _fail("task_syntax", f"{value!r} is not an import path; write 'package.module:function'")


def _check_queue(value: str) -> str:
    if _QUEUE_RE.fullmatch(value):
        return value
    raise _fail(
        "queue_syntax", f"{value!r} is not a queue name: letters, digits, '.', '_', ':' and '-'"
    )


def _check_cron(value: str) -> str:
    try:
        parse_cron(value)
    except CronSyntaxError as exc:
        raise _fail("cron_syntax", str(exc)) from exc
    return value


def _check_duration(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _fail("duration_type", "expected a duration such as 30s, 15m or 1h30m")
    try:
        parse_duration(str(value))
    except DurationSyntaxError as exc:
        raise _fail("duration_syntax", str(exc)) from exc
    return str(value).strip()


def _check_timezone(value: str) -> str:
    if not known_timezone(value):
        raise _fail("timezone_unknown", f"unknown time zone {value!r}{_timezone_hint(value)}")
    return value


@lru_cache(maxsize=1024)
def known_timezone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name or name.startswith(("/", ".")) or ".." in name or "\x00" in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _timezone_hint(value: str) -> str:
    import difflib
    from zoneinfo import available_timezones

    zones = available_timezones()
    lowered = {z.lower(): z for z in zones}
    if value.lower() in lowered:
        return f"; did you mean {lowered[value.lower()]!r}? (names are case-sensitive)"
    close = difflib.get_close_matches(value, zones, n=1, cutoff=0.6)
    return (
        f"; did you mean {close[0]!r}?" if close else " (use an IANA name such as 'Europe/Paris')"
    )


def _check_time_of_day(value: object) -> str:
    if isinstance(value, str) and _TIME_RE.fullmatch(value.strip()):
        parts = [int(p) for p in value.strip().split(":")]
        hour, minute, second = (*parts, 0)[:3]
        return time(hour, minute, second).isoformat(
            timespec="seconds" if len(parts) == 3 else "minutes"
        )
    if isinstance(value, int) and not isinstance(value, bool):
        raise _fail("time_syntax", f'{value!r} is not a time of day; write it as "HH:MM" in quotes')
    raise _fail("time_syntax", f"{value!r} is not a time of day; write HH:MM or HH:MM:SS (24-hour)")


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def _check_weekday(value: object) -> Weekday:
    if isinstance(value, str):
        key = value.strip().lower()[:3]
        if (
            value.strip().lower()
            in {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
            or len(value.strip()) == 3
        ):
            try:
                return Weekday(key)
            except ValueError:
                pass
    raise _fail("weekday", f"{value!r} is not a day; use mon, tue, wed, thu, fri, sat or sun")


def _to_datetime(value: object) -> object:
    # YAML reads an unquoted 2026-12-24 as a date; a date means its local midnight.
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


def _check_year(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise _fail("datetime_range", f"year {value.year} is outside {MIN_YEAR}-{MAX_YEAR}")
    return value


Name = Annotated[StrictStr, AfterValidator(_check_name), Field(pattern=NAME_PATTERN)]
TaskRef = Annotated[StrictStr, AfterValidator(_check_task), Field(pattern=TASK_PATTERN)]
QueueName = Annotated[StrictStr, AfterValidator(_check_queue), Field(pattern=QUEUE_PATTERN)]
CronText = Annotated[StrictStr, AfterValidator(_check_cron)]
DurationText = Annotated[
    str,
    BeforeValidator(_check_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration such as 30s, 15m, 2h, 1d or 1h30m.",
        }
    ),
]
TimezoneName = Annotated[StrictStr, AfterValidator(_check_timezone)]
TimeOfDay = Annotated[
    str,
    BeforeValidator(_check_time_of_day),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN}),
]
TimesOfDay = Annotated[
    list[TimeOfDay],
    BeforeValidator(_one_or_many),
    Field(min_length=1, max_length=1440),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": TIME_PATTERN},
                {
                    "type": "array",
                    "items": {"type": "string", "pattern": TIME_PATTERN},
                    "minItems": 1,
                },
            ],
            "description": 'A local time "HH:MM" (or HH:MM:SS), or a list of them.',
        }
    ),
]
Day = Annotated[
    Weekday,
    BeforeValidator(_check_weekday),
    WithJsonSchema({"type": "string", "enum": [d.value for d in Weekday]}),
]
LocalDateTime = Annotated[
    datetime,
    BeforeValidator(_to_datetime),
    AfterValidator(_check_year),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": LOCAL_DATETIME_PATTERN,
            "description": "ISO-8601 date-time; without an offset, local to schedule.timezone.",
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)


class WeeklySpec(_Strict):
    """Runs on some days of the week at one or more local times."""

    days: Annotated[list[Day], Field(min_length=1, max_length=7)]
    at: TimesOfDay


class ScheduleSpec(_Strict):
    """When a job runs: exactly one of cron, interval, daily, weekly or at."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": [kind]} for kind in SCHEDULE_KINDS]},
    )

    cron: CronText | None = Field(
        default=None,
        description="5 fields, or 6 with seconds last (`* * * * * */5`); macros @hourly @daily "
        "@weekly @monthly @yearly.",
    )
    interval: DurationText | None = Field(
        default=None, description="Every so long, on anchor + k * interval."
    )
    daily: TimesOfDay | None = Field(default=None, description="Local time(s) of day.")
    weekly: WeeklySpec | None = None
    at: LocalDateTime | None = Field(default=None, description="One run at this local time.")
    timezone: TimezoneName = Field(default="UTC", description="IANA time zone name.")
    jitter: DurationText | None = Field(
        default=None, description="A stable per-job delay in [0, jitter), derived from the name."
    )
    start: LocalDateTime | None = Field(default=None, description="No runs before this.")
    end: LocalDateTime | None = Field(default=None, description="No runs after this.")
    anchor: LocalDateTime | None = Field(
        default=None,
        description="interval only: the phase of its runs (default 1970-01-01T00:00Z).",
    )

    @property
    def kind(self) -> str:
        return next(k for k in SCHEDULE_KINDS if getattr(self, k) is not None)

    @model_validator(mode="after")
    def _one_kind_and_consistent(self) -> ScheduleSpec:
        given = [k for k in SCHEDULE_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise _fail(
                "schedule_kind",
                f"give exactly one of cron, interval, daily, weekly or at (found: {found})",
            )
        if self.anchor is not None and self.interval is None:
            raise _fail(
                "anchor_without_interval", "anchor applies to interval schedules only", "anchor"
            )
        if (
            self.start is not None
            and self.end is not None
            and self.aware(self.start) > self.aware(self.end)
        ):
            raise _fail(
                "window_order",
                f"start ({self.start.isoformat()}) is after end ({self.end.isoformat()})",
                "start",
            )
        if (
            self.jitter is not None
            and self.interval is not None
            and parse_duration(self.jitter) >= parse_duration(self.interval)
        ):
            raise _fail(
                "jitter_too_long",
                f"jitter {self.jitter} is not shorter than the interval {self.interval}",
                "jitter",
            )
        return self

    def aware(self, value: datetime) -> datetime:
        """A start/end/anchor/at value as an instant: naive values are local to ``timezone``.

        A local time that does not exist, or exists twice, reads by the fixed-time rule
        (end of the gap, first pass).
        """
        if value.tzinfo is not None:
            return value
        from zoneinfo import ZoneInfo

        from scheduler.core.localtime import first_instant

        return first_instant(value, ZoneInfo(self.timezone))


def _check_webhook(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _fail("webhook_url", f"{value!r} is not an http:// or https:// URL")
    return value


WebhookUrl = Annotated[
    StrictStr,
    AfterValidator(_check_webhook),
    Field(max_length=2000, json_schema_extra={"format": "uri", "pattern": "^https?://"}),
]


class MisfireSpec(_Strict):
    """Runs that were due while the watcher was down or Redis unreachable."""

    policy: MisfirePolicy = Field(
        default=MisfirePolicy.run_once,
        description="skip: record them missed; run_once: run the latest once (default); "
        "run_all: run each, up to max_catchup.",
    )
    grace: DurationText | None = Field(
        default=None,
        description="A run found later than this is recorded missed (reason grace), never "
        "run. Default: no limit.",
    )
    max_catchup: int = Field(
        default=100, ge=1, le=10_000, description="run_all: at most this many catch-up runs."
    )


class DstSpec(_Strict):
    """How a fixed-time job behaves on the two daylight-saving nights."""

    gap: DstGap = Field(
        default=DstGap.run_after,
        description="A local time skipped by spring-forward: run_after (once, at the end of "
        "the gap; default) or skip.",
    )
    repeat: DstRepeat = Field(
        default=DstRepeat.first,
        description="A local time repeated by fall-back: first (default) or both passes.",
    )


class RetriesSpec(_Strict):
    """Attempts after a failed one, through RQ's Retry: waits backoff * factor^n, capped."""

    max: int = Field(default=3, ge=1, le=100, description="Attempts after the first.")
    backoff: DurationText = Field(default="30s", description="Wait before the first retry.")
    factor: float = Field(default=2, ge=1, le=10, description="Each wait is this times the last.")
    max_backoff: DurationText = Field(default="10m", description="The longest wait.")


class OnFailureSpec(_Strict):
    """What to do when a run ends failed (after its last attempt)."""

    webhook: WebhookUrl | None = Field(
        default=None, description="POST a JSON description of the failed run to this URL."
    )
    log: StrictBool = Field(default=True, description="Log run.failure_alert at error level.")


class JobSpec(_Strict):
    """One scheduled job, as written in a YAML document under jobs.d/."""

    name: Name = Field(description="Unique across jobs.d; lower-case, digits, '.', '_', '-'.")
    description: StrictStr | None = Field(default=None, max_length=2000)
    task: TaskRef = Field(description="What to run: 'package.module:function'.")
    queue: QueueName = Field(default="default", description="The RQ queue to enqueue into.")
    params: dict[StrictStr, Any] = Field(
        default_factory=dict, description="Keyword arguments for the task."
    )
    schedule: ScheduleSpec
    enabled: StrictBool = Field(default=True, description="false: never dispatched.")
    canary: Annotated[int, Field(ge=0, le=1000, strict=True)] = Field(
        default=0,
        description="After the job is added or its definition changes, its first N runs "
        "run with dry_run: true forced, marked canary in history; then it goes live.",
    )
    previous_names: Annotated[list[Name], Field(max_length=50)] = Field(
        default_factory=list,
        description="Names this job had before: its history and state carry over on rename.",
    )
    misfire: MisfireSpec = Field(default_factory=MisfireSpec)
    overlap: OverlapPolicy = Field(
        default=OverlapPolicy.forbid,
        description="A run due while the previous one is queued or running: allow, forbid "
        "(default: record it skipped), replace (cancel the previous one), queue_one.",
    )
    dst: DstSpec | None = Field(
        default=None,
        description="Fixed-time schedules only: override the Debian-cron DST rule.",
    )
    retries: RetriesSpec | None = None
    timeout: DurationText | None = Field(
        default=None, description="Kill a run after this long (recorded failed, reason timeout)."
    )
    result_ttl: DurationText | None = Field(
        default=None, description="How long RQ keeps a succeeded run's result (default 500s)."
    )
    failure_ttl: DurationText | None = Field(
        default=None, description="How long RQ keeps a failed run (default 1 year)."
    )
    on_failure: OnFailureSpec | None = None

    @model_validator(mode="after")
    def _dst_needs_fixed_time(self) -> JobSpec:
        if self.dst is None:
            return self
        sched = self.schedule
        # `at` is fixed-time too (a one-shot: its one run is not moved by dst), which also
        # lets a defaults file set dst (defaults are checked under a stand-in `at` job).
        fixed = sched.daily is not None or sched.weekly is not None or sched.at is not None
        if sched.cron is not None:
            fixed = parse_cron(sched.cron).fixed_time
        if not fixed:
            raise _fail(
                "dst_not_fixed_time",
                "dst applies only to fixed-time schedules (daily, weekly, at, or a cron whose "
                "minute and hour do not begin with '*'); this one follows elapsed time",
                "dst",
            )
        return self

    @field_validator("params")
    @classmethod
    def _references_well_formed(cls, params: dict[str, Any]) -> dict[str, Any]:
        for path, text in strings(params, ""):
            problems = reference_problems(text)
            if problems:
                raise _fail("env_reference", problems[0], path.lstrip("."))
        return params


def field_names(model: type[BaseModel]) -> list[str]:
    """The field names a mapping at that place may use (for did-you-mean hints)."""
    return list(model.model_fields)


def model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model that owns the mapping at ``loc`` (relative to a job document)."""
    nested: dict[str, type[BaseModel]] = {
        "schedule": ScheduleSpec,
        "weekly": WeeklySpec,
        "misfire": MisfireSpec,
        "dst": DstSpec,
        "retries": RetriesSpec,
        "on_failure": OnFailureSpec,
    }
    model: type[BaseModel] = JobSpec
    for part in loc:
        if str(part) not in model.model_fields or str(part) not in nested:
            return None
        model = nested[str(part)]
    return model


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a job document (what ``schemas/job.schema.json`` holds)."""
    schema = _drop_nulls(JobSpec.model_json_schema())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/scheduler/scheduler/schemas/job.schema.json",
        "title": "Scheduled job",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def _drop_nulls(node: Any) -> Any:
    # Optional fields read "absent" in YAML, not "null": show editors the real type only.
    if isinstance(node, dict):
        any_of = node.get("anyOf")
        if isinstance(any_of, list) and {"type": "null"} in any_of:
            rest = [alt for alt in any_of if alt != {"type": "null"}]
            node = {k: v for k, v in node.items() if k != "anyOf"}
            if node.get("default", 0) is None:
                del node["default"]
            node = {**rest[0], **node} if len(rest) == 1 else {"anyOf": rest, **node}
        return {k: _drop_nulls(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_drop_nulls(v) for v in node]
    return node
