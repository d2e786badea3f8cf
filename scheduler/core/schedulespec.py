"""The ``schedule:`` mapping of a job file: when a job runs, and its field checks."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from scheduler.core.cronexpr import CronSyntaxError, parse_cron
from scheduler.core.durations import parse_duration
from scheduler.core.fieldchecks import (
    MAX_YEAR,
    MIN_YEAR,
    TIME_PATTERN,
    Weekday,
    known_timezone,
    time_of_day,
    weekday_of,
)
from scheduler.core.localtime import DEFAULT_TIMEZONE
from scheduler.core.specbase import DurationText, StrictSpec, fail

LOCAL_DATETIME_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)

SCHEDULE_KINDS = ("cron", "interval", "daily", "weekly", "at")


def _check_cron(value: str) -> str:
    try:
        parse_cron(value)
    except CronSyntaxError as exc:
        raise fail("cron_syntax", str(exc)) from exc
    return value


def _check_timezone(value: str) -> str:
    if not known_timezone(value):
        raise fail("timezone_unknown", f"unknown time zone {value!r}{_timezone_hint(value)}")
    return value


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
    found = time_of_day(value)
    if found is not None:
        return found
    if isinstance(value, int) and not isinstance(value, bool):
        raise fail("time_syntax", f'{value!r} is not a time of day; write it as "HH:MM" in quotes')
    raise fail("time_syntax", f"{value!r} is not a time of day; write HH:MM or HH:MM:SS (24-hour)")


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def _check_weekday(value: object) -> Weekday:
    found = weekday_of(value)
    if found is None:
        raise fail("weekday", f"{value!r} is not a day; use mon, tue, wed, thu, fri, sat or sun")
    return found


def _to_datetime(value: object) -> object:
    # YAML reads an unquoted 2026-12-24 as a date; a date means its local midnight.
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


def _check_year(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise fail("datetime_range", f"year {value.year} is outside {MIN_YEAR}-{MAX_YEAR}")
    return value


CronText = Annotated[StrictStr, AfterValidator(_check_cron)]
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


class WeeklySpec(StrictSpec):
    """Runs on some days of the week at one or more local times."""

    days: Annotated[list[Day], Field(min_length=1, max_length=7)]
    at: TimesOfDay


class ScheduleSpec(StrictSpec):
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
    timezone: TimezoneName = Field(default=DEFAULT_TIMEZONE, description="IANA time zone name.")
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
            raise fail(
                "schedule_kind",
                f"give exactly one of cron, interval, daily, weekly or at (found: {found})",
            )
        if self.anchor is not None and self.interval is None:
            raise fail(
                "anchor_without_interval", "anchor applies to interval schedules only", "anchor"
            )
        if (
            self.start is not None
            and self.end is not None
            and self.aware(self.start) > self.aware(self.end)
        ):
            raise fail(
                "window_order",
                f"start ({self.start.isoformat()}) is after end ({self.end.isoformat()})",
                "start",
            )
        if (
            self.jitter is not None
            and self.interval is not None
            and parse_duration(self.jitter) >= parse_duration(self.interval)
        ):
            raise fail(
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
